// Queue-depth autoscaling of the accelerated video group: the scaler Lambda (bundled by esbuild, shipped
// as an asset), its schedule, its least-privilege role and log group, the scaling policies, and alarms
// that notice when the scaler stops publishing.
//
// The rule lives in scaler/src/policy.ts, shared with the Lambda and the simulation (npm run sim:scaling);
// everything below is declared from its constants, so what is deployed is what was simulated:
// - Every minute (rate(1 minute), the EventBridge minimum) the scaler publishes InstancesNeeded next to
//   DesiredCapacity: the backlog over the videos one instance may carry within videoLatencyObjectiveSeconds
//   at the measured seconds per video, plus spare capacity while videos arrive.
// - Scale-out: one datapoint of IF(needed > desired, needed, 0) >= 1 triggers a step scaling policy whose
//   ExactCapacity steps set the group to exactly InstancesNeeded. Exact, not a change in capacity: the
//   alarm re-invokes its action every minute while in ALARM, and a repeated exact size adds nothing.
//   This also wakes an empty group (no separate wake-from-zero policy).
// - Scale-in: 10 datapoints of desired - needed >= 1 trigger a simple scaling policy that removes one
//   instance, then a cooldown. Missing data never scales either way (treatMissingData notBreaching).
// - Why not target tracking: its alarms are managed by AWS (about 3 datapoints to scale out, 15 to scale
//   in, not editable) and it scales in proportionally, several instances at once.
// - Busy nodes are never chosen for scale-in: the worker sets ProtectedFromScaleIn while it holds a job.
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    METRICS,
    PERIOD_SECONDS,
    SCALE_IN_COOLDOWN_SECONDS,
    SCALE_IN_DATAPOINTS,
    SCALE_IN_EXPRESSION,
    SCALE_IN_THRESHOLD,
    SCALE_OUT_DATAPOINTS,
    SCALE_OUT_EXPRESSION,
    SCALE_OUT_THRESHOLD,
    scaleOutSteps,
} from "../../scaler/src/policy";

/** A supported Node.js LTS (Node 20 reached end of life in April 2026); the bundle targets the same major. */
export const SCALER_RUNTIME = aws.lambda.Runtime.NodeJS24dX;

export const DEFAULT_SCALER_BUNDLE = path.join(__dirname, "..", "..", "dist", "scaler", "index.js");

export interface VideoQueueScalingArgs {
    /** URL of the video job queue (the Lambda's QUEUE_URL). */
    queueUrl: pulumi.Input<string>;
    /** ARN of the same queue (the only resource the role may read attributes of). */
    queueArn: pulumi.Input<string>;
    /** Name of the same queue (the QueueName metric dimension). */
    queueName: pulumi.Input<string>;
    /** The accelerated video node group's Auto Scaling group. */
    asgName: pulumi.Input<string>;
    /** CloudWatch namespace the scaler publishes into (and the only one its role may write). */
    metricNamespace: string;
    /** Seconds from upload to result the group is sized for (the Lambda's LATENCY_OBJECTIVE_SECONDS). */
    latencyObjectiveSeconds: number;
    /** Seconds per video until the workers have published measurements (the Lambda's SECONDS_PER_VIDEO). */
    secondsPerVideo: number;
    /** The video group's maximum size: the scale-out policy's step table reaches it. */
    maxSize: number;
    /** Retention of the scaler's log group, days. */
    logRetentionDays: number;
    /** SNS topic for the alarms (e.g. VideoQueueAlarms.topicArn); alarms without actions when absent. */
    alarmTopicArn?: pulumi.Input<string>;
    /** The scaler bundle built by `npm run bundle:scaler`. Default DEFAULT_SCALER_BUNDLE. */
    bundlePath?: string;
    /** Tags of the resources made here; default none (the provider's default tags still apply). */
    tags?: Record<string, string>;
}

export interface ScalingPolicyNames {
    scaleOut: pulumi.Output<string>;
    scaleIn: pulumi.Output<string>;
}

export interface ScalingAlarmNames {
    scalerErrors: pulumi.Output<string>;
    backlogMetricMissing: pulumi.Output<string>;
    scaleOut: pulumi.Output<string>;
    scaleIn: pulumi.Output<string>;
}

/** The EventBridge schedule: one beat per alarm period. */
export const SCALER_SCHEDULE = `rate(${PERIOD_SECONDS / 60} minute)`;

const FUNCTION_NAME_MAX = 64;

function requireInteger(value: number, what: string, min: number): number {
    if (!Number.isInteger(value) || value < min)
        throw new pulumi.InputPropertyError({
            propertyPath: what,
            reason: `VideoQueueScaling: ${what} must be an integer >= ${min}, got ${value}`,
        });
    return value;
}

/**
 * The scaler derives its QueueName dimension from the last segment of QUEUE_URL; the policies and
 * alarms use queueName. A mismatch would leave every alarm without data, so it fails the deployment.
 */
export function checkQueueUrlMatchesName(queueUrl: string, queueName: string): string {
    const last = queueUrl
        .split("/")
        .filter((s) => s !== "")
        .pop();
    if (last === undefined || decodeURIComponent(last) !== queueName) {
        throw new pulumi.InputPropertyError({
            propertyPath: "queueUrl",
            reason: `VideoQueueScaling: queueUrl ${queueUrl} does not end in the queue name ${queueName}`,
        });
    }
    return queueUrl;
}

/** The inline policy of the scaler's role, as a JSON document (exported so tests can read it). */
export function scalerPolicyDocument(p: { queueArn: string; metricNamespace: string; logGroupArn: string }): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReadQueueDepth", Effect: "Allow", Action: ["sqs:GetQueueAttributes"], Resource: [p.queueArn] },
            {
                // AWS supports no resource-level permissions for Describe* in Auto Scaling: "*" is the only option.
                Sid: "DescribeGroup",
                Effect: "Allow",
                Action: ["autoscaling:DescribeAutoScalingGroups"],
                Resource: ["*"],
            },
            {
                // PutMetricData has no resource type; the namespace condition is how it is narrowed.
                Sid: "PublishBacklogMetrics",
                Effect: "Allow",
                Action: ["cloudwatch:PutMetricData"],
                Resource: ["*"],
                Condition: { StringEquals: { "cloudwatch:namespace": p.metricNamespace } },
            },
            {
                // GetMetricData supports no resource-level permissions and no namespace condition key
                // (cloudwatch:namespace applies to PutMetricData only): "*" is the only option. Read-only.
                Sid: "ReadMeasuredSecondsPerVideo",
                Effect: "Allow",
                Action: ["cloudwatch:GetMetricData"],
                Resource: ["*"],
            },
            {
                Sid: "OwnLogGroupOnly",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: [`${p.logGroupArn}:*`],
            },
        ],
    });
}

export class VideoQueueScaling extends pulumi.ComponentResource {
    readonly functionName: pulumi.Output<string>;
    readonly functionArn: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly scheduleRuleName: pulumi.Output<string>;
    readonly policyNames: ScalingPolicyNames;
    readonly alarmNames: ScalingAlarmNames;

    constructor(name: string, args: VideoQueueScalingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:scaling:VideoQueueScaling", name, {}, opts);
        requireInteger(args.latencyObjectiveSeconds, "latencyObjectiveSeconds", 1);
        requireInteger(args.secondsPerVideo, "secondsPerVideo", 1);
        const maxSize = requireInteger(args.maxSize, "maxSize", 1);
        requireInteger(args.logRetentionDays, "logRetentionDays", 1);
        if (args.metricNamespace.trim() === "" || args.metricNamespace.startsWith("AWS/")) {
            throw new pulumi.InputPropertyError({
                propertyPath: "metricNamespace",
                reason: `VideoQueueScaling: metricNamespace must be a custom namespace, got '${args.metricNamespace}'`,
            });
        }
        // Lambda function names are unique per account and region: `name` must already tell stacks apart
        // (the program passes <project>-<stack>, so dev's function is eks-inference-dev-scaler).
        const functionName = `${name}-scaler`;
        if (functionName.length > FUNCTION_NAME_MAX) {
            throw new pulumi.InputPropertyError({
                propertyPath: "name",
                reason: `VideoQueueScaling: function name ${functionName} is longer than ${FUNCTION_NAME_MAX} characters`,
            });
        }
        const tags = args.tags ?? {};
        const parent = { parent: this };
        const alarmActions = args.alarmTopicArn ? [args.alarmTopicArn] : [];

        // Explicit log group named the way Lambda names it, so retention applies and the role can be
        // limited to it (AWSLambdaBasicExecutionRole would allow every log group).
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-scaler-logs`,
            { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays, tags },
            parent,
        );

        const role = new aws.iam.Role(
            `${name}-scaler-role`,
            {
                description: "Scaler Lambda: read the video queue depth and the video group, publish backlog metrics",
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags,
            },
            parent,
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-scaler-policy`,
            {
                role: role.id,
                policy: pulumi
                    .all([args.queueArn, logGroup.arn])
                    .apply(([queueArn, logGroupArn]) =>
                        scalerPolicyDocument({ queueArn, metricNamespace: args.metricNamespace, logGroupArn }),
                    ),
            },
            parent,
        );

        const fn = new aws.lambda.Function(
            `${name}-scaler`,
            {
                name: functionName,
                description: "Publishes the video queue's backlog and InstancesNeeded (scaler/src/policy.ts) every minute",
                runtime: SCALER_RUNTIME,
                architectures: ["arm64"],
                memorySize: 128,
                timeout: 10,
                handler: "index.handler",
                code: new pulumi.asset.AssetArchive({
                    "index.js": new pulumi.asset.FileAsset(args.bundlePath ?? DEFAULT_SCALER_BUNDLE),
                }),
                role: role.arn,
                environment: {
                    variables: {
                        QUEUE_URL: pulumi
                            .all([args.queueUrl, args.queueName])
                            .apply(([url, queueName]) => checkQueueUrlMatchesName(url, queueName)),
                        ASG_NAME: args.asgName,
                        METRIC_NAMESPACE: args.metricNamespace,
                        LATENCY_OBJECTIVE_SECONDS: String(args.latencyObjectiveSeconds),
                        SECONDS_PER_VIDEO: String(args.secondsPerVideo),
                    },
                },
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
                tags,
            },
            { parent: this, dependsOn: [logGroup, rolePolicy] },
        );
        // A failed beat is not retried: the next scheduled one, a minute later, reads fresh numbers anyway.
        new aws.lambda.FunctionEventInvokeConfig(
            `${name}-scaler-invoke`,
            { functionName: fn.name, maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
            parent,
        );

        const rule = new aws.cloudwatch.EventRule(
            `${name}-scaler-schedule`,
            {
                description: "Runs the video queue scaler",
                scheduleExpression: SCALER_SCHEDULE,
                tags,
            },
            parent,
        );
        new aws.cloudwatch.EventTarget(`${name}-scaler-target`, { rule: rule.name, arn: fn.arn }, parent);
        new aws.lambda.Permission(
            `${name}-scaler-invoke-permission`,
            { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: rule.arn },
            parent,
        );

        const queueDimension = { QueueName: args.queueName };
        const metric = (id: string, metricName: string) => ({
            id,
            returnData: false,
            metric: { namespace: args.metricNamespace, metricName, dimensions: queueDimension, period: PERIOD_SECONDS, stat: "Maximum" },
        });
        const neededAndDesired = [metric("needed", METRICS.needed), metric("desired", METRICS.desired)];

        // Scale-out (and wake from zero): set the group to exactly InstancesNeeded.
        const scaleOut = new aws.autoscaling.Policy(
            `${name}-scale-out`,
            {
                autoscalingGroupName: args.asgName,
                policyType: "StepScaling",
                adjustmentType: "ExactCapacity",
                metricAggregationType: "Maximum",
                // InstancesNeeded already counts instances still starting (DesiredCapacity includes them).
                estimatedInstanceWarmup: 0,
                stepAdjustments: scaleOutSteps(maxSize).map((step) => ({
                    metricIntervalLowerBound: String(step.lowerBound),
                    ...(step.upperBound === undefined ? {} : { metricIntervalUpperBound: String(step.upperBound) }),
                    scalingAdjustment: step.capacity,
                })),
            },
            parent,
        );
        const scaleOutAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-scale-out`,
            {
                alarmDescription: "InstancesNeeded is above the video group's desired capacity: set the group to InstancesNeeded",
                metricQueries: [
                    ...neededAndDesired,
                    { id: "scaleout", expression: SCALE_OUT_EXPRESSION, label: "InstancesNeededAboveDesired", returnData: true },
                ],
                evaluationPeriods: SCALE_OUT_DATAPOINTS,
                datapointsToAlarm: SCALE_OUT_DATAPOINTS,
                threshold: SCALE_OUT_THRESHOLD,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [scaleOut.arn],
                tags,
            },
            parent,
        );

        // Scale-in: one idle instance per cooldown, after a long spell with more instances than needed.
        const scaleIn = new aws.autoscaling.Policy(
            `${name}-scale-in`,
            {
                autoscalingGroupName: args.asgName,
                policyType: "SimpleScaling",
                adjustmentType: "ChangeInCapacity",
                scalingAdjustment: -1,
                cooldown: SCALE_IN_COOLDOWN_SECONDS,
            },
            parent,
        );
        const scaleInAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-scale-in`,
            {
                alarmDescription: `Desired capacity above InstancesNeeded for ${SCALE_IN_DATAPOINTS} minutes: remove one instance`,
                metricQueries: [
                    ...neededAndDesired,
                    { id: "excess", expression: SCALE_IN_EXPRESSION, label: "InstancesAboveNeeded", returnData: true },
                ],
                evaluationPeriods: SCALE_IN_DATAPOINTS,
                datapointsToAlarm: SCALE_IN_DATAPOINTS,
                threshold: SCALE_IN_THRESHOLD,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [scaleIn.arn],
                tags,
            },
            parent,
        );

        // The scaler itself: errors, and silence (no datapoint at all, e.g. the rule or permission broke).
        const errorsAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-scaler-errors`,
            {
                alarmDescription: "The queue scaler failed on 3 of the last 5 beats; scaling decisions are running on stale data",
                namespace: "AWS/Lambda",
                metricName: "Errors",
                dimensions: { FunctionName: fn.name },
                statistic: "Sum",
                period: 60,
                evaluationPeriods: 5,
                datapointsToAlarm: 3,
                threshold: 0,
                comparisonOperator: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
                alarmActions,
                okActions: alarmActions,
                tags,
            },
            parent,
        );
        const missingAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-backlog-metric-missing`,
            {
                alarmDescription: "No QueueBacklog datapoint for 5 minutes: the scaler is skipping beats or not running",
                namespace: args.metricNamespace,
                metricName: "QueueBacklog",
                dimensions: queueDimension,
                statistic: "SampleCount",
                period: 60,
                evaluationPeriods: 5,
                datapointsToAlarm: 5,
                threshold: 1,
                comparisonOperator: "LessThanThreshold",
                treatMissingData: "breaching",
                alarmActions,
                okActions: alarmActions,
                tags,
            },
            parent,
        );

        this.functionName = fn.name;
        this.functionArn = fn.arn;
        this.logGroupName = logGroup.name;
        this.scheduleRuleName = rule.name;
        this.policyNames = { scaleOut: scaleOut.name, scaleIn: scaleIn.name };
        this.alarmNames = {
            scalerErrors: errorsAlarm.name,
            backlogMetricMissing: missingAlarm.name,
            scaleOut: scaleOutAlarm.name,
            scaleIn: scaleInAlarm.name,
        };
        this.registerOutputs({
            functionName: this.functionName,
            functionArn: this.functionArn,
            logGroupName: this.logGroupName,
            scheduleRuleName: this.scheduleRuleName,
            policyNames: this.policyNames,
            alarmNames: this.alarmNames,
        });
    }
}
