// The worker is faithful to a real model: a clip is decoded by ffmpeg alone (the frame contract: scaled
// with swscale's fast_bilinear straight to rgb24 at FRAME_WIDTH x FRAME_HEIGHT), the CenterNet detector
// runs on those frames one by one (in a thread of this process), and the worker's end-to-end result (S3 upload on moto, S3
// notification, SQS, the real worker, gRPC Predict to the real-detector model server on its threads,
// result JSON in S3) must match it frame by frame: same frames (sampled by time), same timestamps, same
// detections in the same order, same boxes and scores within the result's 4-decimal rounding. A resize,
// colour-order, batching or ordering mistake anywhere on that path changes the detections and fails this.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTestVideo } from "../ffmpeg";
import { startMoto, useMotoInThisProcess, type MotoServer } from "../moto";
import { COCO80_NAMES, COCO80_TO_90 } from "../detector/coco80";
import { DetectorPool } from "../detector/pool";
import { startRealModelServer, type RealModelServer } from "../detector/server";
import {
    createWorld,
    destroyWorld,
    queueCounts,
    readResult,
    runWorkerOnce,
    uploadFile,
    workerEnv,
    type World,
} from "../../worker/test/support/world";

const run = promisify(execFile);

const WIDTH = 96; // not square: a width/height mix-up changes the picture the model sees
const HEIGHT = 72;
const SAMPLE_FPS = 5; // half of the clip's 10 fps: frames picked by time
const THRESHOLD = 0.05; // low, so every frame has several detections to compare (CenterNet scores testsrc2 low)

interface ResultDetection {
    label: string;
    classId: number;
    score: number;
    box: number[];
}
interface ResultFrame {
    index: number;
    timestampMs: number | null;
    detections: ResultDetection[];
}

/** Every frame of the clip as ffmpeg alone decodes it, with its presentation time from ffprobe. */
async function referenceFrames(path: string): Promise<{ frames: Buffer[]; timesMs: number[] }> {
    const { stdout } = await run(
        "ffmpeg",
        ["-v", "error", "-i", path, "-vf", `scale=${WIDTH}:${HEIGHT}:flags=fast_bilinear`, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    const bytes = WIDTH * HEIGHT * 3;
    const frames = Array.from({ length: stdout.length / bytes }, (_, i) => stdout.subarray(i * bytes, (i + 1) * bytes));
    const probe = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "json", path]);
    const timesMs = (JSON.parse(probe.stdout) as { frames: { pts_time: string }[] }).frames.map((f) =>
        Math.round(Number(f.pts_time) * 1000),
    );
    assert.equal(timesMs.length, frames.length, "ffprobe and ffmpeg agree on the frame count");
    return { frames, timesMs };
}

/** The first frame of each 1/fps slot of presentation time. */
function sampleByTime(timesMs: number[], fps: number): number[] {
    const picked: number[] = [];
    let lastSlot = -1;
    timesMs.forEach((ms, i) => {
        const slot = Math.floor((ms / 1000) * fps + 1e-6);
        if (slot > lastSlot) {
            picked.push(i);
            lastSlot = slot;
        }
    });
    return picked;
}

describe("the worker against a real detector (CenterNet on CPU): faithful frame by frame", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let restoreEnv: () => void;
    let server: RealModelServer;
    let detector: DetectorPool;
    let dir: string;
    let world: World;

    before(async () => {
        moto = await startMoto();
        restoreEnv = useMotoInThisProcess(moto);
        server = await startRealModelServer({ threads: 2 });
        detector = await DetectorPool.start(1); // its own thread: the WASM runtime stays out of mocha's process
        dir = await mkdtemp(join(tmpdir(), "faithful-"));
        world = await createWorld();
    });

    after(async () => {
        if (world) destroyWorld(world);
        await detector?.close();
        await server?.stop();
        restoreEnv?.();
        await moto?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("gives, through S3, SQS, the worker and the model server, exactly the detector's own detections on ffmpeg's frames", async () => {
        const clip = await makeTestVideo({ path: join(dir, "clip.mp4"), seconds: 2, fps: 10, width: 160, height: 120 });
        const key = "input/faithful clip.mp4";
        await uploadFile(world, key, clip);
        await runWorkerOnce(
            workerEnv(world, server.grpcUrl, {
                FRAME_WIDTH: String(WIDTH),
                FRAME_HEIGHT: String(HEIGHT),
                SAMPLE_FPS: String(SAMPLE_FPS),
                SCORE_THRESHOLD: String(THRESHOLD),
                BATCH_SIZE: "4", // 10 frames: batches of 4, 4 and 2, two in flight, on two detector threads
                MAX_IN_FLIGHT_BATCHES: "2",
            }),
        );
        const doc = JSON.parse(await readResult(world, key)) as { frameCount: number; frames: ResultFrame[]; sampleFps: number };
        const queue = await queueCounts(world.sqs, world.queueUrl);
        const dlq = await queueCounts(world.sqs, world.dlqUrl);
        assert.deepEqual([queue.visible + queue.inFlight, dlq.visible + dlq.inFlight], [0, 0], "the job was processed, nothing left over");

        const reference = await referenceFrames(clip);
        const picked = sampleByTime(reference.timesMs, SAMPLE_FPS);
        assert.equal(picked.length, 10);
        assert.equal(doc.frameCount, picked.length);
        assert.equal(doc.frames.length, picked.length);
        let compared = 0;
        for (const [i, source] of picked.entries()) {
            const got = doc.frames[i];
            const where = `result frame ${i} (source frame ${source})`;
            assert.equal(got.index, i, where);
            assert.equal(got.timestampMs, reference.timesMs[source], `${where}: timestamp`);
            const truth = await detector.detect(reference.frames[source], HEIGHT, WIDTH); // one frame at a time
            const expected = truth.scores
                .map((score, j) => ({ score, classId: truth.classes[j], box: truth.boxes[j] }))
                .filter((d) => d.score >= THRESHOLD);
            assert.ok(expected.length >= 2, `${where}: the detector finds something to compare`);
            assert.equal(got.detections.length, expected.length, `${where}: number of detections`);
            expected.forEach((e, j) => {
                const d = got.detections[j];
                const what = `${where}, detection ${j}`;
                assert.equal(d.classId, e.classId, `${what}: class`);
                assert.equal(d.label, COCO80_NAMES[COCO80_TO_90.indexOf(e.classId)], `${what}: label`);
                assert.ok(Math.abs(d.score - e.score) <= 0.5e-4 + 1e-9, `${what}: score ${d.score} vs ${e.score}`);
                d.box.forEach((v, k) => assert.ok(Math.abs(v - e.box[k]) <= 0.5e-4 + 1e-9, `${what}: box ${d.box} vs ${e.box}`));
                compared++;
            });
        }
        assert.ok(compared >= 20, `compared ${compared} detections`);
    });
});
