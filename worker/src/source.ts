// Streams the input video from S3 to a local file (ffmpeg needs a seekable file for mp4/mov), once,
// enforcing the size limit before and while downloading.
import { createWriteStream } from "node:fs";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { dirname } from "node:path";
import { describeLimits, diskFullError, isDiskFull, workDirRoom, type WorkDirLimits } from "./disk";
import { GiveBackError, JobError, ShutdownError } from "./errors";
import type { Job } from "./jobs";
import { errorMessage, type Logger } from "./log";

export interface DownloadedVideo {
    path: string;
    bytes: number;
    etag: string;
}

const NOT_FOUND = new Set(["NoSuchKey", "NoSuchBucket", "NotFound"]);

/** Whole-download attempts when the body stream fails or stalls mid-transfer (the SDK retries only up to the headers). */
export const DOWNLOAD_ATTEMPTS = 3;

export async function downloadVideo(
    s3: S3Client,
    job: Job,
    path: string,
    maxBytes: number,
    signal: AbortSignal,
    log?: Logger,
    limits: WorkDirLimits = { reservePercent: 0 },
): Promise<DownloadedVideo> {
    let etag: string | undefined;
    for (let attempt = 1; ; attempt++) {
        try {
            return await downloadOnce(s3, job, path, maxBytes, signal, etag, (seen) => (etag = seen), limits);
        } catch (err) {
            if (err instanceof JobError || err instanceof GiveBackError || signal.aborted) throw signal.aborted ? new ShutdownError() : err;
            // A full disk is not a stalled transfer: no point fetching again (issue 17 item 14).
            if (isDiskFull(err)) throw diskFullError(dirname(dirname(path)), "the video", err);
            if (attempt >= DOWNLOAD_ATTEMPTS) {
                throw new JobError(
                    `downloading the input failed ${attempt} times (the transfer stalled or broke, AWS_TIMEOUT_SECONDS applies to any pause): ${errorMessage(err)}`,
                    false,
                    "S3_TRANSFER_FAILED",
                );
            }
            log?.warn("input download failed mid-transfer; starting it again", { attempt, error: errorMessage(err) });
        }
    }
}

async function downloadOnce(
    s3: S3Client,
    job: Job,
    path: string,
    maxBytes: number,
    signal: AbortSignal,
    ifMatch: string | undefined,
    onEtag: (etag: string) => void,
    limits: WorkDirLimits,
): Promise<DownloadedVideo> {
    let out;
    try {
        // Same object on a retry: IfMatch pins the ETag of the first attempt.
        out = await s3.send(
            new GetObjectCommand({ Bucket: job.bucket, Key: job.key, ...(ifMatch === undefined ? {} : { IfMatch: `"${ifMatch}"` }) }),
            { abortSignal: signal },
        );
    } catch (err) {
        if (signal.aborted) throw new ShutdownError();
        if (err instanceof S3ServiceException) {
            if (NOT_FOUND.has(err.name) || err.$metadata.httpStatusCode === 404) {
                throw new JobError(`input object does not exist (${err.name})`, true, "OBJECT_NOT_FOUND");
            }
            if (err.$metadata.httpStatusCode === 403) {
                throw new JobError(
                    `access denied reading the input object (${err.name}); without s3:ListBucket a missing object also reads as 403`,
                    true,
                    "ACCESS_DENIED",
                );
            }
            if (err.$metadata.httpStatusCode === 412)
                throw new JobError("the input object changed while it was being downloaded; the job is retried", false, "OBJECT_CHANGED");
        }
        throw new JobError(`S3 GetObject failed after the SDK's retries: ${errorMessage(err)}`, false, "S3_UNAVAILABLE");
    }
    const etag = (out.ETag ?? "").replace(/"/g, "");
    if (etag !== "") onEtag(etag);
    const size = out.ContentLength;
    if (size !== undefined && size > maxBytes) {
        (out.Body as Readable | undefined)?.destroy?.();
        throw new JobError(`video is ${size} bytes, over MAX_VIDEO_BYTES=${maxBytes}`, true, "TOO_LARGE");
    }
    if (out.Body === undefined) throw new JobError("S3 returned no body for the input object", false, "EMPTY_BODY");
    if (size !== undefined && limits.limitBytes !== undefined && size > limits.limitBytes) {
        (out.Body as Readable).destroy?.();
        throw new JobError(
            `video is ${size} bytes, more than WORK_DIR may ever hold (WORK_DIR_LIMIT_BYTES=${limits.limitBytes})`,
            true,
            "TOO_LARGE",
        );
    }
    if (size !== undefined) {
        // The job directory is WORK_DIR/<job>; the limits are WORK_DIR's.
        const { room } = await workDirRoom(dirname(dirname(path)), limits);
        if (room < size) {
            (out.Body as Readable).destroy?.();
            throw diskFullError(dirname(dirname(path)), `a video of ${size} bytes (${room} bytes free${describeLimits(limits)})`);
        }
    }
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
    if (size !== undefined && bytes !== size) throw new Error(`the body ended after ${bytes} of ${size} bytes`);
    return { path, bytes, etag };
}
