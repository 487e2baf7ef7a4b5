// decode.ts: ffmpeg arguments, the batch buffer pool, decoding a real video into batches.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frameTimesMs, makeTestVideo, makeVfrVideo, runFfmpeg } from "../../testing/ffmpeg";
import {
    BatchBufferPool,
    decodeBatches,
    decodeCoverage,
    defaultStallSeconds,
    ffmpegArgs,
    expectedFrames,
    selectByTime,
    type DecodeOptions,
    type DecodeReport,
} from "../src/decode";
import { JobError } from "../src/errors";
import { probeVideo, type VideoInfo } from "../src/probe";
import { alive, childrenNamed, openDescriptors, withFakeTools } from "./support/processes";
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
    it("muxes in the input's time base, reads only the probed demuxer and stream from the file protocol", () => {
        const args = ffmpegArgs({ path: "/tmp/v", width: 300, height: 200, info: { demuxer: "matroska", streamIndex: 2 } });
        const line = args.join(" ");
        assert.ok(line.includes("-fps_mode passthrough -enc_time_base -1 -f rawvideo"), line);
        assert.ok(line.includes("-protocol_whitelist file -format_whitelist mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,"), line);
        assert.ok(line.includes("-f matroska -i file:/tmp/v -map 0:2 "), line);
        assert.ok(
            ffmpegArgs({ path: "/tmp/v", width: 300, height: 200, info: { demuxer: "mov", streamIndex: 0 } })
                .join(" ")
                .includes("-f mov -enable_drefs 0 -i file:/tmp/v"),
        );
        assert.ok(
            ffmpegArgs({ path: "/tmp/v", width: 300, height: 200 }).join(" ").includes("-i file:/tmp/v -map 0:V:0 "),
            "no probe: never an attached picture",
        );
    });
    const info: VideoInfo = {
        formatName: "mov,mp4,m4a,3gp,3g2,mj2",
        demuxer: "mov",
        streamIndex: 0,
        codec: "h264",
        width: 1,
        height: 1,
        durationSeconds: 2,
        videoEndSeconds: 2,
        frameRate: 25,
        frameCount: 50,
    };
    it("expects the container's frame count, or duration x rate", () => {
        assert.equal(expectedFrames(info, undefined), 50);
        assert.equal(expectedFrames({ ...info, frameCount: undefined }, undefined), 50);
        assert.equal(
            expectedFrames({ ...info, frameCount: undefined, frameRate: NaN }, undefined),
            undefined,
            "no stated average rate: unknown",
        );
        assert.equal(expectedFrames(info, 2), 4);
        assert.equal(
            expectedFrames({ ...info, durationSeconds: 0.4, frameCount: 10 }, 1),
            1,
            "a clip shorter than one sampling period gives its first frame",
        );
        assert.equal(expectedFrames({ ...info, durationSeconds: 1, frameCount: 10 }, 30), 10, "never more than every frame");
        assert.equal(expectedFrames({ ...info, durationSeconds: NaN }, 2), undefined);
    });
    it("judges completeness by the declared frame count, else by time (right for variable frame rates)", () => {
        assert.deepEqual(decodeCoverage(info, undefined, 48, 1920), { complete: true });
        assert.deepEqual(decodeCoverage(info, undefined, 40, 1920), { complete: false, shortBy: "decoded 40 of 50 frames" });
        const mkv = {
            ...info,
            formatName: "matroska,webm",
            demuxer: "matroska",
            frameCount: undefined,
            videoEndSeconds: 16.6,
            frameRate: 10,
        };
        // 200 frames of a VFR video whose stated 10 fps x 16.6 s says 166: complete, since the last frame is at its end.
        assert.deepEqual(decodeCoverage(mkv, undefined, 200, 16_500), { complete: true });
        assert.deepEqual(decodeCoverage(mkv, undefined, 120, 11_000), {
            complete: false,
            shortBy: "decoded 120 frames, the last at 11.00 s of 16.60 s",
        });
        assert.deepEqual(decodeCoverage(mkv, 1, 11, 16_000), { complete: true }, "sampled: within one sampling interval of the end");
        assert.deepEqual(decodeCoverage({ ...mkv, videoEndSeconds: NaN }, undefined, 120, 11_000), { complete: undefined });
        assert.deepEqual(decodeCoverage({ ...mkv, formatName: "mpegts" }, undefined, 1, 0), { complete: undefined });
    });
    it("gives ffmpeg more time per frame for bigger frames and sparser sampling", () => {
        const hd = { ...info, width: 1920, height: 1080, frameRate: 30 };
        assert.equal(defaultStallSeconds(hd, undefined), 34);
        assert.equal(defaultStallSeconds({ ...hd, width: 3840, height: 2160 }, undefined), 45);
        assert.equal(defaultStallSeconds(hd, 0.1), 96, "300 source frames per frame delivered");
        assert.equal(defaultStallSeconds(undefined, undefined), 87, "unknown: as if 8K");
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

describe("worker decodeBatches (issue 17)", function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), "decode17-test-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const signal = new AbortController().signal;
    async function decodeAll(
        path: string,
        extra: Partial<DecodeOptions> = {},
    ): Promise<{ frames: number; times: (number | null)[]; report: DecodeReport; info: VideoInfo }> {
        const info = await probeVideo(path, signal);
        const report: DecodeReport = {};
        const times: (number | null)[] = [];
        for await (const b of decodeBatches({ path, width: 32, height: 32, batchSize: 8, signal, info, report, ...extra }))
            times.push(...(b.timestampsMs ?? []));
        return { frames: times.length, times, report, info };
    }
    async function failure(path: string, extra: Partial<DecodeOptions> = {}): Promise<JobError> {
        try {
            await decodeAll(path, extra);
        } catch (err) {
            if (err instanceof JobError) return err;
            throw err;
        }
        return assert.fail(`${path} decoded without an error`);
    }

    it("item 1: a complete VFR Matroska and WebM (10 fps with a 30 fps burst, 200 frames) give every frame at its own time, no errors", async () => {
        // Stated 10 fps: the muxer's old time base (1/10 s) cannot hold the burst. Stated 20 fps: 20 x 16.6 s
        // "expects" 333 frames.
        for (const [name, declaredFps] of [
            ["vfr10.mkv", 10],
            ["vfr20.webm", 20],
            ["vfr20.mkv", 20],
        ] as const) {
            const path = await makeVfrVideo({ path: join(dir, name), declaredFps });
            const truth = await frameTimesMs(path);
            assert.equal(truth.length, 200);
            const { frames, times, report, info } = await decodeAll(path);
            assert.equal(frames, 200, name);
            assert.deepEqual(times, truth, `${name}: each frame's own presentation time`);
            assert.equal(report.decodeErrors, undefined, `${name}: not flagged as ending early`);
            assert.equal(info.frameRate, declaredFps, "the container states a rate that is not the video's average");
        }
    });

    it("item 1: a VFR Matroska cut in half is TRUNCATED_VIDEO, judged by time", async () => {
        const whole = readFileSync(await makeVfrVideo({ path: join(dir, "vfr-whole.mkv"), declaredFps: 10 }));
        const path = join(dir, "vfr-half.mkv");
        writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
        const err = await failure(path);
        assert.equal(err.code, "TRUNCATED_VIDEO", err.message);
        assert.match(
            err.message,
            /^truncated or corrupt video: decoded \d+ frames, the last at \d+\.\d+ s of 16\.\d+ s; ffmpeg says matroska,webm: File ended prematurely/,
        );
    });

    it("item 15: a Matroska file without an index or a duration (written to a pipe) that is cut mid-cluster is TRUNCATED_VIDEO", async () => {
        const whole = readFileSync(await makeVfrVideo({ path: join(dir, "streamed.mkv"), declaredFps: 10, streamed: true }));
        const path = join(dir, "streamed-cut.mkv");
        writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2) + 7));
        const info = await probeVideo(path, signal);
        assert.ok(Number.isNaN(info.durationSeconds), "the file states no duration");
        const err = await failure(path);
        assert.equal(err.code, "TRUNCATED_VIDEO", err.message);
        assert.match(err.message, /^truncated video: the matroska,webm file ends mid-element after \d+ frames/);
        // The same file whole decodes clean.
        assert.equal((await decodeAll(join(dir, "streamed.mkv"))).frames, 200);
    });

    it("item 15: decodes the main stream, not a small preview track listed first", async () => {
        const path = join(dir, "preview-first.mp4");
        await runFfmpeg([
            ...[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=80x60:rate=10:duration=0.5",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=10:duration=2",
            ],
            ...["-map", "0:v", "-map", "1:v", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
        ]);
        const { frames, times } = await decodeAll(path);
        assert.equal(frames, 20);
        assert.equal(times[19], 1900);
    });

    it("item 3: ffmpeg killed by a signal (an OOM kill) is transient, naming the signal; nothing is left", async () => {
        const path = await makeTestVideo({ path: join(dir, "kill.mp4"), seconds: 4, fps: 25, width: 320, height: 240 });
        const info = await probeVideo(path, signal);
        const fds = openDescriptors();
        let frames = 0;
        let killed: number | undefined;
        await assert.rejects(
            (async () => {
                for await (const b of decodeBatches({ path, width: 64, height: 64, batchSize: 4, signal, info })) {
                    frames += b.count;
                    if (killed === undefined) {
                        [killed] = childrenNamed("ffmpeg");
                        process.kill(killed, "SIGKILL");
                    }
                }
            })(),
            (e: unknown) =>
                e instanceof JobError &&
                e.code === "DECODER_KILLED" &&
                !e.permanent &&
                /^ffmpeg was killed by SIGKILL \(the out-of-memory killer does that\) after \d+ frames$/.test(e.message),
        );
        assert.ok(frames < 100);
        assert.equal(alive(killed as number), false);
        assert.equal(openDescriptors(), fds, "no descriptor left open");
        // ffmpeg catches SIGTERM, stops and exits 255: a signal all the same.
        await assert.rejects(
            (async () => {
                for await (const b of decodeBatches({ path, width: 64, height: 64, batchSize: 4, signal, info })) {
                    void b;
                    for (const pid of childrenNamed("ffmpeg")) process.kill(pid, "SIGTERM");
                    await new Promise((r) => setTimeout(r, 50));
                }
            })(),
            (e: unknown) => e instanceof JobError && e.code === "DECODER_KILLED" && /^ffmpeg was stopped by SIGTERM/.test(e.message),
        );
    });

    it("item 8: a hung ffmpeg (no frames, no exit) is stopped by the no-progress watchdog: transient DECODE_STALLED, nothing left", async () => {
        const path = await makeTestVideo({ path: join(dir, "hang.mp4"), seconds: 4, fps: 25, width: 320, height: 240 });
        const info = await probeVideo(path, signal);
        const fds = openDescriptors();
        // Mid-video: the decoder stops (SIGSTOP) after the first batch.
        let stopped: number | undefined;
        await assert.rejects(
            (async () => {
                for await (const b of decodeBatches({ path, width: 64, height: 64, batchSize: 4, signal, info, stallSeconds: 1 })) {
                    void b;
                    if (stopped === undefined) {
                        [stopped] = childrenNamed("ffmpeg");
                        process.kill(stopped, "SIGSTOP");
                    }
                }
            })(),
            (e: unknown) =>
                e instanceof JobError &&
                e.code === "DECODE_STALLED" &&
                !e.permanent &&
                /^ffmpeg gave no frame for 1 s \(DECODE_STALL_SECONDS\) after \d+ frames and was stopped/.test(e.message),
        );
        assert.equal(alive(stopped as number), false, "the stopped ffmpeg was killed and reaped");
        assert.equal(openDescriptors(), fds, "no descriptor left open");
        // From the start: an ffmpeg that never writes a byte.
        const err = await withFakeTools({ ffmpeg: 'kill -STOP $$\nexec real(ffmpeg) "$@"' }, () => failure(path, { stallSeconds: 1 }));
        assert.equal(err.code, "DECODE_STALLED", err.message);
        assert.match(err.message, /after 0 frames/);
        assert.deepEqual(childrenNamed("ffmpeg"), []);
        assert.equal(openDescriptors(), fds);
    });

    it("item 8: a consumer slower than the watchdog's limit never trips it (ffmpeg waits for us, not the other way round)", async () => {
        const path = await makeTestVideo({ path: join(dir, "slow.mp4"), seconds: 1, fps: 10, width: 160, height: 120 });
        const info = await probeVideo(path, signal);
        let frames = 0;
        for await (const b of decodeBatches({ path, width: 32, height: 32, batchSize: 2, signal, info, stallSeconds: 1 })) {
            frames += b.count;
            if (frames <= 4) await new Promise((r) => setTimeout(r, 1_600));
        }
        assert.equal(frames, 10);
    });
});
