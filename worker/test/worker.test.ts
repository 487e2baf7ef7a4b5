// The real worker against moto (SQS, S3 notifications, Auto Scaling), real ffmpeg and the TF Serving
// emulator. Every test ends by accounting for every message: processed, dead-lettered or still queued.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { countFrames, makeTestVideo } from "../../testing/ffmpeg";
import { freePort, useProcessMoto, useMotoInThisProcess, type MotoServer } from "../../testing/moto";
import { ffmpegArgs } from "../src/decode";
import { createLogger } from "../src/log";
import { startWorker } from "../src/main";
import { instanceIdFromImds, instanceIdOfNode, ScaleInProtection } from "../src/protection";
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { startTfServingEmulator, type TfServingEmulator } from "../../testing/tfserving/emulator";
import { detectFrame } from "../../testing/tfserving/emulator-models";
import {
    BUCKET,
    captureLogs,
    createWorld,
    destroyWorld,
    drain,
    isProtected,
    queueCounts,
    readResult,
    runWorkerOnce,
    sendJob,
    uploadFile,
    workerEnv,
    type World,
} from "./support/world";

const REPO = resolve(__dirname, "../..");
const WIDTH = 64;
const HEIGHT = 48;

async function rawFrames(path: string): Promise<Buffer> {
    return new Promise((done, fail) => {
        const child = spawn("ffmpeg", ffmpegArgs({ path, width: WIDTH, height: HEIGHT }), { stdio: ["ignore", "pipe", "ignore"] });
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        child.once("error", fail);
        child.once("close", (code) => (code === 0 ? done(Buffer.concat(chunks)) : fail(new Error(`ffmpeg exit ${code}`))));
    });
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 40_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

describe("video worker against moto, ffmpeg and the TF Serving emulator", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let restoreEnv: () => void;
    let emulator: TfServingEmulator;
    let dir: string;
    let shortVideo: string; // 1 s, 10 fps
    let longVideo: string; // 2 s, 10 fps
    let world: World;
    let accounted = false;
    let requestsBefore = 0;
    /** Predict calls the shared emulator received during this test. */
    const requests = () => emulator.requests.slice(requestsBefore);

    /** Every message in the job queue and the DLQ, as the test expects them. */
    async function account(expected: { queued: number; deadLettered: number }): Promise<void> {
        const queue = await queueCounts(world.sqs, world.queueUrl);
        const dlq = await queueCounts(world.sqs, world.dlqUrl);
        assert.equal(queue.visible + queue.inFlight, expected.queued, "messages still in the job queue");
        assert.equal(dlq.visible + dlq.inFlight, expected.deadLettered, "messages in the dead-letter queue");
        accounted = true;
    }

    before(async () => {
        moto = await useProcessMoto();
        restoreEnv = useMotoInThisProcess(moto);
        emulator = await startTfServingEmulator({});
        dir = await mkdtemp(join(tmpdir(), "worker-test-"));
        shortVideo = await makeTestVideo({ path: join(dir, "short.mp4"), seconds: 1, fps: 10, width: 160, height: 120 });
        longVideo = await makeTestVideo({ path: join(dir, "long.mp4"), seconds: 2, fps: 10, width: 160, height: 120 });
    });

    after(async () => {
        await emulator?.stop();
        restoreEnv?.();
        await moto?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    beforeEach(async () => {
        await moto.reset();
        world = await createWorld();
        emulator.setLatency(0);
        emulator.failNext(0, "UNAVAILABLE");
        accounted = false;
        requestsBefore = emulator.requests.length;
    });

    afterEach(function () {
        destroyWorld(world);
        if (this.currentTest?.state === "passed") assert.ok(accounted, "the test must account for every message");
    });

    it("turns an uploaded video (key with spaces) into a result with one entry per decoded frame, after ignoring s3:TestEvent", async () => {
        const key = "input/my holiday (1).mp4";
        await uploadFile(world, key, shortVideo);
        const { capture } = await runWorkerOnce(workerEnv(world, emulator.grpcUrl));
        assert.ok(capture.lines.some((l) => l.msg === "message is not a job; deleting it" && l.reason === "s3:TestEvent"));

        const doc = JSON.parse(await readResult(world, key));
        const expectedFrames = await countFrames(shortVideo);
        assert.equal(doc.frameCount, expectedFrames);
        assert.equal(doc.frames.length, expectedFrames);
        assert.deepEqual(doc.source.bucket, BUCKET);
        assert.equal(doc.source.key, key);
        assert.match(doc.source.etag, /^[0-9a-f]{32}$/);
        assert.deepEqual(doc.model, { name: "object_detection", signature: "serving_default", version: 1 });
        assert.deepEqual(doc.frameSize, { width: WIDTH, height: HEIGHT });
        // The detections are exactly the emulator's for those frames, thresholded.
        const raw = await rawFrames(shortVideo);
        const frameBytes = WIDTH * HEIGHT * 3;
        doc.frames.forEach(
            (frame: { index: number; timestampMs: number; detections: { classId: number; score: number; label: string }[] }, i: number) => {
                assert.equal(frame.index, i);
                assert.equal(frame.timestampMs, i * 100);
                const truth = detectFrame(raw.subarray(i * frameBytes, (i + 1) * frameBytes));
                const kept = truth.classes.filter((_, j) => truth.scores[j] >= 0.5);
                assert.deepEqual(
                    frame.detections.map((d) => d.classId),
                    kept,
                    `frame ${i}`,
                );
                for (const d of frame.detections) assert.ok(d.score >= 0.5 && typeof d.label === "string");
            },
        );
        assert.ok(requests().every((r) => r.transport === "grpc" && r.batchSize <= 4));
        assert.equal(await isProtected(world), false);
        await account({ queued: 0, deadLettered: 0 });
    });

    it("takes explicit jobs ({bucket, object} and {bucket, key}) over REST and writes byte-identical results twice", async () => {
        await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "clips/a.mp4", Body: await readFile(shortVideo) }));
        await sendJob(world, { bucket: BUCKET, object: "clips/a.mp4" });
        await runWorkerOnce(workerEnv(world, emulator.restUrl, { METRICS_NAMESPACE: "VideoWorkerTest" }));
        const cw = new CloudWatchClient({});
        const listed = await cw.send(new ListMetricsCommand({ Namespace: "VideoWorkerTest" }));
        cw.destroy();
        assert.deepEqual([...new Set(listed.Metrics?.map((m) => m.MetricName))].sort(), [
            "FramesPerSecond",
            "FramesProcessed",
            "JobsFailed",
            "JobsSucceeded",
            "SecondsPerFrame",
            "SecondsPerVideo",
        ]);
        assert.ok(listed.Metrics?.every((m) => m.Dimensions?.[0]?.Name === "QueueName" && m.Dimensions[0].Value === "video-jobs"));
        const first = await readResult(world, "clips/a.mp4");
        await sendJob(world, { bucket: BUCKET, key: "clips/a.mp4" });
        await runWorkerOnce(workerEnv(world, emulator.restUrl));
        const second = await readResult(world, "clips/a.mp4");
        assert.equal(JSON.parse(first).frameCount, 10);
        assert.equal(second, first);
        assert.ok(requests().length > 0 && requests().every((r) => r.transport === "rest"));
        await account({ queued: 0, deadLettered: 0 });
    });

    it("dead-letters bad input with the reason (missing, not a video, truncated, not a job) and keeps serving", async () => {
        await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "clips/notes.mp4", Body: "this is not a video\n".repeat(50) }));
        // moov atom up front (+faststart) then cut: ffprobe accepts it, decoding runs out of data.
        const faststart = join(dir, "faststart.mp4");
        await new Promise<void>((done, fail) =>
            spawn("ffmpeg", ["-v", "error", "-y", "-i", longVideo, "-c", "copy", "-movflags", "+faststart", faststart]).once(
                "close",
                (c) => (c === 0 ? done() : fail(new Error("ffmpeg"))),
            ),
        );
        const whole = await readFile(faststart);
        await world.s3.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: "clips/truncated.mp4", Body: whole.subarray(0, Math.floor(whole.length / 3)) }),
        );
        await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "clips/good.mp4", Body: await readFile(shortVideo) }));
        const bad = [
            { body: { bucket: BUCKET, key: "clips/missing.mp4" }, code: "OBJECT_NOT_FOUND" },
            { body: { bucket: BUCKET, key: "clips/notes.mp4" }, code: "NOT_A_VIDEO" },
            { body: { bucket: BUCKET, key: "clips/truncated.mp4" }, code: "TRUNCATED_VIDEO" },
            { body: { video: "where?" }, code: "INVALID_MESSAGE" },
        ];
        for (const b of bad) await sendJob(world, b.body);
        await sendJob(world, { bucket: BUCKET, key: "clips/good.mp4" });

        const capture = captureLogs();
        const started = await startWorker({ env: workerEnv(world, emulator.grpcUrl), log: capture.log });
        await until(
            "every job handled",
            async () => started.worker.completed.length === 1 && (await queueCounts(world.sqs, world.dlqUrl)).visible === bad.length,
        );
        started.worker.stop();
        await started.done;

        const dead = await drain(world.sqs, world.dlqUrl);
        const byCode = new Map(dead.map((m) => [m.MessageAttributes?.ErrorCode?.StringValue, m]));
        for (const b of bad) {
            const m = byCode.get(b.code);
            assert.ok(m, `a dead-lettered message with ErrorCode ${b.code}; got ${[...byCode.keys()].join(", ")}`);
            assert.equal(m.Body, JSON.stringify(b.body), "the original body is kept");
            assert.ok((m.MessageAttributes?.ErrorMessage?.StringValue ?? "").length > 0);
            assert.equal(m.MessageAttributes?.SourceQueue?.StringValue, world.queueUrl);
        }
        const failedLines = capture.lines.filter((l) => l.msg === "job failed");
        assert.ok(failedLines.some((l) => l.job === `s3://${BUCKET}/clips/missing.mp4` && /does not exist/.test(String(l.reason))));
        assert.ok(
            capture.lines.some((l) => l.msg === "message is not a valid job" && /neither an S3 event notification/.test(String(l.reason))),
        );
        assert.equal(JSON.parse(await readResult(world, "clips/good.mp4")).frameCount, 10);
        assert.equal(await isProtected(world), false);
        await account({ queued: 0, deadLettered: bad.length });
    });

    it("dead-letters videos over MAX_VIDEO_BYTES (before downloading) and MAX_VIDEO_SECONDS (before decoding)", async () => {
        await uploadFile(world, "input/big.mp4", shortVideo);
        const { capture } = await runWorkerOnce(workerEnv(world, emulator.grpcUrl, { MAX_VIDEO_BYTES: "1000" }));
        assert.ok(capture.lines.some((l) => l.code === "TOO_LARGE" && /MAX_VIDEO_BYTES=1000/.test(String(l.reason))));
        assert.equal(requests().length, 0);
        await uploadFile(world, "input/long-one.mp4", longVideo);
        const tooLong = await runWorkerOnce(workerEnv(world, emulator.grpcUrl, { MAX_VIDEO_SECONDS: "1.5" }));
        assert.ok(
            tooLong.capture.lines.some((l) => l.code === "TOO_LONG" && /2\.0 s long, over MAX_VIDEO_SECONDS=1.5/.test(String(l.reason))),
        );
        assert.equal(requests().length, 0);
        await account({ queued: 0, deadLettered: 2 });
    });

    it("waits for a model server that is down at start, is not ready meanwhile, then serves", async () => {
        const port = await freePort();
        await uploadFile(world, "input/wait.mp4", shortVideo);
        const started = await startWorker({ env: workerEnv(world, `grpc://127.0.0.1:${port}`), once: true, log: captureLogs().log });
        let late: TfServingEmulator | undefined;
        try {
            await new Promise((r) => setTimeout(r, 1000));
            assert.equal((await fetch(`http://127.0.0.1:${started.metricsPort}/readyz`)).status, 503);
            assert.equal((await fetch(`http://127.0.0.1:${started.metricsPort}/healthz`)).status, 200);
            late = await startTfServingEmulator({ grpcPort: port, loadingForMs: 500 });
            await started.done;
        } finally {
            await late?.stop();
        }
        assert.equal(JSON.parse(await readResult(world, "input/wait.mp4")).frameCount, 10);
        await account({ queued: 0, deadLettered: 0 });
    });

    it("retries transient model errors, dead-letters permanent ones, and gives back (uncounted) a job whose retries run out", async () => {
        await uploadFile(world, "input/flaky.mp4", shortVideo);
        emulator.failNext(2, "UNAVAILABLE");
        const flaky = await runWorkerOnce(workerEnv(world, emulator.grpcUrl));
        assert.equal(JSON.parse(await readResult(world, "input/flaky.mp4")).frameCount, 10);
        assert.equal(requests().filter((r) => r.outcome === "UNAVAILABLE").length, 2);
        assert.equal(flaky.capture.lines.filter((l) => l.msg === "transient model server failure; retrying the batch").length, 2);

        await sendJob(world, { bucket: BUCKET, key: "input/flaky.mp4" });
        emulator.failNext(1, "INVALID_ARGUMENT");
        const rejected = await runWorkerOnce(workerEnv(world, emulator.grpcUrl));
        assert.ok(rejected.capture.lines.some((l) => l.msg === "message dead-lettered" && l.code === "MODEL_INVALID_ARGUMENT"));

        await sendJob(world, { bucket: BUCKET, key: "input/flaky.mp4" });
        emulator.failNext(100, "UNAVAILABLE");
        const exhausted = await runWorkerOnce(workerEnv(world, emulator.grpcUrl, { MODEL_MAX_RETRIES: "1", RETRY_BACKOFF_SECONDS: "30" }));
        emulator.failNext(0, "UNAVAILABLE");
        assert.ok(
            exhausted.capture.lines.some(
                (l) =>
                    String(l.msg).startsWith("job could not go on for a reason that is not the video's") && l.code === "MODEL_UNAVAILABLE",
            ),
        );
        assert.equal(await isProtected(world), false);
        // Given back as a fresh copy, visible at once: a new message (receive count 1 now), carrying its give-back count.
        const back = await world.sqs.send(
            new ReceiveMessageCommand({
                QueueUrl: world.queueUrl,
                WaitTimeSeconds: 0,
                VisibilityTimeout: 0,
                MessageAttributeNames: ["All"],
                MessageSystemAttributeNames: ["ApproximateReceiveCount"],
            }),
        );
        assert.equal(back.Messages?.length, 1);
        assert.equal(back.Messages?.[0].Attributes?.ApproximateReceiveCount, "1", "the give-back spent no receive");
        assert.equal(back.Messages?.[0].MessageAttributes?.GiveBacks?.StringValue, "1");
        assert.equal(back.Messages?.[0].MessageAttributes?.GiveBackReason?.StringValue, "MODEL_UNAVAILABLE");
        await account({ queued: 1, deadLettered: 1 });
    });

    it("gives a job whose model keeps failing back at most MAX_GIVE_BACKS times, then dead-letters it (GIVE_BACK_LIMIT)", async () => {
        await sendJob(world, { bucket: BUCKET, key: "input/absent-model.mp4" });
        await uploadFile(world, "input/absent-model.mp4", shortVideo); // its own notification is a second job
        emulator.failNext(1000, "UNAVAILABLE");
        const env = workerEnv(world, emulator.grpcUrl, {
            MODEL_MAX_RETRIES: "0",
            RETRY_BACKOFF_SECONDS: "0",
            POLL_WAIT_SECONDS: "0",
            MAX_GIVE_BACKS: "2",
        });
        let giveBacks = 0;
        for (let run = 0; run < 12 && (await queueCounts(world.sqs, world.dlqUrl)).visible < 2; run++) {
            const { capture } = await runWorkerOnce(env);
            giveBacks += capture.lines.filter((l) =>
                String(l.msg).startsWith("job could not go on for a reason that is not the video's"),
            ).length;
        }
        emulator.failNext(0, "UNAVAILABLE");
        assert.equal(giveBacks, 4, "each of the two jobs was given back MAX_GIVE_BACKS times");
        const dead = await drain(world.sqs, world.dlqUrl);
        assert.equal(dead.length, 2);
        for (const m of dead) {
            assert.equal(m.MessageAttributes?.ErrorCode?.StringValue, "GIVE_BACK_LIMIT");
            assert.match(
                m.MessageAttributes?.ErrorMessage?.StringValue ?? "",
                /^given back 2 times without finishing \(MAX_GIVE_BACKS=2\); this time: MODEL_UNAVAILABLE: /,
            );
        }
        await account({ queued: 0, deadLettered: 2 });
    });

    it("keeps a long job invisible with heartbeats, holds scale-in protection only while working, and serves /metrics", async () => {
        await world.autoScaling.send(
            new SetInstanceProtectionCommand({
                AutoScalingGroupName: world.groupName,
                InstanceIds: [world.instanceId],
                ProtectedFromScaleIn: true,
            }),
        );
        await uploadFile(world, "input/long.mp4", longVideo);
        emulator.setLatency(700); // 5 batches, one at a time: ~3.5 s, against a 2 s visibility timeout
        const capture = captureLogs();
        const started = await startWorker({
            env: workerEnv(world, emulator.grpcUrl, {
                VISIBILITY_TIMEOUT_SECONDS: "2",
                HEARTBEAT_INTERVAL_SECONDS: "1",
                MAX_IN_FLIGHT_BATCHES: "1",
            }),
            once: true,
            log: capture.log,
        });
        await until("the job to start", () => capture.lines.some((l) => l.msg === "job started"));
        assert.equal(await isProtected(world), true, "protected while working");
        assert.equal((await fetch(`http://127.0.0.1:${started.metricsPort}/readyz`)).status, 200);
        const metricsText = await (await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`)).text();
        assert.match(metricsText, /^video_worker_busy 1$/m);
        assert.match(metricsText, /^# TYPE video_worker_batch_latency_seconds histogram$/m);
        let stolen = 0;
        let done = false;
        const finished = started.done.then(() => (done = true));
        while (!done) {
            const out = await world.sqs.send(
                new ReceiveMessageCommand({ QueueUrl: world.queueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
            );
            stolen += out.Messages?.length ?? 0;
            if (!done) await new Promise((r) => setTimeout(r, 250));
        }
        await finished;
        assert.equal(stolen, 0, "another consumer received the job while it was being processed");
        assert.ok(capture.lines.filter((l) => l.msg === "message visibility extended").length >= 2);
        assert.ok(
            capture.lines.some((l) => l.msg === "scale-in protection off") &&
                capture.lines.findIndex((l) => l.msg === "scale-in protection off") <
                    capture.lines.findIndex((l) => l.msg === "job started"),
            "start-up cleared the stale protection",
        );
        assert.equal(await isProtected(world), false, "protection cleared after the job");
        assert.equal(JSON.parse(await readResult(world, "input/long.mp4")).frameCount, 20);
        await account({ queued: 0, deadLettered: 0 });
    });

    it("on SIGTERM mid-job gives the message back at once, clears protection and exits 0 (child process)", async () => {
        await uploadFile(world, "input/interrupted.mp4", longVideo);
        emulator.setLatency(1500);
        const env = workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", LOG_LEVEL: "info" });
        // Node itself with tsx's loader, not the tsx CLI: the CLI is a parent process that relays SIGTERM only
        // once the child has told it (over IPC) that it handles the signal; under load that message can come
        // late, and the CLI then exits 143 itself, which is not what a pod's SIGTERM does.
        const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), join(REPO, "worker/src/main.ts")], {
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        await until("the child to start the job", () => output.includes('"msg":"job started"'), 30_000);
        assert.equal(await isProtected(world), true);
        child.kill("SIGTERM");
        assert.equal(await exited, 0, output);
        assert.match(output, /job interrupted by shutdown; given back to the queue as a fresh copy/);
        const back = await world.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: world.queueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
        );
        assert.equal(back.Messages?.length, 1, "the job is visible again at once (the worker's visibility timeout is 300 s)");
        assert.equal(await isProtected(world), false);
        await account({ queued: 1, deadLettered: 0 });
    });

    it("samples frames with SAMPLE_FPS and times them by the sampling rate", async () => {
        await uploadFile(world, "input/sampled.mp4", longVideo);
        await runWorkerOnce(workerEnv(world, emulator.grpcUrl, { SAMPLE_FPS: "2" }));
        const doc = JSON.parse(await readResult(world, "input/sampled.mp4"));
        assert.equal(doc.sampleFps, 2);
        assert.equal(doc.frameCount, 4); // 2 s at 2 fps
        assert.deepEqual(
            doc.frames.map((f: { timestampMs: number }) => f.timestampMs),
            [0, 500, 1000, 1500],
        );
        await account({ queued: 0, deadLettered: 0 });
    });

    describe("instance identity from the node name (the pod's NODE_NAME; no instance metadata)", () => {
        it("finds the instance by its private DNS name, then its Auto Scaling group, and protects it", async () => {
            const ec2 = new EC2Client({});
            const lines: string[] = [];
            try {
                assert.match(world.nodeName, /^ip-[0-9-]+\./, "moto names the instance like EC2 does");
                assert.equal(await instanceIdOfNode(ec2, world.nodeName), world.instanceId);
                const protection = await ScaleInProtection.discover({
                    autoScaling: world.autoScaling,
                    ec2,
                    log: createLogger({ write: (l) => lines.push(l) }),
                    nodeName: world.nodeName,
                    // A pod cannot reach IMDS (hop limit 1): an endpoint that answers nothing proves it is never asked.
                    imdsEndpoint: "http://127.0.0.1:9",
                });
                assert.equal(protection.instanceId, world.instanceId);
                assert.equal(protection.groupName, world.groupName);
                assert.equal(await protection.set(true), true);
                assert.equal(await isProtected(world), true);
                assert.equal(await protection.set(false), true);
                assert.equal(await isProtected(world), false);
                assert.ok(lines.some((l) => l.includes("scale-in protection enabled") && l.includes(world.nodeName)));
            } finally {
                ec2.destroy();
            }
            await account({ queued: 1, deadLettered: 0 }); // only the notification configuration's s3:TestEvent
        });

        it("takes a node named after its instance id as it is (nodeadm's InstanceIdNodeName)", async () => {
            const ec2 = new EC2Client({ endpoint: "http://127.0.0.1:9", maxAttempts: 1 }); // never called
            try {
                assert.equal(await instanceIdOfNode(ec2, world.instanceId), world.instanceId);
                assert.equal(await instanceIdOfNode(ec2, "i-0123abcd"), "i-0123abcd");
            } finally {
                ec2.destroy();
            }
            await account({ queued: 1, deadLettered: 0 }); // only the s3:TestEvent
        });

        it("ignores a terminated instance that had the name, and says which node it cannot place", async () => {
            const ec2 = new EC2Client({});
            try {
                const run = await ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1 }));
                const gone = run.Instances?.[0];
                assert.ok(gone?.InstanceId && gone.PrivateDnsName);
                await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone.InstanceId] }));
                await assert.rejects(
                    instanceIdOfNode(ec2, gone.PrivateDnsName),
                    new RegExp(`no running EC2 instance has the private DNS name of node "${gone.PrivateDnsName.replace(/\./g, "\\.")}"`),
                );
                const lines: string[] = [];
                const protection = await ScaleInProtection.discover({
                    autoScaling: world.autoScaling,
                    ec2,
                    log: createLogger({ write: (l) => lines.push(l) }),
                    nodeName: "ip-10-9-9-9.ec2.internal",
                });
                assert.equal(protection.enabled, false);
                assert.ok(lines.some((l) => l.includes("cannot find this node's EC2 instance") && l.includes("ip-10-9-9-9.ec2.internal")));
            } finally {
                ec2.destroy();
            }
            await account({ queued: 1, deadLettered: 0 }); // only the s3:TestEvent
        });
    });

    describe("instance identity through IMDSv2 (a worker run on an EC2 host outside Kubernetes)", () => {
        let imds: Server;
        let endpoint: string;
        const TOKEN = "token-abc";
        const rejectedWithoutToken: string[] = [];

        before(async () => {
            imds = createServer((req, res) => {
                if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
                    res.end(TOKEN);
                } else if (req.method === "GET" && req.url === "/latest/meta-data/instance-id") {
                    if (req.headers["x-aws-ec2-metadata-token"] !== TOKEN) {
                        rejectedWithoutToken.push(req.url);
                        res.writeHead(401).end();
                    } else res.end(world.instanceId);
                } else res.writeHead(404).end();
            });
            await new Promise<void>((r) => imds.listen(0, "127.0.0.1", () => r()));
            endpoint = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
        });
        after(() => new Promise<void>((r) => imds.close(() => r())));

        it("finds the instance with a session token and its Auto Scaling group", async () => {
            assert.equal((await fetch(`${endpoint}/latest/meta-data/instance-id`)).status, 401, "the fake rejects IMDSv1");
            assert.equal(await instanceIdFromImds(endpoint), world.instanceId);
            const protection = await ScaleInProtection.discover({
                autoScaling: world.autoScaling,
                log: createLogger({ write: () => undefined }),
                imdsEndpoint: endpoint,
            });
            assert.equal(protection.groupName, world.groupName);
            assert.equal(await protection.set(true), true);
            assert.equal(await isProtected(world), true);
            assert.equal(await protection.set(false), true);
            assert.equal(await isProtected(world), false);
            assert.deepEqual(rejectedWithoutToken, ["/latest/meta-data/instance-id"]);
            await account({ queued: 1, deadLettered: 0 }); // only the notification configuration's s3:TestEvent
        });

        it("carries on without protection when the instance is in no Auto Scaling group", async () => {
            const lines: string[] = [];
            const protection = await ScaleInProtection.discover({
                autoScaling: world.autoScaling,
                log: createLogger({ write: (l) => lines.push(l) }),
                instanceId: "i-0123456789abcdef0",
            });
            assert.equal(protection.enabled, false);
            assert.ok(lines.some((l) => l.includes("not in an Auto Scaling group")));
            await account({ queued: 1, deadLettered: 0 }); // only the s3:TestEvent
        });
    });
});
