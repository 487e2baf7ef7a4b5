// Pure unit tests: message parsing, configuration, detections, result documents, the pipeline with a fake model.
import { strict as assert } from "node:assert";
import { ConfigError, loadConfig, queueNameOf } from "../src/config";
import { cocoLabel, COCO_CATEGORY_COUNT, isCocoClass } from "../src/coco";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestVideo } from "../../testing/ffmpeg";
import { BatchBufferPool, decodeBatches, ffmpegArgs, expectedFrames, selectByTime, type FrameBatch } from "../src/decode";
import { parseDetections, type Detection } from "../src/detections";
import { JobError } from "../src/errors";
import { decodeS3EventKey, parseMessage } from "../src/jobs";
import { WorkerMetrics } from "../src/metrics";
import { inferBatch, runPipeline, type InferenceSettings } from "../src/pipeline";
import { buildResultDocument, frameJson, frameTimestampMs, resultKey, type ResultFrame, type ResultHeader } from "../src/results";
import { jobMetricData } from "../src/cloudwatch";
import { ModelServerError, ModelState, tensorFromFloat32, type ModelClient, type PredictRequest, type PredictResponse } from "../model-client/tfserving";

/** Class ids with a label in the COCO label map, in order (the fake model names frames by them). */
const LABELLED_IDS = Array.from({ length: 90 }, (_, i) => i + 1).filter(isCocoClass);

const s3Record = (key: string, eventName = "ObjectCreated:Put") => ({ eventSource: "aws:s3", eventName, s3: { bucket: { name: "videos" }, object: { key, size: 42 } } });

describe("worker jobs.parseMessage", () => {
    it("turns an S3 notification with several records into jobs with decoded keys", () => {
        const body = JSON.stringify({ Records: [s3Record("input/my+holiday+%282024%29.mp4"), s3Record("input/b%2Bc.mov")] });
        assert.deepEqual(parseMessage(body), {
            kind: "jobs",
            jobs: [
                { bucket: "videos", key: "input/my holiday (2024).mp4", size: 42 },
                { bucket: "videos", key: "input/b+c.mov", size: 42 },
            ],
        });
    });
    it("ignores s3:TestEvent and non-create events", () => {
        assert.equal(parseMessage(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "videos" })).kind, "ignore");
        assert.equal(parseMessage(JSON.stringify({ Records: [s3Record("x.mp4", "ObjectRemoved:Delete")] })).kind, "ignore");
    });
    it("accepts explicit jobs with key or the original design's object", () => {
        assert.deepEqual(parseMessage('{"bucket":"b","key":"k.mp4"}'), { kind: "jobs", jobs: [{ bucket: "b", key: "k.mp4" }] });
        assert.deepEqual(parseMessage('{"bucket":"b","object":"sample.mov"}'), { kind: "jobs", jobs: [{ bucket: "b", key: "sample.mov" }] });
    });
    it("unwraps an SNS envelope", () => {
        const body = JSON.stringify({ Type: "Notification", Message: JSON.stringify({ Records: [s3Record("a+b.mp4")] }) });
        assert.deepEqual(parseMessage(body), { kind: "jobs", jobs: [{ bucket: "videos", key: "a b.mp4", size: 42 }] });
    });
    it("says why a message is not a job", () => {
        const cases: [string | undefined, RegExp][] = [
            [undefined, /empty/],
            ["not json", /not JSON/],
            ["[1,2]", /not a JSON object/],
            ['{"hello":1}', /neither an S3 event notification nor/],
            ['{"bucket":"b"}', /needs a non-empty string "key"/],
            ['{"bucket":3,"key":"k"}', /"bucket" must be a non-empty string/],
            ['{"Records":[]}', /empty Records/],
            [JSON.stringify({ Records: [s3Record("%E0%A4%A")] }), /not valid URL encoding/],
        ];
        for (const [body, reason] of cases) {
            const parsed = parseMessage(body);
            assert.equal(parsed.kind, "invalid", String(body));
            assert.match((parsed as { reason: string }).reason, reason);
        }
    });
    it("decodes + as space and percent escapes", () => {
        assert.equal(decodeS3EventKey("a+b%2Fc%20d"), "a b/c d");
    });
});

describe("worker config.loadConfig", () => {
    const base = { JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs", RESULTS_BUCKET: "out" };
    it("applies the documented defaults", () => {
        const c = loadConfig(base);
        assert.equal(c.resultsPrefix, "results/");
        assert.equal(c.modelServerUrl, "grpc://127.0.0.1:8500");
        assert.equal(c.modelSignature, "serving_default");
        assert.equal(c.modelInput, "inputs");
        assert.equal(c.frameWidth, 300);
        assert.equal(c.frameHeight, 300);
        assert.equal(c.sampleFps, undefined);
        assert.equal(c.scaleInProtection, true);
        assert.equal(c.visibilityTimeoutSeconds, 300);
        assert.equal(c.heartbeatIntervalSeconds, 100);
        assert.equal(c.metricsPort, 9102);
        assert.equal(c.deadLetterQueueUrl, undefined);
        assert.equal(queueNameOf(c.queueUrl), "video-jobs");
    });
    it("reads every variable", () => {
        const c = loadConfig({ ...base, DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq", MODEL_SERVER_URL: "http://tf:8501", SAMPLE_FPS: "2.5", SCALE_IN_PROTECTION: "off", BATCH_SIZE: "16", SCORE_THRESHOLD: "0.3", VISIBILITY_TIMEOUT_SECONDS: "60" });
        assert.equal(c.deadLetterQueueUrl, "https://sqs.us-east-1.amazonaws.com/1/dlq");
        assert.equal(c.modelServerUrl, "http://tf:8501");
        assert.equal(c.sampleFps, 2.5);
        assert.equal(c.scaleInProtection, false);
        assert.equal(c.batchSize, 16);
        assert.equal(c.scoreThreshold, 0.3);
        assert.equal(c.heartbeatIntervalSeconds, 20);
    });
    it("names the variable, the value and what is valid", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [{ RESULTS_BUCKET: "out" }, /JOB_QUEUE_URL is required/],
            [{ JOB_QUEUE_URL: base.JOB_QUEUE_URL }, /RESULTS_BUCKET is required/],
            [{ ...base, BATCH_SIZE: "0" }, /BATCH_SIZE="0" is not valid: expected a whole number from 1 to 256/],
            [{ ...base, BATCH_SIZE: "eight" }, /BATCH_SIZE="eight"/],
            [{ ...base, SCALE_IN_PROTECTION: "maybe" }, /SCALE_IN_PROTECTION="maybe" is not valid: expected on or off/],
            [{ ...base, MODEL_SERVER_URL: "tcp://x:1" }, /MODEL_SERVER_URL="tcp:\/\/x:1" is not valid: expected grpc:\/\/host:8500/],
            [{ ...base, SAMPLE_FPS: "0" }, /SAMPLE_FPS="0" is not valid/],
            [{ ...base, SCORE_THRESHOLD: "1.5" }, /SCORE_THRESHOLD="1.5"/],
            [{ ...base, JOB_QUEUE_URL: "video-jobs" }, /JOB_QUEUE_URL="video-jobs" is not valid: expected an SQS queue URL/],
            [{ ...base, VISIBILITY_TIMEOUT_SECONDS: "30", HEARTBEAT_INTERVAL_SECONDS: "30" }, /must be shorter than VISIBILITY_TIMEOUT_SECONDS=30/],
        ];
        for (const [env, message] of cases) assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
    });
});

describe("worker coco labels", () => {
    it("covers the 80 detection categories in the 90-id space", () => {
        assert.equal(COCO_CATEGORY_COUNT, 80);
        assert.equal(cocoLabel(1), "person");
        assert.equal(cocoLabel(90), "toothbrush");
        assert.equal(cocoLabel(12), "class 12");
    });
});

function detectionOutputs(frames: { num: number; scores: number[]; classes: number[] }[], k = 5) {
    const n = frames.length;
    const num = new Float32Array(n);
    const boxes = new Float32Array(n * k * 4);
    const scores = new Float32Array(n * k);
    const classes = new Float32Array(n * k);
    frames.forEach((f, i) => {
        num[i] = f.num;
        f.scores.forEach((s, j) => (scores[i * k + j] = s));
        f.classes.forEach((c, j) => (classes[i * k + j] = c));
        for (let j = 0; j < k; j++) boxes.set([0.1 * j, 0.2, 0.30001, 0.912345], (i * k + j) * 4);
    });
    return {
        num_detections: tensorFromFloat32(num, [n]),
        detection_boxes: tensorFromFloat32(boxes, [n, k, 4]),
        detection_scores: tensorFromFloat32(scores, [n, k]),
        detection_classes: tensorFromFloat32(classes, [n, k]),
    };
}

describe("worker detections.parseDetections", () => {
    it("keeps detections at or above the threshold within num_detections, with COCO labels", () => {
        const outputs = detectionOutputs([
            { num: 3, scores: [0.9, 0.5, 0.49, 0.95], classes: [1, 3, 18, 44] },
            { num: 0, scores: [0.99], classes: [1] },
        ]);
        const parsed = parseDetections(outputs, 2, 0.5);
        assert.equal(parsed.length, 2);
        assert.deepEqual(parsed[0].map((d) => [d.label, d.classId, d.score]), [["person", 1, 0.9], ["car", 3, 0.5]]);
        assert.deepEqual(parsed[0][1].box, [0.1, 0.2, 0.3, 0.9123]);
        assert.deepEqual(parsed[1], []);
    });
    it("rejects outputs that do not match the batch", () => {
        const outputs = detectionOutputs([{ num: 1, scores: [0.9], classes: [1] }]);
        assert.throws(() => parseDetections(outputs, 2, 0.5), (e: unknown) => e instanceof ModelServerError && !e.transient && /detection_boxes/.test(e.message));
        const { detection_scores: _dropped, ...missing } = outputs;
        assert.throws(() => parseDetections(missing, 1, 0.5), /lacks output "detection_scores"/);
    });
});

describe("worker results", () => {
    const header: ResultHeader = {
        source: { bucket: "videos", key: "input/a b.mp4", etag: "abc" },
        model: { name: "object_detection", signature: "serving_default", version: 1 },
        frameSize: { width: 300, height: 300 },
        sampleFps: null,
        scoreThreshold: 0.5,
    };
    const person: Detection = { label: "person", classId: 1, score: 0.9, box: [0.1, 0.2, 0.3, 0.4] };
    it("builds a valid, ordered document", () => {
        const text = buildResultDocument(header, [
            { index: 0, timestampMs: 0, detections: [person] },
            { index: 1, timestampMs: 40, detections: [] },
        ]);
        const doc = JSON.parse(text);
        assert.deepEqual(Object.keys(doc), ["source", "model", "frameSize", "sampleFps", "scoreThreshold", "frames", "frameCount"]);
        assert.equal(doc.frameCount, 2);
        assert.deepEqual(doc.frames[0], { index: 0, timestampMs: 0, detections: [person] });
        assert.equal(buildResultDocument(header, []), buildResultDocument(header, []));
        assert.deepEqual(JSON.parse(buildResultDocument(header, [])).frames, []);
    });
    it("writes each frame exactly as JSON.stringify would, odd labels and numbers included", () => {
        const odd: Detection = { label: 'say "hi"\\ \u2028 é', classId: 90, score: 1e-7, box: [-0, 0.5, NaN, Infinity] };
        const frames: ResultFrame[] = [
            { index: 0, timestampMs: null, detections: [] },
            { index: 7, timestampMs: 233, detections: [person, odd, person] },
        ];
        for (const frame of frames) {
            const expected = JSON.stringify({ index: frame.index, timestampMs: frame.timestampMs, detections: frame.detections.map((d) => ({ label: d.label, classId: d.classId, score: d.score, box: d.box })) });
            assert.equal(frameJson(frame), expected);
        }
    });
    it("names results after the input key and times frames by rate", () => {
        assert.equal(resultKey("results/", "input/a b.mp4"), "results/input/a b.mp4.json");
        assert.equal(frameTimestampMs(3, 25), 120);
        assert.equal(frameTimestampMs(1, 29.97), 33);
        assert.equal(frameTimestampMs(1, NaN), null);
    });
    it("builds CloudWatch data for one job", () => {
        const data = jobMetricData("video-jobs", { succeeded: true, frames: 100, framesPerSecond: 50 }, new Date(0));
        assert.deepEqual(data.map((d) => [d.MetricName, d.Value]), [["JobsSucceeded", 1], ["JobsFailed", 0], ["FramesProcessed", 100], ["FramesPerSecond", 50]]);
        assert.deepEqual(data[0].Dimensions, [{ Name: "QueueName", Value: "video-jobs" }]);
    });
});

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
        assert.equal(expectedFrames({ ...info, durationSeconds: 0.4, frameCount: 10 }, 1), 1, "a clip shorter than one sampling period gives its first frame");
        assert.equal(expectedFrames({ ...info, durationSeconds: 1, frameCount: 10 }, 30), 10, "never more than every frame");
        assert.equal(expectedFrames({ ...info, durationSeconds: NaN }, 2), undefined);
    });
});

/** A fake model: detections derived from the first byte of each frame; scripted failures; records concurrency. */
class FakeModel implements ModelClient {
    readonly url = "fake://model";
    inFlight = 0;
    maxInFlight = 0;
    calls = 0;
    failures: ModelServerError[] = [];
    constructor(private readonly delayMs = 5) {}
    async predict(request: PredictRequest): Promise<PredictResponse> {
        this.calls++;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
            await new Promise((r) => setTimeout(r, this.delayMs));
            const failure = this.failures.shift();
            if (failure) throw failure;
            const input = request.inputs.inputs;
            const [n, h, w] = input.shape;
            const frames = [];
            for (let i = 0; i < n; i++) {
                const first = (input.content as Buffer)[i * h * w * 3];
                frames.push({ num: 1, scores: [0.9], classes: [LABELLED_IDS[first]] });
            }
            return { outputs: detectionOutputs(frames) };
        } finally {
            this.inFlight--;
        }
    }
    async getModelStatus() {
        return [{ version: 1, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" }];
    }
    close(): void {}
}

const W = 4;
const H = 2;
const FRAME = W * H * 3;

async function* fakeBatches(frames: number, batchSize: number): AsyncGenerator<FrameBatch> {
    for (let first = 0; first < frames; first += batchSize) {
        const count = Math.min(batchSize, frames - first);
        const data = Buffer.alloc(count * FRAME);
        for (let i = 0; i < count; i++) data[i * FRAME] = (first + i) % LABELLED_IDS.length; // frame i -> the i-th labelled class id
        await new Promise((r) => setImmediate(r));
        yield { data, count, firstIndex: first };
    }
}

function settings(model: ModelClient, extra: Partial<InferenceSettings> = {}): InferenceSettings {
    return { client: model, spec: { name: "m" }, inputName: "inputs", width: W, height: H, scoreThreshold: 0.5, timeoutMs: 1000, maxRetries: 3, retryBaseMs: 1, ...extra };
}

describe("worker pipeline (fake model)", () => {
    it("delivers every frame in order with at most maxInFlight batches at the model", async () => {
        const model = new FakeModel(10);
        const seen: number[] = [];
        const classes: number[] = [];
        const signal = new AbortController().signal;
        const summary = await runPipeline({
            batches: fakeBatches(23, 4),
            infer: (b) => inferBatch(b, settings(model), signal),
            maxInFlight: 2,
            sink: (f) => {
                seen.push(f.index);
                classes.push(f.detections[0].classId);
            },
        });
        assert.deepEqual(summary, { frames: 23, batches: 6 });
        assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i));
        assert.deepEqual(classes, LABELLED_IDS.slice(0, 23));
        assert.equal(model.maxInFlight, 2);
    });
    it("retries transient failures and fails the job on permanent ones", async () => {
        const model = new FakeModel(1);
        const signal = new AbortController().signal;
        model.failures.push(new ModelServerError("down", "UNAVAILABLE", true), new ModelServerError("down", "UNAVAILABLE", true));
        const retries: number[] = [];
        const detections = await inferBatch({ data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 }, settings(model, { onRetry: (a) => retries.push(a) }), signal);
        assert.equal(detections.length, 1);
        assert.deepEqual(retries, [1, 2]);
        model.failures.push(new ModelServerError("bad input", "INVALID_ARGUMENT", false));
        await assert.rejects(inferBatch({ data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 }, settings(model), signal), (e: unknown) => e instanceof JobError && e.permanent && e.code === "MODEL_INVALID_ARGUMENT");
        model.failures.push(...Array.from({ length: 5 }, () => new ModelServerError("down", "UNAVAILABLE", true)));
        await assert.rejects(inferBatch({ data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 }, settings(model, { maxRetries: 2 }), signal), (e: unknown) => e instanceof JobError && !e.permanent);
    });
    it("stops waiting for the model when aborted", async () => {
        const model = new FakeModel(60_000);
        const controller = new AbortController();
        const run = runPipeline({ batches: fakeBatches(8, 4), infer: (b) => inferBatch(b, settings(model), controller.signal), maxInFlight: 1, signal: controller.signal, sink: () => undefined });
        setTimeout(() => controller.abort(), 20);
        await assert.rejects(run, /shutting down/);
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
        const expected = execFileSync("ffmpeg", ffmpegArgs({ path, width, height }), { maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "ignore"] });
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
        assert.deepEqual(shapes, [[0, 7], [7, 7], [14, 7], [21, 4]]);
        assert.ok(Buffer.concat(got).equals(expected), "decoded bytes differ from ffmpeg's own output");
    });
    it("fails with a DECODE_FAILED JobError when ffmpeg cannot read the file", async () => {
        const path = join(dir, "not-a-video.mp4");
        writeFileSync(path, "hello");
        const run = async (): Promise<number> => {
            let n = 0;
            for await (const b of decodeBatches({ path, width: 8, height: 8, batchSize: 2, signal: new AbortController().signal })) n += b.count;
            return n;
        };
        await assert.rejects(run(), (err: unknown) => err instanceof JobError && err.code === "DECODE_FAILED" && /ffmpeg failed/.test(err.message));
    });
});

describe("worker metrics text", () => {
    it("renders Prometheus exposition format", () => {
        const m = new WorkerMetrics();
        m.frames.inc({}, 12);
        m.jobs.inc({ outcome: "succeeded" });
        m.batchLatency.observe(0.03);
        const text = m.render();
        assert.match(text, /^# TYPE video_worker_frames_processed_total counter$/m);
        assert.match(text, /^video_worker_frames_processed_total 12$/m);
        assert.match(text, /^video_worker_jobs_total\{outcome="succeeded"\} 1$/m);
        assert.match(text, /^video_worker_batch_latency_seconds_bucket\{le="0.05"\} 1$/m);
        assert.match(text, /^video_worker_batch_latency_seconds_bucket\{le="0.025"\} 0$/m);
    });
});
