// Environment of the scaler Lambda, validated once at cold start.

export interface ScalerEnv {
    queueUrl: string;
    /** Last path segment of the queue URL; the value of the QueueName metric dimension. */
    queueName: string;
    asgName: string;
    metricNamespace: string;
    /** Seconds from upload to result the group is sized for (LATENCY_OBJECTIVE_SECONDS). */
    latencyObjectiveSeconds: number;
    /** Seconds per video until the workers have published measurements (SECONDS_PER_VIDEO). */
    secondsPerVideo: number;
}

export class ScalerConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ScalerConfigError";
    }
}

function required(env: Readonly<Record<string, string | undefined>>, name: string, hint: string): string {
    const value = env[name]?.trim();
    if (!value) throw new ScalerConfigError(`${name} is not set: ${hint}`);
    return value;
}

/** The queue's name is the last path segment of its URL (https://sqs.<region>.amazonaws.com/<account>/<name>). */
export function queueNameFromUrl(queueUrl: string): string {
    let url: URL;
    try {
        url = new URL(queueUrl);
    } catch {
        throw new ScalerConfigError(`QUEUE_URL is not a URL: ${JSON.stringify(queueUrl)}`);
    }
    const segments = url.pathname.split("/").filter((s) => s !== "");
    if (segments.length < 2) {
        throw new ScalerConfigError(`QUEUE_URL has no /<account>/<queue-name> path: ${JSON.stringify(queueUrl)}`);
    }
    return decodeURIComponent(segments[segments.length - 1]);
}

function positiveInteger(env: Readonly<Record<string, string | undefined>>, name: string, hint: string): number {
    const raw = required(env, name, hint);
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
        throw new ScalerConfigError(`${name} must be a whole number of seconds >= 1, got ${JSON.stringify(raw)}`);
    }
    return value;
}

export function readScalerEnv(env: Readonly<Record<string, string | undefined>>): ScalerEnv {
    const queueUrl = required(env, "QUEUE_URL", "the URL of the video job queue");
    const asgName = required(env, "ASG_NAME", "the name of the accelerated video Auto Scaling group");
    const metricNamespace = required(env, "METRIC_NAMESPACE", "the CloudWatch namespace to publish into");
    if (metricNamespace.startsWith("AWS/")) {
        throw new ScalerConfigError(`METRIC_NAMESPACE must not start with "AWS/" (reserved): ${metricNamespace}`);
    }
    const latencyObjectiveSeconds = positiveInteger(
        env,
        "LATENCY_OBJECTIVE_SECONDS",
        "seconds from upload to result (videoLatencyObjectiveSeconds)",
    );
    const secondsPerVideo = positiveInteger(env, "SECONDS_PER_VIDEO", "seconds per video before any is measured (secondsPerVideo)");
    return { queueUrl, queueName: queueNameFromUrl(queueUrl), asgName, metricNamespace, latencyObjectiveSeconds, secondsPerVideo };
}
