// The worker's run loop and per-message handling: receive -> protect -> heartbeat -> process every job in
// the message -> delete / dead-letter / give back -> unprotect, on every path.
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { S3Client } from "@aws-sdk/client-s3";
import {
    ChangeMessageVisibilityCommand,
    DeleteMessageCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    type Message,
    type MessageAttributeValue,
    type SQSClient,
} from "@aws-sdk/client-sqs";
import { publishJobMetrics, type JobMetrics } from "./cloudwatch";
import { ConfigError, queueNameOf, type WorkerConfig } from "./config";
import { BatchBufferPool, decodeBatches, expectedFrames, type DecodeReport } from "./decode";
import { probeVideo } from "./probe";
import { GiveBackError, JobError, JobSuperseded, ModelVersionChanged, ShutdownError, toJobError } from "./errors";
import { startHeartbeat } from "./heartbeat";
import { jobName, parseMessage, type Job } from "./jobs";
import { errorMessage, type Logger } from "./log";
import type { WorkerMetrics } from "./metrics";
import { checkModelSignature } from "./model-check";
import { resumeBytes, workDirRoom } from "./disk";
import { copyAttributes, giveBackHistory, MAX_SQS_ATTRIBUTES } from "./give-back";
import { inferBatch, runPipeline, sleep } from "./pipeline";
import { checkResources, cleanWorkDir, jobDirPrefix } from "./preflight";
import type { ScaleInProtection } from "./protection";
import { ResultFileWriter, resultKey, writeResult } from "./results";
import { downloadVideo, type DownloadedVideo } from "./source";
import type { VideoInfo } from "./probe";
import { ModelServerError, waitForModelAvailable, type ModelClient, type ModelSpec } from "../model-client/tfserving";

export interface WorkerDeps {
    config: WorkerConfig;
    sqs: SQSClient;
    s3: S3Client;
    /** Set when METRICS_NAMESPACE is configured. */
    cloudwatch?: CloudWatchClient;
    model: ModelClient;
    protection: ScaleInProtection;
    log: Logger;
    metrics: WorkerMetrics;
    /** Progress while a job runs (the local demo prints it). */
    onProgress?: (p: JobProgress) => void;
}

export interface JobProgress {
    job: Job;
    frames: number;
    /** From ffprobe, when known. */
    expectedFrames?: number;
    elapsedMs: number;
}

export interface JobSummary {
    job: Job;
    resultUri: string;
    frames: number;
    batches: number;
    seconds: number;
    framesPerSecond: number;
}

/**
 * Why a job is not this stack's to do (issue 17 item 9), or undefined: only objects in INPUT_BUCKET under
 * INPUT_PREFIX are jobs, never a result. A job for another bucket would otherwise be processed with this
 * stack's model and its result would overwrite this bucket's result for the same key.
 */
export function foreignJob(
    job: Job,
    config: Pick<WorkerConfig, "inputBucket" | "inputPrefix" | "resultsBucket" | "resultsPrefix">,
): string | undefined {
    const name = jobName(job);
    if (job.bucket !== config.inputBucket)
        return `${name} is not in this stack's input bucket (INPUT_BUCKET="${config.inputBucket}"): not a job of this stack`;
    if (!job.key.startsWith(config.inputPrefix))
        return `${name} is not under this stack's input prefix (INPUT_PREFIX="${config.inputPrefix}"): not a job of this stack`;
    if (job.bucket === config.resultsBucket && job.key.startsWith(config.resultsPrefix))
        return `${name} is under RESULTS_PREFIX="${config.resultsPrefix}": a result, not a video`;
    return undefined;
}

/** The jobs a message names, for the DLQ's Job attribute. */
function jobsOf(body: string): string {
    const parsed = parseMessage(body);
    return parsed.kind === "jobs" ? parsed.jobs.map(jobName).join(", ") : "(none)";
}

export type MessageOutcome =
    "succeeded" | "superseded" | "dead_lettered" | "retry_later" | "returned_on_shutdown" | "given_back" | "ignored";

const DLQ_TEXT_LIMIT = 1000;

/** Give-backs for these reasons mean the worker itself is unfit for now: it turns not-ready and recovers before the next receive. */
function troubleOf(reason: GiveBackError): "model" | "disk" | undefined {
    if (reason.code === "DISK_FULL") return "disk";
    return reason.code.startsWith("MODEL_") ? "model" : undefined;
}

/** How often a worker that found WORK_DIR full looks again. */
const DISK_POLL_MS = 1_000;

/** The worker's own backoff after consecutive give-backs for model or disk trouble, at most this long. */
const MAX_TROUBLE_BACKOFF_SECONDS = 900;

/** Restarts of one job because the model version changed under it, before its message is given back. */
const MAX_VERSION_RESTARTS = 2;

export class VideoWorker {
    private readonly shutdown = new AbortController();
    private ready = false;
    private modelPause: Promise<number | undefined> | undefined;
    private modelVersion: number | undefined;
    /** Give-backs for model or disk trouble since the last job that finished (drives the worker's backoff). */
    private troubleStreak = 0;
    /** A job was given back because WORK_DIR was full: wait for room before the next receive. */
    private diskFull = false;
    /** The job queue's redrive maxReceiveCount, when the worker may read it. */
    private maxReceiveCount: number | undefined;
    readonly completed: JobSummary[] = [];

    constructor(private readonly deps: WorkerDeps) {}

    get isReady(): boolean {
        return this.ready && !this.shutdown.signal.aborted;
    }

    get stopping(): boolean {
        return this.shutdown.signal.aborted;
    }

    private get spec(): ModelSpec {
        const c = this.deps.config;
        return { name: c.modelName, signatureName: c.modelSignature, ...(c.modelVersion === undefined ? {} : { version: c.modelVersion }) };
    }

    /**
     * Start-up: clear protection and job directories a crashed predecessor may have left, check every
     * configured resource (ConfigError naming the variable otherwise), then wait for the model.
     */
    async start(): Promise<void> {
        const { protection, log, config } = this.deps;
        if (protection.enabled) await protection.set(false);
        await cleanWorkDir(config.workDir, log);
        const { maxReceiveCount } = await checkResources(this.deps);
        this.maxReceiveCount = maxReceiveCount;
        await this.waitForModel();
    }

    /**
     * Wait up to MODEL_WAIT_TIMEOUT_SECONDS for the model (at start-up, and before taking the next job after
     * the model went away for longer than that). Never AVAILABLE in that time: a configuration error.
     */
    private async waitForModel(): Promise<void> {
        const { log, config } = this.deps;
        this.ready = false;
        log.info("waiting for the model to be AVAILABLE", {
            modelServer: config.modelServerUrl,
            model: config.modelName,
            timeoutSeconds: config.modelWaitTimeoutSeconds,
        });
        const deadline = Date.now() + config.modelWaitTimeoutSeconds * 1000;
        try {
            const status = await waitForModelAvailable(this.deps.model, this.spec, {
                timeoutMs: config.modelWaitTimeoutSeconds * 1000,
                intervalMs: 500,
                signal: this.shutdown.signal,
            });
            const version = config.modelVersion ?? (status.version > 0 ? status.version : undefined);
            await this.checkSignature(version, deadline);
            this.modelVersion = version;
        } catch (err) {
            if (this.stopping) throw new ShutdownError();
            if (err instanceof ModelServerError && (err.code === "MODEL_NOT_AVAILABLE" || err.code === "NOT_FOUND")) {
                const version = config.modelVersion === undefined ? "" : ` MODEL_VERSION=${config.modelVersion}`;
                throw new ConfigError(
                    `MODEL_NAME="${config.modelName}"${version} did not become AVAILABLE on MODEL_SERVER_URL="${config.modelServerUrl}" within MODEL_WAIT_TIMEOUT_SECONDS=${config.modelWaitTimeoutSeconds}: ${err.message}`,
                );
            }
            throw err;
        }
        this.ready = true;
        log.info("model is AVAILABLE; taking jobs", { model: config.modelName, version: this.modelVersion, queue: config.queueUrl });
    }

    /**
     * The model's serving signature against MODEL_SIGNATURE, MODEL_INPUT, the frame size and the batch size
     * (ConfigError naming the variable). A server without GetModelMetadata is only warned about; one that
     * cannot answer yet is asked again until `deadline`.
     */
    private async checkSignature(version: number | undefined, deadline: number): Promise<void> {
        const { log, config, model } = this.deps;
        const spec = { name: config.modelName, ...(version === undefined ? {} : { version }) };
        for (;;) {
            try {
                const metadata = await model.getModelMetadata(spec, { timeoutMs: 5_000 });
                checkModelSignature(metadata, config);
                log.info("model signature checked", {
                    model: config.modelName,
                    version,
                    signature: config.modelSignature,
                    input: config.modelInput,
                });
                return;
            } catch (err) {
                if (!(err instanceof ModelServerError)) throw err;
                if ((err.transient || err.code === "NOT_FOUND") && Date.now() + 500 < deadline) {
                    await sleep(500, this.shutdown.signal);
                    continue;
                }
                if (err.transient || err.code === "NOT_FOUND") throw err;
                log.warn("the model server did not answer GetModelMetadata; MODEL_SIGNATURE and MODEL_INPUT are not checked", {
                    error: err.message,
                });
                return;
            }
        }
    }

    /**
     * The model server answered NOT_FOUND for a model it served before: TF Serving does that while a model
     * (re)loads. Not ready meanwhile; every batch in flight waits on the same poll, then is retried (or the
     * job restarts when another version is now served). Still missing after MODEL_WAIT_TIMEOUT_SECONDS: the
     * job's message goes back (GiveBackError) and the run loop waits as at start-up.
     */
    private waitForModelAgain(log: Logger, cause: Error): Promise<number | undefined> {
        if (this.modelPause === undefined) {
            const { config } = this.deps;
            this.ready = false;
            log.warn("the model server lost the model (NOT_FOUND while it reloads); pausing until it is AVAILABLE again", {
                model: config.modelName,
                error: cause.message,
            });
            this.deps.metrics.modelPauses.inc();
            const deadline = Date.now() + config.modelWaitTimeoutSeconds * 1000;
            this.modelPause = waitForModelAvailable(this.deps.model, this.spec, {
                timeoutMs: config.modelWaitTimeoutSeconds * 1000,
                intervalMs: 250,
                signal: this.shutdown.signal,
            })
                .then(async (status) => {
                    const version = config.modelVersion ?? (status.version > 0 ? status.version : undefined);
                    if (version !== this.modelVersion) await this.checkSignature(version, deadline);
                    return version;
                })
                .then(
                    (version) => {
                        this.modelVersion = version;
                        this.ready = true;
                        log.info("model is AVAILABLE again; resuming the job", { model: config.modelName, version });
                        return version;
                    },
                    (err: unknown) => {
                        if (this.stopping) throw new ShutdownError();
                        if (err instanceof ConfigError) throw err;
                        throw new GiveBackError(
                            `model "${config.modelName}" was not AVAILABLE again within MODEL_WAIT_TIMEOUT_SECONDS=${config.modelWaitTimeoutSeconds}: ${errorMessage(err)}`,
                            "MODEL_NOT_AVAILABLE",
                        );
                    },
                )
                .finally(() => (this.modelPause = undefined));
        }
        return this.modelPause;
    }

    /**
     * Before taking another job after giving one back for model trouble (item 4 and 5 of issue 17): back off
     * (RETRY_BACKOFF_SECONDS, doubling per give-back in a row, at most 15 min), then wait for the model as at
     * start-up. Not ready meanwhile, and no receive.
     */
    private async recover(): Promise<void> {
        const { config, log } = this.deps;
        this.ready = false;
        if (this.troubleStreak > 0) {
            const seconds = Math.min(MAX_TROUBLE_BACKOFF_SECONDS, config.retryBackoffSeconds * 2 ** (this.troubleStreak - 1));
            if (seconds > 0) {
                log.warn("backing off before taking the next job", { seconds, giveBacksInARow: this.troubleStreak });
                await sleep(seconds * 1000, this.shutdown.signal);
            }
        }
        if (this.diskFull) {
            await this.waitForDisk();
            this.diskFull = false;
        }
        await this.waitForModel();
    }

    /** Not ready until WORK_DIR has room again (5 % of its filesystem, at most 1 GiB free); says so once a minute. */
    private async waitForDisk(): Promise<void> {
        const { config, log } = this.deps;
        let said = 0;
        for (;;) {
            const { room: free, total } = await workDirRoom(config.workDir, config.workDirLimits);
            const needed = resumeBytes(total, config.workDirLimits.limitBytes);
            if (free >= needed) {
                log.info("WORK_DIR has room again; taking jobs", { workDir: config.workDir, freeBytes: free });
                return;
            }
            if (Date.now() - said >= 60_000) {
                said = Date.now();
                log.warn("WORK_DIR is full; not taking jobs until it has room", {
                    workDir: config.workDir,
                    freeBytes: free,
                    neededBytes: needed,
                });
            }
            await sleep(DISK_POLL_MS, this.shutdown.signal);
        }
    }

    /** Abort in-flight work; the run loop gives unfinished messages back and returns. */
    stop(): void {
        if (!this.stopping) this.deps.log.info("shutting down: aborting in-flight work");
        this.shutdown.abort();
    }

    /**
     * Take messages until stopped. With `once`, return after the first message that carried a job (or
     * was not a job), or after one empty long poll.
     */
    async run(options: { once?: boolean } = {}): Promise<void> {
        const { sqs, config, log } = this.deps;
        while (!this.stopping) {
            if (!this.ready) {
                try {
                    await this.recover();
                } catch (err) {
                    if (this.stopping) break;
                    throw err;
                }
            }
            let messages: Message[];
            try {
                // Not aborted on shutdown: SQS may still hand a message to a long poll the client gave up on, and that
                // message would stay invisible for VISIBILITY_TIMEOUT_SECONDS and come back with a receive spent. The
                // poll ends within POLL_WAIT_SECONDS; what it brings after a SIGTERM is given back untouched.
                const out = await sqs.send(
                    new ReceiveMessageCommand({
                        QueueUrl: config.queueUrl,
                        MaxNumberOfMessages: 1,
                        WaitTimeSeconds: config.pollWaitSeconds,
                        VisibilityTimeout: config.visibilityTimeoutSeconds,
                        MessageAttributeNames: ["All"],
                        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                    }),
                );
                messages = out.Messages ?? [];
                if (this.stopping) {
                    for (const message of messages)
                        await this.giveBack(message, new ShutdownError(), log.child({ messageId: message.MessageId }), false).catch(
                            (err: unknown) =>
                                log.error(
                                    "could not give back a message received while stopping; it reappears after its visibility timeout",
                                    {
                                        messageId: message.MessageId,
                                        error: errorMessage(err),
                                    },
                                ),
                        );
                    break;
                }
            } catch (err) {
                if (this.stopping) break;
                log.error("ReceiveMessage failed; retrying in 5 s", { error: errorMessage(err) });
                await sleep(5_000, this.shutdown.signal).catch(() => undefined);
                continue;
            }
            if (messages.length === 0) {
                if (options.once) {
                    log.info("queue stayed empty for one long poll; exiting (--once)");
                    return;
                }
                continue;
            }
            for (const message of messages) {
                let outcome: MessageOutcome;
                try {
                    outcome = await this.handleMessage(message);
                } catch (err) {
                    if (err instanceof ConfigError) throw err; // its message was given back; the worker stops (exit 2)
                    // e.g. SQS refused DeleteMessage/SendMessage: nothing is lost, the message reappears.
                    log.error("could not finish handling the message; it reappears after its visibility timeout", {
                        messageId: message.MessageId,
                        error: err,
                    });
                    outcome = "retry_later";
                }
                if (options.once && outcome !== "ignored") return;
            }
        }
    }

    async handleMessage(message: Message): Promise<MessageOutcome> {
        const { config, log, metrics, protection } = this.deps;
        const messageLog = log.child({ messageId: message.MessageId });
        const parsed = parseMessage(message.Body);
        if (parsed.kind === "ignore") {
            messageLog.info("message is not a job; deleting it", { reason: parsed.reason });
            await this.deleteMessage(message);
            metrics.jobs.inc({ outcome: "ignored" });
            return "ignored";
        }
        if (parsed.kind === "invalid") {
            messageLog.error("message is not a valid job", { reason: parsed.reason });
            const outcome = await this.deadLetter(message, new JobError(parsed.reason, true, "INVALID_MESSAGE"), "(none)", messageLog);
            metrics.jobs.inc({ outcome });
            await this.publish({ succeeded: false, frames: 0, framesPerSecond: 0 });
            return outcome;
        }
        const receiptHandle = message.ReceiptHandle as string;
        metrics.busy.set(1);
        if (protection.enabled) await protection.set(true);
        const heartbeat = startHeartbeat({
            sqs: this.deps.sqs,
            queueUrl: config.queueUrl,
            receiptHandle,
            visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
            intervalSeconds: config.heartbeatIntervalSeconds,
            log: messageLog,
            onBeat: () => metrics.heartbeats.inc(),
        });
        const failures: { job: Job; error: JobError }[] = [];
        let givenBack: GiveBackError | undefined;
        let configError: ConfigError | undefined;
        let superseded = 0;
        try {
            for (const job of parsed.jobs) {
                const jobLog = messageLog.child({ job: jobName(job) });
                const started = performance.now();
                try {
                    const summary = await this.processJob(job, jobLog);
                    this.completed.push(summary);
                    metrics.jobSeconds.observe((performance.now() - started) / 1000);
                    await this.publish({
                        succeeded: true,
                        frames: summary.frames,
                        framesPerSecond: summary.framesPerSecond,
                        seconds: summary.seconds,
                    });
                } catch (err) {
                    if (err instanceof JobSuperseded && !this.stopping) {
                        jobLog.info("the input was replaced while the job ran; no result written (the newer version's job writes it)", {
                            readEtag: err.readEtag,
                            currentEtag: err.currentEtag,
                        });
                        superseded++;
                        continue;
                    }
                    if (err instanceof ConfigError && !this.stopping) {
                        // The model changed under the worker into one its configuration does not fit (e.g. a reload
                        // to a new signature): not the job's fault; give it back and stop with exit 2.
                        configError = err;
                        givenBack = new GiveBackError(err.message, "CONFIG_ERROR");
                        break;
                    }
                    const classified = this.stopping ? new ShutdownError() : toJobError(err);
                    if (classified instanceof GiveBackError) {
                        givenBack = classified;
                        break;
                    }
                    jobLog.error("job failed", { reason: classified.message, code: classified.code, permanent: classified.permanent });
                    failures.push({ job, error: classified });
                    await this.publish({ succeeded: false, frames: 0, framesPerSecond: 0 });
                }
            }
            await heartbeat.stop();
            let outcome: MessageOutcome;
            if (givenBack !== undefined) {
                outcome = await this.giveBack(message, givenBack, messageLog);
                const trouble = troubleOf(givenBack);
                if (trouble !== undefined) {
                    this.ready = false;
                    this.troubleStreak++;
                    if (trouble === "disk") this.diskFull = true;
                }
            } else if (failures.length === 0) {
                await this.deleteMessage(message);
                this.troubleStreak = 0;
                outcome = superseded === parsed.jobs.length ? "superseded" : "succeeded";
            } else if (failures.some((f) => !f.error.permanent)) {
                const history = giveBackHistory(message);
                const failed = history.failures + 1; // this receive failed too
                const transient = failures.find((f) => !f.error.permanent) as { job: Job; error: JobError };
                if (
                    history.giveBacks > 0 &&
                    this.maxReceiveCount !== undefined &&
                    failed >= this.maxReceiveCount &&
                    config.deadLetterQueueUrl !== undefined
                ) {
                    // A given-back copy starts at receive count 0: the queue's redrive would allow it maxReceiveCount
                    // more failures. Failures carried over count, so the job gets maxReceiveCount failures in all.
                    outcome = await this.deadLetter(
                        message,
                        new JobError(
                            `failed ${failed} times (maxReceiveCount=${this.maxReceiveCount}, counting the failures before its ${history.giveBacks} give-back(s)); last: ${transient.error.message}`,
                            true,
                            transient.error.code,
                        ),
                        jobName(transient.job),
                        messageLog,
                    );
                } else {
                    const delay = Math.min(
                        Math.max(900, config.retryBackoffSeconds),
                        config.retryBackoffSeconds * 2 ** Math.max(0, failed - 1),
                    );
                    await this.changeVisibility(receiptHandle, delay, messageLog);
                    messageLog.warn(
                        "transient failure; the message will be retried (the queue's redrive policy dead-letters it after maxReceiveCount)",
                        {
                            retryInSeconds: delay,
                            receiveCount: history.receives,
                            failures: failed,
                        },
                    );
                    outcome = "retry_later";
                }
            } else {
                const error =
                    failures.length === 1
                        ? failures[0].error
                        : new JobError(
                              failures.map((f) => `${jobName(f.job)}: ${f.error.message}`).join("; "),
                              true,
                              failures[0].error.code,
                          );
                outcome = await this.deadLetter(message, error, failures.map((f) => jobName(f.job)).join(", "), messageLog);
            }
            metrics.jobs.inc({ outcome });
            if (configError !== undefined) throw configError;
            return outcome;
        } finally {
            await heartbeat.stop();
            if (protection.enabled) await protection.set(false);
            metrics.busy.set(0);
        }
    }

    /**
     * One video: download, probe, decode + infer, write the result. Throws JobError / GiveBackError. The
     * model version is pinned for the job (every Predict names it); when another version takes over
     * mid-job, decoding and inference start again (the download is kept), so a result always comes from
     * one version, the one it names.
     */
    async processJob(job: Job, log: Logger): Promise<JobSummary> {
        const { config, s3 } = this.deps;
        const signal = this.shutdown.signal;
        const started = performance.now();
        const dir = await mkdtemp(join(config.workDir, jobDirPrefix()));
        try {
            log.info("job started");
            const foreign = foreignJob(job, config);
            if (foreign !== undefined) throw new JobError(foreign, true, "FOREIGN_JOB");
            if (job.key.endsWith("/")) throw new JobError(`not a video: the key ends in "/" (a folder marker)`, true, "NOT_A_VIDEO");
            const video = await downloadVideo(s3, job, join(dir, "input"), config.maxVideoBytes, signal, log, config.workDirLimits);
            if (video.bytes === 0) throw new JobError("not a video: the input is an empty object (0 bytes)", true, "EMPTY_OBJECT");
            const info = await probeVideo(video.path, signal, { timeoutMs: config.probeTimeoutSeconds * 1000 });
            if (info.durationSeconds > config.maxVideoSeconds) {
                throw new JobError(
                    `video is ${info.durationSeconds.toFixed(1)} s long, over MAX_VIDEO_SECONDS=${config.maxVideoSeconds}`,
                    true,
                    "TOO_LONG",
                );
            }
            log.info("video probed", {
                bytes: video.bytes,
                etag: video.etag,
                format: info.formatName,
                codec: info.codec,
                width: info.width,
                height: info.height,
                durationSeconds: info.durationSeconds,
                frameRate: info.frameRate,
            });
            for (let restarts = 0; ; restarts++) {
                try {
                    return await this.inferVideo(job, video, info, dir, this.modelVersion, started, log);
                } catch (err) {
                    if (!(err instanceof ModelVersionChanged) || signal.aborted) throw err;
                    this.deps.metrics.modelVersionRestarts.inc();
                    if (restarts >= MAX_VERSION_RESTARTS)
                        throw new GiveBackError(
                            `the model version changed ${restarts + 1} times during the job (last from ${err.from} to ${err.to})`,
                            "MODEL_VERSION_CHANGING",
                        );
                    log.warn("the model version changed mid-job; starting the job again so that one version serves every frame", {
                        from: err.from,
                        to: err.to,
                    });
                    // A response named another version than the pinned one (the server did not honour the pin):
                    // the next try pins the version that answered, once its signature is checked as at start-up.
                    if (config.modelVersion === undefined && this.modelVersion !== err.to) {
                        await this.checkSignature(err.to, Date.now() + config.modelWaitTimeoutSeconds * 1000);
                        this.modelVersion = err.to;
                    }
                }
            }
        } finally {
            await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
                log.warn("could not remove the job's temp directory", { dir, error: errorMessage(err) }),
            );
        }
    }

    /** Decode + infer with `version` pinned, then write the result; ModelVersionChanged when another version answers. */
    private async inferVideo(
        job: Job,
        video: DownloadedVideo,
        info: VideoInfo,
        dir: string,
        version: number | undefined,
        started: number,
        log: Logger,
    ): Promise<JobSummary> {
        const { config, s3, metrics } = this.deps;
        const signal = this.shutdown.signal;
        const expected = expectedFrames(info, config.sampleFps);
        const writer = await ResultFileWriter.create(join(dir, "result.json"), {
            source: { bucket: job.bucket, key: job.key, etag: video.etag },
            model: {
                name: config.modelName,
                signature: config.modelSignature,
                ...(version === undefined ? {} : { version }),
            },
            frameSize: { width: config.frameWidth, height: config.frameHeight },
            sampleFps: config.sampleFps ?? null,
            scoreThreshold: config.scoreThreshold,
        });
        try {
            let served = version;
            const inference = {
                client: this.deps.model,
                spec: { ...this.spec, ...(version === undefined ? {} : { version }) },
                inputName: config.modelInput,
                width: config.frameWidth,
                height: config.frameHeight,
                scoreThreshold: config.scoreThreshold,
                timeoutMs: config.modelTimeoutMs,
                maxRetries: config.modelMaxRetries,
                retryBaseMs: config.modelRetryBaseMs,
                waitForModel: (err: Error) => this.waitForModelAgain(log, err),
                // Every response names the version that served it (gRPC): one other than the job's restarts the job.
                onServedVersion: (v: number) => {
                    if (served === undefined) served = v;
                    else if (v !== served) throw new ModelVersionChanged(served, v);
                },
                onRetry: (attempt: number, err: Error, delayMs: number) => {
                    metrics.modelRetries.inc();
                    log.warn("transient model server failure; retrying the batch", { attempt, delayMs, error: err.message });
                },
            };
            const report: DecodeReport = {};
            const pool = new BatchBufferPool(config.batchSize * config.frameWidth * config.frameHeight * 3, config.maxInFlightBatches + 2);
            let lastProgress = performance.now();
            const summary = await runPipeline({
                batches: decodeBatches({
                    path: video.path,
                    width: config.frameWidth,
                    height: config.frameHeight,
                    sampleFps: config.sampleFps,
                    batchSize: config.batchSize,
                    signal,
                    info,
                    pool,
                    maxSeconds: config.maxVideoSeconds,
                    inputBytes: video.bytes,
                    report,
                    stallSeconds: config.decodeStallSeconds,
                    scratchDir: dir,
                }),
                infer: (batch) => inferBatch(batch, inference, signal),
                maxInFlight: config.maxInFlightBatches,
                signal,
                release: (batch) => pool.give(batch.data),
                sink: (frame) => writer.addFrame(frame),
                onBatch: (batch, latencyMs) => {
                    metrics.batches.inc();
                    metrics.frames.inc({}, batch.count);
                    metrics.batchLatency.observe(latencyMs / 1000);
                    const now = performance.now();
                    const frames = batch.firstIndex + batch.count;
                    this.deps.onProgress?.({ job, frames, expectedFrames: expected, elapsedMs: now - started });
                    if (now - lastProgress >= 10_000) {
                        lastProgress = now;
                        log.info("job progress", {
                            frames,
                            expectedFrames: expected,
                            fps: Math.round((frames / (now - started)) * 1000 * 10) / 10,
                        });
                    }
                },
            });
            if (report.decodeErrors !== undefined)
                log.warn("ffmpeg reported decode errors; the result says decoding may have ended early", { errors: report.decodeErrors });
            const bytes = await writer.finish(
                report.decodeErrors === undefined ? {} : { decodeEndedEarly: true, decodeErrors: report.decodeErrors },
            );
            const key = resultKey(config.resultsPrefix, job.key);
            let written;
            try {
                written = await writeResult(
                    s3,
                    { bucket: config.resultsBucket, key },
                    { bucket: job.bucket, key: job.key, etag: video.etag },
                    { path: writer.path, bytes },
                    signal,
                );
            } catch (err) {
                if (signal.aborted) throw new ShutdownError();
                throw new JobError(
                    `writing the result to s3://${config.resultsBucket}/${key} failed after the SDK's retries: ${errorMessage(err)}`,
                    false,
                    "S3_UNAVAILABLE",
                );
            }
            if (written.outcome === "superseded") throw new JobSuperseded(video.etag, written.currentEtag);
            const seconds = (performance.now() - started) / 1000;
            const framesPerSecond = Math.round((summary.frames / seconds) * 10) / 10;
            metrics.fps.set(framesPerSecond);
            const result: JobSummary = {
                job,
                resultUri: `s3://${config.resultsBucket}/${key}`,
                frames: summary.frames,
                batches: summary.batches,
                seconds,
                framesPerSecond,
            };
            log.info("job succeeded", {
                result: result.resultUri,
                frames: summary.frames,
                batches: summary.batches,
                modelVersion: served,
                seconds: Math.round(seconds * 100) / 100,
                fps: framesPerSecond,
                resultBytes: bytes,
            });
            return result;
        } finally {
            await writer.close();
        }
    }

    private async publish(m: JobMetrics): Promise<void> {
        const { cloudwatch, config, log } = this.deps;
        if (cloudwatch === undefined || config.metricsNamespace === undefined) return;
        try {
            await publishJobMetrics(cloudwatch, config.metricsNamespace, queueNameOf(config.queueUrl), m);
        } catch (err) {
            log.warn("PutMetricData failed; the job's outcome is unaffected", {
                namespace: config.metricsNamespace,
                error: errorMessage(err),
            });
        }
    }

    private async deleteMessage(message: Message): Promise<void> {
        await this.deps.sqs.send(new DeleteMessageCommand({ QueueUrl: this.deps.config.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }

    private async changeVisibility(receiptHandle: string, seconds: number, log: Logger): Promise<void> {
        try {
            await this.deps.sqs.send(
                new ChangeMessageVisibilityCommand({
                    QueueUrl: this.deps.config.queueUrl,
                    ReceiptHandle: receiptHandle,
                    VisibilityTimeout: seconds,
                }),
            );
        } catch (err) {
            log.warn("ChangeMessageVisibility failed; the message reappears when its visibility timeout ends", {
                seconds,
                error: errorMessage(err),
            });
        }
    }

    /**
     * Hand the job back without spending its receive count (see give-back.ts): a fresh copy carrying the
     * give-back count, then the original deleted. Past MAX_GIVE_BACKS it is dead-lettered (GIVE_BACK_LIMIT).
     * When the copy cannot be sent (or could not carry its count) the message is made visible again instead,
     * which counts as a receive, and nothing is lost.
     */
    private async giveBack(message: Message, reason: GiveBackError, log: Logger, worked = true): Promise<MessageOutcome> {
        const { config, sqs } = this.deps;
        const receiptHandle = message.ReceiptHandle as string;
        const history = giveBackHistory(message);
        // A message received while stopping and never worked on goes back as it came.
        const giveBacks = history.giveBacks + (worked ? 1 : 0);
        const shutdown = reason instanceof ShutdownError;
        const given: MessageOutcome = shutdown ? "returned_on_shutdown" : "given_back";
        if (worked && giveBacks > config.maxGiveBacks && config.deadLetterQueueUrl !== undefined) {
            const jobs = message.Body === undefined ? "(none)" : jobsOf(message.Body);
            return this.deadLetter(
                message,
                new JobError(
                    `given back ${history.giveBacks} times without finishing (MAX_GIVE_BACKS=${config.maxGiveBacks}); this time: ${reason.code}: ${reason.message}`,
                    true,
                    "GIVE_BACK_LIMIT",
                ),
                jobs,
                log,
            );
        }
        const attributes = copyAttributes(message, { giveBacks, failures: history.failures, reason: reason.code });
        const fields = { code: reason.code, reason: reason.message, giveBacks };
        if (attributes !== undefined) {
            let copyId: string | undefined;
            try {
                const sent = await sqs.send(
                    new SendMessageCommand({ QueueUrl: config.queueUrl, MessageBody: message.Body ?? "", MessageAttributes: attributes }),
                );
                copyId = sent.MessageId;
            } catch (err) {
                log.warn("could not send the job back as a fresh copy; making the message visible again (this receive counts)", {
                    ...fields,
                    error: errorMessage(err),
                });
            }
            if (copyId !== undefined) {
                await this.deleteOriginal(message, copyId, log);
                if (shutdown) log.info("job interrupted by shutdown; given back to the queue as a fresh copy", { ...fields, copy: copyId });
                else
                    log.warn("job could not go on for a reason that is not the video's; given back to the queue as a fresh copy", {
                        ...fields,
                        copy: copyId,
                    });
                return given;
            }
        } else {
            log.warn(
                `the message carries too many attributes to add the give-back count (SQS allows ${MAX_SQS_ATTRIBUTES}); making it visible again (this receive counts)`,
                fields,
            );
        }
        await this.changeVisibility(receiptHandle, 0, log);
        log.info("message made visible again", fields);
        return given;
    }

    /** The copy is on the queue: delete the original, trying once more on failure (else the job runs twice). */
    private async deleteOriginal(message: Message, copyId: string, log: Logger): Promise<void> {
        for (let attempt = 1; ; attempt++) {
            try {
                await this.deleteMessage(message);
                return;
            } catch (err) {
                if (attempt >= 2) {
                    log.error(
                        "gave the job back as a copy but could not delete the original; it reappears after its visibility timeout and the job runs twice (same result)",
                        {
                            copy: copyId,
                            error: errorMessage(err),
                        },
                    );
                    return;
                }
                await new Promise((r) => setTimeout(r, 1000));
            }
        }
    }

    /** Permanent failure: copy to the DLQ with the reason, then delete; without a DLQ, leave it to redrive. */
    private async deadLetter(message: Message, error: JobError, jobs: string, log: Logger): Promise<MessageOutcome> {
        const { config, sqs } = this.deps;
        if (config.deadLetterQueueUrl === undefined) {
            log.error("permanent failure and no DEAD_LETTER_QUEUE_URL: leaving the message for the queue's redrive policy", {
                reason: error.message,
            });
            await this.changeVisibility(message.ReceiptHandle as string, config.retryBackoffSeconds, log);
            return "retry_later";
        }
        const attributes: Record<string, MessageAttributeValue> = {
            ErrorCode: { DataType: "String", StringValue: error.code },
            ErrorMessage: { DataType: "String", StringValue: error.message.slice(0, DLQ_TEXT_LIMIT) || "(none)" },
            Job: { DataType: "String", StringValue: jobs || "(none)" },
            SourceQueue: { DataType: "String", StringValue: config.queueUrl },
        };
        for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
            if (Object.keys(attributes).length >= MAX_SQS_ATTRIBUTES) break;
            if (!(name in attributes)) attributes[name] = value;
        }
        try {
            await sqs.send(
                new SendMessageCommand({
                    QueueUrl: config.deadLetterQueueUrl,
                    MessageBody: message.Body ?? "",
                    MessageAttributes: attributes,
                }),
            );
        } catch (err) {
            throw new Error(`could not send the message to DEAD_LETTER_QUEUE_URL="${config.deadLetterQueueUrl}": ${errorMessage(err)}`, {
                cause: err,
            });
        }
        await this.deleteMessage(message);
        log.error("message dead-lettered", { jobs, code: error.code, reason: error.message, deadLetterQueue: config.deadLetterQueueUrl });
        return "dead_lettered";
    }
}
