// Test videos made on the fly with ffmpeg's testsrc2 source (never committed), and ffprobe's own
// frame count to compare the worker against.
import { execFile } from "node:child_process";
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
