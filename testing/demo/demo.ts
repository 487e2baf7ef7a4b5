// `npm start`: the whole video data path on this machine, offline, with no AWS account.
// moto (S3 + SQS + notifications) -> sample video -> TF Serving emulator (or MODEL_SERVER_URL) -> the real
// worker -> result JSON in S3 -> summary. Then one BERT round trip over KServe v2 against the v2 emulator
// (or BERT_SERVER_URL, e.g. a port-forwarded Triton on grpc://localhost:8001; BERT_MODEL, default bert).
// Options: DEMO_SECONDS (default 4), DEMO_FPS (25), LOG_LEVEL (warn).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    CreateBucketCommand,
    GetObjectCommand,
    PutBucketNotificationConfigurationCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { makeTestVideo } from "../ffmpeg";
import { startMoto, useMotoInThisProcess, type MotoServer } from "../moto";
import { createLogger, errorMessage, type LogLevel } from "../../worker/src/log";
import { startWorker } from "../../worker/src/main";
import { startV2Emulator } from "../kserve/emulator";
import { startTfServingEmulator, type TfServingEmulator } from "../tfserving/emulator";
import { bertRoundTrip } from "./bert-demo";

const BUCKET = "video-demo";
const INPUT_KEY = "input/sample video.mp4";

interface ResultDocument {
    frameCount: number;
    frames: { index: number; timestampMs: number | null; detections: { label: string; score: number }[] }[];
}

function say(line: string): void {
    process.stdout.write(`${line}\n`);
}

function positiveNumber(name: string, fallback: number): number {
    const raw = process.env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}="${raw}" is not valid: expected a positive number`);
    return n;
}

async function createPipelineResources(s3: S3Client, sqs: SQSClient): Promise<{ queueUrl: string; dlqUrl: string }> {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: "video-jobs-dlq" }));
    const arnOf = async (url: string): Promise<string> =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn as string;
    const queue = await sqs.send(
        new CreateQueueCommand({
            QueueName: "video-jobs",
            Attributes: {
                VisibilityTimeout: "300",
                RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq.QueueUrl as string), maxReceiveCount: 5 }),
            },
        }),
    );
    await s3.send(
        new PutBucketNotificationConfigurationCommand({
            Bucket: BUCKET,
            NotificationConfiguration: {
                QueueConfigurations: [
                    {
                        QueueArn: await arnOf(queue.QueueUrl as string),
                        Events: ["s3:ObjectCreated:*"],
                        Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "input/" }] } },
                    },
                ],
            },
        }),
    );
    return { queueUrl: queue.QueueUrl as string, dlqUrl: dlq.QueueUrl as string };
}

async function main(): Promise<void> {
    const seconds = positiveNumber("DEMO_SECONDS", 4);
    const fps = positiveNumber("DEMO_FPS", 25);
    const logLevel = (process.env.LOG_LEVEL ?? "warn") as LogLevel;
    let moto: MotoServer | undefined;
    let emulator: TfServingEmulator | undefined;
    let restoreEnv: (() => void) | undefined;
    const dir = await mkdtemp(join(tmpdir(), "video-demo-"));
    try {
        say("starting moto (local S3 + SQS) ...");
        moto = await startMoto();
        restoreEnv = useMotoInThisProcess(moto);
        const s3 = new S3Client({ forcePathStyle: true });
        const sqs = new SQSClient({});
        const { queueUrl, dlqUrl } = await createPipelineResources(s3, sqs);
        say(`bucket s3://${BUCKET} notifies ${queueUrl} on input/ (DLQ ${dlqUrl})`);

        let modelServerUrl = process.env.MODEL_SERVER_URL;
        if (modelServerUrl === undefined || modelServerUrl === "") {
            emulator = await startTfServingEmulator({});
            modelServerUrl = emulator.grpcUrl;
            say(`TF Serving emulator on ${emulator.grpcUrl} (gRPC) and ${emulator.restUrl} (REST)`);
        } else {
            say(`using the model server at ${modelServerUrl}`);
        }

        const videoPath = join(dir, "sample.mp4");
        await makeTestVideo({ path: videoPath, seconds, fps, width: 640, height: 360 });
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: INPUT_KEY, Body: await readFile(videoPath), ContentType: "video/mp4" }));
        say(`uploaded a ${seconds} s ${fps} fps 640x360 test video to s3://${BUCKET}/${INPUT_KEY}`);

        const env: NodeJS.ProcessEnv = {
            ...process.env,
            JOB_QUEUE_URL: queueUrl,
            DEAD_LETTER_QUEUE_URL: dlqUrl,
            RESULTS_BUCKET: BUCKET,
            MODEL_SERVER_URL: modelServerUrl,
            SCALE_IN_PROTECTION: "off",
            POLL_WAIT_SECONDS: "2",
            METRICS_PORT: process.env.METRICS_PORT ?? "0",
            MODEL_WAIT_TIMEOUT_SECONDS: process.env.MODEL_WAIT_TIMEOUT_SECONDS ?? "120",
        };
        const interactive = process.stdout.isTTY === true;
        let lastPrinted = 0;
        const started = await startWorker({
            env,
            once: true,
            log: createLogger({ level: logLevel }, { component: "video-worker" }),
            onProgress: (p) => {
                const now = Date.now();
                if (!interactive && now - lastPrinted < 1000) return;
                lastPrinted = now;
                const of = p.expectedFrames === undefined ? "" : `/${p.expectedFrames}`;
                const line = `  processing ${p.job.key}: ${p.frames}${of} frames, ${((p.frames / p.elapsedMs) * 1000).toFixed(1)} fps`;
                if (interactive) process.stdout.write(`\r${line}`);
                else say(line);
            },
        });
        say(`worker running (metrics on http://127.0.0.1:${started.metricsPort}/metrics)`);
        await started.done;
        if (interactive) process.stdout.write("\n");

        const summary = started.worker.completed[0];
        if (summary === undefined) throw new Error("the worker finished without completing the job; see the log above");
        const resultKey = summary.resultUri.slice(`s3://${BUCKET}/`.length);
        const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: resultKey }));
        const doc = JSON.parse((await out.Body?.transformToString()) ?? "{}") as ResultDocument;
        const perLabel = new Map<string, number>();
        let detections = 0;
        for (const frame of doc.frames) {
            for (const d of frame.detections) {
                perLabel.set(d.label, (perLabel.get(d.label) ?? 0) + 1);
                detections++;
            }
        }
        say("");
        say(`done: ${doc.frameCount} frames in ${summary.seconds.toFixed(2)} s (${summary.framesPerSecond} fps), ${detections} detections`);
        for (const [label, count] of [...perLabel.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
            say(`  ${label.padEnd(16)} ${count}`);
        }
        say(`result: ${summary.resultUri}`);
        if (emulator !== undefined) say("(the emulator's detections are deterministic stand-ins computed from pixels, not a real model)");
        s3.destroy();
        sqs.destroy();
        await bertStep();
    } finally {
        await emulator?.stop();
        restoreEnv?.();
        await moto?.stop();
        await rm(dir, { recursive: true, force: true });
    }
}

/** One KServe v2 round trip against BERT_SERVER_URL or, without it, the v2 emulator. */
async function bertStep(): Promise<void> {
    say("");
    const given = process.env.BERT_SERVER_URL;
    const emulator = given ? undefined : await startV2Emulator({});
    try {
        const lines = await bertRoundTrip({ url: given || emulator!.url, model: process.env.BERT_MODEL || "bert", batch: 2 });
        for (const line of lines) say(line);
        if (emulator !== undefined)
            say("(the v2 emulator's logits are deterministic stand-ins computed from the token ids, not a real model)");
    } finally {
        await emulator?.stop();
    }
}

main().then(
    () => process.exit(0),
    (err: unknown) => {
        process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
        process.exit(1);
    },
);
