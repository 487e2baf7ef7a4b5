// Streams the input video from S3 to a local file (ffmpeg needs a seekable file for mp4/mov), once,
// enforcing the size limit before and while downloading.
import { createWriteStream } from "node:fs";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { JobError, ShutdownError } from "./errors";
import type { Job } from "./jobs";

export interface DownloadedVideo {
    path: string;
    bytes: number;
    etag: string;
}

const NOT_FOUND = new Set(["NoSuchKey", "NoSuchBucket", "NotFound"]);

export async function downloadVideo(s3: S3Client, job: Job, path: string, maxBytes: number, signal: AbortSignal): Promise<DownloadedVideo> {
    let out;
    try {
        out = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.key }), { abortSignal: signal });
    } catch (err) {
        if (signal.aborted) throw new ShutdownError();
        if (err instanceof S3ServiceException) {
            if (NOT_FOUND.has(err.name) || err.$metadata.httpStatusCode === 404) {
                throw new JobError(`input object does not exist (${err.name})`, true, "OBJECT_NOT_FOUND");
            }
            if (err.$metadata.httpStatusCode === 403) {
                throw new JobError(`access denied reading the input object (${err.name}); without s3:ListBucket a missing object also reads as 403`, true, "ACCESS_DENIED");
            }
        }
        throw err;
    }
    const size = out.ContentLength;
    if (size !== undefined && size > maxBytes) {
        (out.Body as Readable | undefined)?.destroy?.();
        throw new JobError(`video is ${size} bytes, over MAX_VIDEO_BYTES=${maxBytes}`, true, "TOO_LARGE");
    }
    if (out.Body === undefined) throw new JobError("S3 returned no body for the input object", false, "EMPTY_BODY");
    let bytes = 0;
    const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            if (bytes > maxBytes) done(new JobError(`video exceeds MAX_VIDEO_BYTES=${maxBytes} while downloading`, true, "TOO_LARGE"));
            else done(null, chunk);
        },
    });
    try {
        await pipeline(out.Body as Readable, limit, createWriteStream(path, { mode: 0o600 }), { signal });
    } catch (err) {
        if (signal.aborted) throw new ShutdownError();
        throw err;
    }
    return { path, bytes, etag: (out.ETag ?? "").replace(/"/g, "") };
}
