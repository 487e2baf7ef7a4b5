// One beat of the scaler: once a minute, read the job queue's depth straight from SQS (GetQueueAttributes,
// not SQS's own CloudWatch metrics, which lag and stop after hours of idleness) and the InService count
// of the accelerated video group, and publish QueueBacklog, BacklogPerInstance, InServiceInstances and
// DesiredCapacity (InServiceInstances stands in for the ASG's GroupInServiceInstances, which needs group
// metrics collection).
// Anything doubtful is logged and thrown: a skipped beat is visible (Errors metric, missing datapoints);
// a wrong number would scale the group.
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { PutMetricDataCommand, StandardUnit, type CloudWatchClient, type MetricDatum } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { computeBacklog, countInService, InvalidSampleError, parseCount, type BacklogSample } from "./backlog";
import type { ScalerEnv } from "./env";

export const METRIC_BACKLOG = "QueueBacklog";
export const METRIC_BACKLOG_PER_INSTANCE = "BacklogPerInstance";
export const METRIC_IN_SERVICE_INSTANCES = "InServiceInstances";
export const METRIC_DESIRED_CAPACITY = "DesiredCapacity";

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
): Promise<{ inServiceInstances: number; desiredCapacity: number }> {
    const out = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [env.asgName] }));
    const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === env.asgName);
    if (!group) throw new ScalerSourceError(`Auto Scaling group ${env.asgName} not found (ASG_NAME)`);
    if (group.DesiredCapacity === undefined) {
        throw new InvalidSampleError(`Auto Scaling group ${env.asgName} reported no DesiredCapacity`);
    }
    return {
        inServiceInstances: countInService((group.Instances ?? []).map((i) => i.LifecycleState)),
        desiredCapacity: group.DesiredCapacity,
    };
}

export function metricData(env: ScalerEnv, sample: BacklogSample, timestamp: Date): MetricDatum[] {
    const dims = [{ Name: "QueueName", Value: env.queueName }];
    const datum = (MetricName: string, Value: number): MetricDatum => ({
        MetricName,
        Dimensions: dims,
        Timestamp: timestamp,
        Unit: StandardUnit.Count,
        Value,
    });
    return [
        datum(METRIC_BACKLOG, sample.backlog),
        datum(METRIC_BACKLOG_PER_INSTANCE, sample.backlogPerInstance),
        datum(METRIC_IN_SERVICE_INSTANCES, sample.inServiceInstances),
        datum(METRIC_DESIRED_CAPACITY, sample.desiredCapacity),
    ];
}

/** Build the handler around already-created clients (tests inject their own; the Lambda uses module-level ones). */
export function createScaler(
    env: ScalerEnv,
    clients: ScalerClients,
    log: LogFn = (line) => console.log(line),
    now: () => Date = () => new Date(),
): () => Promise<BacklogSample> {
    return async () => {
        const started = Date.now();
        try {
            const [queue, group] = await Promise.all([readQueue(env, clients.sqs), readGroup(env, clients.autoscaling)]);
            const sample = computeBacklog({ ...queue, ...group });
            await clients.cloudwatch.send(
                new PutMetricDataCommand({ Namespace: env.metricNamespace, MetricData: metricData(env, sample, now()) }),
            );
            log(
                JSON.stringify({
                    level: "info",
                    msg: "published backlog",
                    queueName: env.queueName,
                    asgName: env.asgName,
                    namespace: env.metricNamespace,
                    ...sample,
                    elapsedMs: Date.now() - started,
                }),
            );
            return sample;
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
