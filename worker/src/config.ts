// Worker configuration from environment variables. Every error names the variable, the value and
// what would be valid, so a bad DaemonSet manifest fails at start-up with a readable message.
import { tmpdir } from "node:os";
import type { WorkDirLimits } from "./disk";
import type { LogLevel } from "./log";

export interface WorkerConfig {
    queueUrl: string;
    deadLetterQueueUrl?: string;
    resultsBucket: string;
    resultsPrefix: string;
    /** The only bucket jobs may name (default RESULTS_BUCKET): another bucket's object is not a job of this stack. */
    inputBucket: string;
    /** Jobs' keys must start with this (default: any key outside RESULTS_PREFIX). */
    inputPrefix: string;
    modelServerUrl: string;
    modelName: string;
    modelSignature: string;
    modelInput: string;
    modelVersion?: number;
    batchSize: number;
    frameWidth: number;
    frameHeight: number;
    /** Frames per second to sample; undefined = every decoded frame. */
    sampleFps?: number;
    scoreThreshold: number;
    scaleInProtection: boolean;
    /** Overrides the instance lookup (tests, non-EC2 hosts). */
    instanceId?: string;
    /** The Kubernetes node this worker runs on (downward API spec.nodeName): its EC2 instance is looked up by it. */
    nodeName?: string;
    visibilityTimeoutSeconds: number;
    heartbeatIntervalSeconds: number;
    pollWaitSeconds: number;
    maxInFlightBatches: number;
    maxVideoBytes: number;
    maxVideoSeconds: number;
    /** Visibility delay before a transiently failed job is retried (doubles per receive, capped). */
    retryBackoffSeconds: number;
    modelTimeoutMs: number;
    modelMaxRetries: number;
    /** First backoff between tries of a batch; doubles per retry, capped at 8 s. */
    modelRetryBaseMs: number;
    modelWaitTimeoutSeconds: number;
    /** Give-backs (not the job's fault: shutdown, model or disk trouble) before a job is dead-lettered (GIVE_BACK_LIMIT). */
    maxGiveBacks: number;
    /** An AWS call or transfer with no progress for this long fails (then the SDK retries, AWS_MAX_ATTEMPTS). */
    awsTimeoutSeconds: number;
    /** ffprobe is stopped and the job given back when it has not answered within this long. */
    probeTimeoutSeconds: number;
    /** ffmpeg is stopped and the job given back when it gives no frame for this long; undefined = per video (decode.ts defaultStallSeconds). */
    decodeStallSeconds?: number;
    /** 0 = any free port. */
    metricsPort: number;
    metricsNamespace?: string;
    workDir: string;
    /** WORK_DIR_RESERVE_PERCENT and WORK_DIR_LIMIT_BYTES: what WORK_DIR may fill before the kubelet would evict the pod. */
    workDirLimits: WorkDirLimits;
    logLevel: LogLevel;
}

export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function required(env: Env, name: string, what: string): string {
    const v = raw(env, name);
    if (v === undefined) throw new ConfigError(`${name} is required: ${what}`);
    return v;
}

function integer(env: Env, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
    const v = raw(env, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw new ConfigError(`${name}="${v}" is not valid: expected a whole number from ${min} to ${max}`);
    }
    return n;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
    return integer(env, name, fallback, min, max) as number;
}

function decimal(env: Env, name: string, fallback: number | undefined, min: number, max: number, minExclusive = false): number | undefined {
    const v = raw(env, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n > max || (minExclusive ? n <= min : n < min)) {
        throw new ConfigError(
            `${name}="${v}" is not valid: expected a number ${minExclusive ? "above" : "from"} ${min} ${minExclusive ? "and at most" : "to"} ${max}`,
        );
    }
    return n;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
    const v = raw(env, name);
    if (v === undefined) return fallback;
    switch (v.toLowerCase()) {
        case "on":
        case "true":
        case "1":
            return true;
        case "off":
        case "false":
        case "0":
            return false;
        default:
            throw new ConfigError(`${name}="${v}" is not valid: expected on or off`);
    }
}

function queueUrl(name: string, value: string): string {
    let parsed: URL;
    try {
        parsed = new URL(value);
    } catch {
        throw new ConfigError(
            `${name}="${value}" is not valid: expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs`,
        );
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
        throw new ConfigError(`${name}="${value}" is not valid: an SQS queue URL starts with https://`);
    }
    return value;
}

function modelServerUrl(env: Env): string {
    const value = raw(env, "MODEL_SERVER_URL") ?? "grpc://127.0.0.1:8500";
    let parsed: URL;
    try {
        parsed = new URL(value);
    } catch {
        throw new ConfigError(`MODEL_SERVER_URL="${value}" is not valid: expected grpc://host:8500 or http://host:8501`);
    }
    if (!["grpc:", "http:", "https:"].includes(parsed.protocol) || !parsed.hostname) {
        throw new ConfigError(
            `MODEL_SERVER_URL="${value}" is not valid: expected grpc://host:8500 (gRPC Predict) or http://host:8501 (REST :predict)`,
        );
    }
    return value;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

const GIB = 1024 * 1024 * 1024;

export function loadConfig(env: Env = process.env): WorkerConfig {
    const queue = queueUrl("JOB_QUEUE_URL", required(env, "JOB_QUEUE_URL", "the SQS queue URL the worker takes video jobs from"));
    const dlqRaw = raw(env, "DEAD_LETTER_QUEUE_URL");
    const visibilityTimeoutSeconds = int(env, "VISIBILITY_TIMEOUT_SECONDS", 300, 2, 43_200);
    const heartbeatDefault = Math.max(1, Math.floor(visibilityTimeoutSeconds / 3));
    const heartbeatIntervalSeconds = int(env, "HEARTBEAT_INTERVAL_SECONDS", heartbeatDefault, 1, 43_200);
    if (heartbeatIntervalSeconds >= visibilityTimeoutSeconds) {
        throw new ConfigError(
            `HEARTBEAT_INTERVAL_SECONDS=${heartbeatIntervalSeconds} is not valid: it must be shorter than VISIBILITY_TIMEOUT_SECONDS=${visibilityTimeoutSeconds} (about a third of it)`,
        );
    }
    const prefix = raw(env, "RESULTS_PREFIX") ?? "results/";
    if (prefix.startsWith("/")) throw new ConfigError(`RESULTS_PREFIX="${prefix}" is not valid: S3 key prefixes do not start with "/"`);
    const logLevel = (raw(env, "LOG_LEVEL") ?? "info").toLowerCase();
    if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
        throw new ConfigError(`LOG_LEVEL="${logLevel}" is not valid: expected one of ${LOG_LEVELS.join(", ")}`);
    }
    const signature = raw(env, "MODEL_SIGNATURE") ?? "serving_default";
    const resultsBucket = required(env, "RESULTS_BUCKET", "the S3 bucket the detection results are written to");
    const inputBucket = raw(env, "INPUT_BUCKET") ?? resultsBucket;
    const inputPrefix = raw(env, "INPUT_PREFIX") ?? "";
    if (inputPrefix.startsWith("/"))
        throw new ConfigError(`INPUT_PREFIX="${inputPrefix}" is not valid: S3 key prefixes do not start with "/"`);
    if (inputBucket === resultsBucket && inputPrefix.startsWith(prefix))
        throw new ConfigError(
            `INPUT_PREFIX="${inputPrefix}" lies inside RESULTS_PREFIX="${prefix}" of the same bucket (INPUT_BUCKET=RESULTS_BUCKET="${resultsBucket}"): every result would look like a video to process; use separate prefixes such as input/ and results/`,
        );
    const limitBytes = integer(env, "WORK_DIR_LIMIT_BYTES", undefined, 1, Number.MAX_SAFE_INTEGER);
    return {
        queueUrl: queue,
        deadLetterQueueUrl: dlqRaw === undefined ? undefined : queueUrl("DEAD_LETTER_QUEUE_URL", dlqRaw),
        resultsBucket,
        resultsPrefix: prefix,
        inputBucket,
        inputPrefix,
        modelServerUrl: modelServerUrl(env),
        modelName: raw(env, "MODEL_NAME") ?? "object_detection",
        modelSignature: signature,
        modelInput: raw(env, "MODEL_INPUT") ?? "inputs",
        modelVersion: integer(env, "MODEL_VERSION", undefined, 1, Number.MAX_SAFE_INTEGER),
        batchSize: int(env, "BATCH_SIZE", 8, 1, 256),
        frameWidth: int(env, "FRAME_WIDTH", 300, 16, 4096),
        frameHeight: int(env, "FRAME_HEIGHT", 300, 16, 4096),
        sampleFps: decimal(env, "SAMPLE_FPS", undefined, 0, 240, true),
        scoreThreshold: decimal(env, "SCORE_THRESHOLD", 0.5, 0, 1) as number,
        scaleInProtection: onOff(env, "SCALE_IN_PROTECTION", true),
        instanceId: raw(env, "INSTANCE_ID"),
        nodeName: raw(env, "NODE_NAME"),
        visibilityTimeoutSeconds,
        heartbeatIntervalSeconds,
        pollWaitSeconds: int(env, "POLL_WAIT_SECONDS", 20, 0, 20),
        maxInFlightBatches: int(env, "MAX_IN_FLIGHT_BATCHES", 2, 1, 16),
        maxVideoBytes: int(env, "MAX_VIDEO_BYTES", 5 * GIB, 1, Number.MAX_SAFE_INTEGER),
        maxVideoSeconds: decimal(env, "MAX_VIDEO_SECONDS", 4 * 3600, 0, 7 * 24 * 3600, true) as number,
        retryBackoffSeconds: int(env, "RETRY_BACKOFF_SECONDS", 30, 0, 43_200),
        modelTimeoutMs: int(env, "MODEL_TIMEOUT_MS", 30_000, 100, 600_000),
        modelMaxRetries: int(env, "MODEL_MAX_RETRIES", 5, 0, 100),
        modelRetryBaseMs: int(env, "MODEL_RETRY_BASE_MS", 250, 1, 60_000),
        modelWaitTimeoutSeconds: int(env, "MODEL_WAIT_TIMEOUT_SECONDS", 600, 1, 86_400),
        maxGiveBacks: int(env, "MAX_GIVE_BACKS", 10, 1, 1000),
        awsTimeoutSeconds: int(env, "AWS_TIMEOUT_SECONDS", 30, 1, 3_600),
        probeTimeoutSeconds: int(env, "PROBE_TIMEOUT_SECONDS", 60, 1, 3_600),
        decodeStallSeconds: integer(env, "DECODE_STALL_SECONDS", undefined, 1, 86_400),
        metricsPort: int(env, "METRICS_PORT", 9102, 0, 65_535),
        metricsNamespace: raw(env, "METRICS_NAMESPACE"),
        workDir: raw(env, "WORK_DIR") ?? tmpdir(),
        workDirLimits: {
            reservePercent: int(env, "WORK_DIR_RESERVE_PERCENT", 0, 0, 90),
            ...(limitBytes === undefined ? {} : { limitBytes }),
        },
        logLevel: logLevel as LogLevel,
    };
}

/** The queue's name (last path segment of its URL), used as the CloudWatch dimension. */
export function queueNameOf(url: string): string {
    const parts = new URL(url).pathname.split("/").filter((p) => p !== "");
    return parts[parts.length - 1] ?? url;
}
