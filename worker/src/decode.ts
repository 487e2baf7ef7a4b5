// ffprobe for validity and limits, then ffmpeg decoding to raw RGB frames of the model input size,
// read from its stdout straight into batch-sized buffers (one copy per byte, no per-frame buffers).
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { JobError, ShutdownError } from "./errors";

export interface VideoInfo {
    formatName: string;
    codec: string;
    width: number;
    height: number;
    /** Seconds; NaN when the container does not say. */
    durationSeconds: number;
    /** Average frames per second of the video stream; NaN when unknown. */
    frameRate: number;
    /** Frame count from the container header, when it has one. */
    frameCount?: number;
}

const STDERR_KEEP = 4000;

function tail(text: string): string {
    const trimmed = text.trim();
    return trimmed.length > 600 ? `...${trimmed.slice(-600)}` : trimmed;
}

function ratio(text: unknown): number {
    if (typeof text !== "string") return NaN;
    const [num, den] = text.split("/").map(Number);
    if (den === undefined) return Number(num);
    return den === 0 ? NaN : num / den;
}

function run(command: string, args: string[], signal: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], signal });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-STDERR_KEEP)));
        child.once("error", (err: NodeJS.ErrnoException) => {
            if (signal.aborted) reject(new ShutdownError());
            else reject(err.code === "ENOENT" ? new JobError(`${command} is not installed or not on PATH`, false, "NO_FFMPEG") : err);
        });
        child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** ffprobe the file: is it a video, how long, how big. Throws a permanent JobError when it is not a video. */
export async function probeVideo(path: string, signal: AbortSignal): Promise<VideoInfo> {
    const { code, stdout, stderr } = await run(
        "ffprobe",
        ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration,format_name", "-of", "json", path],
        signal,
    );
    if (signal.aborted) throw new ShutdownError();
    if (code !== 0) throw new JobError(`not a readable video: ffprobe says ${tail(stderr) || `exit code ${code}`}`, true, "NOT_A_VIDEO");
    let parsed: { streams?: Record<string, unknown>[]; format?: Record<string, unknown> };
    try {
        parsed = JSON.parse(stdout) as typeof parsed;
    } catch {
        throw new JobError(`ffprobe output is not JSON: ${tail(stdout)}`, true, "NOT_A_VIDEO");
    }
    const stream = parsed.streams?.[0];
    if (stream === undefined) throw new JobError(`not a video: no video stream in ${String(parsed.format?.format_name ?? "the file")}`, true, "NOT_A_VIDEO");
    const duration = Number(parsed.format?.duration ?? stream.duration);
    const avg = ratio(stream.avg_frame_rate);
    const frameRate = Number.isFinite(avg) && avg > 0 ? avg : ratio(stream.r_frame_rate);
    const nbFrames = Number(stream.nb_frames);
    return {
        formatName: String(parsed.format?.format_name ?? "unknown"),
        codec: String(stream.codec_name ?? "unknown"),
        width: Number(stream.width),
        height: Number(stream.height),
        durationSeconds: Number.isFinite(duration) ? duration : NaN,
        frameRate: Number.isFinite(frameRate) && frameRate > 0 ? frameRate : NaN,
        frameCount: Number.isSafeInteger(nbFrames) && nbFrames > 0 ? nbFrames : undefined,
    };
}

/**
 * Reuses batch-sized buffers once their batch is done, so a long video does not allocate (and the GC
 * does not chase) a fresh multi-megabyte buffer per batch.
 */
export class BatchBufferPool {
    private readonly free: Buffer[] = [];
    constructor(
        readonly bytes: number,
        private readonly maxFree: number,
    ) {}
    take(): Buffer {
        return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
    }
    /** Give back a buffer nobody reads any more (partial batches and foreign buffers are dropped). */
    give(buffer: Buffer): void {
        if (buffer.length === this.bytes && buffer.byteOffset === 0 && this.free.length < this.maxFree && !this.free.includes(buffer)) this.free.push(buffer);
    }
}

export interface DecodeOptions {
    path: string;
    width: number;
    height: number;
    /** Frames per second to keep; undefined = every frame. */
    sampleFps?: number;
    batchSize: number;
    signal: AbortSignal;
    /** From probeVideo: used to detect truncated input. */
    info?: VideoInfo;
    /** Where batch buffers come from; the consumer gives them back when done. */
    pool?: BatchBufferPool;
}

export interface FrameBatch {
    /** count * width * height * 3 bytes of RGB24; owned by the consumer once yielded. */
    data: Buffer;
    count: number;
    /** Index of the first frame in this batch among processed frames. */
    firstIndex: number;
}

export function ffmpegArgs(opts: Pick<DecodeOptions, "path" | "width" | "height" | "sampleFps">): string[] {
    const filters = [...(opts.sampleFps === undefined ? [] : [`fps=${opts.sampleFps}`]), `scale=${opts.width}:${opts.height}`];
    return [
        "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", opts.path,
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", filters.join(","),
        // passthrough: exactly one output frame per decoded frame (fps= already fixes the rate when sampling)
        "-fps_mode", "passthrough",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ];
}

/** How many frames a complete decode should give, when we can tell. */
export function expectedFrames(info: VideoInfo | undefined, sampleFps: number | undefined): number | undefined {
    if (info === undefined) return undefined;
    if (sampleFps !== undefined) return Number.isFinite(info.durationSeconds) ? Math.floor(info.durationSeconds * sampleFps) : undefined;
    if (info.frameCount !== undefined) return info.frameCount;
    return Number.isFinite(info.durationSeconds) && Number.isFinite(info.frameRate) ? Math.round(info.durationSeconds * info.frameRate) : undefined;
}

/** Decoded frames, batch by batch. Backpressure: ffmpeg blocks on its pipe while the consumer is busy. */
export async function* decodeBatches(opts: DecodeOptions): AsyncGenerator<FrameBatch> {
    if (opts.signal.aborted) throw new ShutdownError();
    const frameBytes = opts.width * opts.height * 3;
    const batchBytes = frameBytes * opts.batchSize;
    const child: ChildProcessByStdio<null, Readable, Readable> = spawn("ffmpeg", ffmpegArgs(opts), { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-STDERR_KEEP)));
    const exited = new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => resolve(code));
    });
    exited.catch(() => undefined);
    const kill = (): void => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    opts.signal.addEventListener("abort", kill, { once: true });
    const pool = opts.pool !== undefined && opts.pool.bytes === batchBytes ? opts.pool : undefined;
    const allocate = (): Buffer => (pool ? pool.take() : Buffer.allocUnsafe(batchBytes));
    let buffer = allocate();
    let filled = 0;
    let index = 0;
    try {
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
            let offset = 0;
            while (offset < chunk.length) {
                const n = Math.min(chunk.length - offset, batchBytes - filled);
                chunk.copy(buffer, filled, offset, offset + n);
                filled += n;
                offset += n;
                if (filled === batchBytes) {
                    const batch: FrameBatch = { data: buffer, count: opts.batchSize, firstIndex: index };
                    index += opts.batchSize;
                    buffer = allocate();
                    filled = 0;
                    yield batch;
                }
            }
        }
        let code: number | null;
        try {
            code = await exited;
        } catch (err) {
            const e = err as NodeJS.ErrnoException;
            throw e.code === "ENOENT" ? new JobError("ffmpeg is not installed or not on PATH", false, "NO_FFMPEG") : e;
        }
        if (opts.signal.aborted) throw new ShutdownError();
        if (code !== 0) throw new JobError(`ffmpeg failed to decode the video (exit code ${code}): ${tail(stderr)}`, true, "DECODE_FAILED");
        if (filled % frameBytes !== 0) throw new JobError(`ffmpeg ended mid-frame (${filled % frameBytes} of ${frameBytes} bytes): ${tail(stderr)}`, true, "DECODE_FAILED");
        const rest = filled / frameBytes;
        const total = index + rest;
        if (total === 0) throw new JobError(`the video has no decodable frames${stderr ? `: ${tail(stderr)}` : ""}`, true, "NO_FRAMES");
        const expected = expectedFrames(opts.info, opts.sampleFps);
        if (expected !== undefined && stderr.trim() !== "" && total < expected * 0.98 - 1) {
            throw new JobError(`truncated or corrupt video: decoded ${total} of ${expected} frames; ffmpeg says ${tail(stderr)}`, true, "TRUNCATED_VIDEO");
        }
        if (rest > 0) yield { data: buffer.subarray(0, filled), count: rest, firstIndex: index };
    } finally {
        opts.signal.removeEventListener("abort", kill);
        kill();
    }
}
