// S3 reads for model-fetch: sync a prefix to a directory, or open one object as a stream.
import { GetObjectCommand, ListObjectsV2Command, S3Client, type _Object } from "@aws-sdk/client-s3";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeS3Error, ModelFetchError } from "./errors";

/** Downloads running at once when syncing a prefix. */
const DOWNLOAD_CONCURRENCY = 8;

/**
 * The standard credential chain applies (EKS Pod Identity, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * from a Secret). A custom endpoint (AWS_ENDPOINT_URL, e.g. moto or MinIO) gets path-style addressing,
 * because such endpoints are usually a bare host:port without wildcard DNS.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
    const customEndpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    return new S3Client({ forcePathStyle: customEndpoint !== undefined && customEndpoint !== "" });
}

async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? ([] as _Object[])) {
            // Zero-byte "folder" markers made by the console end in "/": nothing to write.
            if (object.Key !== undefined && !object.Key.endsWith("/")) keys.push(object.Key);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
}

/** Where `key` (under `prefix`) lands inside `destDir`; refuses keys that would escape it. */
export function localPathForKey(destDir: string, prefix: string, key: string): string {
    const relative = key.slice(prefix.length);
    const target = path.resolve(destDir, relative);
    if (relative === "" || !target.startsWith(destDir + path.sep)) {
        throw new ModelFetchError(`refusing S3 key that would land outside the model directory: ${key}`, "TRANSFER_FAILED");
    }
    return target;
}

export async function openS3Object(client: S3Client, bucket: string, key: string): Promise<Readable> {
    const what = `s3://${bucket}/${key}`;
    try {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!(response.Body instanceof Readable)) throw new ModelFetchError(`S3 returned no body for ${what}`, "TRANSFER_FAILED");
        return response.Body;
    } catch (err) {
        throw describeS3Error(err, what);
    }
}

/** Copy every object under `s3://bucket/prefix` into `destDir`, keeping the relative layout. Returns the object count. */
export async function syncPrefix(client: S3Client, bucket: string, prefix: string, destDir: string): Promise<number> {
    const what = `s3://${bucket}/${prefix}`;
    let keys: string[];
    try {
        keys = await listKeys(client, bucket, prefix);
    } catch (err) {
        throw describeS3Error(err, what);
    }
    if (keys.length === 0) throw new ModelFetchError(`not found: no objects under ${what}`, "NOT_FOUND");
    const targets = keys.map((key) => ({ key, file: localPathForKey(destDir, prefix, key) }));
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < targets.length) {
            const { key, file } = targets[next++];
            await mkdir(path.dirname(file), { recursive: true });
            const body = await openS3Object(client, bucket, key);
            try {
                await pipeline(body, createWriteStream(file));
            } catch (err) {
                throw describeS3Error(err, `s3://${bucket}/${key}`);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, targets.length) }, worker));
    return targets.length;
}
