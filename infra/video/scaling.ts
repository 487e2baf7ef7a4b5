// Queue-depth autoscaling of the accelerated video group: the scaler Lambda (bundled by esbuild, shipped
// as an asset), its schedule, its least-privilege role and log group, the scaling policies, and alarms
// that notice when the scaler stops publishing.
//
// How "scale out fast, scale in slowly" is met on EC2 Auto Scaling (the reasoning, in short):
// - EC2 Auto Scaling target tracking has no scale-in/scale-out cooldowns (Application Auto Scaling has
//   them; EC2's only knob is the instance warm-up) and its managed alarms cannot be edited (AWS: "do not
//   edit or delete" them). Its high alarm needs ~3 one-minute datapoints above target, its low alarm ~15
//   below; scale-in is then proportional and may remove several instances at once.
// - So target tracking on BacklogPerInstance does the scale-OUT only (disableScaleIn: true): proportional,
//   warm-up aware, as AWS's SQS guide recommends.
// - Scale-IN is a separate simple-scaling policy: one instance at a time, only after the backlog per
//   instance stayed below half the target for scaleInEvaluationMinutes (default 15) one-minute datapoints,
//   then a scale-in cooldown (default 300 s). Half the target is the hysteresis band: removing one of
//   n >= 2 instances at most doubles the metric, which then stays under the target, so scale-in never
//   provokes the next scale-out. Missing data never scales in (treatMissingData notBreaching).
// - Scale-from-zero: with no instance the proportional rule has nothing to multiply (desired =
//   ceil(metric x 0 / target) = 0) and a single waiting video (metric 1) never exceeds a target >= 1. A
//   small step policy adds one instance when QueueBacklog > 0 while DesiredCapacity (published by the
//   scaler) is 0; target tracking takes over once that instance is InService.
// - Busy nodes are never chosen for scale-in: the worker sets ProtectedFromScaleIn while it holds a job.
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

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
    /**
     * Target of the target-tracking policy: acceptable queue latency / seconds per video (AWS's
     * "acceptable backlog per instance"), e.g. 600 s / 150 s = 4 videos per instance.
     */
    targetBacklogPerInstance: number;
    /** Wait after a scale-in before the next one (simple-scaling cooldown). Default 300 s. */
    scaleInCooldownSeconds?: number;
    /** One-minute datapoints below half the target before one instance is removed. Default 15. */
    scaleInEvaluationMinutes?: number;
    /** Time from launch until a node's worker processes jobs (policy estimatedInstanceWarmup). Default 300 s. */
    instanceWarmupSeconds?: number;
    /** EventBridge schedule. Default rate(1 minute). */
    scheduleExpression?: pulumi.Input<string>;
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
    wakeFromZero: pulumi.Output<string>;
}

export interface ScalingAlarmNames {
    scalerErrors: pulumi.Output<string>;
    backlogMetricMissing: pulumi.Output<string>;
    scaleInLowBacklog: pulumi.Output<string>;
    wakeFromZero: pulumi.Output<string>;
}

const FUNCTION_NAME_MAX = 64;

function requirePositive(value: number, what: string, min = Number.MIN_VALUE): number {
    if (!Number.isFinite(value) || value < min)
        throw new pulumi.InputPropertyError({ propertyPath: what, reason: `VideoQueueScaling: ${what} must be >= ${min}, got ${value}` });
    return value;
}

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
        const target = requirePositive(args.targetBacklogPerInstance, "targetBacklogPerInstance");
        const scaleInCooldown = requireInteger(args.scaleInCooldownSeconds ?? 300, "scaleInCooldownSeconds", 60);
        const scaleInMinutes = requireInteger(args.scaleInEvaluationMinutes ?? 15, "scaleInEvaluationMinutes", 3);
        const warmup = requireInteger(args.instanceWarmupSeconds ?? 300, "instanceWarmupSeconds", 0);
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
                description:
                    "Publishes QueueBacklog, BacklogPerInstance, InServiceInstances and DesiredCapacity for the video job queue every minute",
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
                scheduleExpression: args.scheduleExpression ?? "rate(1 minute)",
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

        // Scale-out: target tracking on backlog per instance (scale-in disabled, see the header).
        const scaleOut = new aws.autoscaling.Policy(
            `${name}-scale-out`,
            {
                autoscalingGroupName: args.asgName,
                policyType: "TargetTrackingScaling",
                estimatedInstanceWarmup: warmup,
                targetTrackingConfiguration: {
                    targetValue: target,
                    disableScaleIn: true,
                    customizedMetricSpecification: {
                        metricName: "BacklogPerInstance",
                        namespace: args.metricNamespace,
                        metricDimensions: [{ name: "QueueName", value: args.queueName }],
                        statistic: "Average",
                    },
                },
            },
            parent,
        );

        // Scale-in: one instance per cooldown, after a long quiet spell below half the target.
        const scaleIn = new aws.autoscaling.Policy(
            `${name}-scale-in`,
            {
                autoscalingGroupName: args.asgName,
                policyType: "SimpleScaling",
                adjustmentType: "ChangeInCapacity",
                scalingAdjustment: -1,
                cooldown: scaleInCooldown,
            },
            parent,
        );
        const scaleInAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-scale-in-low-backlog`,
            {
                alarmDescription: `Backlog per instance below ${target / 2} (half the target) for ${scaleInMinutes} minutes: remove one instance`,
                namespace: args.metricNamespace,
                metricName: "BacklogPerInstance",
                dimensions: queueDimension,
                statistic: "Average",
                period: 60,
                evaluationPeriods: scaleInMinutes,
                datapointsToAlarm: scaleInMinutes,
                threshold: target / 2,
                comparisonOperator: "LessThanThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [scaleIn.arn],
                tags,
            },
            parent,
        );

        // Scale-from-zero: one instance when work waits and the group's desired capacity is 0.
        const wake = new aws.autoscaling.Policy(
            `${name}-wake-from-zero`,
            {
                autoscalingGroupName: args.asgName,
                policyType: "StepScaling",
                adjustmentType: "ChangeInCapacity",
                estimatedInstanceWarmup: warmup,
                metricAggregationType: "Maximum",
                stepAdjustments: [{ metricIntervalLowerBound: "0", scalingAdjustment: 1 }],
            },
            parent,
        );
        const metric = (id: string, metricName: string, returnData = false) => ({
            id,
            returnData,
            metric: { namespace: args.metricNamespace, metricName, dimensions: queueDimension, period: 60, stat: "Maximum" },
        });
        const wakeAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-wake-from-zero`,
            {
                alarmDescription: "Videos are waiting and the video group's desired capacity is 0: add one instance",
                metricQueries: [
                    metric("backlog", "QueueBacklog"),
                    metric("desired", "DesiredCapacity"),
                    { id: "wake", expression: "IF(backlog > 0 AND desired == 0, 1, 0)", label: "WakeFromZero", returnData: true },
                ],
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                threshold: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [wake.arn],
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
        this.policyNames = { scaleOut: scaleOut.name, scaleIn: scaleIn.name, wakeFromZero: wake.name };
        this.alarmNames = {
            scalerErrors: errorsAlarm.name,
            backlogMetricMissing: missingAlarm.name,
            scaleInLowBacklog: scaleInAlarm.name,
            wakeFromZero: wakeAlarm.name,
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
