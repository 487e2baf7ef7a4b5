// One beat of the scaler: once a minute, read the job queue's depth straight from SQS (GetQueueAttributes,
// not SQS's own CloudWatch metrics, which lag and stop after hours of idleness), the accelerated video
// group (InService instances, desired capacity, min and max size), and from CloudWatch the seconds per
// video the workers measured and this scaler's own recent QueueBacklog datapoints (one GetMetricData).
// From these it computes InstancesNeeded with the shared rule (policy.ts) and publishes QueueBacklog,
// BacklogPerInstance, InServiceInstances, DesiredCapacity, InstancesNeeded, AllowedBacklogPerInstance and
// SecondsPerVideoUsed in one PutMetricData. The scaling alarms compare InstancesNeeded with
// DesiredCapacity (infra/video/scaling.ts).
// Anything doubtful about the counts is logged and thrown: a skipped beat is visible (Errors metric,
// missing datapoints); a wrong number would scale the group. A CloudWatch read that fails for a passing
// reason only costs the measurement: the beat uses the configured seconds per video and says so.
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import {
    GetMetricDataCommand,
    PutMetricDataCommand,
    StandardUnit,
    type CloudWatchClient,
    type MetricDataQuery,
    type MetricDataResult,
    type MetricDatum,
} from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { computeBacklog, countInService, InvalidSampleError, parseCount, type BacklogSample } from "./backlog";
import type { ScalerEnv } from "./env";
import {
    allowedBacklogPerInstance,
    instancesNeeded,
    METRICS,
    MIN_SAMPLES,
    PERIOD_SECONDS,
    SECONDS_PER_VIDEO_WINDOWS_MINUTES,
    secondsPerVideoToUse,
    SPARE_MINUTES,
    WORKER_METRICS,
    type SecondsPerVideoSource,
    type WindowMeasurement,
} from "./policy";

export const METRIC_BACKLOG = METRICS.backlog;
export const METRIC_BACKLOG_PER_INSTANCE = METRICS.backlogPerInstance;
export const METRIC_IN_SERVICE_INSTANCES = METRICS.inService;
export const METRIC_DESIRED_CAPACITY = METRICS.desired;
export const METRIC_INSTANCES_NEEDED = METRICS.needed;

/** What one beat read, computed and published. */
export interface Beat extends BacklogSample {
    minSize: number;
    maxSize: number;
    instancesNeeded: number;
    allowedBacklogPerInstance: number;
    secondsPerVideo: number;
    secondsPerVideoSource: SecondsPerVideoSource;
    /** An earlier beat of the last SPARE_MINUTES saw work. */
    recentWork: boolean;
}

export interface ScalerClients {
    sqs: Pick<SQSClient, "send">;
    autoscaling: Pick<AutoScalingClient, "send">;
    cloudwatch: Pick<CloudWatchClient, "send">;
}

export type LogFn = (line: string) => void;

/** A source the scaler reads is absent (queue deleted, group renamed): configuration, not arithmetic. */
export class ScalerSourceError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = "ScalerSourceError";
    }
}

function errorName(err: unknown): string {
    return typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : "";
}

async function readQueue(env: ScalerEnv, sqs: ScalerClients["sqs"]): Promise<{ visible: number; inFlight: number }> {
    let attributes: Record<string, string> | undefined;
    try {
        const out = await sqs.send(
            new GetQueueAttributesCommand({
                QueueUrl: env.queueUrl,
                AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }),
        );
        attributes = out.Attributes;
    } catch (err) {
        const name = errorName(err);
        if (name === "QueueDoesNotExist" || name === "AWS.SimpleQueueService.NonExistentQueue") {
            throw new ScalerSourceError(`queue ${env.queueUrl} does not exist (QUEUE_URL)`, { cause: err });
        }
        throw err;
    }
    return {
        visible: parseCount(attributes?.ApproximateNumberOfMessages, "ApproximateNumberOfMessages"),
        inFlight: parseCount(attributes?.ApproximateNumberOfMessagesNotVisible, "ApproximateNumberOfMessagesNotVisible"),
    };
}

async function readGroup(
    env: ScalerEnv,
    autoscaling: ScalerClients["autoscaling"],
): Promise<{ inServiceInstances: number; desiredCapacity: number; minSize: number; maxSize: number }> {
    const out = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [env.asgName] }));
    const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === env.asgName);
    if (!group) throw new ScalerSourceError(`Auto Scaling group ${env.asgName} not found (ASG_NAME)`);
    if (group.DesiredCapacity === undefined) {
        throw new InvalidSampleError(`Auto Scaling group ${env.asgName} reported no DesiredCapacity`);
    }
    if (group.MinSize === undefined || group.MaxSize === undefined) {
        throw new InvalidSampleError(`Auto Scaling group ${env.asgName} reported no MinSize/MaxSize`);
    }
    return {
        inServiceInstances: countInService((group.Instances ?? []).map((i) => i.LifecycleState)),
        desiredCapacity: group.DesiredCapacity,
        minSize: group.MinSize,
        maxSize: group.MaxSize,
    };
}

/** What CloudWatch says about the past: measured seconds per video, and whether recent beats saw work. */
export interface History {
    /** Sum and count of SecondsPerVideo per window of SECONDS_PER_VIDEO_WINDOWS_MINUTES (undefined: not read). */
    windows: (WindowMeasurement | undefined)[];
    recentWork: boolean;
    /** Why the history could not be read (the beat then sizes with the configured seconds per video). */
    error?: string;
}

const queueDims = (env: ScalerEnv) => [{ Name: "QueueName", Value: env.queueName }];

function stat(env: ScalerEnv, id: string, metricName: string, statName: string, period: number): MetricDataQuery {
    return {
        Id: id,
        MetricStat: {
            Metric: { Namespace: env.metricNamespace, MetricName: metricName, Dimensions: queueDims(env) },
            Period: period,
            Stat: statName,
        },
        ReturnData: true,
    };
}

const sumOf = (r: MetricDataResult | undefined) => (r?.Values ?? []).reduce((a, b) => a + b, 0);

async function getMetricData(
    cloudwatch: ScalerClients["cloudwatch"],
    start: Date,
    end: Date,
    queries: MetricDataQuery[],
): Promise<Map<string, MetricDataResult>> {
    const results = new Map<string, MetricDataResult>();
    let nextToken: string | undefined;
    // A few thousand datapoints at most; the loop only guards against a paginated answer.
    for (let page = 0; page < 5; page++) {
        const out = await cloudwatch.send(
            new GetMetricDataCommand({ StartTime: start, EndTime: end, MetricDataQueries: queries, NextToken: nextToken }),
        );
        for (const r of out.MetricDataResults ?? []) {
            if (r.Id === undefined) continue;
            const seen = results.get(r.Id);
            results.set(r.Id, seen ? { ...seen, Values: [...(seen.Values ?? []), ...(r.Values ?? [])] } : r);
        }
        nextToken = out.NextToken;
        if (nextToken === undefined) break;
    }
    return results;
}

/**
 * The last hour's SecondsPerVideo (sum, count) and this scaler's QueueBacklog maxima of the last
 * SPARE_MINUTES in one call; the last day's SecondsPerVideo in a second call only when the hour holds
 * fewer than MIN_SAMPLES videos. Windows end at the start of this minute, so this beat's own datapoint
 * (not published yet) is never part of it.
 */
async function readHistory(env: ScalerEnv, cloudwatch: ScalerClients["cloudwatch"], now: Date): Promise<History> {
    const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const [hourMinutes, dayMinutes] = SECONDS_PER_VIDEO_WINDOWS_MINUTES;
    const hour = await getMetricData(cloudwatch, new Date(end.getTime() - hourMinutes * 60_000), end, [
        stat(env, "spv_sum", WORKER_METRICS.secondsPerVideo, "Sum", hourMinutes * 60),
        stat(env, "spv_count", WORKER_METRICS.secondsPerVideo, "SampleCount", hourMinutes * 60),
        stat(env, "backlog_max", METRICS.backlog, "Maximum", PERIOD_SECONDS),
    ]);
    const spareFrom = end.getTime() - SPARE_MINUTES * 60_000;
    const backlog = hour.get("backlog_max");
    const recentWork = (backlog?.Values ?? []).some((v, i) => v > 0 && (backlog?.Timestamps?.[i]?.getTime() ?? 0) >= spareFrom);
    const lastHour = { sum: sumOf(hour.get("spv_sum")), count: sumOf(hour.get("spv_count")) };
    if (lastHour.count >= MIN_SAMPLES) return { windows: [lastHour, undefined], recentWork };
    const day = await getMetricData(cloudwatch, new Date(end.getTime() - dayMinutes * 60_000), end, [
        stat(env, "spv_sum", WORKER_METRICS.secondsPerVideo, "Sum", dayMinutes * 60),
        stat(env, "spv_count", WORKER_METRICS.secondsPerVideo, "SampleCount", dayMinutes * 60),
    ]);
    return { windows: [lastHour, { sum: sumOf(day.get("spv_sum")), count: sumOf(day.get("spv_count")) }], recentWork };
}

/** Permission errors are configuration: they fail the beat. Anything else costs only the measurement. */
async function readHistoryOrFallback(env: ScalerEnv, cloudwatch: ScalerClients["cloudwatch"], now: Date): Promise<History> {
    try {
        return await readHistory(env, cloudwatch, now);
    } catch (err) {
        const name = errorName(err);
        if (name === "AccessDenied" || name === "AccessDeniedException") throw err;
        return { windows: [], recentWork: false, error: `${name || "Error"}: ${err instanceof Error ? err.message : String(err)}` };
    }
}

export function metricData(env: ScalerEnv, beat: Beat, timestamp: Date): MetricDatum[] {
    const datum = (MetricName: string, Value: number, Unit: StandardUnit = StandardUnit.Count): MetricDatum => ({
        MetricName,
        Dimensions: queueDims(env),
        Timestamp: timestamp,
        Unit,
        Value,
    });
    return [
        datum(METRICS.backlog, beat.backlog),
        datum(METRICS.backlogPerInstance, beat.backlogPerInstance),
        datum(METRICS.inService, beat.inServiceInstances),
        datum(METRICS.desired, beat.desiredCapacity),
        datum(METRICS.needed, beat.instancesNeeded),
        datum(METRICS.allowedBacklogPerInstance, beat.allowedBacklogPerInstance),
        datum(METRICS.secondsPerVideoUsed, beat.secondsPerVideo, StandardUnit.Seconds),
    ];
}

/** Build the handler around already-created clients (tests inject their own; the Lambda uses module-level ones). */
export function createScaler(
    env: ScalerEnv,
    clients: ScalerClients,
    log: LogFn = (line) => console.log(line),
    now: () => Date = () => new Date(),
): () => Promise<Beat> {
    return async () => {
        const started = Date.now();
        try {
            const at = now();
            const [queue, group, history] = await Promise.all([
                readQueue(env, clients.sqs),
                readGroup(env, clients.autoscaling),
                readHistoryOrFallback(env, clients.cloudwatch, at),
            ]);
            const sample = computeBacklog({ ...queue, ...group });
            const perVideo = secondsPerVideoToUse(history.windows, env.secondsPerVideo);
            const beat: Beat = {
                ...sample,
                minSize: group.minSize,
                maxSize: group.maxSize,
                secondsPerVideo: perVideo.seconds,
                secondsPerVideoSource: perVideo.source,
                recentWork: history.recentWork,
                allowedBacklogPerInstance: allowedBacklogPerInstance(env.latencyObjectiveSeconds, perVideo.seconds),
                instancesNeeded: instancesNeeded(env.latencyObjectiveSeconds, {
                    backlog: sample.backlog,
                    recentWork: history.recentWork,
                    secondsPerVideo: perVideo.seconds,
                    minSize: group.minSize,
                    maxSize: group.maxSize,
                }),
            };
            await clients.cloudwatch.send(
                new PutMetricDataCommand({ Namespace: env.metricNamespace, MetricData: metricData(env, beat, at) }),
            );
            log(
                JSON.stringify({
                    level: history.error === undefined ? "info" : "warn",
                    msg:
                        history.error === undefined
                            ? "published backlog and instances needed"
                            : "published backlog and instances needed; CloudWatch history unreadable, sized with the configured seconds per video",
                    queueName: env.queueName,
                    asgName: env.asgName,
                    namespace: env.metricNamespace,
                    ...beat,
                    ...(history.error === undefined ? {} : { historyError: history.error }),
                    elapsedMs: Date.now() - started,
                }),
            );
            return beat;
        } catch (err) {
            log(
                JSON.stringify({
                    level: "error",
                    msg: "skipped this beat: nothing published",
                    queueName: env.queueName,
                    asgName: env.asgName,
                    error: errorName(err) || "Error",
                    detail: err instanceof Error ? err.message : String(err),
                }),
            );
            throw err;
        }
    };
}
