// Entry point: configuration -> AWS clients, model client, protection, status server -> run loop.
//   npm run worker [-- --once]
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
    const clients = createAwsClients({
        timeoutSeconds: config.awsTimeoutSeconds,
        pollWaitSeconds: config.pollWaitSeconds,
        s3ForcePathStyle: s3ForcePathStyle(env),
        endpoints: { s3: env.AWS_ENDPOINT_URL_S3, sqs: env.AWS_ENDPOINT_URL_SQS },
    });
    const { sqs, s3, autoScaling } = clients;
    const cloudwatch = config.metricsNamespace === undefined ? undefined : clients.cloudwatch;
    const model = createModelClient(config.modelServerUrl, { defaultTimeoutMs: config.modelTimeoutMs });
    const protection = config.scaleInProtection
        ? await ScaleInProtection.discover({ autoScaling, log, instanceId: config.instanceId })
        : ScaleInProtection.disabled(log);
    const worker = new VideoWorker({ config, sqs, s3, cloudwatch, model, protection, log, metrics, onProgress: options.onProgress });
    const status = await startStatusServer(config.metricsPort, metrics, () => worker.isReady);
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
            await worker.start();
            await worker.run({ once: options.once });
        } catch (err) {
            if (!worker.stopping) throw err;
        } finally {
            if (protection.enabled && protection.current !== false) await protection.set(false);
            model.close();
            await status.close();
            for (const c of Object.values(clients)) c.destroy();
            log.info("video worker stopped");
        }
    })();
    return { worker, metricsPort: status.port, done };
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
