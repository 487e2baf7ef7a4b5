// `npm start`: the whole video data path on this machine, offline, with no AWS account.
// moto (S3 + SQS + notifications) -> a real street video (OpenCV's vtest.avi from Debian's opencv-doc,
// fetched once into a cache; a synthetic testsrc2 clip when it cannot be had) -> a real detector
// (CenterNet on CPU behind TF Serving's API; `--model emulator` for the protocol emulator, or
// MODEL_SERVER_URL for a real TF Serving) -> the real worker -> result JSON in S3 -> summary, the result
// and a contact sheet PNG in demo-output/. Then one BERT round trip over KServe v2 against the v2
// emulator (or BERT_SERVER_URL, e.g. a port-forwarded Triton on grpc://localhost:8001; BERT_MODEL).
//   npm start [-- --model centernet|emulator] [--video PATH] [--sample-fps N] [--threshold S] [--threads T] [--out DIR]
// Environment: DEMO_SECONDS / DEMO_FPS (the synthetic clip: 4 s, 25 fps), LOG_LEVEL (warn), EKS_INFERENCE_CACHE.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import {
    CreateBucketCommand,
    GetObjectCommand,
    PutBucketNotificationConfigurationCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { choiceFlag, numberFlag, parseFlags, UsageError } from "../../ops/args";
import { makeTestVideo } from "../ffmpeg";
import { startMoto, useMotoInThisProcess, type MotoServer } from "../moto";
import { createLogger, errorMessage, type LogLevel } from "../../worker/src/log";
import { startWorker } from "../../worker/src/main";
import { probeVideo } from "../../worker/src/probe";
import { startV2Emulator } from "../kserve/emulator";
import { startTfServingEmulator, type TfServingEmulator } from "../tfserving/emulator";
import { startRealModelServer, type RealModelServer } from "../detector/server";
import { CENTERNET_INPUT_SIZE, MODEL_DESCRIPTION } from "../detector/centernet";
import { asResultDocument, renderContactSheet } from "../render/render";
import { bertRoundTrip } from "./bert-demo";
import { cacheDir, sampleVideo, SAMPLE_VIDEO_PACKAGE } from "./sample-video";
import { labelTotals, perSecondCounts, perSecondTable } from "./video-summary";

const BUCKET = "video-demo";

const USAGE = "usage: npm start -- [--model centernet|emulator] [--video PATH] [--sample-fps N] [--threshold S] [--threads T] [--out DIR]";
const FLAGS = {
    model: { type: "string" },
    video: { type: "string" },
    "sample-fps": { type: "string" },
    threshold: { type: "string" },
    threads: { type: "string" },
    out: { type: "string" },
} as const;

export interface DemoOptions {
    model: "centernet" | "emulator";
    video?: string;
    /** Frames per second of video sent to the model; undefined = every frame. */
    sampleFps?: number;
    threshold: number;
    threads?: number;
    out: string;
}

/** The real detector takes ~150 ms a frame a core: 4 frames a second of vtest.avi (318 of 795) is about a minute on 2 cores. */
const CENTERNET_SAMPLE_FPS = 4;
/** CenterNet scores people on vtest.avi at 0.3-0.75: 0.3 keeps them and few false ones. */
const CENTERNET_THRESHOLD = 0.3;

export function parseDemoArgs(argv: readonly string[]): DemoOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const model = choiceFlag(flags.model, "--model", ["centernet", "emulator"] as const, USAGE, "centernet");
    const real = model === "centernet";
    const sampleFps = numberFlag(flags["sample-fps"], "--sample-fps", { min: 0 }, USAGE, real ? CENTERNET_SAMPLE_FPS : 0);
    const threshold = numberFlag(flags.threshold, "--threshold", { min: 0 }, USAGE, real ? CENTERNET_THRESHOLD : 0.5);
    if (threshold > 1) throw new UsageError(`--threshold must be a number from 0 to 1, got "${flags.threshold}"`, USAGE);
    return {
        model,
        video: flags.video,
        sampleFps: sampleFps === 0 ? undefined : sampleFps,
        threshold,
        threads: numberFlag(flags.threads, "--threads", { min: 1, integer: true }, USAGE),
        out: flags.out ?? "demo-output",
    };
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

/** The video to run: --video, else the street video (centernet), else (or when it cannot be had) a synthetic clip. */
async function chooseVideo(options: DemoOptions): Promise<{ path: string; what: string }> {
    if (options.video !== undefined) return { path: resolve(options.video), what: options.video };
    if (options.model === "centernet") {
        say(`getting the street video (OpenCV's vtest.avi from Debian's ${SAMPLE_VIDEO_PACKAGE}; cached in ${cacheDir()}) ...`);
        const sample = await sampleVideo();
        if ("path" in sample)
            return { path: sample.path, what: `vtest.avi (${sample.cached ? "cached" : "just fetched"}: ${sample.path})` };
        say(`could not get the street video: ${sample.error}`);
        say("using a synthetic testsrc2 clip instead: a test pattern, with nothing real in it to detect");
    }
    const seconds = positiveNumber("DEMO_SECONDS", 4);
    const fps = positiveNumber("DEMO_FPS", 25);
    await mkdir(options.out, { recursive: true });
    const path = await makeTestVideo({ path: resolve(options.out, "sample.mp4"), seconds, fps, width: 640, height: 360 });
    return { path, what: `a ${seconds} s ${fps} fps 640x360 testsrc2 clip (synthetic)` };
}

async function main(): Promise<void> {
    const options = parseDemoArgs(process.argv.slice(2));
    const logLevel = (process.env.LOG_LEVEL ?? "warn") as LogLevel;
    let moto: MotoServer | undefined;
    let emulator: TfServingEmulator | undefined;
    let real: RealModelServer | undefined;
    let restoreEnv: (() => void) | undefined;
    try {
        say("starting moto (local S3 + SQS) ...");
        moto = await startMoto();
        restoreEnv = useMotoInThisProcess(moto);
        const s3 = new S3Client({ forcePathStyle: true });
        const sqs = new SQSClient({});
        const { queueUrl, dlqUrl } = await createPipelineResources(s3, sqs);
        say(`bucket s3://${BUCKET} notifies ${queueUrl} on input/ (DLQ ${dlqUrl})`);

        let modelServerUrl = process.env.MODEL_SERVER_URL;
        let modelText: string;
        let modelShort: string;
        if (modelServerUrl) {
            modelText = `the model server at ${modelServerUrl}`;
            modelShort = modelText;
        } else if (options.model === "centernet") {
            say("starting the real detector (CenterNet on CPU) behind TF Serving's API ...");
            real = await startRealModelServer({ threads: options.threads });
            modelServerUrl = real.grpcUrl;
            say(real.banner);
            modelText = MODEL_DESCRIPTION;
            modelShort = "CenterNet on CPU (a real COCO detector, NOT the production SSD model)";
        } else {
            emulator = await startTfServingEmulator({});
            modelServerUrl = emulator.grpcUrl;
            modelText = "the TF Serving protocol emulator (deterministic stand-in detections computed from pixels, not a model)";
            modelShort = "TF Serving emulator (stand-in detections from pixel values, NOT a model)";
            say(`TF Serving emulator on ${emulator.grpcUrl} (gRPC) and ${emulator.restUrl} (REST)`);
        }

        const video = await chooseVideo(options);
        const info = await probeVideo(video.path, new AbortController().signal);
        const inputKey = `input/${basename(video.path)}`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: inputKey, Body: await readFile(video.path) }));
        const duration = Number.isFinite(info.durationSeconds) ? `${info.durationSeconds.toFixed(1)} s` : "unknown length";
        say(`uploaded ${video.what} to s3://${BUCKET}/${inputKey}: ${info.width}x${info.height}, ${duration}, ${info.frameRate} fps`);

        const frameSize = options.model === "centernet" && !process.env.MODEL_SERVER_URL ? CENTERNET_INPUT_SIZE : undefined;
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
            SCORE_THRESHOLD: String(options.threshold),
            ...(options.sampleFps === undefined ? {} : { SAMPLE_FPS: String(options.sampleFps) }),
            ...(frameSize === undefined ? {} : { FRAME_WIDTH: String(frameSize), FRAME_HEIGHT: String(frameSize) }),
        };
        say(
            `worker: ${options.sampleFps === undefined ? "every frame" : `${options.sampleFps} frames per second of video`}, ` +
                `frames ${frameSize ?? 300}x${frameSize ?? 300}, score >= ${options.threshold}`,
        );
        const interactive = process.stdout.isTTY === true;
        let lastPrinted = 0;
        const started = await startWorker({
            env,
            once: true,
            log: createLogger({ level: logLevel }, { component: "video-worker" }),
            onProgress: (p) => {
                const now = Date.now();
                if (now - lastPrinted < (interactive ? 200 : 5000)) return;
                lastPrinted = now;
                const of = p.expectedFrames === undefined ? "" : `/${p.expectedFrames}`;
                const line = `  processing ${p.job.key}: ${p.frames}${of} frames, ${((p.frames / p.elapsedMs) * 1000).toFixed(1)} fps`;
                if (interactive) process.stdout.write(`\r${line}`);
                else say(line);
            },
        });
        await started.done;
        if (interactive) process.stdout.write("\n");

        const summary = started.worker.completed[0];
        if (summary === undefined) throw new Error("the worker finished without completing the job; see the log above");
        const resultKey = summary.resultUri.slice(`s3://${BUCKET}/`.length);
        const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: resultKey }));
        const text = (await out.Body?.transformToString()) ?? "{}";
        const doc = asResultDocument(JSON.parse(text), summary.resultUri);
        await mkdir(options.out, { recursive: true });
        const localResult = resolve(options.out, `${basename(inputKey)}.json`);
        await writeFile(localResult, text);

        say("");
        say(`model: ${modelText}`);
        const videoSeconds = Number.isFinite(info.durationSeconds) ? ` (${info.durationSeconds.toFixed(1)} s of video)` : "";
        say(
            `processed ${doc.frameCount} frames${videoSeconds} in ${summary.seconds.toFixed(1)} s: ${summary.framesPerSecond} fps` +
                (options.sampleFps === undefined ? "" : `, ${options.sampleFps} sampled per second of video`),
        );
        say(`people and cars per second of video (mean per processed frame, score >= ${options.threshold}):`);
        for (const line of perSecondTable(perSecondCounts(doc, info.frameRate))) say(line);
        const totals = labelTotals(doc);
        say(`detections in all: ${totals.length === 0 ? "none" : totals.map(([label, n]) => `${label} ${n}`).join(", ")}`);
        say(`result: ${summary.resultUri} (copied to ${localResult})`);
        const sheetPath = resolve(options.out, `${basename(inputKey)}.contact-sheet.png`);
        const sheet = await renderContactSheet({
            result: doc,
            video: video.path,
            out: sheetPath,
            title: [`${basename(inputKey)}: ${modelShort}; score >= ${options.threshold}; ${doc.frameCount} frames processed`],
        });
        say(`contact sheet: ${sheetPath} (${sheet.tiles} frames with their boxes)`);
        say(
            `annotated video: npm run render -- ${localResult} --video ${video.path} --mp4 ${resolve(options.out, `${basename(inputKey)}.annotated.mp4`)}`,
        );
        if (emulator !== undefined) say("(the emulator's detections are deterministic stand-ins computed from pixels, not a real model)");
        if (real !== undefined)
            say("(CenterNet is a real detector, but not the production SSD model: the cluster serves the SSD from videoModelUri)");
        s3.destroy();
        sqs.destroy();
        await bertStep();
    } finally {
        await emulator?.stop();
        await real?.stop();
        restoreEnv?.();
        await moto?.stop();
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

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (err: unknown) => {
            if (err instanceof UsageError) {
                process.stderr.write(`npm start: ${err.message}\n`);
                process.exit(64);
            }
            process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
            process.exit(1);
        },
    );
}
