// npm run render -- <result.json | s3://bucket/results/<key>.json> [--video PATH | s3://bucket/key] [--out sheet.png]
//                   [--mp4 out.mp4] [--tiles 12] [--columns 4] [--tile-width 320] [--palette] [--title TEXT]
// Draws a worker result onto its video: a contact sheet PNG (always) and an annotated MP4 (with --mp4).
// Without --video, the video is the one the result names (its source bucket and key), fetched from S3 with
// the usual AWS credentials and settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { numberFlag, parseFlagsAndPositionals, UsageError } from "../../ops/args";
import { asResultDocument, renderAnnotatedVideo, renderContactSheet, type ResultDocument } from "./render";

const USAGE =
    "usage: npm run render -- <result.json | s3://bucket/key.json> [--video PATH|s3://bucket/key] [--out sheet.png] [--mp4 out.mp4] [--tiles 12] [--columns 4] [--tile-width 320] [--palette] [--title TEXT]";

const FLAGS = {
    video: { type: "string" },
    out: { type: "string" },
    mp4: { type: "string" },
    tiles: { type: "string" },
    columns: { type: "string" },
    "tile-width": { type: "string" },
    palette: { type: "boolean" },
    title: { type: "string" },
} as const;

export interface RenderArgs {
    result: string;
    video?: string;
    out?: string;
    mp4?: string;
    tiles: number;
    columns: number;
    tileWidth: number;
    palette: boolean;
    title?: string;
}

export function parseRenderArgs(argv: readonly string[]): RenderArgs {
    const { flags, positionals } = parseFlagsAndPositionals(argv, FLAGS, USAGE);
    if (positionals.length !== 1)
        throw new UsageError(`give exactly one result (a local .json file or an s3:// URI), got ${positionals.length}`, USAGE);
    return {
        result: positionals[0],
        video: flags.video,
        out: flags.out,
        mp4: flags.mp4,
        tiles: numberFlag(flags.tiles, "--tiles", { min: 1, integer: true }, USAGE, 12),
        columns: numberFlag(flags.columns, "--columns", { min: 1, integer: true }, USAGE, 4),
        tileWidth: numberFlag(flags["tile-width"], "--tile-width", { min: 64, integer: true }, USAGE, 320),
        palette: flags.palette === true,
        title: flags.title,
    };
}

/** "s3://bucket/some/key" -> { bucket, key }; undefined for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    return m === null ? undefined : { bucket: m[1], key: m[2] };
}

function s3Client(): S3Client {
    return new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL) });
}

async function s3Object(uri: { bucket: string; key: string }): Promise<Readable> {
    const s3 = s3Client();
    try {
        const out = await s3.send(new GetObjectCommand({ Bucket: uri.bucket, Key: uri.key }));
        return out.Body as Readable;
    } catch (err) {
        throw new Error(`could not read s3://${uri.bucket}/${uri.key}: ${(err as Error).message}`, { cause: err });
    }
}

export async function loadResult(ref: string): Promise<ResultDocument> {
    const s3 = parseS3Uri(ref);
    let text: string;
    if (s3 !== undefined) {
        const chunks: Buffer[] = [];
        for await (const chunk of await s3Object(s3)) chunks.push(chunk as Buffer);
        text = Buffer.concat(chunks).toString("utf8");
    } else {
        try {
            text = await readFile(ref, "utf8");
        } catch (err) {
            throw new Error(`could not read the result ${ref}: ${(err as Error).message}`, { cause: err });
        }
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new Error(`${ref} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    return asResultDocument(parsed, ref);
}

/** The video as a local path: the given one (downloaded when s3://), else the result's own source object. */
async function localVideo(given: string | undefined, result: ResultDocument, scratch: string): Promise<string> {
    let uri = given === undefined ? undefined : parseS3Uri(given);
    if (given !== undefined && uri === undefined) return given;
    if (uri === undefined) {
        const { bucket, key } = result.source ?? {};
        if (!bucket || !key) throw new Error("the result names no source video; give one with --video");
        uri = { bucket, key };
    }
    const path = join(scratch, basename(uri.key) || "video");
    await pipeline(await s3Object(uri), createWriteStream(path));
    return path;
}

function defaultOut(result: string): string {
    const s3 = parseS3Uri(result);
    const name = s3 === undefined ? result : basename(s3.key);
    return `${name.replace(/\.json$/i, "")}.contact-sheet.png`;
}

async function main(): Promise<void> {
    const args = parseRenderArgs(process.argv.slice(2));
    const result = await loadResult(args.result);
    const scratch = await mkdtemp(join(tmpdir(), "render-"));
    try {
        const video = await localVideo(args.video, result, scratch);
        const out = args.out ?? defaultOut(args.result);
        const model = result.model?.name ?? "unknown model";
        const sheet = await renderContactSheet({
            result,
            video,
            out,
            tiles: args.tiles,
            columns: args.columns,
            tileWidth: args.tileWidth,
            palette: args.palette,
            title: [
                args.title ??
                    `${result.source?.key ?? basename(video)}: ${result.frames.length} frames, model ${model}, score >= ${result.scoreThreshold ?? "?"}`,
            ],
        });
        process.stdout.write(`contact sheet: ${out} (${sheet.tiles} frames, ${sheet.width}x${sheet.height})\n`);
        if (args.mp4 !== undefined) {
            const mp4 = await renderAnnotatedVideo({ result, video, out: args.mp4 });
            process.stdout.write(`annotated video: ${args.mp4} (${mp4.frames} frames)\n`);
        }
    } finally {
        await rm(scratch, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        if (err instanceof UsageError) {
            process.stderr.write(`render: ${err.message}\n`);
            process.exit(64);
        }
        process.stderr.write(`render failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    });
}
