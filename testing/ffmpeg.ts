// Test videos made on the fly with ffmpeg's testsrc2 source (never committed), and ffprobe's own
// frame count to compare the worker against.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestVideoOptions {
    seconds: number;
    fps?: number;
    width?: number;
    height?: number;
    /** Container by file extension: .mp4 (default), .mov, .mkv ... */
    path: string;
}

/** Write an H.264 test video of the given length. */
export async function makeTestVideo(opts: TestVideoOptions): Promise<string> {
    const fps = opts.fps ?? 25;
    const size = `${opts.width ?? 640}x${opts.height ?? 360}`;
    await run(
        "ffmpeg",
        [
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            `testsrc2=size=${size}:rate=${fps}:duration=${opts.seconds}`,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            opts.path,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
    );
    return opts.path;
}

/** ffprobe's count of decoded video frames (the reference the worker's frame count must match). */
export async function countFrames(path: string): Promise<number> {
    const { stdout } = await run("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "csv=p=0",
        path,
    ]);
    const n = Number.parseInt(stdout.trim(), 10);
    if (!Number.isFinite(n)) throw new Error(`ffprobe gave no frame count for ${path}: ${stdout}`);
    return n;
}

/** True when ffmpeg and ffprobe are on PATH. */
export async function haveFfmpeg(): Promise<boolean> {
    try {
        await run("ffmpeg", ["-version"]);
        await run("ffprobe", ["-version"]);
        return true;
    } catch {
        return false;
    }
}

/** Run ffmpeg quietly with these arguments (after the input/overwrite basics) and return its stdout. */
export async function runFfmpeg(args: string[]): Promise<Buffer> {
    const { stdout } = await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
        encoding: "buffer",
        maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
}

/**
 * A variable-frame-rate video of 200 frames: 10 fps, a burst of 50 frames at 30 fps from 10 s, then 10 fps
 * again (16.6 s), in a container that states `declaredFps` (Matroska's default duration). `.mkv` is H.264,
 * `.webm` VP9; `streamed` writes it as to a pipe: no index (cues), no duration.
 */
export async function makeVfrVideo(opts: { path: string; declaredFps: number; streamed?: boolean }): Promise<string> {
    const codec = opts.path.endsWith(".webm")
        ? ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"]
        : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
    const args = [
        "-f",
        "lavfi",
        "-i",
        `testsrc2=size=160x120:rate=${opts.declaredFps}`,
        "-frames:v",
        "200",
        "-vf",
        "settb=1/1000,setpts='if(lt(N,100),N/10,if(lt(N,150),10+(N-100)/30,10+50/30+(N-150)/10))/TB'",
        "-fps_mode",
        "vfr",
        "-enc_time_base",
        "1/1000",
        ...codec,
    ];
    if (opts.streamed) {
        await writeFile(opts.path, await runFfmpeg([...args, "-f", opts.path.endsWith(".webm") ? "webm" : "matroska", "-"]));
    } else await runFfmpeg([...args, opts.path]);
    return opts.path;
}

/** Each decoded frame's presentation time in ms, as ffprobe reports it (the reference for timestamps). */
export async function frameTimesMs(path: string): Promise<number[]> {
    const { stdout } = await run(
        "ffprobe",
        ["-v", "error", "-select_streams", "V:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", path],
        {
            maxBuffer: 16 * 1024 * 1024,
        },
    );
    return (stdout.match(/-?\d+(?:\.\d+)?/g) ?? []).map((t) => Math.round(Number(t) * 1000));
}
