// ffmpeg decoding the probed video stream to raw RGB frames of the model input size (probe.ts decides
// whether and what to decode).
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
import { cleanFfmpegText, killedBy, signalName, tail } from "./ffmpeg-output";
import { inputArgs, type VideoInfo } from "./probe";

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
    /**
     * DECODE_STALL_SECONDS: ffmpeg is stopped, and the decode fails as transient DECODE_STALLED, when it
     * gives no frame for this long while the worker waits for one. Default: defaultStallSeconds().
     */
    stallSeconds?: number;
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

export function ffmpegArgs(
    opts: Pick<DecodeOptions, "path" | "width" | "height" | "sampleFps"> & { info?: Pick<VideoInfo, "demuxer" | "streamIndex"> },
): string[] {
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
        // the demuxer ffprobe found, only the file protocol, only this file
        ...inputArgs(opts.path, opts.info?.demuxer),
        // the stream ffprobe picked (without a probe: the first video stream that is not an attached picture)
        "-map",
        opts.info === undefined ? "0:V:0" : `0:${opts.info.streamIndex}`,
        "-an",
        "-sn",
        "-dn",
        "-vf",
        filters.join(","),
        // passthrough: exactly one output frame per frame out of the filters, with its own timestamp, in the
        // input stream's time base (the default, 1/frame rate, cannot hold a variable-rate video's times)
        "-fps_mode",
        "passthrough",
        "-enc_time_base",
        "-1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ];
}

/**
 * How many frames a complete decode should give, for progress reports: the container's declared count,
 * else duration x the stated average rate (an estimate: a variable-rate video's stated rate is not its
 * average), undefined when neither is known.
 */
export function expectedFrames(info: VideoInfo | undefined, sampleFps: number | undefined): number | undefined {
    if (info === undefined) return undefined;
    const all =
        info.frameCount ??
        (Number.isFinite(info.durationSeconds) && Number.isFinite(info.frameRate)
            ? Math.round(info.durationSeconds * info.frameRate)
            : undefined);
    if (sampleFps !== undefined) {
        if (!Number.isFinite(info.durationSeconds)) return undefined;
        // one frame per 1/fps slot that starts within the video, at most every frame
        const slots = Math.max(1, Math.ceil(info.durationSeconds * sampleFps - 1e-6));
        return all === undefined ? slots : Math.min(slots, all);
    }
    return all;
}

/** Demuxers whose files say nothing reliable about their own length (packet streams). */
const STREAM_FORMATS = new Set(["mpegts", "h264", "hevc", "mpegvideo", "m4v"]);

export type Coverage = { complete: true } | { complete: false; shortBy: string } | { complete: undefined };

/**
 * Did a decode reach the end of the video? By the container's declared frame count when there is one and
 * every frame was asked for (fewer than 98% of them, less one, is short); otherwise by time, so that a
 * variable-frame-rate video is judged right: the last frame must be presented within a tolerance of the
 * video stream's end (2% of it, two frame intervals at the stated rate or the sampling interval, at least
 * 0.5 s). `complete: undefined` when the container cannot say (packet streams, no duration).
 */
export function decodeCoverage(
    info: VideoInfo | undefined,
    sampleFps: number | undefined,
    decoded: number,
    lastTimestampMs: number | null | undefined,
): Coverage {
    if (info === undefined || STREAM_FORMATS.has(info.formatName)) return { complete: undefined };
    if (sampleFps === undefined && info.frameCount !== undefined)
        return decoded < info.frameCount * 0.98 - 1
            ? { complete: false, shortBy: `decoded ${decoded} of ${info.frameCount} frames` }
            : { complete: true };
    const end = info.videoEndSeconds;
    if (!Number.isFinite(end) || lastTimestampMs === null || lastTimestampMs === undefined) return { complete: undefined };
    const step = sampleFps !== undefined ? 1 / sampleFps : Number.isFinite(info.frameRate) ? 1 / info.frameRate : 0;
    const reached = lastTimestampMs / 1000;
    return reached < end - Math.max(0.02 * end, 2 * step, 0.5)
        ? { complete: false, shortBy: `decoded ${decoded} frames, the last at ${reached.toFixed(2)} s of ${end.toFixed(2)} s` }
        : { complete: true };
}

/**
 * DECODE_STALL_SECONDS' default for one video: 30 s for ffmpeg's start and the decoder's reorder delay, plus
 * a pessimistic 100 ns per pixel for every source frame decoded per frame delivered (frame rate / SAMPLE_FPS
 * of them when sampling; 16 more for reordering). 34 s for 1080p, 45 s for 4K; an unknown size counts as 8K.
 */
export function defaultStallSeconds(info: VideoInfo | undefined, sampleFps: number | undefined): number {
    const pixels = info !== undefined && info.width > 0 && info.height > 0 ? info.width * info.height : 7680 * 4320;
    const rate = info !== undefined && Number.isFinite(info.frameRate) ? info.frameRate : 60;
    const perFrame = sampleFps === undefined ? 1 : Math.max(1, rate / sampleFps);
    return Math.ceil(30 + (perFrame + 16) * pixels * 100e-9);
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

/**
 * ffmpeg's stderr at level+info, line by line: showinfo's per-frame pts (in the filter's time base) and
 * the error lines (without the "[h264 @ 0x...]" addresses, so messages are stable), and a signal it caught.
 */
export class FfmpegLog {
    /** Presentation time (ms) of each frame out of the filters, by output index (null: the frame had none). */
    readonly timestampsMs: (number | null)[] = [];
    private timeBase = NaN;
    private partial = "";
    private errorText = "";
    /** A signal ffmpeg caught and stopped for ("Exiting normally, received signal 15"). */
    caughtSignal?: number;
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
        const level = /^(?:\[[^\]]*\] )?\[(error|fatal|panic|info)\] (.*)$/.exec(line);
        if (level === null) return;
        if (level[1] === "info") {
            // ffmpeg catches SIGINT, SIGTERM and SIGQUIT, finishes, says so and exits 255
            const caught = /^Exiting normally, received signal (\d+)\.?$/.exec(level[2]);
            if (caught !== null) this.caughtSignal = Number(caught[1]);
            return;
        }
        // The rawvideo muxer's complaint about the output's timestamps says nothing about the input.
        if (level[2].includes("non monotonically increasing dts to muxer")) return;
        const where = /^\[([^\]\s@]+) @ 0x[0-9a-f]+\]/.exec(line)?.[1];
        this.errorText = `${this.errorText}${where === undefined ? "" : `${where}: `}${cleanFfmpegText(level[2], this.path)}\n`.slice(
            -STDERR_KEEP,
        );
    }
}

const STDERR_KEEP = 4000;
const STAMP_WAIT_MS = 2_000;
const STAMP_POLL_MS = 2;

/** What demuxers say when a file ends inside one of their elements (Matroska, MP4). */
const CUT_OFF = /File ended prematurely|partial file/;

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
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, signal) => {
            readLog();
            log.push(logDecoder.end());
            log.end();
            logEnded = true;
            notify();
            resolve({ code, signal });
        });
    });
    exited.catch(() => undefined);
    opts.signal.addEventListener("abort", kill, { once: true });
    // The no-progress watchdog: while the worker waits for ffmpeg (no decoded batch is waiting for the
    // consumer, ffmpeg has not exited), ffmpeg's output must grow at least once per stallMs; an ffmpeg that
    // closed its output but never exits counts too. It looks every stallMs / 5 (at most every second):
    // nothing is added to the per-frame path.
    const stallMs = (opts.stallSeconds ?? defaultStallSeconds(opts.info, opts.sampleFps)) * 1000;
    let stalledAt: number | undefined;
    let bytesSeen = 0;
    let quietSince = performance.now();
    const watchdog = setInterval(
        () => {
            const bytes = index * frameBytes + filled;
            const now = performance.now();
            if (bytes !== bytesSeen || ready.length > 0 || logEnded) {
                bytesSeen = bytes;
                quietSince = now;
            } else if (now - quietSince >= stallMs && stalledAt === undefined) {
                stalledAt = index + Math.floor(filled / frameBytes);
                kill();
                notify();
            }
        },
        Math.min(1_000, Math.max(20, stallMs / 5)),
    );
    const stalled = (): JobError =>
        new JobError(
            `ffmpeg gave no frame for ${stallMs / 1000} s (DECODE_STALL_SECONDS) after ${stalledAt} frames and was stopped; the job will be tried again`,
            false,
            "DECODE_STALLED",
        );
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
            if (stalledAt !== undefined) throw stalled();
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
        let exit: { code: number | null; signal: NodeJS.Signals | null };
        try {
            exit = await exited;
        } catch (err) {
            const e = err as NodeJS.ErrnoException;
            throw e.code === "ENOENT" ? new JobError("ffmpeg is not installed or not on PATH", false, "NO_FFMPEG") : e;
        }
        if (opts.signal.aborted) throw new ShutdownError();
        if (tooLongAt !== undefined) throw tooLong();
        if (stalledAt !== undefined) throw stalled();
        const errors = log.errors;
        if (readError !== undefined) throw new JobError(`reading ffmpeg's output failed: ${readError.message}`, false, "DECODE_FAILED");
        // Killed from outside (the out-of-memory killer), or stopped by a signal it caught: not the video's fault.
        if (exit.signal !== null)
            throw new JobError(
                `ffmpeg ${killedBy(exit.signal)} after ${index + Math.floor(filled / frameBytes)} frames`,
                false,
                "DECODER_KILLED",
            );
        if (log.caughtSignal !== undefined && exit.code !== 0)
            throw new JobError(
                `ffmpeg was stopped by ${signalName(log.caughtSignal)} after ${index + Math.floor(filled / frameBytes)} frames`,
                false,
                "DECODER_KILLED",
            );
        if (exit.code !== 0)
            throw new JobError(`ffmpeg failed to decode the video (exit code ${exit.code}): ${tail(errors)}`, true, "DECODE_FAILED");
        if (filled % frameBytes !== 0)
            throw new JobError(
                `ffmpeg ended mid-frame (${filled % frameBytes} of ${frameBytes} bytes): ${tail(errors)}`,
                true,
                "DECODE_FAILED",
            );
        const rest = filled / frameBytes;
        const total = index + rest;
        if (total === 0) throw new JobError(`the video has no decodable frames${errors ? `: ${tail(errors)}` : ""}`, true, "NO_FRAMES");
        if (errors !== "") {
            const coverage = decodeCoverage(opts.info, opts.sampleFps, total, log.timestampsMs[total - 1]);
            if (coverage.complete === false)
                throw new JobError(`truncated or corrupt video: ${coverage.shortBy}; ffmpeg says ${tail(errors)}`, true, "TRUNCATED_VIDEO");
            if (endsMidPacket(opts.info, opts.inputBytes)) {
                throw new JobError(
                    `truncated video: the MPEG-TS file ends mid-packet (${opts.inputBytes} bytes is not a whole number of 188-byte packets) and decoding ended in errors after ${total} frames; ffmpeg says ${tail(errors)}`,
                    true,
                    "TRUNCATED_VIDEO",
                );
            }
            // A container without an index or a duration (a streamed Matroska file) that its demuxer says was cut off.
            if (coverage.complete === undefined && CUT_OFF.test(errors))
                throw new JobError(
                    `truncated video: the ${opts.info?.formatName ?? "input"} file ends mid-element after ${total} frames (it has no index or duration to check against); ffmpeg says ${tail(errors)}`,
                    true,
                    "TRUNCATED_VIDEO",
                );
            // The container cannot say how long it should be: keep the frames, and say so in the result.
            if (opts.report) opts.report.decodeErrors = tail(errors);
        }
        if (rest > 0) yield stamp({ data: buffer.subarray(0, filled), count: rest, firstIndex: index });
    } finally {
        clearTimeout(stampTimer);
        clearTimeout(pollTimer);
        clearInterval(watchdog);
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
