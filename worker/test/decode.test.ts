// decode.ts: ffmpeg arguments, the batch buffer pool, decoding a real video into batches.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestVideo } from "../../testing/ffmpeg";
import { BatchBufferPool, decodeBatches, ffmpegArgs, expectedFrames, selectByTime } from "../src/decode";
import { JobError } from "../src/errors";
import { inferBatch, runPipeline } from "../src/pipeline";
import { FakeModel, fakeBatches, settings } from "./support/fake-model";

describe("worker decode arguments", () => {
    it("asks ffmpeg for raw RGB at the model size, sampling only when asked", () => {
        const every = ffmpegArgs({ path: "/tmp/v", width: 300, height: 200 });
        assert.equal(every[every.indexOf("-vf") + 1], "scale=300:200:flags=fast_bilinear,showinfo=checksum=0");
        assert.ok(every.join(" ").includes("-f rawvideo -pix_fmt rgb24 pipe:1"));
        const sampled = ffmpegArgs({ path: "/tmp/v", width: 300, height: 200, sampleFps: 2 });
        assert.equal(sampled[sampled.indexOf("-vf") + 1], `${selectByTime(2)},scale=300:200:flags=fast_bilinear,showinfo=checksum=0`);
    });
    it("expects the container's frame count, or duration x rate", () => {
        const info = { formatName: "mp4", codec: "h264", width: 1, height: 1, durationSeconds: 2, frameRate: 25, frameCount: 50 };
        assert.equal(expectedFrames(info, undefined), 50);
        assert.equal(expectedFrames({ ...info, frameCount: undefined }, undefined), 50);
        assert.equal(expectedFrames(info, 2), 4);
        assert.equal(
            expectedFrames({ ...info, durationSeconds: 0.4, frameCount: 10 }, 1),
            1,
            "a clip shorter than one sampling period gives its first frame",
        );
        assert.equal(expectedFrames({ ...info, durationSeconds: 1, frameCount: 10 }, 30), 10, "never more than every frame");
        assert.equal(expectedFrames({ ...info, durationSeconds: NaN }, 2), undefined);
    });
});

describe("worker batch buffer pool", () => {
    it("reuses full batch buffers and drops partial or surplus ones", () => {
        const pool = new BatchBufferPool(12, 1);
        const a = pool.take();
        const b = pool.take();
        assert.notEqual(a, b);
        pool.give(a);
        pool.give(b); // over maxFree: dropped
        assert.equal(pool.take(), a);
        pool.give(a.subarray(0, 6)); // a partial final batch is not reusable
        assert.notEqual(pool.take(), a);
    });
    it("gets buffers back from the pipeline once their frames are sunk", async () => {
        const model = new FakeModel(1);
        const released: number[] = [];
        const sunk: number[] = [];
        await runPipeline({
            batches: fakeBatches(10, 4),
            infer: (b) => inferBatch(b, settings(model), new AbortController().signal),
            maxInFlight: 2,
            sink: (f) => void sunk.push(f.index),
            release: (b) => {
                assert.equal(sunk.length, b.firstIndex + b.count, "released only after its frames were sunk");
                released.push(b.firstIndex);
            },
        });
        assert.deepEqual(released, [0, 4, 8]);
    });
});

describe("worker decodeBatches", () => {
    const dir = mkdtempSync(join(tmpdir(), "decode-test-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    it("yields exactly ffmpeg's bytes, batch by batch, to a slow consumer, with a partial last batch", async () => {
        const path = await makeTestVideo({ path: join(dir, "v.mp4"), seconds: 1, fps: 25, width: 160, height: 120 });
        const [width, height, batchSize] = [64, 48, 7];
        const expected = execFileSync("ffmpeg", ffmpegArgs({ path, width, height }), {
            maxBuffer: 64 * 1024 * 1024,
            stdio: ["ignore", "pipe", "ignore"],
        });
        const frameBytes = width * height * 3;
        assert.equal(expected.length, 25 * frameBytes);
        const pool = new BatchBufferPool(batchSize * frameBytes, 2);
        const got: Buffer[] = [];
        const shapes: [number, number][] = [];
        for await (const batch of decodeBatches({ path, width, height, batchSize, signal: new AbortController().signal, pool })) {
            await new Promise((r) => setTimeout(r, 15)); // ffmpeg must wait for us, not overwrite batches in use
            shapes.push([batch.firstIndex, batch.count]);
            assert.equal(batch.data.length, batch.count * frameBytes);
            got.push(Buffer.from(batch.data));
            pool.give(batch.data);
        }
        assert.deepEqual(shapes, [
            [0, 7],
            [7, 7],
            [14, 7],
            [21, 4],
        ]);
        assert.ok(Buffer.concat(got).equals(expected), "decoded bytes differ from ffmpeg's own output");
    });
    it("fails with a DECODE_FAILED JobError when ffmpeg cannot read the file", async () => {
        const path = join(dir, "not-a-video.mp4");
        writeFileSync(path, "hello");
        const run = async (): Promise<number> => {
            let n = 0;
            for await (const b of decodeBatches({ path, width: 8, height: 8, batchSize: 2, signal: new AbortController().signal }))
                n += b.count;
            return n;
        };
        await assert.rejects(
            run(),
            (err: unknown) => err instanceof JobError && err.code === "DECODE_FAILED" && /ffmpeg failed/.test(err.message),
        );
    });
});
