// ffprobe for validity and limits, then ffmpeg decoding to raw RGB frames of the model input size.
// ffmpeg's stdout is a local stream socket whose reads land straight in batch-sized buffers: no
// per-read buffer, no copy, nothing for the GC to chase (a plain child stdout pipe allocates a 64 KiB
// buffer per read and costs the worker about 0.4 ms of CPU per 300x300 frame more).
import { spawn, type ChildProcess } from "node:child_process";
import { readSync } from "node:fs";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
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

/** ffprobe's demuxers for single pictures: `image2` and the `*_pipe` image parsers. */
const IMAGE_FORMAT = /^(?:image2|[a-z0-9]+_pipe)$/;

const IMAGE_NAMES: Record<string, string> = {
    png: "PNG",
    mjpeg: "JPEG",
    jpegls: "JPEG-LS",
    jpeg2000: "JPEG 2000",
    webp: "WebP",
    bmp: "BMP",
    tiff: "TIFF",
    gif: "GIF",
    qoi: "QOI",
    pam: "PAM",
    ppm: "PPM",
    pgm: "PGM",
    sgi: "SGI",
    dpx: "DPX",
    exr: "OpenEXR",
    svg: "SVG",
};

/** "PNG image", "JPEG image", ... for the message that rejects a still picture. */
export function imageKind(codec: string): string {
    return `${IMAGE_NAMES[codec] ?? codec.toUpperCase()} image`;
}

/** ffmpeg's messages name the scratch file; say "the input" instead. */
function withoutPath(text: string, path: string): string {
    return text.split(path).join("the input");
}

/** ffprobe the file: is it a video, how long, how big. Throws a permanent JobError when it is not a video. */
export async function probeVideo(path: string, signal: AbortSignal): Promise<VideoInfo> {
    const { code, stdout, stderr } = await run(
        "ffprobe",
        [
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration,format_name",
            "-of",
            "json",
            path,
        ],
        signal,
    );
    if (signal.aborted) throw new ShutdownError();
    if (code !== 0)
        throw new JobError(
            `not a readable video: ffprobe says ${withoutPath(tail(stderr), path) || `exit code ${code}`}`,
            true,
            "NOT_A_VIDEO",
        );
    let parsed: { streams?: Record<string, unknown>[]; format?: Record<string, unknown> };
    try {
        parsed = JSON.parse(stdout) as typeof parsed;
    } catch {
        throw new JobError(`ffprobe output is not JSON: ${tail(stdout)}`, true, "NOT_A_VIDEO");
    }
    const stream = parsed.streams?.[0];
    if (stream === undefined)
        throw new JobError(`not a video: no video stream in ${String(parsed.format?.format_name ?? "the file")}`, true, "NOT_A_VIDEO");
    const duration = Number(parsed.format?.duration ?? stream.duration);
    const avg = ratio(stream.avg_frame_rate);
    const frameRate = Number.isFinite(avg) && avg > 0 ? avg : ratio(stream.r_frame_rate);
    const nbFrames = Number(stream.nb_frames);
    const formatName = String(parsed.format?.format_name ?? "unknown");
    const codec = String(stream.codec_name ?? "unknown");
    if (IMAGE_FORMAT.test(formatName) || (formatName === "gif" && !(nbFrames > 1))) {
        throw new JobError(`not a video (${imageKind(codec)})`, true, "NOT_A_VIDEO");
    }
    return {
        formatName,
        codec,
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
        if (buffer.length === this.bytes && buffer.byteOffset === 0 && this.free.length < this.maxFree && !this.free.includes(buffer))
            this.free.push(buffer);
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
    /** MAX_VIDEO_SECONDS: a frame presented later than this fails the decode with TOO_LONG. */
    maxSeconds?: number;
    /** Filled in as decoding goes (read it once the batches are consumed). */
    report?: DecodeReport;
    /** Where ffmpeg's log file lives while it decodes (about 250 bytes a frame); default the OS temp dir. */
    scratchDir?: string;
}

export interface DecodeReport {
    /** Set when ffmpeg reported decode errors but the input is not known to be truncated: decoding may have ended early. */
    decodeErrors?: string;
}

export interface FrameBatch {
    /** count * width * height * 3 bytes of RGB24; owned by the consumer once yielded. */
    data: Buffer;
    count: number;
    /** Index of the first frame in this batch among processed frames. */
    firstIndex: number;
    /** Each frame's presentation time in ms from the start of the video (null where ffmpeg gave none). */
    timestampsMs?: (number | null)[];
}

/**
 * The scaler: fast_bilinear is the cheapest swscale mode (about a third less ffmpeg CPU than the default
 * bicubic when shrinking 720p to 300x300) and, like the TF Object Detection API's own bilinear resize
 * without antialiasing, interpolates between neighbouring source pixels. The scale filter converts to
 * rgb24 in the same pass (the output format is negotiated through the graph).
 */
export const SCALE_FLAGS = "fast_bilinear";

/**
 * Sampling by presentation time: keep the first frame, then the first frame at or after each next
 * multiple of 1/fps (st/ld keep that next time between frames). Never duplicates a frame (the fps filter
 * does when asked for more than the video has) and never drops a short clip to nothing. Runs before the
 * scaler, so skipped frames are not scaled.
 */
export function selectByTime(fps: number): string {
    const eps = "1e-6";
    return `select='if(isnan(prev_selected_t)+gte(t+${eps}\\,ld(0))\\,st(0\\,floor(t*${fps}+1+${eps})/${fps})+1\\,0)'`;
}

export function ffmpegArgs(opts: Pick<DecodeOptions, "path" | "width" | "height" | "sampleFps">): string[] {
    const filters = [
        ...(opts.sampleFps === undefined ? [] : [selectByTime(opts.sampleFps)]),
        `scale=${opts.width}:${opts.height}:flags=${SCALE_FLAGS}`,
        // one stderr line per frame with its pts (checksums off: they would cost a pass over each frame)
        "showinfo=checksum=0",
    ];
    return [
        // level+info: showinfo logs at info; the [level] prefix tells its lines from errors
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "level+info",
        // software decode; hardware decoders are not in the worker image
        "-hwaccel",
        "none",
        "-i",
        opts.path,
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        filters.join(","),
        // passthrough: exactly one output frame per frame out of the filters, with its own timestamp
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ];
}

/** How many frames a complete decode should give, when we can tell. */
export function expectedFrames(info: VideoInfo | undefined, sampleFps: number | undefined): number | undefined {
    if (info === undefined) return undefined;
    if (sampleFps !== undefined) {
        if (!Number.isFinite(info.durationSeconds)) return undefined;
        // one frame per 1/fps slot that starts within the video, at most every frame
        const slots = Math.max(1, Math.ceil(info.durationSeconds * sampleFps - 1e-6));
        const all = info.frameCount ?? (Number.isFinite(info.frameRate) ? Math.round(info.durationSeconds * info.frameRate) : undefined);
        return all === undefined ? slots : Math.min(slots, all);
    }
    if (info.frameCount !== undefined) return info.frameCount;
    return Number.isFinite(info.durationSeconds) && Number.isFinite(info.frameRate)
        ? Math.round(info.durationSeconds * info.frameRate)
        : undefined;
}

/**
 * A connected pair of local stream sockets: `reader` reads with `onread` (into buffers it is given);
 * `peer` is handed to ffmpeg as its stdout. The socket lives in a fresh 0700 directory, so no other
 * user can connect first, and is unlinked as soon as the pair exists.
 */
async function frameSocketPair(onread: {
    buffer: () => Uint8Array;
    callback: (bytes: number) => boolean;
}): Promise<{ reader: Socket; peer: Socket }> {
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
/**
 * ffmpeg's stderr at level+info, line by line: showinfo's per-frame pts (in the filter's time base) and
 * the error lines (without the "[h264 @ 0x...]" addresses, so messages are stable).
 */
export class FfmpegLog {
    /** Presentation time (ms) of each frame out of the filters, by output index (null: the frame had none). */
    readonly timestampsMs: (number | null)[] = [];
    private timeBase = NaN;
    private partial = "";
    private errorText = "";
    onFrame?: (ms: number | null) => void;

    constructor(private readonly path: string) {}

    push(chunk: string): void {
        const text = this.partial + chunk;
        let start = 0;
        for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
            this.line(text.slice(start, nl));
            start = nl + 1;
        }
        this.partial = text.length - start > 65_536 ? "" : text.slice(start);
    }

    end(): void {
        if (this.partial !== "") this.line(this.partial);
        this.partial = "";
    }

    /** The last error lines ffmpeg printed, "" when none. */
    get errors(): string {
        return this.errorText.trim();
    }

    private line(line: string): void {
        const info = line.indexOf("] [info] ");
        if (info >= 0 && line.startsWith("[Parsed_showinfo_")) {
            const body = line.slice(info + 9);
            const frame = /^n:\s*(\d+)\s+pts:\s*(\S+)\s+pts_time:(\S+)/.exec(body);
            if (frame !== null) {
                const pts = Number(frame[2]); // NaN for NOPTS
                const exact = Number.isFinite(this.timeBase) ? pts * this.timeBase * 1000 : Number(frame[3]) * 1000;
                const ms = Number.isFinite(exact) ? Math.round(exact) : null;
                this.timestampsMs[Number(frame[1])] = ms;
                this.onFrame?.(ms);
                return;
            }
            const tb = /^config in time_base: (\d+)\/(\d+)/.exec(body);
            if (tb !== null && Number(tb[2]) > 0) this.timeBase = Number(tb[1]) / Number(tb[2]);
            return;
        }
        const level = /^(?:\[[^\]]*\] )?\[(error|fatal|panic)\] (.*)$/.exec(line);
        if (level !== null) {
            const where = /^\[([a-z0-9_]+) @ 0x[0-9a-f]+\]/.exec(line)?.[1];
            this.errorText =
                `${this.errorText}${where === undefined ? "" : `${where}: `}${level[2].split(this.path).join("the input")}\n`.slice(
                    -STDERR_KEEP,
                );
        }
    }
}

const STAMP_WAIT_MS = 2_000;
const STAMP_POLL_MS = 2;

/** Demuxers whose files say nothing about their own length (packet streams). */
const STREAM_FORMATS = new Set(["mpegts", "h264", "hevc", "mpegvideo", "m4v"]);

/** MPEG-TS packets are 188 bytes (192 in M2TS): a file that ends mid-packet was cut off. */
function endsMidPacket(info: VideoInfo | undefined, bytes: number | undefined): boolean {
    return info?.formatName === "mpegts" && bytes !== undefined && bytes % 188 !== 0 && bytes % 192 !== 0;
}

/** Decoded frames, batch by batch. Backpressure: ffmpeg blocks on its stdout while a decoded batch waits for the consumer. */
export async function* decodeBatches(opts: DecodeOptions & { inputBytes?: number }): AsyncGenerator<FrameBatch> {
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
    const log = new FfmpegLog(opts.path);
    let logEnded = false;
    // ffmpeg's stderr goes to an unlinked file read once per batch: a pipe would wake the worker for every
    // write ffmpeg makes (several per frame with showinfo), which costs more than the frame reads.
    const logFile = await openScratchLog(opts.scratchDir ?? tmpdir());
    const logDecoder = new StringDecoder("utf8");
    const logChunk = Buffer.allocUnsafe(64 * 1024);
    let logPosition = 0;
    const readLog = (): void => {
        for (;;) {
            const n = readSync(logFile.fd, logChunk, 0, logChunk.length, logPosition);
            if (n <= 0) return;
            logPosition += n;
            log.push(logDecoder.write(logChunk.subarray(0, n)));
            if (n < logChunk.length) return;
        }
    };
    let tooLongAt: number | undefined;
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

    let child: ChildProcess;
    try {
        child = spawn("ffmpeg", ffmpegArgs(opts), { stdio: ["ignore", peer, logFile.fd] });
    } finally {
        peer.destroy(); // ffmpeg holds its own copy of the descriptor
    }
    const kill = (): void => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    const maxMs = opts.maxSeconds === undefined ? Infinity : opts.maxSeconds * 1000;
    log.onFrame = (ms) => {
        if (ms !== null && ms > maxMs && tooLongAt === undefined) {
            tooLongAt = ms;
            kill();
        }
    };
    const exited = new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => {
            readLog();
            log.push(logDecoder.end());
            log.end();
            logEnded = true;
            notify();
            resolve(code);
        });
    });
    exited.catch(() => undefined);
    opts.signal.addEventListener("abort", kill, { once: true });
    const tooLong = (): JobError =>
        new JobError(
            `video runs past MAX_VIDEO_SECONDS=${opts.maxSeconds}: a frame is presented at ${((tooLongAt ?? 0) / 1000).toFixed(1)} s (the container did not say how long it is)`,
            true,
            "TOO_LONG",
        );
    // A batch goes out once ffmpeg's log has given every one of its frames a timestamp (showinfo logs a
    // frame before writing it, so the line is normally in the file already) or ffmpeg has exited. Until
    // then the log is read again every STAMP_POLL_MS; should a line never come (a log format this parser
    // does not know), the batch goes out after STAMP_WAIT_MS with null timestamps rather than hold ffmpeg up.
    let waitedFor: FrameBatch | undefined;
    let waitedOut = false;
    let stampTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    const stamped = (batch: FrameBatch): boolean => {
        if (logEnded || log.timestampsMs.length >= batch.firstIndex + batch.count) return true;
        readLog();
        return log.timestampsMs.length >= batch.firstIndex + batch.count || (waitedOut && waitedFor === batch);
    };
    const stamp = (batch: FrameBatch): FrameBatch => {
        const times: (number | null)[] = new Array<number | null>(batch.count);
        for (let i = 0; i < batch.count; i++) times[i] = log.timestampsMs[batch.firstIndex + i] ?? null;
        batch.timestampsMs = times;
        return batch;
    };
    try {
        for (;;) {
            if (tooLongAt !== undefined) throw tooLong();
            const batch = ready[0];
            if (batch !== undefined && stamped(batch)) {
                ready.shift();
                reader.resume(); // decode the next batch while this one is in use
                yield stamp(batch);
                continue;
            }
            if (batch === undefined && (readError !== undefined || ended)) break;
            if (batch !== undefined) {
                if (waitedFor !== batch) {
                    waitedFor = batch;
                    waitedOut = false;
                    clearTimeout(stampTimer);
                    stampTimer = setTimeout(() => {
                        waitedOut = true;
                        notify();
                    }, STAMP_WAIT_MS);
                }
                pollTimer = setTimeout(notify, STAMP_POLL_MS);
            }
            await new Promise<void>((resolve) => (wake = resolve));
            clearTimeout(pollTimer);
        }
        let code: number | null;
        try {
            code = await exited;
        } catch (err) {
            const e = err as NodeJS.ErrnoException;
            throw e.code === "ENOENT" ? new JobError("ffmpeg is not installed or not on PATH", false, "NO_FFMPEG") : e;
        }
        if (opts.signal.aborted) throw new ShutdownError();
        if (tooLongAt !== undefined) throw tooLong();
        const errors = log.errors;
        if (readError !== undefined) throw new JobError(`reading ffmpeg's output failed: ${readError.message}`, false, "DECODE_FAILED");
        if (code !== 0) throw new JobError(`ffmpeg failed to decode the video (exit code ${code}): ${tail(errors)}`, true, "DECODE_FAILED");
        if (filled % frameBytes !== 0)
            throw new JobError(
                `ffmpeg ended mid-frame (${filled % frameBytes} of ${frameBytes} bytes): ${tail(errors)}`,
                true,
                "DECODE_FAILED",
            );
        const rest = filled / frameBytes;
        const total = index + rest;
        if (total === 0) throw new JobError(`the video has no decodable frames${errors ? `: ${tail(errors)}` : ""}`, true, "NO_FRAMES");
        const expected = expectedFrames(opts.info, opts.sampleFps);
        if (errors !== "") {
            if (expected !== undefined && !STREAM_FORMATS.has(opts.info?.formatName ?? "") && total < expected * 0.98 - 1) {
                throw new JobError(
                    `truncated or corrupt video: decoded ${total} of ${expected} frames; ffmpeg says ${tail(errors)}`,
                    true,
                    "TRUNCATED_VIDEO",
                );
            }
            if (endsMidPacket(opts.info, opts.inputBytes)) {
                throw new JobError(
                    `truncated video: the MPEG-TS file ends mid-packet (${opts.inputBytes} bytes is not a whole number of 188-byte packets) and decoding ended in errors after ${total} frames; ffmpeg says ${tail(errors)}`,
                    true,
                    "TRUNCATED_VIDEO",
                );
            }
            // The container cannot say how long it should be: keep the frames, and say so in the result.
            if (opts.report) opts.report.decodeErrors = tail(errors);
        }
        if (rest > 0) yield stamp({ data: buffer.subarray(0, filled), count: rest, firstIndex: index });
    } finally {
        clearTimeout(stampTimer);
        clearTimeout(pollTimer);
        opts.signal.removeEventListener("abort", kill);
        kill();
        reader.destroy();
        await exited.catch(() => undefined);
        await logFile.close();
    }
}

/** A file for ffmpeg's stderr that is already unlinked: it goes away with the last descriptor. */
async function openScratchLog(parent: string): Promise<FileHandle> {
    const dir = await mkdtemp(join(parent, "ffmpeg-log-"));
    try {
        return await open(join(dir, "stderr"), "w+", 0o600);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}
