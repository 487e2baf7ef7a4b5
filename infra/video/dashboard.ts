// The operations dashboard: one CloudWatch dashboard whose body is built by a pure function, so the
// widgets can be checked in tests without Pulumi.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface OperationsDashboardArgs {
    /** Region the metrics live in (widgets name it explicitly). */
    region: pulumi.Input<string>;
    /** Name (not URL) of the video job queue. */
    queueName: pulumi.Input<string>;
    /** Name of the job queue's dead-letter queue. */
    deadLetterQueueName: pulumi.Input<string>;
    /**
     * Where the scaler publishes QueueBacklog, BacklogPerInstance, InServiceInstances, DesiredCapacity,
     * InstancesNeeded, SecondsPerVideoUsed and AllowedBacklogPerInstance (dimension QueueName). The node graph uses the scaler's InServiceInstances rather than the ASG's
     * GroupInServiceInstances, which exists only with group metrics collection enabled.
     */
    backlogMetricNamespace: pulumi.Input<string>;
    /** Where the worker publishes JobsSucceeded, JobsFailed, FramesPerSecond, FramesProcessed, SecondsPerVideo, SecondsPerFrame (dimension QueueName). */
    workerMetricNamespace: pulumi.Input<string>;
    /** Whether the BERT service is deployed (adds a note on where its latency can be read). Default false. */
    bertEnabled?: boolean;
    /** Dashboard name; defaults to the component name. */
    dashboardName?: pulumi.Input<string>;
}

/** Everything the body needs, with every input resolved. */
export interface DashboardSpec {
    region: string;
    queueName: string;
    deadLetterQueueName: string;
    backlogMetricNamespace: string;
    workerMetricNamespace: string;
    bertEnabled: boolean;
}

/**
 * A CloudWatch metric line in the dashboard JSON form:
 * [namespace, metricName, dimName, dimValue, ..., { options }].
 */
type MetricLine = (string | Record<string, unknown>)[];

interface Widget {
    type: "metric" | "text";
    x: number;
    y: number;
    width: number;
    height: number;
    properties: Record<string, unknown>;
}

export interface DashboardBody {
    widgets: Widget[];
}

const FULL_WIDTH = 24;
const HALF = 12;
const ROW_HEIGHT = 6;
const PERIOD_SECONDS = 60;

function requireNonEmpty(value: string, what: string): string {
    if (value.trim() === "")
        throw new pulumi.InputPropertyError({ propertyPath: what, reason: `OperationsDashboard: ${what} must not be empty` });
    return value;
}

function metricWidget(
    title: string,
    region: string,
    metrics: MetricLine[],
    extra: Record<string, unknown> = {},
): Omit<Widget, "x" | "y" | "width" | "height"> {
    return {
        type: "metric",
        properties: { title, region, metrics, view: "timeSeries", stacked: false, period: PERIOD_SECONDS, ...extra },
    };
}

function textWidget(markdown: string): Omit<Widget, "x" | "y" | "width" | "height"> {
    return { type: "text", properties: { markdown } };
}

/** Lays widgets out two per row, text widgets full width. */
function layout(widgets: Omit<Widget, "x" | "y" | "width" | "height">[]): Widget[] {
    const placed: Widget[] = [];
    let x = 0;
    let y = 0;
    for (const w of widgets) {
        const width = w.type === "text" ? FULL_WIDTH : HALF;
        const height = w.type === "text" ? 3 : ROW_HEIGHT;
        if (x + width > FULL_WIDTH) {
            x = 0;
            y += ROW_HEIGHT;
        }
        placed.push({ ...w, x, y, width, height });
        x += width;
        if (x >= FULL_WIDTH) {
            x = 0;
            y += height;
        }
    }
    return placed;
}

const BERT_NOTE =
    "**BERT latency is not a CloudWatch metric.** TF Serving reports request latency only as Prometheus " +
    "metrics (`:tensorflow:serving:request_latency`, on the REST port at `/monitoring/prometheus/metrics` when " +
    "started with `--monitoring_config_file`). Nothing ships those to CloudWatch in this stack, so no graph is " +
    "shown here. Measure client-side latency with `npm run bench:bert`, or scrape the endpoint with " +
    "Prometheus / the CloudWatch agent's Prometheus support.";

/** Builds the dashboard body (pure). Throws on empty names. */
export function buildDashboardBody(spec: DashboardSpec): DashboardBody {
    const region = requireNonEmpty(spec.region, "region");
    const queue = requireNonEmpty(spec.queueName, "queueName");
    const dlq = requireNonEmpty(spec.deadLetterQueueName, "deadLetterQueueName");
    const backlogNs = requireNonEmpty(spec.backlogMetricNamespace, "backlogMetricNamespace");
    const workerNs = requireNonEmpty(spec.workerMetricNamespace, "workerMetricNamespace");

    const widgets: Omit<Widget, "x" | "y" | "width" | "height">[] = [
        metricWidget("Queue backlog (scaler)", region, [
            [backlogNs, "QueueBacklog", "QueueName", queue, { stat: "Maximum", label: "messages (visible + in flight)" }],
            [backlogNs, "BacklogPerInstance", "QueueName", queue, { stat: "Maximum", yAxis: "right", label: "backlog per instance" }],
        ]),
    ];
    // Both from the scaler's beat (the group as DescribeAutoScalingGroups reports it), so the graph needs
    // no ASG group metrics collection.
    widgets.push(
        metricWidget("Accelerated video nodes", region, [
            [backlogNs, "DesiredCapacity", "QueueName", queue, { stat: "Maximum", label: "desired (scaler)" }],
            [backlogNs, "InServiceInstances", "QueueName", queue, { stat: "Maximum", label: "in service (scaler)" }],
            [backlogNs, "InstancesNeeded", "QueueName", queue, { stat: "Maximum", label: "needed (scaling rule)" }],
        ]),
    );
    widgets.push(
        metricWidget("Worker throughput", region, [
            [workerNs, "FramesPerSecond", "QueueName", queue, { stat: "Average", label: "frames/s (per video, average)" }],
            [workerNs, "FramesProcessed", "QueueName", queue, { stat: "Sum", yAxis: "right", label: "frames processed" }],
        ]),
        metricWidget("Seconds per video", region, [
            [workerNs, "SecondsPerVideo", "QueueName", queue, { stat: "Average", label: "measured (worker, average)" }],
            [backlogNs, "SecondsPerVideoUsed", "QueueName", queue, { stat: "Maximum", label: "used for sizing (scaler)" }],
            [
                backlogNs,
                "AllowedBacklogPerInstance",
                "QueueName",
                queue,
                { stat: "Maximum", yAxis: "right", label: "videos allowed per instance" },
            ],
        ]),
        metricWidget(
            "Job outcomes",
            region,
            [
                [workerNs, "JobsSucceeded", "QueueName", queue, { stat: "Sum", label: "succeeded" }],
                [workerNs, "JobsFailed", "QueueName", queue, { stat: "Sum", label: "failed" }],
            ],
            { stacked: true },
        ),
        metricWidget("Dead-letter queue depth", region, [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq, { stat: "Maximum", label: "messages in DLQ" }],
        ]),
        metricWidget("Oldest message age (s)", region, [
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue, { stat: "Maximum", label: "job queue" }],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", dlq, { stat: "Maximum", label: "dead-letter queue" }],
        ]),
    );
    if (spec.bertEnabled) widgets.push(textWidget(BERT_NOTE));
    return { widgets: layout(widgets) };
}

/** One CloudWatch dashboard for the video pipeline (and a note on BERT latency). */
export class OperationsDashboard extends pulumi.ComponentResource {
    public readonly dashboardName: pulumi.Output<string>;
    public readonly dashboardArn: pulumi.Output<string>;

    constructor(name: string, args: OperationsDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:ops:OperationsDashboard", name, {}, opts);
        const body = pulumi
            .all([args.region, args.queueName, args.deadLetterQueueName, args.backlogMetricNamespace, args.workerMetricNamespace])
            .apply(([region, queueName, deadLetterQueueName, backlogNs, workerNs]) =>
                JSON.stringify(
                    buildDashboardBody({
                        region,
                        queueName,
                        deadLetterQueueName,
                        backlogMetricNamespace: backlogNs,
                        workerMetricNamespace: workerNs,
                        bertEnabled: args.bertEnabled ?? false,
                    }),
                ),
            );
        const dashboard = new aws.cloudwatch.Dashboard(
            name,
            { dashboardName: args.dashboardName ?? name, dashboardBody: body },
            { parent: this },
        );
        this.dashboardName = dashboard.dashboardName;
        this.dashboardArn = dashboard.dashboardArn;
        this.registerOutputs({ dashboardName: this.dashboardName, dashboardArn: this.dashboardArn });
    }
}
