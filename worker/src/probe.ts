// ffprobe: is the upload a video the worker may read, which of its streams is the video, how long it is
// and how many frames it should give. Only the uploaded file is ever read: ffprobe and ffmpeg may use the
// `file` protocol and the video demuxers below, and nothing else (a playlist or a concat list that names
// other files is refused before anything it names is opened).
import { spawn } from "node:child_process";
import { JobError, ShutdownError } from "./errors";
import { cleanFfmpegText, killedBy, tail } from "./ffmpeg-output";

export interface VideoInfo {
    /** ffprobe's name of the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
    formatName: string;
    /** The demuxer decoding must use: the first name of formatName ("mov"). */
    demuxer: string;
    /** The video stream to decode: its index among all the file's streams. */
    streamIndex: number;
    codec: string;
    width: number;
    height: number;
    /** Seconds; NaN when the container does not say. */
    durationSeconds: number;
    /**
     * Where the video stream ends, in seconds on ffmpeg's clock (which starts at the file's start time);
     * NaN when the container does not say.
     */
    videoEndSeconds: number;
    /** Average frames per second of the video stream as the container states it; NaN when unknown. */
    frameRate: number;
    /** Frame count the container declares (an MP4 sample table, Matroska statistics tags), when it has one. */
    frameCount?: number;
}

export interface ProbeOptions {
    /** ffprobe is stopped (and the job given back) when it has not answered within this long. */
    timeoutMs?: number;
}

/** PROBE_TIMEOUT_SECONDS' default: reading a file's headers takes well under a second. */
export const DEFAULT_PROBE_TIMEOUT_SECONDS = 60;

/**
 * The demuxers ffprobe and ffmpeg may use (`-format_whitelist`): containers of video that read nothing but
 * the one file they are given. Not here, among others: hls, dash, concat, imf, sdp (they name other files
 * or network streams), image2 (file-name patterns), audio and still-image formats.
 */
export const VIDEO_DEMUXERS: readonly string[] = [
    "mov,mp4,m4a,3gp,3g2,mj2", // MP4, MOV, 3GP; external data references (drefs) are off by default and forced off when decoding
    "matroska,webm",
    "avi",
    "mpegts",
    "mpeg", // MPEG program stream (.mpg, .vob)
    "flv",
    "asf", // WMV
    "ogg", // Theora
    "gif", // animated GIF; a single-frame GIF is refused as a still image
    "h264", // raw elementary streams
    "hevc",
    "mpegvideo",
    "m4v",
];

/** ffmpeg/ffprobe input options that keep them to this one file and the allowed demuxers. */
export function inputArgs(path: string, demuxer?: string): string[] {
    return [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        VIDEO_DEMUXERS.join(","),
        ...(demuxer === undefined ? [] : ["-f", demuxer]),
        ...(demuxer === "mov" ? ["-enable_drefs", "0"] : []),
        "-i",
        // the file: protocol, so that nothing in the path can ever be read as another protocol
        `file:${path}`,
    ];
}

const IMAGE_NAMES: Record<string, string> = {
    png: "PNG",
    apng: "PNG",
    jpeg: "JPEG",
    mjpeg: "JPEG",
    jpegls: "JPEG-LS",
    jpeg2000: "JPEG 2000",
    j2k: "JPEG 2000",
    jpegxl: "JPEG XL",
    webp: "WebP",
    bmp: "BMP",
    tiff: "TIFF",
    gif: "GIF",
    ico: "ICO",
    qoi: "QOI",
    pam: "PAM",
    ppm: "PPM",
    pgm: "PGM",
    pbm: "PBM",
    psd: "PSD",
    sgi: "SGI",
    dpx: "DPX",
    exr: "OpenEXR",
    svg: "SVG",
    dds: "DDS",
    xpm: "XPM",
};

/** "PNG image", "JPEG image", ... for the message that refuses a still picture. */
export function imageKind(codec: string): string {
    return `${IMAGE_NAMES[codec] ?? codec.toUpperCase()} image`;
}

const AUDIO_FORMATS: Record<string, string> = {
    mp3: "MP3",
    wav: "WAV",
    w64: "Wave64",
    flac: "FLAC",
    aac: "AAC",
    ac3: "AC-3",
    eac3: "E-AC-3",
    aiff: "AIFF",
    amr: "AMR",
    ape: "Monkey's Audio",
    au: "Sun AU",
    caf: "CAF",
    dts: "DTS",
    mpc: "Musepack",
    mpc8: "Musepack",
    tta: "TTA",
    wv: "WavPack",
    truehd: "TrueHD",
};

/** What a demuxer the worker does not use says about the file, for the message that refuses it. */
const INDIRECT_FORMATS: Record<string, string> = {
    hls: "an HLS playlist (m3u8), which names other files",
    dash: "a DASH manifest (mpd), which names other files",
    concat: "an ffconcat list, which names other files",
    imf: "an IMF composition, which names other files",
    sdp: "an SDP session description, which names network streams",
    image2: "an image sequence, which names other files",
    rtsp: "an RTSP stream description",
};

function refusedFormat(format: string): JobError {
    const base = format.replace(/_pipe$/, "").replace(/pipe$/, "");
    if (format === "ico" || format.endsWith("_pipe") || format === "image2pipe")
        return new JobError(`not a video (${imageKind(base === "image2" ? "image" : base)})`, true, "NOT_A_VIDEO");
    const audio = AUDIO_FORMATS[format];
    if (audio !== undefined) return new JobError(`not a video: ${audio} audio (${format})`, true, "NOT_A_VIDEO");
    const indirect = INDIRECT_FORMATS[format];
    if (indirect !== undefined)
        return new JobError(`not a video: the file is ${indirect}; only the uploaded file itself is read`, true, "NOT_A_VIDEO");
    return new JobError(
        `not a video: ffprobe reads it as "${format}", which is not one of the video containers the worker reads (${VIDEO_DEMUXERS.join(", ")})`,
        true,
        "NOT_A_VIDEO",
    );
}

interface ProbeStream {
    index?: number;
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    nb_frames?: string;
    duration?: string;
    start_time?: string;
    disposition?: Record<string, number>;
    tags?: Record<string, string>;
}

interface ProbeOutput {
    streams?: ProbeStream[];
    format?: { format_name?: string; duration?: string; start_time?: string };
}

function ratio(text: unknown): number {
    if (typeof text !== "string") return NaN;
    const [num, den] = text.split("/").map(Number);
    if (den === undefined) return Number(num);
    return den === 0 ? NaN : num / den;
}

/** A stream tag by name, whatever its language suffix ("NUMBER_OF_FRAMES-eng") or case. */
function tag(stream: ProbeStream, name: string): string | undefined {
    for (const [key, value] of Object.entries(stream.tags ?? {}))
        if (key.toUpperCase() === name || key.toUpperCase().startsWith(`${name}-`)) return value;
    return undefined;
}

/** Matroska's "00:01:02.345000000". */
function clockSeconds(text: string | undefined): number {
    const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text ?? "");
    return m === null ? NaN : Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** The first of the values that is a finite number, else NaN ("N/A" and absent fields are not). */
function firstNumber(...values: unknown[]): number {
    for (const v of values) {
        const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
        if (Number.isFinite(n)) return n;
    }
    return NaN;
}

function area(stream: ProbeStream): number {
    const w = Number(stream.width);
    const h = Number(stream.height);
    return Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0 ? w * h : 0;
}

/** Streams that look like video but are pictures: cover art, thumbnail tracks, stills. */
function isPicture(stream: ProbeStream): boolean {
    const d = stream.disposition ?? {};
    return d.attached_pic === 1 || d.timed_thumbnails === 1 || d.still_image === 1;
}

/**
 * The video stream to analyse: among the video streams that are not pictures (cover art, thumbnails) and
 * not small previews (under a quarter of the largest stream's pixels), the one marked default, else the
 * largest, else the first.
 */
export function mainVideoStream(streams: readonly ProbeStream[]): ProbeStream | undefined {
    const videos = streams.filter((s) => s.codec_type === "video" && !isPicture(s));
    const largest = Math.max(0, ...videos.map(area));
    const candidates = videos.filter((s) => area(s) * 4 >= largest);
    let best: ProbeStream | undefined;
    for (const s of candidates) {
        if (best === undefined) best = s;
        else {
            const byDefault = (s.disposition?.default ?? 0) - (best.disposition?.default ?? 0);
            if (byDefault > 0 || (byDefault === 0 && area(s) > area(best))) best = s;
        }
    }
    return best;
}

/** Why a file without a usable video stream is not a video. */
function noVideo(parsed: ProbeOutput, format: string): JobError {
    const streams = parsed.streams ?? [];
    const audio = streams.find((s) => s.codec_type === "audio");
    const picture = streams.find((s) => s.codec_type === "video" && isPicture(s));
    if (audio !== undefined && picture !== undefined)
        return new JobError(
            `not a video: ${audio.codec_name ?? "unknown"} audio with a cover picture (${picture.codec_name ?? "image"}, an attached picture, not a video stream)`,
            true,
            "NOT_A_VIDEO",
        );
    if (audio !== undefined)
        return new JobError(`not a video: audio only (${audio.codec_name ?? "unknown"} in ${format})`, true, "NOT_A_VIDEO");
    if (picture !== undefined) return new JobError(`not a video (${imageKind(picture.codec_name ?? "image")})`, true, "NOT_A_VIDEO");
    return new JobError(`not a video: no video stream in ${format}`, true, "NOT_A_VIDEO");
}

/** The name of a container demuxer that printed an error, e.g. "mov,mp4,m4a,3gp,3g2,mj2" from "[mov,mp4,... @ 0x..]". */
function demuxerThatSpoke(stderr: string): string | undefined {
    for (const m of stderr.matchAll(/^\[([^\]\s@]+) @ 0x[0-9a-f]+\]/gim)) if (VIDEO_DEMUXERS.includes(m[1])) return m[1];
    return undefined;
}

const CONTAINER_NAMES: Record<string, string> = {
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV",
    "matroska,webm": "Matroska/WebM",
};

/** ffprobe failed: say why, as precisely as its words allow. */
function probeFailure(stderr: string, code: number | null, path: string): JobError {
    const said = tail(cleanFfmpegText(stderr, path));
    const refused = /^\[([^\]\s@]+) @ 0x[0-9a-f]+\] Format not on whitelist/m.exec(stderr);
    if (refused !== null) return refusedFormat(refused[1]);
    const container = demuxerThatSpoke(stderr);
    if (container !== undefined) {
        const name = CONTAINER_NAMES[container] ?? container;
        if (/moov atom not found/.test(stderr))
            return new JobError(
                `truncated video: the ${name} file has no index (moov box): the upload was cut off before its end, or the file was never finished; ffprobe says ${said}`,
                true,
                "TRUNCATED_VIDEO",
            );
        if (/File ended prematurely|partial file|: End of file$/m.test(stderr))
            return new JobError(`truncated video: the ${name} file ends inside its headers; ffprobe says ${said}`, true, "TRUNCATED_VIDEO");
    }
    return new JobError(`not a readable video: ffprobe says ${said || `exit code ${code}`}`, true, "NOT_A_VIDEO");
}

/** A stdout bigger than this is not a description of a video file. */
const MAX_PROBE_OUTPUT = 8 * 1024 * 1024;
const STDERR_KEEP = 4000;

interface ProbeRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    timedOut: boolean;
    stdout: string;
    stderr: string;
}

function runProbe(args: string[], signal: AbortSignal, timeoutMs: number): Promise<ProbeRun> {
    return new Promise((resolve, reject) => {
        const child = spawn("ffprobe", args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const kill = (): void => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        };
        const timer = setTimeout(() => {
            timedOut = true;
            kill();
        }, timeoutMs);
        signal.addEventListener("abort", kill, { once: true });
        const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener("abort", kill);
        };
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
            stdout += d;
            if (stdout.length > MAX_PROBE_OUTPUT) kill();
        });
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-STDERR_KEEP)));
        child.once("error", (err: NodeJS.ErrnoException) => {
            done();
            if (signal.aborted) reject(new ShutdownError());
            else reject(err.code === "ENOENT" ? new JobError("ffprobe is not installed or not on PATH", false, "NO_FFMPEG") : err);
        });
        child.once("close", (code, sig) => {
            done();
            resolve({ code, signal: sig, timedOut, stdout, stderr });
        });
    });
}

/** ffprobe the file: is it a video, which stream, how long. Throws a permanent JobError when it is not a video. */
export async function probeVideo(path: string, signal: AbortSignal, options: ProbeOptions = {}): Promise<VideoInfo> {
    if (signal.aborted) throw new ShutdownError();
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_SECONDS * 1000;
    const run = await runProbe(
        [
            "-v",
            "error",
            "-show_entries",
            "stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration,start_time" +
                ":stream_disposition=default,attached_pic,timed_thumbnails,still_image:stream_tags" +
                ":format=format_name,duration,start_time",
            "-of",
            "json",
            ...inputArgs(path),
        ],
        signal,
        timeoutMs,
    );
    if (signal.aborted) throw new ShutdownError();
    if (run.timedOut)
        throw new JobError(
            `ffprobe gave no answer within PROBE_TIMEOUT_SECONDS=${timeoutMs / 1000} and was stopped`,
            false,
            "PROBE_TIMEOUT",
        );
    if (run.signal !== null && run.stdout.length <= MAX_PROBE_OUTPUT)
        throw new JobError(`ffprobe ${killedBy(run.signal)} while reading the video`, false, "DECODER_KILLED");
    if (run.code !== 0 || run.stdout.length > MAX_PROBE_OUTPUT) throw probeFailure(run.stderr, run.code, path);
    let parsed: ProbeOutput;
    try {
        parsed = JSON.parse(run.stdout) as ProbeOutput;
    } catch {
        throw new JobError(`ffprobe output is not JSON: ${tail(run.stdout)}`, true, "NOT_A_VIDEO");
    }
    const formatName = String(parsed.format?.format_name ?? "unknown");
    const stream = mainVideoStream(parsed.streams ?? []);
    if (stream === undefined) throw noVideo(parsed, formatName);
    const nbFrames = firstNumber(stream.nb_frames, tag(stream, "NUMBER_OF_FRAMES"));
    const codec = String(stream.codec_name ?? "unknown");
    if (formatName === "gif" && !(nbFrames > 1)) throw new JobError(`not a video (${imageKind(codec)})`, true, "NOT_A_VIDEO");
    const formatDuration = firstNumber(parsed.format?.duration);
    const streamDuration = firstNumber(stream.duration, clockSeconds(tag(stream, "DURATION")));
    const duration = Number.isFinite(formatDuration) ? formatDuration : streamDuration;
    const fileStart = firstNumber(parsed.format?.start_time);
    const streamStart = firstNumber(stream.start_time);
    const offset = Number.isFinite(fileStart) && Number.isFinite(streamStart) ? streamStart - fileStart : 0;
    const avg = ratio(stream.avg_frame_rate);
    return {
        formatName,
        demuxer: formatName.split(",")[0],
        streamIndex: Number(stream.index),
        codec,
        width: Number(stream.width),
        height: Number(stream.height),
        durationSeconds: Number.isFinite(duration) ? duration : NaN,
        videoEndSeconds: Number.isFinite(streamDuration) ? offset + streamDuration : Number.isFinite(duration) ? duration : NaN,
        frameRate: Number.isFinite(avg) && avg > 0 ? avg : NaN,
        frameCount: Number.isSafeInteger(nbFrames) && nbFrames > 0 ? nbFrames : undefined,
    };
}
