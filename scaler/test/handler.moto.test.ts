// The bundled scaler (dist/scaler/index.js) against moto: real SQS counts, real Auto Scaling groups,
// and the published values read back with GetMetricData.
import { strict as assert } from "node:assert";
import {
    AutoScalingClient,
    CreateAutoScalingGroupCommand,
    CreateLaunchConfigurationCommand,
    DescribeAutoScalingGroupsCommand,
    EnterStandbyCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand, StandardUnit } from "@aws-sdk/client-cloudwatch";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { useProcessMoto, useMotoInThisProcess, type MotoServer } from "../../testing/moto";
import { coldStart, ensureScalerBundle } from "./bundle";

/** Run fn with console.log captured (the bundle logs one JSON line per beat); returns the parsed lines. */
async function capturingLogs(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const original = console.log;
    console.log = (line: unknown) => {
        lines.push(JSON.parse(String(line)) as Record<string, unknown>);
    };
    try {
        await fn();
    } finally {
        console.log = original;
    }
    return lines;
}

const NAMESPACE = "eks-inference/scaling-test";
const LAUNCH_CONFIG = "video-lc";
const AMI = "ami-12c6146b"; // one of moto's built-in AMIs

describe("scaler bundle against moto", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let restoreEnv: () => void;
    let sqs: SQSClient;
    let autoscaling: AutoScalingClient;
    let cloudwatch: CloudWatchClient;
    const savedLambdaEnv = {
        QUEUE_URL: process.env.QUEUE_URL,
        ASG_NAME: process.env.ASG_NAME,
        METRIC_NAMESPACE: process.env.METRIC_NAMESPACE,
        LATENCY_OBJECTIVE_SECONDS: process.env.LATENCY_OBJECTIVE_SECONDS,
        SECONDS_PER_VIDEO: process.env.SECONDS_PER_VIDEO,
    };

    before(async () => {
        ensureScalerBundle();
        moto = await useProcessMoto();
        restoreEnv = useMotoInThisProcess(moto);
        sqs = new SQSClient({});
        autoscaling = new AutoScalingClient({});
        cloudwatch = new CloudWatchClient({});
        await autoscaling.send(
            new CreateLaunchConfigurationCommand({ LaunchConfigurationName: LAUNCH_CONFIG, ImageId: AMI, InstanceType: "t3.micro" }),
        );
    });

    after(async () => {
        for (const [k, v] of Object.entries(savedLambdaEnv)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        restoreEnv?.();
        await moto?.stop();
    });

    async function queueWith(name: string, visible: number, inFlight: number): Promise<string> {
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
        assert.ok(QueueUrl);
        const total = visible + inFlight;
        for (let start = 0; start < total; start += 10) {
            const n = Math.min(10, total - start);
            await sqs.send(
                new SendMessageBatchCommand({
                    QueueUrl,
                    Entries: Array.from({ length: n }, (_, i) => ({ Id: `m${start + i}`, MessageBody: `{"video":${start + i}}` })),
                }),
            );
        }
        let received = 0;
        while (received < inFlight) {
            const out = await sqs.send(
                new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: Math.min(10, inFlight - received), VisibilityTimeout: 600 }),
            );
            received += out.Messages?.length ?? 0;
        }
        return QueueUrl;
    }

    async function groupWith(name: string, instances: number): Promise<void> {
        await autoscaling.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: name,
                LaunchConfigurationName: LAUNCH_CONFIG,
                MinSize: 0,
                MaxSize: 10,
                DesiredCapacity: instances,
                AvailabilityZones: [`${moto.env.AWS_REGION}a`],
            }),
        );
    }

    /** Latest published value of each metric for this queue (undefined when nothing was published). */
    async function published(queueName: string): Promise<Record<string, number | undefined>> {
        const names = [
            "QueueBacklog",
            "BacklogPerInstance",
            "InServiceInstances",
            "DesiredCapacity",
            "InstancesNeeded",
            "SecondsPerVideoUsed",
        ];
        const end = new Date(Date.now() + 60_000);
        const out = await cloudwatch.send(
            new GetMetricDataCommand({
                StartTime: new Date(end.getTime() - 3_600_000),
                EndTime: end,
                MetricDataQueries: names.map((MetricName, i) => ({
                    Id: `m${i}`,
                    MetricStat: {
                        Metric: { Namespace: NAMESPACE, MetricName, Dimensions: [{ Name: "QueueName", Value: queueName }] },
                        Period: 60,
                        Stat: "Average",
                    },
                })),
            }),
        );
        const result: Record<string, number | undefined> = {};
        names.forEach((name, i) => {
            result[name] = out.MetricDataResults?.find((r) => r.Id === `m${i}`)?.Values?.[0];
        });
        return result;
    }

    function lambdaEnv(queueUrl: string, asgName: string): Record<string, string> {
        return {
            QUEUE_URL: queueUrl,
            ASG_NAME: asgName,
            METRIC_NAMESPACE: NAMESPACE,
            LATENCY_OBJECTIVE_SECONDS: "600",
            SECONDS_PER_VIDEO: "60",
        };
    }

    it("publishes backlog = visible + in flight and backlog per InService instance", async () => {
        const queueUrl = await queueWith("jobs-busy", 7, 5);
        await groupWith("video-busy", 4);
        const handler = coldStart(lambdaEnv(queueUrl, "video-busy"));
        const logs = await capturingLogs(() => handler({}));
        assert.equal(logs.length, 1);
        assert.equal(logs[0].level, "info");
        assert.equal(logs[0].backlog, 12);
        assert.deepEqual(await published("jobs-busy"), {
            QueueBacklog: 12,
            BacklogPerInstance: 3,
            InServiceInstances: 4,
            DesiredCapacity: 4,
            // Nothing measured yet: 60 s per video, 10 per instance, ceil(12 / 10) + 1.
            InstancesNeeded: 3,
            SecondsPerVideoUsed: 60,
        });
    });

    it("publishes the backlog itself as backlog per instance when the group has zero instances", async () => {
        const queueUrl = await queueWith("jobs-cold", 2, 1);
        await groupWith("video-cold", 0);
        const handler = coldStart(lambdaEnv(queueUrl, "video-cold"));
        await capturingLogs(() => handler({}));
        assert.deepEqual(await published("jobs-cold"), {
            QueueBacklog: 3,
            BacklogPerInstance: 3,
            InServiceInstances: 0,
            DesiredCapacity: 0,
            InstancesNeeded: 2,
            SecondsPerVideoUsed: 60,
        });
    });

    it("publishes InServiceInstances from the group's lifecycle states (a Standby instance is not in service)", async () => {
        const queueUrl = await queueWith("jobs-standby", 6, 0);
        await groupWith("video-standby", 3);
        const before = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["video-standby"] }));
        const first = before.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId;
        assert.ok(first, "moto started the group's instances");
        await autoscaling.send(
            new EnterStandbyCommand({ AutoScalingGroupName: "video-standby", InstanceIds: [first], ShouldDecrementDesiredCapacity: true }),
        );
        const after = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["video-standby"] }));
        const states = (after.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.LifecycleState).sort();
        assert.deepEqual(states, ["InService", "InService", "Standby"], "three instances, one of them in Standby");
        const handler = coldStart(lambdaEnv(queueUrl, "video-standby"));
        await capturingLogs(() => handler({}));
        assert.deepEqual(await published("jobs-standby"), {
            QueueBacklog: 6,
            BacklogPerInstance: 3,
            InServiceInstances: 2,
            DesiredCapacity: 2,
            InstancesNeeded: 2,
            SecondsPerVideoUsed: 60,
        });
    });

    it("publishes zeros for an idle queue (a real zero, not a missing value)", async () => {
        const queueUrl = await queueWith("jobs-idle", 0, 0);
        await groupWith("video-idle", 2);
        const handler = coldStart(lambdaEnv(queueUrl, "video-idle"));
        await capturingLogs(() => handler({}));
        assert.deepEqual(await published("jobs-idle"), {
            QueueBacklog: 0,
            BacklogPerInstance: 0,
            InServiceInstances: 2,
            DesiredCapacity: 2,
            InstancesNeeded: 0,
            SecondsPerVideoUsed: 60,
        });
    });

    it("fails clearly and publishes nothing when the group does not exist", async () => {
        const queueUrl = await queueWith("jobs-nogroup", 3, 0);
        const handler = coldStart(lambdaEnv(queueUrl, "no-such-group"));
        const logs = await capturingLogs(() => assert.rejects(handler({}), /Auto Scaling group no-such-group not found/));
        assert.equal(logs[0]?.level, "error");
        assert.match(String(logs[0]?.detail), /no-such-group/);
        assert.deepEqual(await published("jobs-nogroup"), {
            QueueBacklog: undefined,
            BacklogPerInstance: undefined,
            InServiceInstances: undefined,
            DesiredCapacity: undefined,
            InstancesNeeded: undefined,
            SecondsPerVideoUsed: undefined,
        });
    });

    it("sizes with the seconds per video the workers published (GetMetricData against moto)", async () => {
        const queueUrl = await queueWith("jobs-measured", 9, 1);
        await groupWith("video-measured", 2);
        // Three jobs as the worker publishes them (worker/src/cloudwatch.ts): 300 s each, two minutes ago.
        const twoMinutesAgo = new Date(Date.now() - 120_000);
        await cloudwatch.send(
            new PutMetricDataCommand({
                Namespace: NAMESPACE,
                MetricData: [300, 300, 300].map((Value) => ({
                    MetricName: "SecondsPerVideo",
                    Value,
                    Unit: StandardUnit.Seconds,
                    Timestamp: twoMinutesAgo,
                    Dimensions: [{ Name: "QueueName", Value: "jobs-measured" }],
                })),
            }),
        );
        const handler = coldStart(lambdaEnv(queueUrl, "video-measured"));
        const logs = await capturingLogs(() => handler({}));
        assert.equal(logs[0].secondsPerVideoSource, "last hour");
        // 600 / 300 = 2 videos per instance: ceil(10 / 2) + 1 = 6 (the group's max is 10).
        assert.deepEqual(
            [(await published("jobs-measured")).SecondsPerVideoUsed, (await published("jobs-measured")).InstancesNeeded],
            [300, 6],
        );
    });

    it("keeps two instances on an empty queue when one of its beats in the last 15 minutes saw work", async () => {
        const queueUrl = await queueWith("jobs-spare", 0, 0);
        await groupWith("video-spare", 2);
        // What an earlier beat published five minutes ago.
        await cloudwatch.send(
            new PutMetricDataCommand({
                Namespace: NAMESPACE,
                MetricData: [
                    {
                        MetricName: "QueueBacklog",
                        Value: 4,
                        Unit: StandardUnit.Count,
                        Timestamp: new Date(Date.now() - 300_000),
                        Dimensions: [{ Name: "QueueName", Value: "jobs-spare" }],
                    },
                ],
            }),
        );
        const handler = coldStart(lambdaEnv(queueUrl, "video-spare"));
        const logs = await capturingLogs(() => handler({}));
        assert.equal(logs[0].recentWork, true);
        assert.equal((await published("jobs-spare")).InstancesNeeded, 2);
    });

    it("fails clearly and publishes nothing when the queue does not exist", async () => {
        await groupWith("video-noqueue", 1);
        const missingUrl = `${moto.endpoint}/123456789012/no-such-queue`;
        const handler = coldStart(lambdaEnv(missingUrl, "video-noqueue"));
        await capturingLogs(() => assert.rejects(handler({}), /queue .*no-such-queue does not exist/));
        assert.equal((await published("no-such-queue")).QueueBacklog, undefined);
    });

    it("sends SQS calls to the configured endpoint (AWS_ENDPOINT_URL) even when QUEUE_URL names AWS's own host", async () => {
        await queueWith("jobs-aws-url", 4, 0);
        await groupWith("video-aws-url", 2);
        const awsStyleUrl = `https://sqs.${moto.env.AWS_REGION}.amazonaws.com/123456789012/jobs-aws-url`;
        const handler = coldStart(lambdaEnv(awsStyleUrl, "video-aws-url"));
        await capturingLogs(() => handler({}));
        const { QueueBacklog, InServiceInstances } = await published("jobs-aws-url");
        assert.deepEqual({ QueueBacklog, InServiceInstances }, { QueueBacklog: 4, InServiceInstances: 2 });
    });

    it("refuses to start without its environment, naming the missing variable", () => {
        assert.throws(() => coldStart({ QUEUE_URL: undefined, ASG_NAME: "g", METRIC_NAMESPACE: NAMESPACE }), /QUEUE_URL is not set/);
        assert.throws(
            () => coldStart({ QUEUE_URL: `${moto.endpoint}/123456789012/q`, ASG_NAME: "g", METRIC_NAMESPACE: "AWS/SQS" }),
            /must not start with "AWS\/"/,
        );
    });
});
