// Issue 11: the real worker under faults and bad inputs, against moto, real ffmpeg and a misbehaving TF
// Serving emulator. Every case accounts for every message it sent and adds to one tally: bad inputs
// tried, faults injected, messages lost, healthy jobs dead-lettered, jobs stuck. The totals are printed
// at the end and must be zero where zero is the only right answer.
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { makeTestVideo, makeVfrVideo, runFfmpeg } from "../../testing/ffmpeg";
import { childrenNamed, withFakeTools } from "./support/processes";
import { freePort, useProcessMoto, useMotoInThisProcess, type MotoServer } from "../../testing/moto";
import { mountTmpfs } from "../../testing/tmpfs";
import { diskSpace } from "../src/disk";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../src/config";
import { ScaleInProtection } from "../src/protection";
import { startStallProxy, type StallProxy } from "./support/stall-proxy";
import { startWorker, type StartedWorker } from "../src/main";
import {
    EMULATED_VERSION,
    OUTPUT_FAULTS,
    startTfServingEmulator,
    type GarbledAnswer,
    type OutputFault,
    type TfServingEmulator,
} from "../../testing/tfserving/emulator";
import {
    BUCKET,
    captureLogs,
    createWorld,
    destroyWorld,
    drain,
    isProtected,
    queueCounts,
    RESULTS_PREFIX,
    sendJob,
    workerEnv,
    type LogCapture,
    type World,
} from "./support/world";

/** The run's totals (printed after the last case). */
export const tally = { badInputs: 0, faults: 0, lost: 0, healthyDeadLettered: 0, stuck: 0, garbageSucceeded: 0 };

/** "doomed": a sound video under a persistent fault that must end in the DLQ with a reason naming the fault (e.g. a model that only returns garbage). */
type Kind = "healthy" | "bad" | "flagged" | "doomed";

const run_ = promisify(execFile);

/** A run that does not finish within this long counts as stuck (and is stopped). */
const STUCK_AFTER_MS = 45_000;

describe("video worker under faults (issue 11)", function () {
    this.timeout(90_000);
    let moto: MotoServer;
    let restoreEnv: () => void;
    let emulator: TfServingEmulator;
    let dir: string;
    let shortVideo: string; // 1 s, 10 fps
    let longVideo: string; // 2 s, 10 fps
    let busyVideo: string; // 8 s, 25 fps: ffmpeg is still running while the model works on the first batches
    let world: World;
    /**
     * Messages sent in this case, by body: "healthy" (a correct worker writes its result), "bad" (it must
     * be dead-lettered, never "succeed"), "flagged" (bad, but only detectable as "decoding ended early",
     * which the result must say).
     */
    let sent: Map<string, Kind>;

    before(async () => {
        moto = await useProcessMoto();
        restoreEnv = useMotoInThisProcess(moto);
        emulator = await startTfServingEmulator({});
        dir = await mkdtemp(join(tmpdir(), "worker-faults-"));
        shortVideo = await makeTestVideo({ path: join(dir, "short.mp4"), seconds: 1, fps: 10, width: 160, height: 120 });
        longVideo = await makeTestVideo({ path: join(dir, "long.mp4"), seconds: 2, fps: 10, width: 160, height: 120 });
        busyVideo = await makeTestVideo({ path: join(dir, "busy.mp4"), seconds: 8, fps: 25, width: 160, height: 120 });
    });

    after(async () => {
        await emulator?.stop();
        restoreEnv?.();
        await moto?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
        const line = `fault tally: bad inputs tried ${tally.badInputs}, faults injected ${tally.faults}, messages lost ${tally.lost}, healthy jobs dead-lettered ${tally.healthyDeadLettered}, jobs stuck ${tally.stuck}, bad inputs that "succeeded" ${tally.garbageSucceeded}`;
        process.stdout.write(`      ${line}\n`);
        assert.deepEqual(
            {
                lost: tally.lost,
                healthyDeadLettered: tally.healthyDeadLettered,
                stuck: tally.stuck,
                garbageSucceeded: tally.garbageSucceeded,
            },
            { lost: 0, healthyDeadLettered: 0, stuck: 0, garbageSucceeded: 0 },
            line,
        );
    });

    beforeEach(async () => {
        await moto.reset();
        world = await createWorld({ notifications: false });
        emulator.setLatency(0);
        emulator.failNext(0, "UNAVAILABLE");
        emulator.corruptNext(0, "nan");
        emulator.reload(0);
        emulator.relabelNext(0, 1);
        emulator.garbleNext(0, "http_500");
        emulator.flapNext(0);
        emulator.setVersion(EMULATED_VERSION);
        emulator.ignoreVersionPin(false);
        sent = new Map();
    });

    afterEach(() => destroyWorld(world));

    async function putVideo(key: string, body: Buffer | string): Promise<void> {
        await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }

    /** Queue a job for `key` (or a raw message body when `key` is not a string). */
    async function job(key: string | { body: string }, healthy: boolean | Kind): Promise<string> {
        const kind: Kind = healthy === true ? "healthy" : healthy === false ? "bad" : healthy;
        const body = typeof key === "string" ? JSON.stringify({ bucket: BUCKET, key }) : key.body;
        sent.set(body, kind);
        if (kind === "bad" || kind === "flagged") tally.badInputs++;
        await sendJob(world, body);
        return body;
    }

    async function resultOf(key: string): Promise<string | undefined> {
        try {
            const out = await world.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${RESULTS_PREFIX}${key}.json` }));
            return await out.Body?.transformToString();
        } catch {
            return undefined;
        }
    }

    /**
     * Start the worker (--once unless `stopWhen` is given; `stopWhen` is also polled while a --once run
     * works, to inject faults at the right moment). A run that never ends is counted as stuck and stopped.
     */
    async function run(
        env: NodeJS.ProcessEnv,
        stopWhen?: (w: StartedWorker, c: LogCapture) => Promise<boolean> | boolean,
        once = stopWhen === undefined,
    ): Promise<{ started: StartedWorker; capture: LogCapture; error?: unknown }> {
        const capture = captureLogs();
        const started = await startWorker({ env, once, log: capture.log });
        let error: unknown;
        const finished = started.done.then(
            () => true,
            (err: unknown) => {
                error = err;
                return true;
            },
        );
        const deadline = Date.now() + STUCK_AFTER_MS;
        let done = false;
        void finished.then(() => (done = true));
        while (!done && Date.now() < deadline) {
            if (stopWhen !== undefined && (await stopWhen(started, capture))) started.worker.stop();
            await new Promise((r) => setTimeout(r, 50));
        }
        if (!done) {
            tally.stuck++;
            started.worker.stop();
            await finished;
            if (process.env.FAULTS_DEBUG) for (const l of capture.lines) process.stdout.write(JSON.stringify(l).slice(0, 400) + "\n");
            assert.fail("the worker did not finish: a job is stuck");
        }
        return { started, capture, error };
    }

    /**
     * Every message sent is accounted for: a result (healthy jobs only), the DLQ (bad inputs only), or
     * still in the job queue. Adds to the tally and returns the dead-lettered messages' attributes by body.
     */
    async function account(expected: { queued?: number } = {}): Promise<Map<string, { code?: string; message?: string }>> {
        const dead = await drain(world.sqs, world.dlqUrl);
        const deadByBody = new Map(
            dead.map((m) => [
                m.Body ?? "",
                { code: m.MessageAttributes?.ErrorCode?.StringValue, message: m.MessageAttributes?.ErrorMessage?.StringValue },
            ]),
        );
        const queue = await queueCounts(world.sqs, world.queueUrl);
        const queued = queue.visible + queue.inFlight;
        let done = 0;
        for (const [body, kind] of sent) {
            let key: string | undefined;
            try {
                const parsed = JSON.parse(body) as { key?: string; object?: string };
                key = parsed.key ?? parsed.object;
            } catch {
                key = undefined;
            }
            const result = key === undefined ? undefined : await resultOf(key);
            if (deadByBody.has(body)) {
                if (kind === "healthy") tally.healthyDeadLettered++;
                done++;
            } else if (result !== undefined) {
                if (
                    kind === "bad" ||
                    kind === "doomed" ||
                    (kind === "flagged" && !(JSON.parse(result) as { decodeEndedEarly?: boolean }).decodeEndedEarly)
                )
                    tally.garbageSucceeded++;
                done++;
            }
        }
        const lost = sent.size - done - queued;
        if (lost > 0) tally.lost += lost;
        assert.equal(lost, 0, "every message is accounted for");
        if (expected.queued !== undefined) assert.equal(queued, expected.queued, "messages still queued");
        for (const [body, kind] of sent)
            if (kind === "healthy")
                assert.ok(!deadByBody.has(body), `healthy job ${body} was dead-lettered (${deadByBody.get(body)?.code})`);
        assert.equal(await isProtected(world), false, "scale-in protection is cleared");
        return deadByBody;
    }

    describe("defect 1: stalled S3 and SQS transfers (a TCP proxy that accepts and stops forwarding)", () => {
        let proxy: StallProxy;
        beforeEach(async () => {
            proxy = await startStallProxy(moto.endpoint);
        });
        afterEach(async () => {
            await proxy.close();
        });
        const env = (extra: Record<string, string> = {}) => workerEnv(world, emulator.grpcUrl, { AWS_TIMEOUT_SECONDS: "1", ...extra });

        it("a GetObject body that stalls mid-transfer is fetched again and the job succeeds", async () => {
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await job("clips/long.mp4", true);
            tally.faults++;
            proxy.set({ kind: "stall", match: "GET /videos/clips/long.mp4", times: 1, forwardRequest: true, afterResponseBytes: 4000 });
            const { capture } = await run(env({ AWS_ENDPOINT_URL_S3: proxy.url }));
            assert.equal(proxy.stalled, 1);
            assert.ok(capture.lines.some((l) => l.msg === "input download failed mid-transfer; starting it again"));
            assert.equal(JSON.parse((await resultOf("clips/long.mp4")) as string).frameCount, 20);
            await account({ queued: 0 });
        });

        it("S3 that accepts and never answers: the job gives its message back in bounded time, protection cleared", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            tally.faults++;
            proxy.set({ kind: "stall", match: "GET /videos/clips/short.mp4", times: 100, forwardRequest: false, afterResponseBytes: 0 });
            const { capture } = await run(env({ AWS_ENDPOINT_URL_S3: proxy.url, RETRY_BACKOFF_SECONDS: "1" }));
            assert.equal(proxy.stalled, 3, "the SDK's three attempts, each cut off by AWS_TIMEOUT_SECONDS");
            if (process.env.FAULTS_DEBUG) for (const l of capture.lines) process.stdout.write(JSON.stringify(l).slice(0, 400) + "\n");
            assert.ok(
                capture.lines.some((l) => l.msg === "job failed" && l.code === "S3_UNAVAILABLE" && l.permanent === false),
                "a transient failure",
            );
            assert.ok(capture.lines.some((l) => String(l.msg).startsWith("transient failure; the message will be retried")));
            await account({ queued: 1 });
        });

        it("a stalled PutObject of the result is retried by the SDK and the job succeeds", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            tally.faults++;
            proxy.set({ kind: "stall", match: "PUT /videos/results/", times: 1, forwardRequest: false, afterResponseBytes: 0 });
            await run(env({ AWS_ENDPOINT_URL_S3: proxy.url }));
            assert.equal(proxy.stalled, 1);
            assert.equal(JSON.parse((await resultOf("clips/short.mp4")) as string).frameCount, 10);
            await account({ queued: 0 });
        });

        it("SQS stalling mid-job (heartbeat, delete) loses nothing: the job reappears and is done again", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            tally.faults++;
            // No long poll (the job is already queued): each stalled SQS call is cut off at AWS_TIMEOUT_SECONDS
            // alone (the SDK's deadline for SQS adds POLL_WAIT_SECONDS), three attempts each.
            const stallEnv = env({
                AWS_ENDPOINT_URL_SQS: proxy.url,
                VISIBILITY_TIMEOUT_SECONDS: "3",
                HEARTBEAT_INTERVAL_SECONDS: "1",
                POLL_WAIT_SECONDS: "0",
            });
            emulator.setLatency(400);
            const first = await run(
                stallEnv,
                (_w, c) => {
                    if (c.lines.some((l) => l.msg === "job started")) proxy.set({ kind: "blackhole" });
                    return false;
                },
                true,
            );
            emulator.setLatency(0);
            assert.ok(first.capture.lines.some((l) => String(l.msg).startsWith("could not finish handling the message")));
            proxy.set({ kind: "forward" });
            // The message comes back after its visibility timeout; a second run finishes it.
            await run(workerEnv(world, emulator.grpcUrl, { POLL_WAIT_SECONDS: "5" }));
            assert.equal(JSON.parse((await resultOf("clips/short.mp4")) as string).frameCount, 10);
            await account({ queued: 0 });
        });

        it("scale-in protection: one call per change, AccessDenied is not retried, throttling is retried by the SDK only", async () => {
            const calls: string[] = [];
            let answer: "denied" | "throttled" = "denied";
            const fake = createServer((req, res) => {
                let body = "";
                req.on("data", (c: Buffer) => (body += c.toString()));
                req.on("end", () => {
                    const action = /Action=(\w+)/.exec(body)?.[1] ?? "?";
                    calls.push(action);
                    res.setHeader("content-type", "text/xml");
                    if (action === "DescribeAutoScalingInstances") {
                        res.end(
                            `<DescribeAutoScalingInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingInstancesResult><AutoScalingInstances><member><InstanceId>i-0123456789abcdef0</InstanceId><AutoScalingGroupName>accel</AutoScalingGroupName><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member></AutoScalingInstances></DescribeAutoScalingInstancesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingInstancesResponse>`,
                        );
                        return;
                    }
                    const [status, code] = answer === "denied" ? [403, "AccessDenied"] : [400, "Throttling"];
                    res.writeHead(status).end(
                        `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
                    );
                });
            });
            await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
            const autoScaling = new AutoScalingClient({
                endpoint: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
                maxAttempts: 3,
            });
            try {
                const protection = await ScaleInProtection.discover({
                    autoScaling,
                    log: captureLogs().log,
                    instanceId: "i-0123456789abcdef0",
                });
                tally.faults += 2;
                calls.length = 0;
                assert.equal(await protection.set(true), false);
                assert.deepEqual(calls, ["SetInstanceProtection"], "AccessDenied: exactly one call");
                answer = "throttled";
                calls.length = 0;
                assert.equal(await protection.set(false), false);
                assert.deepEqual(
                    calls,
                    ["SetInstanceProtection", "SetInstanceProtection", "SetInstanceProtection"],
                    "throttling: the SDK's three attempts, no more",
                );
            } finally {
                autoScaling.destroy();
                await new Promise<void>((r) => fake.close(() => r()));
            }
            await account({ queued: 0 });
        });
    });

    describe("defects 3 and 4: invalid model outputs, over gRPC and REST", () => {
        it("a one-off invalid output is asked for again and the result is the clean one; a model that keeps returning it is dead-lettered naming output and model", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl));
            const clean = await resultOf("clips/short.mp4");
            assert.ok(clean !== undefined);
            const oneOff: [string, readonly OutputFault[]][] = [
                [emulator.grpcUrl, OUTPUT_FAULTS],
                [emulator.restUrl, ["nan", "infinity", "negative_infinity", "score_above_one"]],
            ];
            for (const [url, faults] of oneOff) {
                for (const fault of faults) {
                    await job("clips/short.mp4", true);
                    tally.faults++;
                    emulator.corruptNext(1, fault);
                    await run(workerEnv(world, url));
                    assert.equal(await resultOf("clips/short.mp4"), clean, `${fault} once over ${url}: the clean result`);
                }
            }
            const persistent: [string, OutputFault, string][] = [
                ...OUTPUT_FAULTS.map((f): [string, OutputFault, string] => [emulator.grpcUrl, f, ""]),
                [emulator.restUrl, "nan", "detection_scores"],
                [emulator.restUrl, "infinity", "detection_boxes"],
                [emulator.restUrl, "negative_infinity", "detection_classes"],
            ];
            const bodies: string[] = [];
            for (const [i, [url, fault]] of persistent.entries()) {
                const body = await job({ body: JSON.stringify({ bucket: BUCKET, key: "clips/short.mp4", attempt: i }) }, "doomed");
                bodies.push(body);
                tally.faults++;
                emulator.corruptNext(1000, fault);
                await run(workerEnv(world, url));
            }
            emulator.corruptNext(0, "nan");
            const dead = await account({ queued: 0 });
            for (const [i, [url, fault, output]] of persistent.entries()) {
                const got = dead.get(bodies[i]);
                assert.equal(got?.code, "MODEL_BAD_OUTPUT", `${fault} over ${url}: ${got?.message}`);
                assert.match(got?.message ?? "", /model "object_detection" version 1 returned an invalid output/);
                if (output !== "") assert.ok(got?.message?.includes(`"${output}"`), got?.message);
            }
        });
    });

    describe("defect 2: NOT_FOUND while the model (re)loads", () => {
        it("pauses (not ready) when the model reloads mid-job, then finishes the job and the backlog", async () => {
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/long.mp4", true);
            await job("clips/short.mp4", true);
            await job({ body: JSON.stringify({ bucket: BUCKET, object: "clips/short.mp4" }) }, true);
            emulator.setLatency(150);
            const before = emulator.requests.length;
            let reloaded = false;
            let sawNotReady = false;
            const { started, capture } = await run(
                workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", MODEL_WAIT_TIMEOUT_SECONDS: "20" }),
                async (w) => {
                    if (!reloaded && emulator.requests.length > before) {
                        reloaded = true;
                        tally.faults++;
                        emulator.reload(1200);
                    }
                    if (reloaded && !sawNotReady) sawNotReady = (await fetch(`http://127.0.0.1:${w.metricsPort}/readyz`)).status === 503;
                    return w.worker.completed.length === 3;
                },
            );
            assert.ok(sawNotReady, "/readyz said 503 while the model was away");
            assert.ok(
                emulator.requests.slice(before).some((r) => r.outcome === "NOT_FOUND"),
                "the model server did answer NOT_FOUND",
            );
            assert.ok(capture.lines.some((l) => String(l.msg).startsWith("the model server lost the model")));
            assert.equal(started.worker.completed.length, 3);
            assert.equal(JSON.parse((await resultOf("clips/long.mp4")) as string).frameCount, 20);
            await account({ queued: 0 });
        });

        it("a model that never becomes AVAILABLE at start is a configuration error naming MODEL_NAME; no job is touched", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            tally.faults++;
            const { error } = await run(
                workerEnv(world, emulator.grpcUrl, { MODEL_NAME: "no_such_model", MODEL_WAIT_TIMEOUT_SECONDS: "2" }),
            );
            assert.ok(error instanceof ConfigError, String(error));
            assert.match(
                error.message,
                /MODEL_NAME="no_such_model" did not become AVAILABLE on MODEL_SERVER_URL="grpc:\/\/.*" within MODEL_WAIT_TIMEOUT_SECONDS=2/,
            );
            const out = await world.sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: world.queueUrl,
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                    VisibilityTimeout: 0,
                }),
            );
            assert.equal(out.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "1", "the worker never received the job");
            await account({ queued: 1 });
        });

        it("a model gone for longer than MODEL_WAIT_TIMEOUT_SECONDS gives the message back at once and stops the worker as misconfigured", async () => {
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await job("clips/long.mp4", true);
            emulator.setLatency(150);
            const before = emulator.requests.length;
            tally.faults++;
            const { error, capture } = await run(
                workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", MODEL_WAIT_TIMEOUT_SECONDS: "2" }),
                () => {
                    if (emulator.requests.length > before) emulator.reload(60_000);
                    return false;
                },
            );
            emulator.reload(0);
            assert.ok(error instanceof ConfigError, String(error));
            assert.ok(capture.lines.some((l) => String(l.msg).startsWith("job could not go on") && l.code === "MODEL_NOT_AVAILABLE"));
            const back = await world.sqs.send(
                new ReceiveMessageCommand({ QueueUrl: world.queueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 0 }),
            );
            assert.equal(back.Messages?.length, 1, "the job is visible again at once");
            await account({ queued: 1 });
        });
    });

    describe("defects 5-8: timestamps, sampling, limits and bad inputs", () => {
        const ffmpeg = async (args: string[]): Promise<Buffer> =>
            (
                await run_("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
                    encoding: "buffer",
                    maxBuffer: 64 * 1024 * 1024,
                })
            ).stdout;
        const testsrc = (seconds: number, fps: number) => ["-f", "lavfi", "-i", `testsrc2=size=160x120:rate=${fps}:duration=${seconds}`];
        const x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];

        async function framesOf(key: string): Promise<{ index: number; timestampMs: number | null }[]> {
            const doc = JSON.parse((await resultOf(key)) as string) as {
                frames: { index: number; timestampMs: number | null }[];
                frameCount: number;
            };
            assert.equal(doc.frames.length, doc.frameCount);
            return doc.frames;
        }

        it("defect 5: a variable-frame-rate video gets each frame's own presentation time", async () => {
            const path = join(dir, "vfr.mp4");
            await ffmpeg([...testsrc(2, 10), "-vf", "setpts='if(lt(N,10),N*0.1,1+(N-10)*0.3)/TB'", "-fps_mode", "vfr", ...x264, path]);
            const probed = await run_("ffprobe", [
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "frame=pts_time",
                "-of",
                "csv=p=0",
                path,
            ]);
            const truth = (String(probed.stdout).match(/\d+\.\d+/g) ?? []).map((t) => Math.round(Number(t) * 1000));
            assert.equal(truth.length, 20);
            assert.ok(truth[19] > 3000, "the test video is variable-rate (20 frames over more than 3 s)");
            await putVideo("clips/vfr.mp4", await readFile(path));
            await job("clips/vfr.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl));
            assert.deepEqual(
                (await framesOf("clips/vfr.mp4")).map((f) => f.timestampMs),
                truth,
            );
            // Sampling is by time too: one frame per second of presentation time, not per 10 frames.
            await job("clips/vfr.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl, { SAMPLE_FPS: "1" }));
            const sampled = (await framesOf("clips/vfr.mp4")).map((f) => f.timestampMs);
            assert.deepEqual(sampled, [0, 1000, ...[2000, 3000].map((t) => truth.find((x) => x >= t))]);
            await account({ queued: 0 });
        });

        it("defect 5: SAMPLE_FPS=1 on a 0.4 s clip gives its first frame; SAMPLE_FPS above the rate sends each frame once", async () => {
            const clip = join(dir, "clip.mp4");
            await ffmpeg([...testsrc(0.4, 10), ...x264, clip]);
            await putVideo("clips/clip.mp4", await readFile(clip));
            await job("clips/clip.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl, { SAMPLE_FPS: "1" }));
            assert.deepEqual(
                (await framesOf("clips/clip.mp4")).map((f) => f.timestampMs),
                [0],
            );
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            const before = emulator.requests.length;
            await run(workerEnv(world, emulator.grpcUrl, { SAMPLE_FPS: "30" }));
            assert.deepEqual(
                (await framesOf("clips/short.mp4")).map((f) => f.timestampMs),
                [0, 100, 200, 300, 400, 500, 600, 700, 800, 900],
            );
            assert.equal(
                emulator.requests.slice(before).reduce((n, r) => n + r.batchSize, 0),
                10,
                "each frame went to the model once",
            );
            await account({ queued: 0 });
        });

        it("defects 6, 7, 8 and other bad inputs: each dead-lettered with a reason that names the problem, the healthy job done", async () => {
            const media = async (name: string, args: string[]): Promise<Buffer> => {
                const path = join(dir, name);
                await ffmpeg([...args, path]);
                return readFile(path);
            };
            const ts = await media("whole.ts", [...testsrc(2, 10), ...x264]);
            const half = Math.floor(ts.length / 2) - (Math.floor(ts.length / 2) % 188);
            const faststart = await media("faststart.mp4", ["-i", longVideo, "-c", "copy", "-movflags", "+faststart"]);
            const inputs: { key: string; body: Buffer | string; code: string; message: RegExp; flagged?: true }[] = [
                { key: "bad/empty.mp4", body: "", code: "EMPTY_OBJECT", message: /empty object/ },
                { key: "bad/folder/", body: "", code: "NOT_A_VIDEO", message: /folder marker/ },
                {
                    key: "bad/picture.mp4",
                    body: await media("p.png", [...testsrc(1, 1), "-frames:v", "1"]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video \(PNG image\)$/,
                },
                {
                    key: "bad/photo.jpg",
                    body: await media("p.jpg", [...testsrc(1, 1), "-frames:v", "1"]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video \(JPEG image\)$/,
                },
                {
                    key: "bad/still.gif",
                    body: await media("p.gif", [...testsrc(1, 1), "-frames:v", "1"]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video \(GIF image\)$/,
                },
                {
                    key: "bad/notes.mp4",
                    body: "this is not a video\n".repeat(50),
                    code: "NOT_A_VIDEO",
                    message: /^not a readable video: ffprobe says the input: Invalid data/,
                },
                {
                    key: "bad/noise.mov",
                    body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
                    code: "NOT_A_VIDEO",
                    message: /^not a readable video/,
                },
                {
                    key: "bad/raw.h264",
                    body: await media("raw.h264", [...testsrc(3, 25), ...x264, "-f", "h264"]),
                    code: "TOO_LONG",
                    message: /MAX_VIDEO_SECONDS=2: a frame is presented at 2\.\d s/,
                },
                {
                    key: "bad/streamed.mkv",
                    body: await ffmpeg([...testsrc(3, 10), ...x264, "-f", "matroska", "-"]),
                    code: "TOO_LONG",
                    message: /MAX_VIDEO_SECONDS=2: a frame is presented at 2\.\d s/,
                },
                { key: "bad/cut.ts", body: ts.subarray(0, half + 101), code: "TRUNCATED_VIDEO", message: /MPEG-TS file ends mid-packet/ },
                {
                    key: "bad/cut-faststart.mp4",
                    body: faststart.subarray(0, Math.floor(faststart.length / 3)),
                    code: "TRUNCATED_VIDEO",
                    message: /decoded \d+ of 20 frames/,
                },
                { key: "bad/cut-on-packet.ts", body: ts.subarray(0, half), code: "", message: /./, flagged: true },
            ];
            for (const input of inputs) await putVideo(input.key, input.body);
            for (const input of inputs) await job(input.key, input.flagged ? "flagged" : false);
            const invalid = [
                { body: "not json at all", message: /not JSON/ },
                { body: JSON.stringify({ bucket: BUCKET }), message: /needs a non-empty string "key"/ },
                { body: JSON.stringify({ Records: [] }), message: /empty Records/ },
            ];
            for (const m of invalid) await job({ body: m.body }, false);
            const missing = await job("bad/missing.mp4", false);
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            const deadExpected = inputs.filter((i) => !i.flagged).length + invalid.length + 1;
            const { started } = await run(
                workerEnv(world, emulator.grpcUrl, { MAX_VIDEO_SECONDS: "2" }),
                async (w) => w.worker.completed.length === 2 && (await queueCounts(world.sqs, world.dlqUrl)).visible === deadExpected,
            );
            assert.equal(started.worker.completed.length, 2);
            const dead = await account({ queued: 0 });
            for (const input of inputs.filter((i) => !i.flagged)) {
                const got = dead.get(JSON.stringify({ bucket: BUCKET, key: input.key }));
                assert.ok(got, `${input.key} was dead-lettered`);
                assert.equal(got.code, input.code, `${input.key}: ${got.message}`);
                assert.match(got.message ?? "", input.message, input.key);
                assert.doesNotMatch(got.message ?? "", /video-job-|\/tmp\//, `${input.key}: no scratch paths in reasons`);
            }
            for (const m of invalid) assert.match(dead.get(m.body)?.message ?? "", m.message);
            assert.equal(dead.get(missing)?.code, "OBJECT_NOT_FOUND");
            const flagged = JSON.parse((await resultOf("bad/cut-on-packet.ts")) as string) as {
                decodeEndedEarly?: boolean;
                decodeErrors?: string;
                frameCount: number;
            };
            assert.equal(flagged.decodeEndedEarly, true, "the result says decoding ended early");
            assert.match(flagged.decodeErrors ?? "", /h264: /);
            assert.doesNotMatch(flagged.decodeErrors ?? "", /0x[0-9a-f]+/, "no addresses: results stay deterministic");
            assert.ok(flagged.frameCount < 20);
        });
    });

    describe("defect 9: a crash leaves the downloaded video behind", () => {
        it("clears job directories a dead worker left in WORK_DIR at start, and only those", async () => {
            const work = join(dir, "work-9");
            // A worker that is gone (a pid that cannot exist), the same pid before a restart, and one from
            // before job directories carried a pid, two hours old.
            const stale = ["video-job-4194305-crashed", `video-job-${process.pid}-before-restart`, "video-job-legacy"];
            for (const name of stale) {
                await mkdir(join(work, name, "nested"), { recursive: true });
                await writeFile(join(work, name, "input"), Buffer.alloc(256 * 1024));
            }
            await utimes(join(work, "video-job-legacy"), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
            // Kept: a live worker sharing the directory (here: our parent process), and files that are not job directories.
            await mkdir(join(work, `video-job-${process.ppid}-busy`));
            await writeFile(join(work, "keep-me.txt"), "not ours");
            tally.faults++;
            await run(workerEnv(world, emulator.grpcUrl, { WORK_DIR: work, POLL_WAIT_SECONDS: "0" }));
            for (const name of stale) await assert.rejects(stat(join(work, name)), /ENOENT/, name);
            assert.ok((await stat(join(work, `video-job-${process.ppid}-busy`))).isDirectory(), "a live worker's job directory is kept");
            assert.equal(await readFile(join(work, "keep-me.txt"), "utf8"), "not ours");
            await account({ queued: 0 });
        });
    });

    describe("defect 10: configuration mistakes stop the worker at start, naming the variable and value", () => {
        const cases: { name: string; env: (w: World) => Record<string, string>; message: RegExp }[] = [
            {
                name: "a missing results bucket",
                env: () => ({ RESULTS_BUCKET: "no-such-results" }),
                message: /^RESULTS_BUCKET="no-such-results" does not exist/,
            },
            {
                name: "a missing work directory",
                env: () => ({ WORK_DIR: "/nonexistent/scratch" }),
                message: /^WORK_DIR="\/nonexistent\/scratch" is not usable/,
            },
            {
                name: "a work directory that is a file",
                env: () => ({ WORK_DIR: "/etc/hostname" }),
                message: /^WORK_DIR="\/etc\/hostname" is not usable/,
            },
            {
                name: "a wrong dead-letter queue URL",
                env: (w) => ({ DEAD_LETTER_QUEUE_URL: w.dlqUrl.replace("video-jobs-dlq", "video-jobs-dlq-typo") }),
                message: /^DEAD_LETTER_QUEUE_URL="http.*video-jobs-dlq-typo" is not an existing SQS queue/,
            },
            {
                name: "a wrong job queue URL",
                env: (w) => ({ JOB_QUEUE_URL: w.queueUrl.replace("video-jobs", "video-jobz") }),
                message: /^JOB_QUEUE_URL="http.*video-jobz" is not an existing SQS queue/,
            },
        ];
        for (const c of cases) {
            it(`${c.name}: no receive, no download, exit as a configuration error`, async () => {
                await putVideo("clips/short.mp4", await readFile(shortVideo));
                await job("clips/short.mp4", true);
                tally.faults++;
                const before = emulator.requests.length;
                const { error } = await run(workerEnv(world, emulator.grpcUrl, c.env(world)));
                assert.ok(error instanceof ConfigError, String(error));
                assert.match(error.message, c.message);
                assert.equal(emulator.requests.length, before, "no inference");
                const out = await world.sqs.send(
                    new ReceiveMessageCommand({
                        QueueUrl: world.queueUrl,
                        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                        VisibilityTimeout: 0,
                    }),
                );
                assert.equal(out.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "1", "the worker never received the job");
                await account({ queued: 1 });
            });
        }
    });
    describe("issue 17, job and model side (items 2, 7, 15)", () => {
        it("item 2: confident detections of unnamed ids in the 1-90 space (12, 26) are kept as `class <id>`, not dead-lettered", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            for (const classId of [12, 26]) {
                await job("clips/short.mp4", true);
                tally.faults++;
                emulator.relabelNext(1, classId);
                await run(workerEnv(world, emulator.grpcUrl));
                const doc = JSON.parse((await resultOf("clips/short.mp4")) as string) as {
                    frames: { detections: { label: string; classId: number; score: number }[] }[];
                };
                assert.deepEqual(
                    doc.frames[0].detections[0],
                    { label: `class ${classId}`, classId, score: 0.9, box: [0.1, 0.1, 0.5, 0.5] },
                    `class ${classId}`,
                );
            }
            // Ids outside the model's class space are still the model's fault: 0 (inside num_detections), 91, -3.
            const outside = new Map<string, number>();
            for (const classId of [0, 91, -3]) {
                const body = await job({ body: JSON.stringify({ bucket: BUCKET, key: "clips/short.mp4", classId }) }, "doomed");
                outside.set(body, classId);
                tally.faults++;
                emulator.relabelNext(1000, classId);
                await run(workerEnv(world, emulator.grpcUrl));
            }
            emulator.relabelNext(0, 1);
            const dead = await account({ queued: 0 });
            for (const [body, classId] of outside) {
                assert.equal(dead.get(body)?.code, "MODEL_BAD_OUTPUT", `class ${classId}: ${dead.get(body)?.message}`);
                assert.match(dead.get(body)?.message ?? "", /"detection_classes"/, `class ${classId}`);
            }
        });

        it("item 7: a one-off HTTP 500 without grpc-status, or a 200 with HTML or cut-short JSON, is retried and the result is the clean one", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl));
            const clean = await resultOf("clips/short.mp4");
            assert.ok(clean !== undefined);
            const cases: [string, GarbledAnswer][] = [
                [emulator.grpcUrl, "http_500"],
                [emulator.grpcUrl, "html_200"],
                [emulator.restUrl, "html_200"],
                [emulator.restUrl, "truncated_json"],
            ];
            for (const [url, answer] of cases) {
                await job("clips/short.mp4", true);
                tally.faults++;
                const before = emulator.requests.length;
                emulator.garbleNext(1, answer);
                const { capture } = await run(workerEnv(world, url));
                assert.ok(
                    emulator.requests.slice(before).some((r) => r.outcome === `GARBLED_${answer}`),
                    `${answer} over ${url} was injected`,
                );
                assert.ok(
                    capture.lines.some((l) => l.msg === "transient model server failure; retrying the batch"),
                    `${answer} over ${url}: retried`,
                );
                assert.equal(await resultOf("clips/short.mp4"), clean, `${answer} once over ${url}: the clean result`);
            }
            await account({ queued: 0 });
        });

        describe("item 15: a missing AWS_REGION and a METRICS_PORT in use stop the worker with exit 2, naming the variable, no stack trace", () => {
            const REPO = join(__dirname, "../..");
            async function exitOf(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
                const child = spawn(join(REPO, "node_modules/.bin/tsx"), [join(REPO, "worker/src/main.ts")], {
                    env,
                    stdio: ["ignore", "pipe", "pipe"],
                });
                let output = "";
                child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
                child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
                const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
                return { code, output };
            }

            it("AWS_REGION unset (and no shared config file)", async () => {
                await putVideo("clips/short.mp4", await readFile(shortVideo));
                await job("clips/short.mp4", true);
                tally.faults++;
                const env = workerEnv(world, emulator.grpcUrl, { AWS_CONFIG_FILE: join(dir, "no-such-aws-config") });
                delete env.AWS_REGION;
                delete env.AWS_DEFAULT_REGION;
                const { code, output } = await exitOf(env);
                assert.equal(code, 2, output);
                assert.match(output, /"msg":"configuration error",.*"error":"AWS_REGION is not set/);
                assert.doesNotMatch(output, /\n\s+at |\\n\s+at /, "no stack trace");
                await account({ queued: 1 });
            });

            it("METRICS_PORT taken by another process", async () => {
                await putVideo("clips/short.mp4", await readFile(shortVideo));
                await job("clips/short.mp4", true);
                tally.faults++;
                const squatter = createServer();
                await new Promise<void>((r) => squatter.listen(0, "0.0.0.0", () => r()));
                const port = (squatter.address() as AddressInfo).port;
                try {
                    const { code, output } = await exitOf(workerEnv(world, emulator.grpcUrl, { METRICS_PORT: String(port) }));
                    assert.equal(code, 2, output);
                    assert.match(output, new RegExp(`"error":"METRICS_PORT=${port} is already in use on this host \\(EADDRINUSE\\)`));
                    assert.doesNotMatch(output, /\n\s+at |\\n\s+at /, "no stack trace");
                } finally {
                    await new Promise<void>((r) => squatter.close(() => r()));
                }
                await account({ queued: 1 });
            });
        });
    });
    describe("issue 17, decode side: variable frame rates, images and audio, indirections, truncations, killed and hung decoders", () => {
        const ffmpeg = (args: string[]): Promise<Buffer> => runFfmpeg(args);
        const testsrc = (size: string, seconds: number, fps = 10) => [
            "-f",
            "lavfi",
            "-i",
            `testsrc2=size=${size}:rate=${fps}:duration=${seconds}`,
        ];
        const x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
        const media = async (name: string, args: string[]): Promise<Buffer> => {
            const path = join(dir, name);
            await ffmpeg([...args, path]);
            return readFile(path);
        };

        it("items 1, 12, 13, 15: VFR Matroska/WebM, a one-frame video and a preview track succeed; images, audio, playlists and cut files are dead-lettered, naming why", async () => {
            // A video on the worker's own disk that a playlist names (it must never be read).
            const local = join(dir, "on-the-worker.ts");
            await ffmpeg([...testsrc("160x120", 1), ...x264, local]);
            const cover = join(dir, "cover17.png");
            await ffmpeg([...testsrc("64x64", 1), "-frames:v", "1", cover]);
            const sine = ["-f", "lavfi", "-i", "sine=duration=2"];
            const whole = await media("whole17.mp4", [...testsrc("160x120", 2), ...x264]);
            const streamedMkv = await readFile(await makeVfrVideo({ path: join(dir, "streamed17.mkv"), declaredFps: 10, streamed: true }));
            const wholeMkv = await media("whole17.mkv", [...testsrc("160x120", 2), ...x264]);
            const hls = (entry: string): string => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n${entry}\n#EXT-X-ENDLIST\n`;
            const bad: { key: string; body: Buffer | string; code: string; message: RegExp }[] = [
                {
                    key: "bad17/icon.ico",
                    body: await media("icon17.ico", [...testsrc("64x64", 1), "-frames:v", "1"]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video \(ICO image\)$/,
                },
                {
                    key: "bad17/song.mp3",
                    body: await media("song17.mp3", [
                        ...sine,
                        "-i",
                        cover,
                        "-map",
                        "0",
                        "-map",
                        "1",
                        "-c:a",
                        "libmp3lame",
                        "-c:v",
                        "png",
                        "-disposition:v",
                        "attached_pic",
                    ]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video: MP3 audio/,
                },
                {
                    key: "bad17/song.m4a",
                    body: await media("song17.m4a", [
                        ...sine,
                        "-i",
                        cover,
                        "-map",
                        "0",
                        "-map",
                        "1",
                        "-c:a",
                        "aac",
                        "-c:v",
                        "png",
                        "-disposition:v:0",
                        "attached_pic",
                    ]),
                    code: "NOT_A_VIDEO",
                    message: /^not a video: aac audio with a cover picture/,
                },
                { key: "bad17/playlist.m3u8", body: hls(local), code: "NOT_A_VIDEO", message: /^not a video: the file is an HLS playlist/ },
                { key: "bad17/playlist-url.m3u8", body: hls(`file://${local}`), code: "NOT_A_VIDEO", message: /HLS playlist/ },
                {
                    key: "bad17/list.ffconcat",
                    body: `ffconcat version 1.0\nfile ${local}\n`,
                    code: "NOT_A_VIDEO",
                    message: /ffconcat list/,
                },
                {
                    key: "bad17/manifest.mpd",
                    body: `<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S"><Period><AdaptationSet mimeType="video/mp2t"><Representation id="1" bandwidth="1"><BaseURL>file://${local}</BaseURL><SegmentBase/></Representation></AdaptationSet></Period></MPD>\n`,
                    code: "NOT_A_VIDEO",
                    message: /DASH manifest/,
                },
                {
                    key: "bad17/no-moov.mp4",
                    body: whole.subarray(0, Math.floor(whole.length / 2)),
                    code: "TRUNCATED_VIDEO",
                    message: /has no index \(moov box\)/,
                },
                {
                    key: "bad17/header-cut.mkv",
                    body: wholeMkv.subarray(0, 100),
                    code: "TRUNCATED_VIDEO",
                    message: /ends inside its headers/,
                },
                {
                    key: "bad17/streamed-cut.mkv",
                    body: streamedMkv.subarray(0, Math.floor(streamedMkv.length / 2) + 7),
                    code: "TRUNCATED_VIDEO",
                    message: /ends mid-element after \d+ frames/,
                },
            ];
            const healthy: { key: string; body: Buffer; frames: number }[] = [
                {
                    key: "ok17/vfr.mkv",
                    body: await readFile(await makeVfrVideo({ path: join(dir, "vfr17.mkv"), declaredFps: 10 })),
                    frames: 200,
                },
                {
                    key: "ok17/vfr.webm",
                    body: await readFile(await makeVfrVideo({ path: join(dir, "vfr17.webm"), declaredFps: 20 })),
                    frames: 200,
                },
                {
                    key: "ok17/one-frame.mp4",
                    body: await media("one17.mp4", [...testsrc("160x120", 1, 25), "-frames:v", "1", ...x264]),
                    frames: 1,
                },
                {
                    key: "ok17/preview-first.mp4",
                    body: await media("preview17.mp4", [
                        ...testsrc("80x60", 0.5),
                        ...testsrc("320x240", 2),
                        "-map",
                        "0:v",
                        "-map",
                        "1:v",
                        ...x264,
                    ]),
                    frames: 20,
                },
            ];
            for (const input of [...bad, ...healthy]) await putVideo(input.key, input.body);
            for (const input of bad) await job(input.key, false);
            for (const input of healthy) await job(input.key, true);
            const { started } = await run(
                workerEnv(world, emulator.grpcUrl),
                async (w) =>
                    w.worker.completed.length === healthy.length && (await queueCounts(world.sqs, world.dlqUrl)).visible === bad.length,
            );
            assert.equal(started.worker.completed.length, healthy.length);
            const dead = await account({ queued: 0 });
            for (const input of bad) {
                const got = dead.get(JSON.stringify({ bucket: BUCKET, key: input.key }));
                assert.ok(got, `${input.key} was dead-lettered`);
                assert.equal(got.code, input.code, `${input.key}: ${got.message}`);
                assert.match(got.message ?? "", input.message, input.key);
                assert.doesNotMatch(
                    got.message ?? "",
                    /0x[0-9a-f]{6,}|video-job-|worker-scratch-/,
                    `${input.key}: no addresses or scratch paths`,
                );
            }
            for (const input of healthy) {
                const doc = JSON.parse((await resultOf(input.key)) as string) as { frameCount: number; decodeEndedEarly?: boolean };
                assert.equal(doc.frameCount, input.frames, input.key);
                assert.equal(doc.decodeEndedEarly, undefined, `${input.key}: not flagged`);
            }
        });

        /** A job whose decoder fails once in a transient way: given back, then done by the next run. */
        async function transientOnce(opts: {
            fault: string;
            code: string;
            message: RegExp;
            env?: Record<string, string>;
            fakes?: Record<string, string>;
            onChild?: (pid: number) => void;
        }): Promise<void> {
            const key = `clips17/${opts.fault}.mp4`;
            await putVideo(key, await readFile(busyVideo));
            await job(key, true);
            tally.faults++;
            emulator.setLatency(opts.onChild === undefined ? 0 : 150);
            let touched: number | undefined;
            const first = async (): Promise<{ capture: LogCapture }> =>
                run(
                    workerEnv(world, emulator.grpcUrl, opts.env ?? {}),
                    () => {
                        if (opts.onChild !== undefined && touched === undefined) {
                            const [pid] = childrenNamed("ffmpeg");
                            if (pid !== undefined) {
                                touched = pid;
                                opts.onChild(pid);
                            }
                        }
                        return false;
                    },
                    true,
                );
            const { capture } = opts.fakes === undefined ? await first() : await withFakeTools(opts.fakes, first, STUCK_AFTER_MS);
            emulator.setLatency(0);
            const failed = capture.lines.find((l) => l.msg === "job failed");
            assert.ok(failed, "the job failed once");
            assert.equal(failed.code, opts.code, String(failed.reason));
            assert.equal(failed.permanent, false, "transient");
            assert.match(String(failed.reason), opts.message);
            assert.deepEqual([...childrenNamed("ffmpeg"), ...childrenNamed("ffprobe")], [], "no decoder left running");
            assert.equal((await queueCounts(world.sqs, world.dlqUrl)).visible, 0, "not dead-lettered");
            // Given back: the next run does it.
            await run(workerEnv(world, emulator.grpcUrl));
            assert.equal(JSON.parse((await resultOf(key)) as string).frameCount, 200);
            await account({ queued: 0 });
        }

        it("item 3: ffprobe killed by a signal (an OOM kill): transient, naming the signal; the job is done on its next receive", () =>
            transientOnce({
                fault: "ffprobe-killed",
                code: "DECODER_KILLED",
                message: /^ffprobe was killed by SIGKILL/,
                fakes: { ffprobe: "kill -KILL $$" },
            }));

        it("item 3: ffmpeg killed mid-video by SIGKILL: transient, naming the signal; the job is done on its next receive", () =>
            transientOnce({
                fault: "ffmpeg-killed",
                code: "DECODER_KILLED",
                message: /^ffmpeg was killed by SIGKILL/,
                onChild: (pid) => process.kill(pid, "SIGKILL"),
            }));

        it("item 8: a hung ffmpeg (stopped mid-video) is killed by the watchdog and the job given back", () =>
            transientOnce({
                fault: "ffmpeg-hung",
                code: "DECODE_STALLED",
                message: /^ffmpeg gave no frame for 1 s \(DECODE_STALL_SECONDS\)/,
                env: { DECODE_STALL_SECONDS: "1" },
                onChild: (pid) => process.kill(pid, "SIGSTOP"),
            }));

        it("item 8: a hung ffprobe is stopped at PROBE_TIMEOUT_SECONDS and the job given back", () =>
            transientOnce({
                fault: "ffprobe-hung",
                code: "PROBE_TIMEOUT",
                message: /^ffprobe gave no answer within PROBE_TIMEOUT_SECONDS=1/,
                env: { PROBE_TIMEOUT_SECONDS: "1" },
                fakes: { ffprobe: 'kill -STOP $$\nexec real(ffprobe) "$@"' },
            }));
    });
    describe("issue 17, items 6 and 11: the model's signature and version", () => {
        const cases: { name: string; env: Record<string, string>; message: RegExp }[] = [
            {
                name: "a MODEL_INPUT the signature does not have",
                env: { MODEL_INPUT: "images" },
                message:
                    /^MODEL_INPUT="images" is not an input of signature "serving_default" of model "object_detection" version 1 on MODEL_SERVER_URL="[^"]+"; its inputs: inputs \(DT_UINT8 \[-1,-1,-1,3\]\)$/,
            },
            {
                name: "a MODEL_SIGNATURE the model does not have",
                env: { MODEL_SIGNATURE: "detect" },
                message:
                    /^MODEL_SIGNATURE="detect" is not a signature of model "object_detection" version 1 on MODEL_SERVER_URL="[^"]+"; its signatures: serving_default$/,
            },
            {
                name: "a MODEL_NAME that is not a detection model (BERT)",
                env: { MODEL_NAME: "bert", MODEL_INPUT: "input_ids" },
                message:
                    /^MODEL_SIGNATURE="serving_default": signature "serving_default" of model "bert" version 1 .* also needs input\(s\) input_mask, segment_ids/,
            },
        ];
        for (const c of cases)
            for (const transport of ["grpc", "rest"] as const)
                it(`item 6: ${c.name} (${transport}): exit as a configuration error naming it, before any receive`, async () => {
                    await putVideo("clips/short.mp4", await readFile(shortVideo));
                    await job("clips/short.mp4", true);
                    tally.faults++;
                    const before = emulator.requests.length;
                    const { error } = await run(workerEnv(world, transport === "grpc" ? emulator.grpcUrl : emulator.restUrl, c.env));
                    assert.ok(error instanceof ConfigError, String(error));
                    assert.match(error.message, c.message);
                    assert.equal(emulator.requests.length, before, "no inference");
                    const out = await world.sqs.send(
                        new ReceiveMessageCommand({
                            QueueUrl: world.queueUrl,
                            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                            VisibilityTimeout: 0,
                        }),
                    );
                    assert.equal(out.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "1", "the worker never received the job");
                    await account({ queued: 1 });
                });

        for (const transport of ["grpc", "rest"] as const)
            it(`item 11 (${transport}): version 2 replaces version 1 mid-job: the job starts again and its result names version 2, which served every frame`, async () => {
                await putVideo("clips/long.mp4", await readFile(longVideo));
                await job("clips/long.mp4", true);
                tally.faults++;
                emulator.setLatency(100);
                const before = emulator.requests.length;
                let switched = false;
                const { capture } = await run(
                    workerEnv(world, transport === "grpc" ? emulator.grpcUrl : emulator.restUrl, { MAX_IN_FLIGHT_BATCHES: "1" }),
                    () => {
                        if (!switched && emulator.requests.length > before) {
                            switched = true;
                            emulator.setVersion(2);
                        }
                        return false;
                    },
                    true,
                );
                emulator.setLatency(0);
                const doc = JSON.parse((await resultOf("clips/long.mp4")) as string) as { model: { version?: number }; frameCount: number };
                assert.equal(doc.model.version, 2, "the result names the version that served it");
                assert.equal(doc.frameCount, 20);
                const requests = emulator.requests.slice(before);
                const lastOnOne = requests.map((r) => r.model.version).lastIndexOf(1);
                assert.ok(lastOnOne >= 0, "the job began on version 1");
                const afterRestart = requests.slice(lastOnOne + 1);
                assert.equal(
                    afterRestart.reduce((n, r) => n + r.batchSize, 0),
                    20,
                    "after the restart version 2 served all 20 frames",
                );
                assert.ok(
                    afterRestart.every((r) => r.outcome === "OK" && r.servedVersion === 2 && r.model.version === 2),
                    "every later Predict pinned version 2 and was served by it",
                );
                assert.ok(
                    capture.lines.some((l) => String(l.msg).startsWith("the model version changed mid-job") && l.from === 1 && l.to === 2),
                );
                await account({ queued: 0 });
            });
    });
    describe("issue 17, item 11: a response from another version than the one pinned", () => {
        it("item 11 (grpc): a server that ignores the pin answers from version 2 mid-job: the job starts again on version 2, which serves every frame of the result", async () => {
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await job("clips/long.mp4", true);
            tally.faults++;
            emulator.setLatency(100);
            emulator.ignoreVersionPin(true);
            const before = emulator.requests.length;
            let switched = false;
            try {
                const { capture } = await run(
                    workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1" }),
                    () => {
                        if (!switched && emulator.requests.length > before) {
                            switched = true;
                            emulator.setVersion(2);
                        }
                        return false;
                    },
                    true,
                );
                const doc = JSON.parse((await resultOf("clips/long.mp4")) as string) as { model: { version?: number }; frameCount: number };
                assert.equal(doc.model.version, 2, "the result names the version that served it");
                const requests = emulator.requests.slice(before);
                const firstOnTwo = requests.findIndex((r) => r.servedVersion === 2);
                const restarted = requests.slice(firstOnTwo + 1);
                assert.equal(
                    restarted.reduce((n, r) => n + r.batchSize, 0),
                    20,
                    "after the restart all 20 frames were asked of version 2",
                );
                assert.ok(
                    restarted.every((r) => r.model.version === 2 && r.servedVersion === 2),
                    "the restarted job pinned version 2 and was served by it",
                );
                assert.ok(capture.lines.some((l) => String(l.msg).startsWith("the model version changed mid-job") && l.to === 2));
                assert.ok(!capture.lines.some((l) => String(l.msg).startsWith("job could not go on")), "not given back");
            } finally {
                emulator.setLatency(0);
                emulator.ignoreVersionPin(false);
            }
            await account({ queued: 0 });
        });
    });
    describe("issue 17, items 4 and 5: a model or a shutdown that is not the job's fault never spends its receive count", () => {
        const bodyFor = (key: string, n: number) => ({ body: JSON.stringify({ bucket: BUCKET, key, n }) });

        it("item 4: a model-server outage: the job is given back uncounted, the worker turns not-ready and stops receiving until the model is back, then does the backlog", async () => {
            const port = await freePort();
            let server: TfServingEmulator | undefined = await startTfServingEmulator({ grpcPort: port });
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job(bodyFor("clips/long.mp4", 1), true);
            await job(bodyFor("clips/short.mp4", 2), true);
            await job(bodyFor("clips/short.mp4", 3), true);
            tally.faults++;
            server.setLatency(100);
            let phase: "serving" | "down" | "back" = "serving";
            let givenBackAt = 0;
            const duringOutage: { ready: number; inFlight: number }[] = [];
            try {
                const { capture } = await run(
                    workerEnv(world, `grpc://127.0.0.1:${port}`, {
                        MODEL_MAX_RETRIES: "2",
                        MODEL_RETRY_BASE_MS: "10",
                        MAX_IN_FLIGHT_BATCHES: "1",
                        MODEL_WAIT_TIMEOUT_SECONDS: "30",
                    }),
                    async (w, c) => {
                        if (phase === "serving" && server !== undefined && server.requests.length > 0) {
                            phase = "down";
                            const stopping = server;
                            server = undefined;
                            await stopping.stop(); // connections refused from now on
                        }
                        if (phase === "down") {
                            if (givenBackAt === 0 && c.lines.some((l) => String(l.msg).startsWith("job could not go on")))
                                givenBackAt = Date.now();
                            if (givenBackAt > 0) {
                                const counts = await queueCounts(world.sqs, world.queueUrl);
                                duringOutage.push({
                                    ready: (await fetch(`http://127.0.0.1:${w.metricsPort}/readyz`)).status,
                                    inFlight: counts.inFlight,
                                });
                                if (Date.now() - givenBackAt > 1500) {
                                    phase = "back";
                                    server = await startTfServingEmulator({ grpcPort: port });
                                }
                            }
                        }
                        return w.worker.completed.length === 3;
                    },
                );
                assert.ok(duringOutage.length >= 5, "the outage was observed");
                assert.ok(
                    duringOutage.every((o) => o.ready === 503),
                    "not ready while the model is away",
                );
                assert.ok(
                    duringOutage.every((o) => o.inFlight === 0),
                    "no job taken while the model is away",
                );
                const back = capture.lines.filter((l) => String(l.msg).startsWith("job could not go on"));
                assert.equal(back.length, 1);
                assert.equal(back[0].code, "MODEL_UNAVAILABLE");
                assert.equal(back[0].giveBacks, 1);
            } finally {
                await server?.stop();
            }
            await account({ queued: 0 });
        });

        it("item 5: three SIGTERMs mid-job do not dead-letter a healthy job: each give-back is a fresh copy that counts only itself", async () => {
            await putVideo("clips/long.mp4", await readFile(longVideo));
            await job("clips/long.mp4", true);
            emulator.setLatency(150);
            for (let i = 1; i <= 3; i++) {
                tally.faults++;
                const { capture } = await run(workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1" }), (_w, c) =>
                    c.lines.some((l) => l.msg === "job started"),
                );
                const line = capture.lines.find((l) => String(l.msg).startsWith("job interrupted by shutdown"));
                assert.ok(line, `SIGTERM ${i}: the job was given back`);
                assert.equal(line.giveBacks, i);
            }
            emulator.setLatency(0);
            await run(workerEnv(world, emulator.grpcUrl));
            assert.equal(JSON.parse((await resultOf("clips/long.mp4")) as string).frameCount, 20);
            await account({ queued: 0 });
        });

        it("item 5: a message that reaches the long poll after SIGTERM is given back untouched at once, not left invisible with a receive spent", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            const capture = captureLogs();
            const started = await startWorker({ env: workerEnv(world, emulator.grpcUrl, { POLL_WAIT_SECONDS: "3" }), log: capture.log });
            while (!started.worker.isReady) await new Promise((r) => setTimeout(r, 20));
            await new Promise((r) => setTimeout(r, 300)); // the worker is in a long poll
            tally.faults++;
            started.worker.stop();
            await job("clips/short.mp4", true);
            await started.done;
            const peek = await world.sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: world.queueUrl,
                    WaitTimeSeconds: 0,
                    VisibilityTimeout: 0,
                    MessageAttributeNames: ["All"],
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                }),
            );
            assert.equal(peek.Messages?.length, 1, "the job is visible at once");
            assert.ok(
                capture.lines.some((l) => String(l.msg).startsWith("job interrupted by shutdown") && l.giveBacks === 0),
                "the long poll that was under way when the worker stopped took the job, and the worker gave it back",
            );
            assert.equal(peek.Messages?.[0].Attributes?.ApproximateReceiveCount, "1", "a fresh copy: no receive spent");
            assert.equal(peek.Messages?.[0].MessageAttributes?.GiveBacks?.StringValue, "0", "not worked on: not counted as a give-back");
            await account({ queued: 1 });
        });

        it("item 5: a flapping model (AVAILABLE, Predict NOT_FOUND) costs no receive; the worker backs off, doubling, and the job is done; one that never stops ends in the DLQ after MAX_GIVE_BACKS", async () => {
            await putVideo("clips/short.mp4", await readFile(shortVideo));
            await job("clips/short.mp4", true);
            tally.faults++;
            emulator.flapNext(33); // 11 NOT_FOUNDs end a batch's patience (10 pauses): three give-backs
            const { capture } = await run(
                workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", MODEL_RETRY_BASE_MS: "2", RETRY_BACKOFF_SECONDS: "1" }),
                (w) => w.worker.completed.length === 1,
            );
            const back = capture.lines.filter((l) => String(l.msg).startsWith("job could not go on"));
            assert.deepEqual(
                back.map((l) => [l.code, l.giveBacks]),
                [
                    ["MODEL_FLAPPING", 1],
                    ["MODEL_FLAPPING", 2],
                    ["MODEL_FLAPPING", 3],
                ],
            );
            assert.deepEqual(
                capture.lines.filter((l) => l.msg === "backing off before taking the next job").map((l) => l.seconds),
                [1, 2, 4],
            );
            assert.equal(JSON.parse((await resultOf("clips/short.mp4")) as string).frameCount, 10);

            const doomed = await job(bodyFor("clips/short.mp4", 1), "doomed");
            tally.faults++;
            emulator.flapNext(100_000);
            await run(
                workerEnv(world, emulator.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", MODEL_RETRY_BASE_MS: "1", MAX_GIVE_BACKS: "2" }),
                async () => {
                    return (await queueCounts(world.sqs, world.dlqUrl)).visible === 1;
                },
            );
            emulator.flapNext(0);
            const dead = await account({ queued: 0 });
            assert.equal(dead.get(doomed)?.code, "GIVE_BACK_LIMIT");
            assert.match(
                dead.get(doomed)?.message ?? "",
                /^given back 2 times without finishing \(MAX_GIVE_BACKS=2\); this time: MODEL_FLAPPING: /,
            );
        });

        it("item 5: failures before a give-back still count: a job failing transiently is dead-lettered after maxReceiveCount failures in all, across its copies", async () => {
            const proxy = await startStallProxy(moto.endpoint);
            try {
                await putVideo("clips/long.mp4", await readFile(longVideo));
                const body = await job("clips/long.mp4", "doomed");
                const stalling = () =>
                    proxy.set({ kind: "stall", match: "PUT /videos/results/", times: 100, forwardRequest: false, afterResponseBytes: 0 });
                const env = workerEnv(world, emulator.grpcUrl, {
                    AWS_ENDPOINT_URL_S3: proxy.url,
                    AWS_TIMEOUT_SECONDS: "1",
                    MAX_IN_FLIGHT_BATCHES: "1",
                });
                tally.faults += 4;
                stalling(); // failure 1 (receive 1)
                await run(env);
                proxy.set({ kind: "forward" });
                emulator.setLatency(150); // then a SIGTERM: a give-back carrying Failures=1
                const sigterm = await run(env, (_w, c) => c.lines.some((l) => l.msg === "job started"));
                assert.ok(sigterm.capture.lines.some((l) => String(l.msg).startsWith("job interrupted by shutdown")));
                emulator.setLatency(0);
                stalling(); // failures 2 and 3 on the copy
                const second = await run(env);
                assert.ok(second.capture.lines.some((l) => String(l.msg).startsWith("transient failure;") && l.failures === 2));
                const third = await run(env);
                assert.ok(third.capture.lines.some((l) => l.msg === "message dead-lettered" && l.code === "S3_UNAVAILABLE"));
                const dead = await account({ queued: 0 });
                assert.match(
                    dead.get(body)?.message ?? "",
                    /^failed 3 times \(maxReceiveCount=3, counting the failures before its 1 give-back\(s\)\); last: writing the result/,
                );
            } finally {
                await proxy.close();
            }
        });
    });
    describe("issue 17, items 9 and 10: whose job, and which version a result describes", () => {
        it("item 9: a job for another bucket, outside INPUT_PREFIX, or for a result is dead-lettered as not this stack's (FOREIGN_JOB); this bucket's result is never overwritten", async () => {
            await putVideo("input/clip.mp4", await readFile(longVideo));
            await job("input/clip.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl, { INPUT_PREFIX: "input/" }));
            const ours = await resultOf("input/clip.mp4");
            assert.equal(JSON.parse(ours as string).frameCount, 20);
            await world.s3.send(new CreateBucketCommand({ Bucket: "someone-elses" }));
            await world.s3.send(new PutObjectCommand({ Bucket: "someone-elses", Key: "input/clip.mp4", Body: await readFile(shortVideo) }));
            await putVideo("elsewhere/clip.mp4", await readFile(shortVideo));
            const foreign = await job({ body: JSON.stringify({ bucket: "someone-elses", key: "input/clip.mp4" }) }, false);
            const outside = await job("elsewhere/clip.mp4", false);
            tally.faults += 2;
            await run(
                workerEnv(world, emulator.grpcUrl, { INPUT_PREFIX: "input/" }),
                async () => (await queueCounts(world.sqs, world.dlqUrl)).visible === 2,
            );
            // With the default INPUT_PREFIX (any key) a result is still not a job.
            const resultJob = await job(`${RESULTS_PREFIX}input/clip.mp4.json`, false);
            tally.faults++;
            await run(workerEnv(world, emulator.grpcUrl));
            const dead = await account({ queued: 0 });
            assert.equal(await resultOf("input/clip.mp4"), ours, "this bucket's result is untouched");
            assert.equal(dead.get(foreign)?.code, "FOREIGN_JOB");
            assert.equal(
                dead.get(foreign)?.message,
                `s3://someone-elses/input/clip.mp4 is not in this stack's input bucket (INPUT_BUCKET="${BUCKET}"): not a job of this stack`,
            );
            assert.equal(dead.get(outside)?.code, "FOREIGN_JOB");
            assert.match(dead.get(outside)?.message ?? "", /is not under this stack's input prefix \(INPUT_PREFIX="input\/"\)/);
            assert.equal(dead.get(resultJob)?.code, "FOREIGN_JOB");
            assert.match(dead.get(resultJob)?.message ?? "", /is under RESULTS_PREFIX="results\/": a result, not a video$/);
        });

        it("item 10: an object replaced mid-job, two workers: the slower worker's result for the old version never replaces the newer version's", async () => {
            const slow = await startTfServingEmulator({ latencyMs: 250 });
            try {
                await putVideo("clips/replaced.mp4", await readFile(longVideo));
                const first = await job({ body: JSON.stringify({ bucket: BUCKET, key: "clips/replaced.mp4", n: 1 }) }, true);
                const captureA = captureLogs();
                // Its own WORK_DIR, as each pod has: B's start-up clean-up would take A's job directory (same pid here) for a crashed one's.
                const workA = join(dir, "work-a");
                await mkdir(workA, { recursive: true });
                const a = await startWorker({
                    env: workerEnv(world, slow.grpcUrl, { MAX_IN_FLIGHT_BATCHES: "1", WORK_DIR: workA }),
                    once: true,
                    log: captureA.log,
                });
                while (!captureA.lines.some((l) => l.msg === "video probed")) await new Promise((r) => setTimeout(r, 20));
                tally.faults++;
                await putVideo("clips/replaced.mp4", await readFile(shortVideo)); // version 2, while A works on version 1
                const v2 = (await world.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "clips/replaced.mp4" }))).ETag?.replace(
                    /"/g,
                    "",
                );
                await job({ body: JSON.stringify({ bucket: BUCKET, key: "clips/replaced.mp4", n: 2 }) }, true);
                await run(workerEnv(world, emulator.grpcUrl)); // B: fast, takes the second job and writes version 2's result
                const afterB = JSON.parse((await resultOf("clips/replaced.mp4")) as string) as {
                    source: { etag: string };
                    frameCount: number;
                };
                assert.deepEqual([afterB.source.etag, afterB.frameCount], [v2, 10]);
                await a.done; // A finishes version 1 last
                const final = JSON.parse((await resultOf("clips/replaced.mp4")) as string) as {
                    source: { etag: string };
                    frameCount: number;
                };
                assert.deepEqual([final.source.etag, final.frameCount], [v2, 10], "the result still describes version 2");
                assert.ok(
                    captureA.lines.some(
                        (l) => String(l.msg).startsWith("the input was replaced while the job ran") && l.currentEtag === v2,
                    ),
                    "A says why it wrote nothing",
                );
                assert.ok(first);
                await account({ queued: 0 });
            } finally {
                await slow.stop();
            }
        });
    });
    describe("issue 17, item 14: a full disk", () => {
        it("DISK_FULL mid-job: room for the video but not for its result: given back uncounted, not-ready until WORK_DIR has room, then the same result as on a roomy disk", async () => {
            await putVideo("clips/busy.mp4", await readFile(busyVideo));
            await job("clips/busy.mp4", true);
            await run(workerEnv(world, emulator.grpcUrl));
            const clean = (await resultOf("clips/busy.mp4")) as string;
            await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${RESULTS_PREFIX}clips/busy.mp4.json`, Body: "stale" }));
            const page = 4096;
            const videoBytes = (await stat(busyVideo)).size;
            assert.ok(Buffer.byteLength(clean) > 4 * page, `a result of ${Buffer.byteLength(clean)} bytes needs several pages`);
            const disk = await mountTmpfs(8 * 1024 * 1024);
            try {
                await job("clips/busy.mp4", true);
                const filler = join(disk.dir, "filler");
                const { free, total } = await diskSpace(disk.dir);
                // The video's pages and one more: the download fits, the result does not.
                const room = Math.ceil(videoBytes / page) * page + page;
                assert.ok(room < total * 0.05, "the room left is under the worker's resume threshold");
                await writeFile(filler, Buffer.alloc(free - room));
                tally.faults++;
                let fullSince = 0;
                let freed = false;
                const whileFull: { ready: number; inFlight: number }[] = [];
                const { capture } = await run(workerEnv(world, emulator.grpcUrl, { WORK_DIR: disk.dir }), async (w, c) => {
                    if (fullSince === 0 && c.lines.some((l) => l.code === "DISK_FULL")) fullSince = Date.now();
                    if (fullSince > 0 && !freed) {
                        whileFull.push({
                            ready: (await fetch(`http://127.0.0.1:${w.metricsPort}/readyz`)).status,
                            inFlight: (await queueCounts(world.sqs, world.queueUrl)).inFlight,
                        });
                        if (Date.now() - fullSince > 1500) {
                            freed = true;
                            await rm(filler);
                        }
                    }
                    return w.worker.completed.length === 1;
                });
                const back = capture.lines.filter((l) => String(l.msg).startsWith("job could not go on"));
                assert.deepEqual(
                    back.map((l) => [l.code, l.giveBacks]),
                    [["DISK_FULL", 1]],
                );
                assert.match(String(back[0].reason), new RegExp(`^WORK_DIR="${disk.dir}" has no room for the result: `));
                assert.ok(
                    capture.lines.some((l) => l.msg === "video probed"),
                    "the video was downloaded and decoded first",
                );
                assert.ok(whileFull.length >= 5, "the full disk was observed");
                assert.ok(
                    whileFull.every((o) => o.ready === 503 && o.inFlight === 0),
                    "not ready and not receiving while the disk is full",
                );
                assert.equal(await resultOf("clips/busy.mp4"), clean, "the whole result, as on a roomy disk");
                await account({ queued: 0 });
            } finally {
                await disk.unmount();
            }
        });

        it("DISK_FULL: the job is given back uncounted and the worker stays not-ready, taking nothing, until WORK_DIR has room; then the job is done", async () => {
            const disk = await mountTmpfs(8 * 1024 * 1024);
            try {
                await putVideo("clips/long.mp4", await readFile(longVideo));
                await job("clips/long.mp4", true);
                const filler = join(disk.dir, "filler");
                const { free } = await diskSpace(disk.dir);
                await writeFile(filler, Buffer.alloc(free - 8 * 1024)); // less room than the video
                tally.faults++;
                let fullSince = 0;
                let freed = false;
                const whileFull: { ready: number; inFlight: number }[] = [];
                const { capture } = await run(workerEnv(world, emulator.grpcUrl, { WORK_DIR: disk.dir }), async (w, c) => {
                    if (fullSince === 0 && c.lines.some((l) => l.code === "DISK_FULL")) fullSince = Date.now();
                    if (fullSince > 0 && !freed) {
                        whileFull.push({
                            ready: (await fetch(`http://127.0.0.1:${w.metricsPort}/readyz`)).status,
                            inFlight: (await queueCounts(world.sqs, world.queueUrl)).inFlight,
                        });
                        if (Date.now() - fullSince > 1500) {
                            freed = true;
                            await rm(filler);
                        }
                    }
                    return w.worker.completed.length === 1;
                });
                const back = capture.lines.find((l) => String(l.msg).startsWith("job could not go on"));
                assert.equal(back?.code, "DISK_FULL");
                assert.match(String(back?.reason), new RegExp(`^WORK_DIR="${disk.dir}" has no room for a video of \\d+ bytes`));
                assert.equal(back?.giveBacks, 1);
                assert.ok(whileFull.length >= 5, "the full disk was observed");
                assert.ok(
                    whileFull.every((o) => o.ready === 503 && o.inFlight === 0),
                    "not ready and not receiving while the disk is full",
                );
                assert.ok(capture.lines.some((l) => l.msg === "WORK_DIR is full; not taking jobs until it has room"));
                assert.equal(JSON.parse((await resultOf("clips/long.mp4")) as string).frameCount, 20);
                await account({ queued: 0 });
            } finally {
                await disk.unmount();
            }
        });
    });
});
