// The result document: written frame by frame to a temp file (memory stays flat however long the
// video), then uploaded to s3://RESULTS_BUCKET/RESULTS_PREFIX<key>.json. Byte-for-byte deterministic:
// fixed key order, rounded numbers, no wall-clock fields.
import { createReadStream } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { dirname } from "node:path";
import type { Detection } from "./detections";
import { diskFullError, isDiskFull } from "./disk";

export interface ResultHeader {
    source: { bucket: string; key: string; etag: string };
    model: { name: string; signature: string; version?: number };
    frameSize: { width: number; height: number };
    /** null: every decoded frame. */
    sampleFps: number | null;
    scoreThreshold: number;
}

export interface ResultFrame {
    index: number;
    /** null when the video does not state its frame rate. */
    timestampMs: number | null;
    detections: Detection[];
}

export function resultKey(prefix: string, inputKey: string): string {
    return `${prefix}${inputKey}.json`;
}

/** Milliseconds from the start for the frame at `index`, given the rate frames are produced at. */
export function frameTimestampMs(index: number, framesPerSecond: number): number | null {
    return Number.isFinite(framesPerSecond) && framesPerSecond > 0 ? Math.round((index * 1000) / framesPerSecond) : null;
}

/** `{"source":...,"frames":[` — the document up to its first frame. */
export function headerJson(header: ResultHeader): string {
    const model: ResultHeader["model"] = { name: header.model.name, signature: header.model.signature };
    if (header.model.version !== undefined) model.version = header.model.version;
    const head = {
        source: { bucket: header.source.bucket, key: header.source.key, etag: header.source.etag },
        model,
        frameSize: { width: header.frameSize.width, height: header.frameSize.height },
        sampleFps: header.sampleFps,
        scoreThreshold: header.scoreThreshold,
    };
    const text = JSON.stringify(head);
    return `${text.slice(0, -1)},"frames":[`;
}

/** A number as JSON.stringify writes it (non-finite -> null). */
function jsonNumber(x: number): string {
    return Number.isFinite(x) ? String(x) : "null";
}

const labelJson = new Map<string, string>();

/**
 * One frame's JSON, written directly as text: the same bytes JSON.stringify gives for
 * {index, timestampMs, detections: [{label, classId, score, box}]}, without building the objects.
 */
export function frameJson(frame: ResultFrame): string {
    let text = `{"index":${jsonNumber(frame.index)},"timestampMs":${frame.timestampMs === null ? "null" : jsonNumber(frame.timestampMs)},"detections":[`;
    for (let i = 0; i < frame.detections.length; i++) {
        const d = frame.detections[i];
        let label = labelJson.get(d.label);
        if (label === undefined) {
            label = JSON.stringify(d.label);
            if (labelJson.size < 1000) labelJson.set(d.label, label);
        }
        const [y0, x0, y1, x1] = d.box;
        text += `${i === 0 ? "" : ","}{"label":${label},"classId":${jsonNumber(d.classId)},"score":${jsonNumber(d.score)},"box":[${jsonNumber(y0)},${jsonNumber(x0)},${jsonNumber(y1)},${jsonNumber(x1)}]}`;
    }
    return `${text}]}`;
}

/** Written after the frames when ffmpeg reported errors in an input whose length cannot be checked. */
export interface ResultFooter {
    decodeEndedEarly?: boolean;
    /** ffmpeg's last error lines (addresses and paths removed). */
    decodeErrors?: string;
}

export function footerJson(frameCount: number, footer: ResultFooter = {}): string {
    const extra = footer.decodeEndedEarly ? `,"decodeEndedEarly":true,"decodeErrors":${JSON.stringify(footer.decodeErrors ?? "")}` : "";
    return `],"frameCount":${frameCount}${extra}}\n`;
}

/** The whole document in memory (unit tests, tiny results). The worker streams it with ResultFileWriter. */
export function buildResultDocument(header: ResultHeader, frames: ResultFrame[]): string {
    return headerJson(header) + frames.map(frameJson).join(",") + footerJson(frames.length);
}

const FLUSH_BYTES = 256 * 1024;

export class ResultFileWriter {
    private pending: string[] = [];
    private pendingBytes = 0;
    private frames = 0;
    private bytes = 0;

    private constructor(
        private readonly file: FileHandle,
        readonly path: string,
    ) {}

    static async create(path: string, header: ResultHeader): Promise<ResultFileWriter> {
        const writer = new ResultFileWriter(await open(path, "w", 0o600), path);
        writer.push(headerJson(header));
        return writer;
    }

    private push(text: string): void {
        this.pending.push(text);
        this.pendingBytes += text.length;
    }

    /**
     * Every byte is written or an error says why: a write(2) may write less than asked (a disk filling up),
     * which is repeated for the rest; ENOSPC / EDQUOT become DISK_FULL (issue 17 item 14).
     */
    private async flush(): Promise<void> {
        if (this.pending.length === 0) return;
        const chunk = Buffer.from(this.pending.join(""), "utf8");
        this.pending = [];
        this.pendingBytes = 0;
        let offset = 0;
        try {
            while (offset < chunk.length) {
                const { bytesWritten } = await this.file.write(chunk, offset, chunk.length - offset);
                if (bytesWritten <= 0) throw Object.assign(new Error("write made no progress"), { code: "ENOSPC" });
                offset += bytesWritten;
            }
        } catch (err) {
            if (isDiskFull(err)) throw diskFullError(dirname(dirname(this.path)), "the result", err);
            throw err;
        }
        this.bytes += chunk.length;
    }

    async addFrame(frame: ResultFrame): Promise<void> {
        this.push((this.frames === 0 ? "" : ",") + frameJson(frame));
        this.frames++;
        if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
    }

    get frameCount(): number {
        return this.frames;
    }

    /** Completes the document and closes the file; returns its size in bytes. */
    async finish(footer: ResultFooter = {}): Promise<number> {
        this.push(footerJson(this.frames, footer));
        await this.flush();
        await this.file.close();
        return this.bytes;
    }

    async close(): Promise<void> {
        await this.file.close().catch(() => undefined);
    }
}

/** Results up to this size are uploaded from memory, so the SDK can replay the body when it retries. */
const BUFFERED_UPLOAD_BYTES = 16 * 1024 * 1024;

/** What happened to a result: written, or not written because the input object has been replaced since it was read. */
export type ResultWrite = { outcome: "written" } | { outcome: "superseded"; currentEtag: string };

/** Conditional writes refused in a row before giving up (another worker keeps writing the same key). */
const MAX_CONDITIONAL_WRITES = 5;

function statusOf(err: unknown): number | undefined {
    return err instanceof S3ServiceException
        ? err.$metadata.httpStatusCode
        : (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** An object's ETag (unquoted), or undefined when it does not exist (404, or 403 without s3:ListBucket). */
async function etagOf(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
        const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        return (out.ETag ?? "").replace(/"/g, "");
    } catch (err) {
        const status = statusOf(err);
        if (status === 404 || status === 403) return undefined;
        throw err;
    }
}

/**
 * Writes the result for `source` (the object version that was read, by ETag) so that it never replaces
 * the result of a newer version (issue 17 item 10):
 *   1. the input object must still be that version: otherwise it was replaced, the replacement's own job
 *      writes its result, and this one is "superseded" (nothing is written);
 *   2. the write is conditional on the result seen: If-None-Match "*" when there was none, If-Match its
 *      ETag otherwise. A 412 or 409 means another worker wrote in between: read that result's ETag and go
 *      back to 1 (the input check comes after reading it, so a newer version's result is never overwritten).
 * S3 supports both conditions on PutObject (If-None-Match since August 2024, If-Match since November 2024).
 */
export async function writeResult(
    s3: S3Client,
    target: { bucket: string; key: string },
    source: { bucket: string; key: string; etag: string },
    file: { path: string; bytes: number },
    signal?: AbortSignal,
): Promise<ResultWrite> {
    let existing: string | undefined;
    for (let attempt = 1; ; attempt++) {
        const current = await etagOf(s3, source.bucket, source.key, signal);
        if (current !== undefined && source.etag !== "" && current !== source.etag) return { outcome: "superseded", currentEtag: current };
        const body = file.bytes <= BUFFERED_UPLOAD_BYTES ? await readFile(file.path) : createReadStream(file.path);
        try {
            await s3.send(
                new PutObjectCommand({
                    Bucket: target.bucket,
                    Key: target.key,
                    Body: body,
                    ContentLength: file.bytes,
                    ContentType: "application/json",
                    ...(existing === undefined ? { IfNoneMatch: "*" } : { IfMatch: `"${existing}"` }),
                }),
                { abortSignal: signal },
            );
            return { outcome: "written" };
        } catch (err) {
            const status = statusOf(err);
            if ((status !== 412 && status !== 409 && status !== 404) || attempt >= MAX_CONDITIONAL_WRITES) throw err;
            // 412/409: someone wrote the result meanwhile; 404 (If-Match): the result we saw is gone (expired, deleted).
            existing = status === 404 ? undefined : await etagOf(s3, target.bucket, target.key, signal);
        }
    }
}
