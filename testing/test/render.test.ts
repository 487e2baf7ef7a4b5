// Pictures of results (contact sheet, annotated MP4, `npm run render` on s3:// results) and what
// `npm start` prints about a result.
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { PutObjectCommand, S3Client, CreateBucketCommand } from "@aws-sdk/client-s3";
import { countFrames, makeTestVideo } from "../ffmpeg";
import { startMoto, type MotoServer } from "../moto";
import { colourFor } from "../render/draw";
import { fontCharacters, glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from "../render/font";
import { asResultDocument, renderAnnotatedVideo, renderContactSheet, spreadEvenly, type ResultDocument } from "../render/render";
import { parseRenderArgs, parseS3Uri } from "../render/render-main";
import { labelTotals, perSecondCounts, perSecondTable } from "../demo/video-summary";
import { UsageError } from "../../ops/args";

const run = promisify(execFile);
const REPO = resolve(__dirname, "../..");

/** A PNG decoded back to RGB24 by ffmpeg. */
async function readPng(path: string): Promise<{ width: number; height: number; data: Buffer }> {
    const probe = await run("ffprobe", ["-v", "error", "-show_entries", "stream=width,height", "-of", "json", path]);
    const { width, height } = (JSON.parse(probe.stdout) as { streams: { width: number; height: number }[] }).streams[0];
    const { stdout } = await run("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], {
        encoding: "buffer",
        maxBuffer: 64 * 1024 * 1024,
    });
    return { width, height, data: stdout };
}

function pixel(img: { width: number; data: Buffer }, x: number, y: number): number[] {
    const i = (y * img.width + x) * 3;
    return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

/** A result as the worker writes it (the production SSD model's look: COCO ids, 4-decimal boxes). */
function resultFor(frames: { ms: number | null; index: number }[], sampleFps: number | null): ResultDocument {
    return asResultDocument(
        {
            source: { bucket: "videos", key: "input/clip.mp4", etag: '"x"' },
            model: { name: "object-detection", signature: "serving_default", version: 1 },
            frameSize: { width: 300, height: 300 },
            sampleFps,
            scoreThreshold: 0.5,
            frames: frames.map(({ ms, index }) => ({
                index,
                timestampMs: ms,
                detections: [
                    { label: "person", classId: 1, score: 0.9132, box: [0.25, 0.25, 0.75, 0.5] },
                    { label: "car", classId: 3, score: 0.6, box: [0.1, 0.6, 0.4, 0.9] },
                ],
            })),
            frameCount: frames.length,
        },
        "test result",
    );
}

describe("pictures of a result: contact sheet and annotated video", function () {
    this.timeout(60_000);
    let dir: string;
    let clip: string;

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "render-test-"));
        clip = await makeTestVideo({ path: join(dir, "clip.mp4"), seconds: 1, fps: 10, width: 320, height: 240 });
    });

    after(async () => {
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("draws the chosen frames' boxes in their class colours on a grid, frames matched by presentation time", async () => {
        const result = resultFor(
            [0, 2, 4, 6, 8].map((i) => ({ ms: i * 100, index: i / 2 })),
            5,
        );
        const out = join(dir, "sheet.png");
        const sheet = await renderContactSheet({ result, video: clip, out, tiles: 4, columns: 2, tileWidth: 160 });
        assert.equal(sheet.tiles, 4);
        const png = await readPng(out);
        assert.deepEqual([png.width, png.height], [sheet.width, sheet.height]);
        assert.deepEqual([png.width, png.height], [2 * 160 + 3 * 4, 2 * 120 + 3 * 4]);
        // first tile at (4, 4): the person box's left edge at x = 0.25 * 159, from y = 0.25 * 119 to 0.75 * 119
        const x = 4 + Math.round(0.25 * 159);
        for (const y of [4 + 45, 4 + 60, 4 + 80]) assert.deepEqual(pixel(png, x, y), [...colourFor(1)], `person box edge at (${x}, ${y})`);
        const carX = 4 + Math.round(0.9 * 159);
        assert.deepEqual(pixel(png, carX, 4 + 25), [...colourFor(3)], "car box edge");
    });

    it("refuses a video that has none of the result's frames, and a document that is not a result", async () => {
        const result = resultFor([{ ms: 60_000, index: 0 }], null);
        await assert.rejects(renderContactSheet({ result, video: clip, out: join(dir, "none.png") }), /none of the result's frames/);
        assert.throws(() => asResultDocument({ frameCount: 3 }, "x.json"), /x\.json is not a worker result document/);
    });

    it("writes an MP4 of every video frame with the boxes held between sampled frames", async () => {
        const result = resultFor(
            [
                { ms: 0, index: 0 },
                { ms: 500, index: 1 },
            ],
            2,
        );
        const out = join(dir, "annotated.mp4");
        const video = await renderAnnotatedVideo({ result, video: clip, out, width: 160 });
        assert.equal(video.frames, 10);
        assert.equal(await countFrames(out), 10);
    });

    it("npm run render: takes a result from S3 and fetches its video from the source the result names", async () => {
        let moto: MotoServer | undefined;
        try {
            moto = await startMoto();
            const env = {
                ...process.env,
                AWS_ENDPOINT_URL: moto.endpoint,
                AWS_ACCESS_KEY_ID: "test",
                AWS_SECRET_ACCESS_KEY: "test",
                AWS_REGION: "us-east-1",
            };
            const s3 = new S3Client({
                forcePathStyle: true,
                endpoint: moto.endpoint,
                region: "us-east-1",
                credentials: { accessKeyId: "test", secretAccessKey: "test" },
            });
            await s3.send(new CreateBucketCommand({ Bucket: "videos" }));
            await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "input/clip.mp4", Body: await readFile(clip) }));
            const result = resultFor(
                [
                    { ms: null, index: 0 },
                    { ms: null, index: 5 },
                ],
                null,
            );
            await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "results/input/clip.mp4.json", Body: JSON.stringify(result) }));
            s3.destroy();
            const out = join(dir, "from-s3.png");
            const child = spawn(
                process.execPath,
                [
                    require.resolve("tsx/cli"),
                    join(REPO, "testing/render/render-main.ts"),
                    "s3://videos/results/input/clip.mp4.json",
                    "--out",
                    out,
                    "--tile-width",
                    "96",
                ],
                { env, stdio: ["ignore", "pipe", "pipe"] },
            );
            let stdout = "";
            let stderr = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
            child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
            const code = await new Promise<number | null>((r) => child.once("close", r));
            assert.equal(code, 0, stderr);
            assert.match(stdout, /^contact sheet: .*from-s3\.png \(2 frames, \d+x\d+\)$/m);
            assert.equal((await readPng(out)).width, 2 * 96 + 3 * 4);
        } finally {
            await moto?.stop();
        }
    });

    it("parses its arguments: one result, s3:// or local, and numbers checked", () => {
        assert.deepEqual(parseS3Uri("s3://b/results/a b.json"), { bucket: "b", key: "results/a b.json" });
        assert.equal(parseS3Uri("/tmp/x.json"), undefined);
        const args = parseRenderArgs(["r.json", "--mp4", "o.mp4", "--tiles=6"]);
        assert.deepEqual([args.result, args.mp4, args.tiles, args.columns], ["r.json", "o.mp4", 6, 4]);
        assert.throws(
            () => parseRenderArgs([]),
            (e: unknown) => e instanceof UsageError && /exactly one result/.test(e.message),
        );
        assert.throws(
            () => parseRenderArgs(["r.json", "--tiles", "0"]),
            (e: unknown) => e instanceof UsageError && /--tiles/.test(e.message),
        );
    });

    it("spreads the tiles evenly from the first frame to the last, and draws every character of its font 5x7", () => {
        assert.deepEqual(spreadEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 9]);
        assert.deepEqual(spreadEvenly([1, 2], 5), [1, 2]);
        for (const ch of fontCharacters()) {
            const rows = glyph(ch);
            assert.equal(rows.length, GLYPH_HEIGHT, ch);
            for (const r of rows) assert.equal(r.length, GLYPH_WIDTH, ch);
        }
        for (const ch of "abcdefghijklmnopqrstuvwxyz0123456789")
            assert.ok(
                glyph(ch).some((r) => r.some(Boolean)),
                `${ch} has ink`,
            );
        assert.deepEqual(glyph("A"), glyph("a"));
    });
});

describe("npm start's summary of a result", () => {
    it("gives people and cars per second of video as the mean per processed frame", () => {
        const frame = (ms: number, people: number, cars: number) => ({
            index: 0,
            timestampMs: ms,
            detections: [
                ...Array.from({ length: people }, () => ({ label: "person", classId: 1, score: 0.9, box: [0, 0, 1, 1] })),
                ...Array.from({ length: cars }, () => ({ label: "car", classId: 3, score: 0.9, box: [0, 0, 1, 1] })),
                { label: "truck", classId: 8, score: 0.9, box: [0, 0, 1, 1] },
            ],
        });
        const doc = { sampleFps: 2, frames: [frame(0, 4, 1), frame(500, 6, 1), frame(1000, 3, 0), frame(12_000, 1, 2)] };
        const counts = perSecondCounts(doc);
        assert.deepEqual(counts[0], { second: 0, frames: 2, people: 5, cars: 1 });
        assert.deepEqual(counts[1], { second: 1, frames: 1, people: 3, cars: 0 });
        const table = perSecondTable(counts);
        assert.equal(table.length, 2);
        assert.equal(table[0], "    0-9 s   people  5  3  .  .  .  .  .  .  .  .   cars  1  0  .  .  .  .  .  .  .  .");
        assert.match(table[1], /^ {2}10-12 s {3}people {2}\. {2}\. {2}1 {3}cars {2}\. {2}\. {2}2$/);
        assert.deepEqual(labelTotals(doc), [
            ["person", 14],
            ["car", 4],
            ["truck", 4],
        ]);
    });
});
