// Pictures of a result document on its video: a contact sheet (a PNG grid of sampled frames with their
// boxes, labels and scores) and, on request, an annotated MP4. The video is decoded by the worker's own
// decoder (so frames are matched to results by the same presentation times the worker recorded) at the
// picture's size; boxes are drawn here; ffmpeg encodes. Works for any result the worker writes, from the
// local CenterNet server or the production SSD model alike.
import { spawn } from "node:child_process";
import { decodeBatches } from "../../worker/src/decode";
import { probeVideo, type VideoInfo } from "../../worker/src/probe";
import { blankImage, blit, drawDetections, drawText, fillRect, INK, PAPER, textHeight, type DrawnDetection, type RgbImage } from "./draw";

export interface ResultDocument {
    source?: { bucket?: string; key?: string };
    model?: { name?: string; signature?: string; version?: number };
    frameSize?: { width: number; height: number };
    sampleFps: number | null;
    scoreThreshold?: number;
    frames: { index: number; timestampMs: number | null; detections: DrawnDetection[] }[];
    frameCount: number;
}

/** Checks the parts of a result document the pictures need; throws naming what is wrong. */
export function asResultDocument(value: unknown, where: string): ResultDocument {
    const doc = value as Partial<ResultDocument> | null;
    if (doc === null || typeof doc !== "object" || !Array.isArray(doc.frames))
        throw new Error(`${where} is not a worker result document (no "frames" array)`);
    for (const [i, f] of doc.frames.entries()) {
        if (typeof f?.index !== "number" || !Array.isArray(f.detections))
            throw new Error(`${where}: frame ${i} has no index or detections; is this a worker result document?`);
    }
    return { sampleFps: null, frameCount: doc.frames.length, ...doc } as ResultDocument;
}

type ResultFrame = ResultDocument["frames"][number];

/** Even-sized picture dimensions for a video at `width` pixels wide, keeping its aspect ratio. */
export function pictureSize(info: Pick<VideoInfo, "width" | "height">, width: number): { width: number; height: number } {
    const w = Math.max(2, 2 * Math.round(width / 2));
    return { width: w, height: Math.max(2, 2 * Math.round((w * info.height) / info.width / 2)) };
}

/**
 * Walks the video's frames (decoded at `size`) with the result frame that covers each: the result frame
 * with that presentation time, or, between sampled frames, the latest one before it. Without timestamps
 * in the result, frames are matched by index (only meaningful for results of every frame).
 */
async function forEachVideoFrame(
    video: string,
    info: VideoInfo,
    size: { width: number; height: number },
    result: ResultDocument,
    visit: (frame: RgbImage, timestampMs: number | null, covering: ResultFrame | undefined, exact: boolean) => void | Promise<void>,
): Promise<void> {
    const byTime = result.frames.every((f) => f.timestampMs !== null);
    const frames = [...result.frames].sort((a, b) => (byTime ? (a.timestampMs as number) - (b.timestampMs as number) : a.index - b.index));
    let next = 0;
    let covering: ResultFrame | undefined;
    let decoded = 0;
    const signal = new AbortController().signal;
    for await (const batch of decodeBatches({ path: video, info, width: size.width, height: size.height, batchSize: 1, signal })) {
        const ms = batch.timestampsMs?.[0] ?? null;
        let exact = false;
        if (byTime && ms !== null) {
            while (next < frames.length && (frames[next].timestampMs as number) <= ms) {
                covering = frames[next];
                exact = covering.timestampMs === ms;
                next++;
            }
        } else if (!byTime && next < frames.length && frames[next].index === decoded) {
            covering = frames[next++];
            exact = true;
        }
        await visit({ width: size.width, height: size.height, data: batch.data }, ms, covering, exact);
        decoded++;
    }
}

function seconds(ms: number | null, index: number): string {
    return ms === null ? `frame ${index}` : `${(ms / 1000).toFixed(1)} s`;
}

/** "3 person, 1 car" for a frame's detections, most frequent first. */
export function countsText(detections: readonly DrawnDetection[]): string {
    const counts = new Map<string, number>();
    for (const d of detections) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([l, n]) => `${n} ${l}`);
    return parts.length === 0 ? "nothing" : parts.join(", ");
}

export interface ContactSheetOptions {
    result: ResultDocument;
    video: string;
    out: string;
    /** Frames on the sheet (evenly spread over the result's frames). */
    tiles?: number;
    columns?: number;
    tileWidth?: number;
    /** Lines printed above the grid (e.g. which video and which model). */
    title?: string[];
    /** 256-colour palette PNG: several times smaller, for pictures checked into the repository. */
    palette?: boolean;
}

/** Picks `n` result frames spread evenly from first to last. */
export function spreadEvenly<T>(items: readonly T[], n: number): T[] {
    if (items.length <= n) return [...items];
    return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1 || 1))]);
}

/** Writes the contact sheet PNG; returns the frames it shows. */
export async function renderContactSheet(options: ContactSheetOptions): Promise<{ tiles: number; width: number; height: number }> {
    const info = await probeVideo(options.video, new AbortController().signal);
    const tileSize = pictureSize(info, options.tileWidth ?? 320);
    const chosen = spreadEvenly(options.result.frames, options.tiles ?? 12);
    if (chosen.length === 0) throw new Error("the result has no frames to show");
    const wanted = new Set(chosen);
    const tiles: RgbImage[] = [];
    const scale = tileSize.width >= 400 ? 2 : 1;
    await forEachVideoFrame(options.video, info, tileSize, options.result, (frame, ms, covering, exact) => {
        if (covering === undefined || !exact || !wanted.has(covering)) return;
        wanted.delete(covering);
        const tile: RgbImage = { width: frame.width, height: frame.height, data: Buffer.from(frame.data) };
        drawDetections(tile, covering.detections, scale);
        const caption = `${seconds(ms, covering.index)}: ${countsText(covering.detections)}`;
        const band = textHeight(scale) + 4 * scale;
        fillRect(tile, 0, tile.height - band, tile.width, tile.height, INK);
        drawText(tile, caption, 3 * scale, tile.height - band + 2 * scale, PAPER, scale);
        tiles.push(tile);
    });
    if (tiles.length === 0)
        throw new Error(
            `none of the result's frames was found in the video (${options.video}): is it the video this result was made from?`,
        );
    const columns = Math.min(options.columns ?? 4, tiles.length);
    const rows = Math.ceil(tiles.length / columns);
    const gap = 4;
    const titleLines = options.title ?? [];
    const lineHeight = textHeight(scale) + 4 * scale;
    const header = titleLines.length === 0 ? 0 : titleLines.length * lineHeight + 2 * gap;
    const sheet = blankImage(
        columns * tileSize.width + (columns + 1) * gap,
        header + rows * tileSize.height + (rows + 1) * gap,
        [32, 32, 32],
    );
    titleLines.forEach((line, i) => drawText(sheet, line, gap + 2, gap + 2 + i * lineHeight, PAPER, scale));
    tiles.forEach((tile, i) =>
        blit(sheet, tile, gap + (i % columns) * (tileSize.width + gap), header + gap + Math.floor(i / columns) * (tileSize.height + gap)),
    );
    await encode(sheet, options.out, [
        "-frames:v",
        "1",
        ...(options.palette ? ["-vf", "split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];[b][p]paletteuse=dither=none"] : []),
        "-f",
        "image2",
        "-update",
        "1",
    ]);
    return { tiles: tiles.length, width: sheet.width, height: sheet.height };
}

export interface AnnotatedVideoOptions {
    result: ResultDocument;
    video: string;
    out: string;
    /** Output width (height keeps the aspect ratio); default the video's own, at most 1280. */
    width?: number;
}

/** Writes an H.264 MP4 of the whole video with each frame's boxes (held between sampled frames). */
export async function renderAnnotatedVideo(options: AnnotatedVideoOptions): Promise<{ frames: number }> {
    const info = await probeVideo(options.video, new AbortController().signal);
    const size = pictureSize(info, options.width ?? Math.min(1280, info.width));
    const fps = Number.isFinite(info.frameRate) ? info.frameRate : 25;
    const scale = size.width >= 800 ? 2 : 1;
    const encoder = spawn(
        "ffmpeg",
        [
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            `${size.width}x${size.height}`,
            "-framerate",
            String(fps),
            "-i",
            "pipe:0",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            options.out,
        ],
        { stdio: ["pipe", "ignore", "pipe"] },
    );
    const finished = exitOf(encoder, `ffmpeg could not write ${options.out}`);
    let frames = 0;
    try {
        await forEachVideoFrame(options.video, info, size, options.result, async (frame, ms, covering) => {
            const img: RgbImage = { width: frame.width, height: frame.height, data: Buffer.from(frame.data) };
            if (covering !== undefined) drawDetections(img, covering.detections, scale);
            drawText(
                img,
                `${seconds(ms, frames)}  ${covering === undefined ? "" : countsText(covering.detections)}`,
                4,
                4,
                PAPER,
                scale,
                INK,
            );
            frames++;
            if (!encoder.stdin.write(img.data)) await new Promise<void>((resolve) => encoder.stdin.once("drain", () => resolve()));
        });
    } finally {
        encoder.stdin.end();
    }
    await finished;
    return { frames };
}

function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-2000)));
    return new Promise((resolve, reject) => {
        child.once("error", (err) => reject(new Error(`${what}: ${err.message}`)));
        child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${what} (exit ${code}): ${stderr.trim()}`))));
    });
}

/** One RGB image -> a file, encoded by ffmpeg with the given output options. */
async function encode(img: RgbImage, out: string, outputArgs: string[]): Promise<void> {
    const child = spawn(
        "ffmpeg",
        [
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            `${img.width}x${img.height}`,
            "-i",
            "pipe:0",
            ...outputArgs,
            out,
        ],
        { stdio: ["pipe", "ignore", "pipe"] },
    );
    const finished = exitOf(child, `ffmpeg could not write ${out}`);
    child.stdin?.end(img.data);
    await finished;
}
