// ffprobe for validity and limits, then ffmpeg decoding to raw RGB frames of the model input size.
// ffmpeg's stdout is a local stream socket whose reads land straight in batch-sized buffers: no
// per-read buffer, no copy, nothing for the GC to chase (a plain child stdout pipe allocates a 64 KiB
// buffer per read and costs the worker about 0.4 ms of CPU per 300x300 frame more).
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/**
 * The scaler: fast_bilinear is the cheapest swscale mode (about a third less ffmpeg CPU than the default
 * bicubic when shrinking 720p to 300x300) and, like the TF Object Detection API's own bilinear resize
 * without antialiasing, interpolates between neighbouring source pixels. The scale filter converts to
 * rgb24 in the same pass (the output format is negotiated through the graph).
 */
export const SCALE_FLAGS = "fast_bilinear";

export function ffmpegArgs(opts: Pick<DecodeOptions, "path" | "width" | "height" | "sampleFps">): string[] {
    const filters = [...(opts.sampleFps === undefined ? [] : [`fps=${opts.sampleFps}`]), `scale=${opts.width}:${opts.height}:flags=${SCALE_FLAGS}`];
    return [
        "-nostdin", "-hide_banner", "-loglevel", "error",
        // software decode; hardware decoders are not in the worker image
        "-hwaccel", "none",
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

/**
 * A connected pair of local stream sockets: `reader` reads with `onread` (into buffers it is given);
 * `peer` is handed to ffmpeg as its stdout. The socket lives in a fresh 0700 directory, so no other
 * user can connect first, and is unlinked as soon as the pair exists.
 */
async function frameSocketPair(onread: { buffer: () => Uint8Array; callback: (bytes: number) => boolean }): Promise<{ reader: Socket; peer: Socket }> {
    const dir = await mkdtemp(join(tmpdir(), "frames-"));
    const path = join(dir, "ffmpeg-stdout.sock");
    const server = createServer({ pauseOnConnect: true });
    try {
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(path, () => resolve());
        });
        const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
        const reader = connect({ path, onread: { buffer: onread.buffer, callback: (bytes: number) => onread.callback(bytes) } });
        const peer = await new Promise<Socket>((resolve, reject) => {
            reader.once("error", reject);
            accepted.then((socket) => {
                reader.off("error", reject);
                resolve(socket);
            }, reject);
        });
        return { reader, peer };
    } finally {
        server.close(); // stops listening now (its callback would wait for the pair to close)
        await rm(dir, { recursive: true, force: true });
    }
}

/** Decoded frames, batch by batch. Backpressure: ffmpeg blocks on its stdout while a decoded batch waits for the consumer. */
export async function* decodeBatches(opts: DecodeOptions): AsyncGenerator<FrameBatch> {
    if (opts.signal.aborted) throw new ShutdownError();
    const frameBytes = opts.width * opts.height * 3;
    const batchBytes = frameBytes * opts.batchSize;
    const pool = opts.pool !== undefined && opts.pool.bytes === batchBytes ? opts.pool : undefined;
    const allocate = (): Buffer => (pool ? pool.take() : Buffer.allocUnsafeSlow(batchBytes));

    // Filled by socket reads, in order; `ready` holds whole batches the consumer has not taken yet.
    let buffer = allocate();
    let filled = 0;
    let index = 0;
    const ready: FrameBatch[] = [];
    let ended = false;
    let readError: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
        const w = wake;
        wake = undefined;
        w?.();
    };
    const { reader, peer } = await frameSocketPair({
        // Each read lands right after the bytes already in the batch buffer.
        buffer: () => buffer.subarray(filled),
        callback: (bytes) => {
            filled += bytes;
            if (filled < batchBytes) return true;
            ready.push({ data: buffer, count: opts.batchSize, firstIndex: index });
            index += opts.batchSize;
            buffer = allocate();
            filled = 0;
            const consumerWaiting = wake !== undefined;
            notify();
            // Nobody waiting: pause until the consumer takes this batch (ffmpeg then stalls on a full socket).
            return consumerWaiting;
        },
    });
    reader.on("end", () => {
        ended = true;
        notify();
    });
    reader.on("close", () => {
        ended = true;
        notify();
    });
    reader.on("error", (err) => {
        readError = err;
        notify();
    });

    let child: ChildProcessByStdio<null, null, Readable>;
    try {
        child = spawn("ffmpeg", ffmpegArgs(opts), { stdio: ["ignore", peer, "pipe"] });
    } finally {
        peer.destroy(); // ffmpeg holds its own copy of the descriptor
    }
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
    try {
        for (;;) {
            const batch = ready.shift();
            if (batch !== undefined) {
                reader.resume(); // decode the next batch while this one is in use
                yield batch;
                continue;
            }
            if (readError !== undefined || ended) break;
            await new Promise<void>((resolve) => (wake = resolve));
        }
        let code: number | null;
        try {
            code = await exited;
        } catch (err) {
            const e = err as NodeJS.ErrnoException;
            throw e.code === "ENOENT" ? new JobError("ffmpeg is not installed or not on PATH", false, "NO_FFMPEG") : e;
        }
        if (opts.signal.aborted) throw new ShutdownError();
        if (readError !== undefined) throw new JobError(`reading ffmpeg's output failed: ${readError.message}`, false, "DECODE_FAILED");
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
        reader.destroy();
    }
}
