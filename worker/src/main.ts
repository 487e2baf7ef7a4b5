// Entry point: configuration -> AWS clients, model client, protection, status server -> run loop.
//   npm run worker [-- --once]
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createAwsClients } from "./aws";
import { ConfigError, loadConfig } from "./config";
import { startStatusServer } from "./http";
import { createLogger, errorMessage, type Logger } from "./log";
import { WorkerMetrics } from "./metrics";
import { ScaleInProtection } from "./protection";
import { createModelClient } from "../model-client/tfserving";
import { VideoWorker, type WorkerDeps } from "./worker";

/** Hard stop if a graceful shutdown hangs; well inside the pod's ~120 s grace period. */
const SHUTDOWN_DEADLINE_MS = 60_000;

/** Path-style S3 addressing for local endpoints (moto, MinIO); real S3 keeps virtual-hosted style. */
function s3ForcePathStyle(env: NodeJS.ProcessEnv): boolean {
    return Boolean(env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
}

export interface StartedWorker {
    worker: VideoWorker;
    metricsPort: number;
    /** Resolves when the run loop has finished and everything is closed. */
    done: Promise<void>;
}

/** Build the worker from the environment and run it (also used in-process by tests and the demo). */
export async function startWorker(
    options: { env?: NodeJS.ProcessEnv; once?: boolean; log?: Logger; onProgress?: WorkerDeps["onProgress"] } = {},
): Promise<StartedWorker> {
    const env = options.env ?? process.env;
    const config = loadConfig(env);
    const log = options.log ?? createLogger({ level: config.logLevel }, { component: "video-worker" });
    const metrics = new WorkerMetrics();
    // Listening comes first, so a port in use fails before anything else is touched; readiness follows the worker once it exists.
    const ref: { worker?: VideoWorker } = {};
    const status = await startStatusServer(config.metricsPort, metrics, () => ref.worker?.isReady ?? false).catch((err: unknown) => {
        throw metricsPortError(config.metricsPort, err);
    });
    const clients = createAwsClients({
        timeoutSeconds: config.awsTimeoutSeconds,
        pollWaitSeconds: config.pollWaitSeconds,
        s3ForcePathStyle: s3ForcePathStyle(env),
        // SQS: a configured endpoint must be given explicitly, or the SDK calls JOB_QUEUE_URL's host (AWS's) instead.
        endpoints: { s3: env.AWS_ENDPOINT_URL_S3, sqs: env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL || undefined },
    });
    const { sqs, s3, autoScaling, ec2 } = clients;
    const cloudwatch = config.metricsNamespace === undefined ? undefined : clients.cloudwatch;
    let protection: ScaleInProtection;
    try {
        await requireRegion(sqs, config.queueUrl);
        protection = config.scaleInProtection
            ? await ScaleInProtection.discover({ autoScaling, ec2, log, instanceId: config.instanceId, nodeName: config.nodeName })
            : ScaleInProtection.disabled(log);
    } catch (err) {
        await status.close();
        for (const c of Object.values(clients)) c.destroy();
        throw err;
    }
    const model = createModelClient(config.modelServerUrl, { defaultTimeoutMs: config.modelTimeoutMs });
    const started = new VideoWorker({ config, sqs, s3, cloudwatch, model, protection, log, metrics, onProgress: options.onProgress });
    ref.worker = started;
    log.info("video worker starting", {
        queue: config.queueUrl,
        deadLetterQueue: config.deadLetterQueueUrl,
        results: `s3://${config.resultsBucket}/${config.resultsPrefix}`,
        modelServer: config.modelServerUrl,
        model: config.modelName,
        batchSize: config.batchSize,
        frameSize: `${config.frameWidth}x${config.frameHeight}`,
        sampleFps: config.sampleFps ?? "every frame",
        scaleInProtection: protection.enabled,
        metricsPort: status.port,
    });
    const done = (async () => {
        try {
            await started.start();
            await started.run({ once: options.once });
        } catch (err) {
            if (!started.stopping) throw err;
        } finally {
            if (protection.enabled && protection.current !== false) await protection.set(false);
            model.close();
            await status.close();
            for (const c of Object.values(clients)) c.destroy();
            log.info("video worker stopped");
        }
    })();
    return { worker: started, metricsPort: status.port, done };
}

/** The status server could not listen on METRICS_PORT: a configuration error naming the variable. */
function metricsPortError(port: number, err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
        return new ConfigError(
            `METRICS_PORT=${port} is already in use on this host (EADDRINUSE): another process listens there; choose a free port (0 = any)`,
        );
    if (code === "EACCES")
        return new ConfigError(`METRICS_PORT=${port} may not be bound by this user (EACCES): use a port from 1024 up (0 = any)`);
    return err instanceof Error ? err : new Error(String(err));
}

/**
 * The AWS SDK finds the region in AWS_REGION or the shared config file, and otherwise fails only at the
 * first call, deep in start-up. Ask it now, so a missing region is a configuration error that names the variable.
 */
async function requireRegion(sqs: SQSClient, queueUrl: string): Promise<void> {
    try {
        await sqs.config.region();
    } catch (err) {
        const hint = /sqs[.-]([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(new URL(queueUrl).hostname)?.[1];
        throw new ConfigError(
            `AWS_REGION is not set, and no region is configured in the shared AWS config file (${errorMessage(err)}): set AWS_REGION to the region of JOB_QUEUE_URL and RESULTS_BUCKET${hint === undefined ? "" : ` (JOB_QUEUE_URL says ${hint})`}`,
        );
    }
}

async function main(): Promise<void> {
    const once = process.argv.slice(2).includes("--once");
    const unknown = process.argv.slice(2).filter((a) => a !== "--once");
    if (unknown.length > 0) throw new ConfigError(`unknown argument(s) ${unknown.join(" ")}; usage: worker [--once]`);
    const started = await startWorker({ once });
    const onSignal = (signal: string): void => {
        process.stdout.write(
            JSON.stringify({ time: new Date().toISOString(), level: "info", msg: `received ${signal}`, component: "video-worker" }) + "\n",
        );
        started.worker.stop();
        setTimeout(() => {
            process.stderr.write(
                JSON.stringify({
                    time: new Date().toISOString(),
                    level: "error",
                    msg: `shutdown did not finish in ${SHUTDOWN_DEADLINE_MS} ms; exiting`,
                }) + "\n",
            );
            process.exit(1);
        }, SHUTDOWN_DEADLINE_MS).unref();
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
    await started.done;
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (err: unknown) => {
            const log = createLogger({}, { component: "video-worker" });
            log.error(
                err instanceof ConfigError ? "configuration error" : "worker failed",
                err instanceof ConfigError ? { error: errorMessage(err) } : { error: err },
            );
            process.exit(err instanceof ConfigError ? 2 : 1);
        },
    );
}
