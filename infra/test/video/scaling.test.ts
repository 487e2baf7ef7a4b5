// VideoQueueScaling under pulumi mocks: what each resource is declared with.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../plan/stacks";
import { REPO_ROOT as IMAGES_REPO_ROOT } from "../../platform/images";
import { checkQueueUrlMatchesName, DEFAULT_SCALER_BUNDLE, VideoQueueScaling } from "../../video/scaling";

interface Created {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string>>;
}

const QUEUE_ARN = "arn:aws:sqs:us-west-2:123456789012:video-jobs";
const NAMESPACE = "EksInference/VideoQueue";

function resolved<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("VideoQueueScaling component", () => {
    const created: Created[] = [];
    let scaling: VideoQueueScaling;
    const byType = (type: string) => created.filter((r) => r.type === type);
    const one = (type: string, namePart = ""): Created => {
        const found = byType(type).filter((r) => r.name.includes(namePart));
        assert.equal(found.length, 1, `expected one ${type} named *${namePart}*, got ${found.map((r) => r.name).join(", ")}`);
        return found[0];
    };

    before(async () => {
        pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    created.push({ type: args.type, name: args.name, inputs: args.inputs });
                    const name = (args.inputs.name as string | undefined) ?? `${args.name}-generated`;
                    const arnKind = args.type.split(":")[1].split("/")[0];
                    return {
                        id: `${args.name}-id`,
                        state: { ...args.inputs, name, arn: `arn:aws:${arnKind}:us-west-2:123456789012:${name}` },
                    };
                },
                call: (args) => args.inputs,
            },
            "eks-inference",
            "scaling-test",
            false,
        );
        scaling = new VideoQueueScaling("video", {
            queueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs",
            queueArn: QUEUE_ARN,
            queueName: "video-jobs",
            asgName: "eks-video-asg",
            metricNamespace: NAMESPACE,
            targetBacklogPerInstance: 4,
            scaleInCooldownSeconds: 420,
            instanceWarmupSeconds: 240,
            logRetentionDays: 14,
            alarmTopicArn: "arn:aws:sns:us-west-2:123456789012:ops",
            bundlePath: __filename, // any existing file: the test checks which file is shipped, not its content
        });
        await Promise.all([
            resolved(scaling.functionArn),
            resolved(scaling.alarmNames.backlogMetricMissing),
            resolved(scaling.alarmNames.scalerErrors),
            resolved(scaling.alarmNames.wakeFromZero),
            resolved(scaling.alarmNames.scaleInLowBacklog),
        ]);
    });

    it("declares the Lambda: Node 24 on arm64, 128 MB, index.handler, the bundle as index.js, and its environment", async () => {
        const fn = one("aws:lambda/function:Function").inputs;
        assert.equal(fn.runtime, "nodejs24.x");
        assert.deepEqual(fn.architectures, ["arm64"]);
        assert.equal(fn.memorySize, 128);
        assert.ok(Number(fn.timeout) <= 15, "a one-minute beat needs a short timeout");
        assert.equal(fn.handler, "index.handler");
        assert.equal(fn.name, "video-scaler");
        assert.deepEqual(fn.environment, {
            variables: {
                QUEUE_URL: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs",
                ASG_NAME: "eks-video-asg",
                METRIC_NAMESPACE: NAMESPACE,
            },
        });
        assert.ok(fn.code instanceof pulumi.asset.AssetArchive, "code is an asset archive");
        const assets = await fn.code.assets;
        assert.deepEqual(Object.keys(assets), ["index.js"]);
        const file = assets["index.js"];
        assert.ok(file instanceof pulumi.asset.FileAsset);
        assert.equal(await file.path, __filename);
    });

    it("logs to its own log group, named as Lambda names it, with retention", () => {
        const lg = one("aws:cloudwatch/logGroup:LogGroup").inputs;
        assert.equal(lg.name, "/aws/lambda/video-scaler");
        assert.equal(lg.retentionInDays, 14);
        const fn = one("aws:lambda/function:Function").inputs;
        assert.deepEqual(fn.loggingConfig, { logFormat: "JSON", logGroup: "/aws/lambda/video-scaler" });
    });

    it("runs every minute from an EventBridge rule that alone may invoke it, without stale retries", () => {
        const rule = one("aws:cloudwatch/eventRule:EventRule").inputs;
        assert.equal(rule.scheduleExpression, "rate(1 minute)");
        const target = one("aws:cloudwatch/eventTarget:EventTarget").inputs;
        assert.equal(target.arn, "arn:aws:lambda:us-west-2:123456789012:video-scaler");
        const perm = one("aws:lambda/permission:Permission").inputs;
        assert.equal(perm.action, "lambda:InvokeFunction");
        assert.equal(perm.principal, "events.amazonaws.com");
        assert.equal(perm.sourceArn, "arn:aws:cloudwatch:us-west-2:123456789012:video-scaler-schedule-generated");
        assert.equal(perm.function, "video-scaler");
        const invoke = one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs;
        assert.equal(invoke.maximumRetryAttempts, 0);
    });

    it("grants exactly: queue attributes on that queue, describe groups, metrics in that namespace, its own logs", () => {
        const role = one("aws:iam/role:Role").inputs;
        const trust = JSON.parse(String(role.assumeRolePolicy)) as { Statement: { Principal: { Service: string } }[] };
        assert.deepEqual(
            trust.Statement.map((s) => s.Principal.Service),
            ["lambda.amazonaws.com"],
        );
        assert.equal(byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0, "no managed policies");
        const doc = JSON.parse(String(one("aws:iam/rolePolicy:RolePolicy").inputs.policy)) as { Statement: Statement[] };
        const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
        const grants = doc.Statement.map((s) => ({ actions: list(s.Action), resources: list(s.Resource), condition: s.Condition }));
        assert.deepEqual(grants, [
            { actions: ["sqs:GetQueueAttributes"], resources: [QUEUE_ARN], condition: undefined },
            { actions: ["autoscaling:DescribeAutoScalingGroups"], resources: ["*"], condition: undefined },
            {
                actions: ["cloudwatch:PutMetricData"],
                resources: ["*"],
                condition: { StringEquals: { "cloudwatch:namespace": NAMESPACE } },
            },
            {
                actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
                resources: ["arn:aws:cloudwatch:us-west-2:123456789012:/aws/lambda/video-scaler:*"],
                condition: undefined,
            },
        ]);
        for (const s of doc.Statement) {
            assert.equal(s.Effect, "Allow");
            for (const a of list(s.Action)) assert.ok(!a.includes("*"), `wildcard action ${a}`);
        }
        // "*" resources only for the two actions AWS cannot scope by resource.
        const starActions = grants.filter((g) => g.resources.includes("*")).flatMap((g) => g.actions);
        assert.deepEqual(starActions, ["autoscaling:DescribeAutoScalingGroups", "cloudwatch:PutMetricData"]);
    });

    it("scales out by target tracking on BacklogPerInstance (Average, QueueName dimension), scale-in disabled there", () => {
        const p = one("aws:autoscaling/policy:Policy", "scale-out").inputs;
        assert.equal(p.policyType, "TargetTrackingScaling");
        assert.equal(p.autoscalingGroupName, "eks-video-asg");
        assert.equal(p.estimatedInstanceWarmup, 240);
        assert.deepEqual(p.targetTrackingConfiguration, {
            targetValue: 4,
            disableScaleIn: true,
            customizedMetricSpecification: {
                metricName: "BacklogPerInstance",
                namespace: NAMESPACE,
                metricDimensions: [{ name: "QueueName", value: "video-jobs" }],
                statistic: "Average",
            },
        });
    });

    it("scales in one instance at a time with a cooldown, after a long spell below half the target", () => {
        const p = one("aws:autoscaling/policy:Policy", "scale-in").inputs;
        assert.equal(p.policyType, "SimpleScaling");
        assert.equal(p.adjustmentType, "ChangeInCapacity");
        assert.equal(p.scalingAdjustment, -1);
        assert.equal(p.cooldown, 420);
        const alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", "scale-in-low-backlog").inputs;
        assert.equal(alarm.metricName, "BacklogPerInstance");
        assert.equal(alarm.namespace, NAMESPACE);
        assert.deepEqual(alarm.dimensions, { QueueName: "video-jobs" });
        assert.equal(alarm.comparisonOperator, "LessThanThreshold");
        assert.equal(alarm.threshold, 2);
        assert.equal(alarm.period, 60);
        assert.equal(alarm.evaluationPeriods, 15);
        assert.equal(alarm.datapointsToAlarm, 15);
        assert.equal(alarm.treatMissingData, "notBreaching", "missing data must never scale in");
        assert.deepEqual(alarm.alarmActions, ["arn:aws:autoscaling:us-west-2:123456789012:video-scale-in-generated"]);
    });

    it("wakes an empty group with one instance when work waits and desired capacity is 0", () => {
        const p = one("aws:autoscaling/policy:Policy", "wake-from-zero").inputs;
        assert.equal(p.policyType, "StepScaling");
        assert.deepEqual(p.stepAdjustments, [{ metricIntervalLowerBound: "0", scalingAdjustment: 1 }]);
        const alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", "wake-from-zero").inputs;
        const queries = alarm.metricQueries as { id: string; expression?: string; returnData?: boolean; metric?: { metricName: string } }[];
        assert.deepEqual(
            queries.map((q) => q.metric?.metricName ?? q.expression),
            ["QueueBacklog", "DesiredCapacity", "IF(backlog > 0 AND desired == 0, 1, 0)"],
        );
        assert.deepEqual(
            queries.filter((q) => q.returnData).map((q) => q.id),
            ["wake"],
        );
        assert.equal(alarm.threshold, 1);
        assert.equal(alarm.comparisonOperator, "GreaterThanOrEqualToThreshold");
    });

    it("alarms to the topic on scaler errors and on missing QueueBacklog datapoints (missing = breaching)", () => {
        const errors = one("aws:cloudwatch/metricAlarm:MetricAlarm", "scaler-errors").inputs;
        assert.equal(errors.namespace, "AWS/Lambda");
        assert.equal(errors.metricName, "Errors");
        assert.deepEqual(errors.dimensions, { FunctionName: "video-scaler" });
        assert.deepEqual(errors.alarmActions, ["arn:aws:sns:us-west-2:123456789012:ops"]);
        const missing = one("aws:cloudwatch/metricAlarm:MetricAlarm", "backlog-metric-missing").inputs;
        assert.equal(missing.metricName, "QueueBacklog");
        assert.equal(missing.statistic, "SampleCount");
        assert.equal(missing.treatMissingData, "breaching");
        assert.deepEqual(missing.alarmActions, ["arn:aws:sns:us-west-2:123456789012:ops"]);
    });

    it("exposes function, policy and alarm names", async () => {
        assert.equal(await resolved(scaling.functionName), "video-scaler");
        assert.equal(await resolved(scaling.policyNames.scaleOut), "video-scale-out-generated");
        assert.equal(await resolved(scaling.alarmNames.scalerErrors), "video-scaler-errors-generated");
    });

    it("insists that the queue URL ends in the queue name the alarms and policies use", () => {
        assert.equal(
            checkQueueUrlMatchesName("https://sqs.us-west-2.amazonaws.com/1/video-jobs", "video-jobs"),
            "https://sqs.us-west-2.amazonaws.com/1/video-jobs",
        );
        assert.throws(
            () => checkQueueUrlMatchesName("https://sqs.us-west-2.amazonaws.com/1/other", "video-jobs"),
            /does not end in the queue name video-jobs/,
        );
    });

    it("rejects a non-positive target, a short cooldown and an AWS/ namespace", () => {
        const base = {
            queueUrl: "u",
            queueArn: QUEUE_ARN,
            queueName: "q",
            asgName: "g",
            metricNamespace: NAMESPACE,
            targetBacklogPerInstance: 4,
            logRetentionDays: 7,
        };
        assert.throws(() => new VideoQueueScaling("bad1", { ...base, targetBacklogPerInstance: 0 }), /targetBacklogPerInstance/);
        assert.throws(() => new VideoQueueScaling("bad2", { ...base, scaleInCooldownSeconds: 10 }), /scaleInCooldownSeconds/);
        assert.throws(() => new VideoQueueScaling("bad3", { ...base, metricNamespace: "AWS/SQS" }), /custom namespace/);
    });
});

describe("paths the program reads at deploy time (they move with the files)", () => {
    it("the scaler bundle is dist/scaler/index.js at the repository root, where npm run bundle:scaler writes it", () => {
        assert.equal(DEFAULT_SCALER_BUNDLE, path.join(REPO_ROOT, "dist", "scaler", "index.js"));
    });
    it("images resolve Dockerfiles from the repository root", () => {
        assert.equal(IMAGES_REPO_ROOT, REPO_ROOT);
        assert.ok(fs.existsSync(path.join(IMAGES_REPO_ROOT, "Pulumi.yaml")));
    });
});
