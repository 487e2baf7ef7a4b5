// VideoQueueScaling under pulumi mocks: what each resource is declared with.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../plan/stacks";
import { REPO_ROOT as IMAGES_REPO_ROOT } from "../../platform/images";
import * as policy from "../../../scaler/src/policy";
import { checkQueueUrlMatchesName, DEFAULT_SCALER_BUNDLE, SCALER_SCHEDULE, VideoQueueScaling } from "../../video/scaling";
import { setComponentMocks, type Recorded } from "../support/component-mocks";

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
    const created: Recorded[] = [];
    let scaling: VideoQueueScaling;
    const byType = (type: string) => created.filter((r) => r.type === type);
    const one = (type: string, namePart = ""): Recorded => {
        const found = byType(type).filter((r) => r.name.includes(namePart));
        assert.equal(found.length, 1, `expected one ${type} named *${namePart}*, got ${found.map((r) => r.name).join(", ")}`);
        return found[0];
    };

    before(async () => {
        await setComponentMocks("scaling-test", created);
        scaling = new VideoQueueScaling("video", {
            queueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs",
            queueArn: QUEUE_ARN,
            queueName: "video-jobs",
            asgName: "eks-video-asg",
            metricNamespace: NAMESPACE,
            latencyObjectiveSeconds: 900,
            secondsPerVideo: 45,
            maxSize: 7,
            logRetentionDays: 14,
            alarmTopicArn: "arn:aws:sns:us-west-2:123456789012:ops",
            bundlePath: __filename, // any existing file: the test checks which file is shipped, not its content
        });
        await Promise.all([
            resolved(scaling.functionArn),
            resolved(scaling.alarmNames.backlogMetricMissing),
            resolved(scaling.alarmNames.scalerErrors),
            resolved(scaling.alarmNames.scaleOut),
            resolved(scaling.alarmNames.scaleIn),
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
                LATENCY_OBJECTIVE_SECONDS: "900",
                SECONDS_PER_VIDEO: "45",
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
        assert.equal(SCALER_SCHEDULE, "rate(1 minute)", "one beat per alarm period");
        assert.equal(policy.PERIOD_SECONDS, 60);
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

    it("grants exactly: queue attributes on that queue, describe groups, metrics in that namespace, metric reads, its own logs", () => {
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
            { actions: ["cloudwatch:GetMetricData"], resources: ["*"], condition: undefined },
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
        // "*" resources only for the actions AWS cannot scope by resource (PutMetricData narrowed by namespace).
        const starActions = grants.filter((g) => g.resources.includes("*")).flatMap((g) => g.actions);
        assert.deepEqual(starActions, ["autoscaling:DescribeAutoScalingGroups", "cloudwatch:PutMetricData", "cloudwatch:GetMetricData"]);
    });

    const metricQueries = (alarm: Record<string, unknown>) =>
        alarm.metricQueries as {
            id: string;
            expression?: string;
            returnData?: boolean;
            metric?: { namespace: string; metricName: string; dimensions: Record<string, string>; period: number; stat: string };
        }[];

    it("scales out on ONE one-minute datapoint of InstancesNeeded above DesiredCapacity, to exactly InstancesNeeded", () => {
        const p = one("aws:autoscaling/policy:Policy", "scale-out").inputs;
        assert.equal(p.policyType, "StepScaling");
        assert.equal(p.autoscalingGroupName, "eks-video-asg");
        assert.equal(p.adjustmentType, "ExactCapacity");
        assert.equal(p.estimatedInstanceWarmup, 0);
        assert.deepEqual(p.stepAdjustments, [
            { metricIntervalLowerBound: "0", metricIntervalUpperBound: "1", scalingAdjustment: 1 },
            { metricIntervalLowerBound: "1", metricIntervalUpperBound: "2", scalingAdjustment: 2 },
            { metricIntervalLowerBound: "2", metricIntervalUpperBound: "3", scalingAdjustment: 3 },
            { metricIntervalLowerBound: "3", metricIntervalUpperBound: "4", scalingAdjustment: 4 },
            { metricIntervalLowerBound: "4", metricIntervalUpperBound: "5", scalingAdjustment: 5 },
            { metricIntervalLowerBound: "5", metricIntervalUpperBound: "6", scalingAdjustment: 6 },
            { metricIntervalLowerBound: "6", scalingAdjustment: 7 },
        ]);
        const alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", "scale-out").inputs;
        const queries = metricQueries(alarm);
        assert.deepEqual(
            queries.map((q) => q.metric?.metricName ?? q.expression),
            ["InstancesNeeded", "DesiredCapacity", "IF(needed > desired, needed, 0)"],
        );
        for (const q of queries.filter((x) => x.metric)) {
            assert.deepEqual(q.metric, {
                namespace: NAMESPACE,
                metricName: q.metric?.metricName,
                dimensions: { QueueName: "video-jobs" },
                period: 60,
                stat: "Maximum",
            });
        }
        assert.deepEqual(
            queries.filter((q) => q.returnData).map((q) => q.id),
            ["scaleout"],
        );
        assert.deepEqual(
            [alarm.evaluationPeriods, alarm.datapointsToAlarm, alarm.threshold, alarm.comparisonOperator],
            [1, 1, 1, "GreaterThanOrEqualToThreshold"],
        );
        assert.equal(alarm.treatMissingData, "notBreaching");
        assert.deepEqual(alarm.alarmActions, ["arn:aws:autoscaling:us-west-2:123456789012:video-scale-out-generated"]);
    });

    it("scales in one instance at a time, after ten datapoints of DesiredCapacity above InstancesNeeded, then a cooldown", () => {
        const p = one("aws:autoscaling/policy:Policy", "scale-in").inputs;
        assert.equal(p.policyType, "SimpleScaling");
        assert.equal(p.adjustmentType, "ChangeInCapacity");
        assert.equal(p.scalingAdjustment, -1);
        assert.equal(p.cooldown, 180);
        const alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", "scale-in").inputs;
        assert.deepEqual(
            metricQueries(alarm).map((q) => q.metric?.metricName ?? q.expression),
            ["InstancesNeeded", "DesiredCapacity", "desired - needed"],
        );
        assert.deepEqual(
            [alarm.evaluationPeriods, alarm.datapointsToAlarm, alarm.threshold, alarm.comparisonOperator],
            [10, 10, 1, "GreaterThanOrEqualToThreshold"],
        );
        assert.equal(alarm.treatMissingData, "notBreaching", "missing data must never scale in");
        assert.deepEqual(alarm.alarmActions, ["arn:aws:autoscaling:us-west-2:123456789012:video-scale-in-generated"]);
    });

    it("declares no target tracking and no separate wake-from-zero policy (the exact scale-out wakes an empty group)", () => {
        const policies = byType("aws:autoscaling/policy:Policy");
        assert.deepEqual(policies.map((p) => p.inputs.policyType).sort(), ["SimpleScaling", "StepScaling"]);
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
        assert.equal(await resolved(scaling.alarmNames.scaleOut), "video-scale-out-generated");
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

    it("rejects a non-positive objective or seconds per video, a group without a maximum and an AWS/ namespace", () => {
        const base = {
            queueUrl: "u",
            queueArn: QUEUE_ARN,
            queueName: "q",
            asgName: "g",
            metricNamespace: NAMESPACE,
            latencyObjectiveSeconds: 600,
            secondsPerVideo: 60,
            maxSize: 4,
            logRetentionDays: 7,
        };
        assert.throws(() => new VideoQueueScaling("bad1", { ...base, latencyObjectiveSeconds: 0 }), /latencyObjectiveSeconds/);
        assert.throws(() => new VideoQueueScaling("bad2", { ...base, secondsPerVideo: 1.5 }), /secondsPerVideo/);
        assert.throws(() => new VideoQueueScaling("bad3", { ...base, maxSize: 0 }), /maxSize/);
        assert.throws(() => new VideoQueueScaling("bad4", { ...base, metricNamespace: "AWS/SQS" }), /custom namespace/);
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
