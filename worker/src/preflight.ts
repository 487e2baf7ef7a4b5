// Start-up checks of every configured resource, so a configuration mistake stops the worker with a
// message naming the variable and its value, instead of costing a download, a decode and inference per
// receive and ending in the DLQ as if the video were at fault. Also clears what a crashed predecessor
// left in WORK_DIR.
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ConfigError, queueNameOf, type WorkerConfig } from "./config";
import { errorMessage, type Logger } from "./log";

/** Every job works in a fresh directory under WORK_DIR named video-job-<worker pid>-<random>. */
export const JOB_DIR_PREFIX = "video-job-";

/** The prefix of this process's job directories. */
export function jobDirPrefix(pid = process.pid): string {
    return `${JOB_DIR_PREFIX}${pid}-`;
}

/** Directories without a pid (older workers) are only taken for abandoned after this long. */
const LEGACY_STALE_MS = 3_600_000;

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * A job directory nobody works in any more: made by a process that is gone, or by this very pid before
 * a restart (in a container the worker is often pid 1 every time; this process has made none yet).
 * Another live worker sharing WORK_DIR keeps its directories.
 */
async function abandoned(workDir: string, name: string): Promise<boolean> {
    const pid = /^video-job-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined) return Number(pid) === process.pid || !alive(Number(pid));
    const info = await stat(join(workDir, name)).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > LEGACY_STALE_MS;
}

interface AwsError {
    name?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number };
}

function status(err: unknown): number | undefined {
    return (err as AwsError).$metadata?.httpStatusCode;
}

function awsName(err: unknown): string {
    const e = err as AwsError;
    return e.Code ?? e.name ?? "Error";
}

const MISSING_QUEUE = /QueueDoesNotExist|NonExistentQueue/;
const DENIED = /AccessDenied|NotAuthorized|Forbidden/i;

/** Removes job directories a killed worker left behind (the pod's scratch volume outlives the container). */
export async function cleanWorkDir(workDir: string, log: Logger): Promise<number> {
    const entries = await readdir(workDir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of entries) {
        if (!name.startsWith(JOB_DIR_PREFIX) || !(await abandoned(workDir, name))) continue;
        await rm(join(workDir, name), { recursive: true, force: true }).then(
            () => removed++,
            (err: unknown) =>
                log.warn("could not remove a job directory left by an earlier run", { dir: join(workDir, name), error: errorMessage(err) }),
        );
    }
    if (removed > 0) log.info("removed job directories left by an earlier run", { workDir, removed });
    return removed;
}

async function checkWorkDir(workDir: string): Promise<void> {
    try {
        const info = await stat(workDir);
        if (!info.isDirectory()) throw new Error("it is not a directory");
        const probe = await mkdtemp(join(workDir, `${jobDirPrefix()}check-`));
        await rm(probe, { recursive: true, force: true });
    } catch (err) {
        throw new ConfigError(
            `WORK_DIR="${workDir}" is not usable (${errorMessage(err)}): it must be an existing directory the worker can write to, with room for one video`,
        );
    }
}

async function queueAttributes(
    sqs: SQSClient,
    variable: string,
    url: string,
    names: ("QueueArn" | "RedrivePolicy")[],
): Promise<Record<string, string> | "denied"> {
    try {
        const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
        return out.Attributes ?? {};
    } catch (err) {
        const name = awsName(err);
        if (MISSING_QUEUE.test(name) || MISSING_QUEUE.test(errorMessage(err)))
            throw new ConfigError(`${variable}="${url}" is not an existing SQS queue (${name}); check the queue's URL, account and region`);
        if (DENIED.test(name) || status(err) === 403) return "denied";
        throw err;
    }
}

/** The job queue's redrive maxReceiveCount, when it has a redrive policy. */
function maxReceiveCountOf(redrivePolicy: string | undefined): number | undefined {
    try {
        const n = Number((JSON.parse(redrivePolicy ?? "{}") as { maxReceiveCount?: unknown }).maxReceiveCount);
        return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    } catch {
        return undefined;
    }
}

async function checkQueues(sqs: SQSClient, config: WorkerConfig): Promise<{ maxReceiveCount?: number }> {
    const queue = await queueAttributes(sqs, "JOB_QUEUE_URL", config.queueUrl, ["QueueArn", "RedrivePolicy"]);
    if (queue === "denied")
        throw new ConfigError(
            `JOB_QUEUE_URL="${config.queueUrl}": the worker may not read this queue (sqs:GetQueueAttributes denied); is it the queue the worker's role is for?`,
        );
    const maxReceiveCount = maxReceiveCountOf(queue.RedrivePolicy);
    const dlqUrl = config.deadLetterQueueUrl;
    if (dlqUrl === undefined) return { maxReceiveCount };
    const dlq = await queueAttributes(sqs, "DEAD_LETTER_QUEUE_URL", dlqUrl, ["QueueArn"]);
    if (dlq !== "denied") return { maxReceiveCount };
    // The worker role may only SendMessage to the DLQ: compare it with the job queue's redrive target.
    let target: string | undefined;
    try {
        target = (JSON.parse(queue.RedrivePolicy ?? "{}") as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    } catch {
        target = undefined;
    }
    const targetName = target?.split(":").pop();
    if (targetName !== undefined && targetName !== queueNameOf(dlqUrl)) {
        throw new ConfigError(
            `DEAD_LETTER_QUEUE_URL="${dlqUrl}" is not the job queue's dead-letter queue: JOB_QUEUE_URL's redrive policy names ${target}`,
        );
    }
    return { maxReceiveCount };
}

async function checkResultsBucket(s3: S3Client, config: WorkerConfig, log: Logger): Promise<void> {
    try {
        await s3.send(new HeadBucketCommand({ Bucket: config.resultsBucket }));
    } catch (err) {
        const code = status(err);
        const name = awsName(err);
        if (code === 404 || /NoSuchBucket|NotFound/.test(name))
            throw new ConfigError(`RESULTS_BUCKET="${config.resultsBucket}" does not exist`);
        if (code === 301 || /Redirect/.test(name))
            throw new ConfigError(
                `RESULTS_BUCKET="${config.resultsBucket}" is in another region than the worker's (AWS_REGION=${process.env.AWS_REGION ?? "unset"})`,
            );
        if (code === 403) {
            // HeadBucket needs s3:ListBucket, which the worker does not need otherwise: the bucket exists.
            log.debug("results bucket exists; HeadBucket is not allowed, so write access is first tested by the first result", {
                bucket: config.resultsBucket,
            });
            return;
        }
        throw err;
    }
}

/**
 * Throws ConfigError naming the variable and value of the first resource that is missing or unusable.
 * Returns the job queue's redrive maxReceiveCount (failures carried across give-backs count against it).
 */
export async function checkResources(deps: {
    config: WorkerConfig;
    s3: S3Client;
    sqs: SQSClient;
    log: Logger;
}): Promise<{ maxReceiveCount?: number }> {
    const { config, s3, sqs, log } = deps;
    await checkWorkDir(config.workDir);
    const queues = await checkQueues(sqs, config);
    await checkResultsBucket(s3, config, log);
    log.info("configured resources checked", {
        queue: config.queueUrl,
        deadLetterQueue: config.deadLetterQueueUrl,
        resultsBucket: config.resultsBucket,
        workDir: config.workDir,
        maxReceiveCount: queues.maxReceiveCount,
    });
    return queues;
}
