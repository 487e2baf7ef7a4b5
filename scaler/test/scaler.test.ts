// The beat's I/O logic with fake clients: what is sent, and that doubtful inputs publish nothing.
import { strict as assert } from "node:assert";
import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { ScalerEnv } from "../src/env";
import { createScaler, type ScalerClients } from "../src/scaler";

const env: ScalerEnv = {
    queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
    queueName: "jobs",
    asgName: "video",
    metricNamespace: "ns/scaling",
};

interface Fakes {
    attributes?: Record<string, string>;
    sqsError?: Error;
    groups?: { AutoScalingGroupName: string; DesiredCapacity?: number; Instances: { LifecycleState: string }[] }[];
}

function fakeClients(f: Fakes): { clients: ScalerClients; puts: PutMetricDataCommand[] } {
    const puts: PutMetricDataCommand[] = [];
    const clients = {
        sqs: {
            send: async (cmd: unknown) => {
                assert.ok(cmd instanceof GetQueueAttributesCommand);
                if (f.sqsError) throw f.sqsError;
                return { Attributes: f.attributes };
            },
        },
        autoscaling: {
            send: async (cmd: unknown) => {
                assert.ok(cmd instanceof DescribeAutoScalingGroupsCommand);
                return { AutoScalingGroups: f.groups ?? [] };
            },
        },
        cloudwatch: {
            send: async (cmd: unknown) => {
                assert.ok(cmd instanceof PutMetricDataCommand);
                puts.push(cmd);
                return {};
            },
        },
    } as unknown as ScalerClients; // the fakes implement only `send`, which is all the scaler calls
    return { clients, puts };
}

const group = (states: string[], desired = states.length) => ({
    AutoScalingGroupName: "video",
    DesiredCapacity: desired,
    Instances: states.map((LifecycleState) => ({ LifecycleState })),
});

describe("scaler beat (fake clients)", () => {
    const quiet = () => undefined;

    it("publishes four Count metrics in the configured namespace with one QueueName dimension", async () => {
        const { clients, puts } = fakeClients({
            attributes: { ApproximateNumberOfMessages: "5", ApproximateNumberOfMessagesNotVisible: "1" },
            groups: [group(["InService", "InService", "Pending"], 3)],
        });
        const at = new Date("2026-11-22T04:00:00Z");
        await createScaler(env, clients, quiet, () => at)();
        assert.equal(puts.length, 1);
        const input = puts[0].input;
        assert.equal(input.Namespace, "ns/scaling");
        assert.deepEqual(
            input.MetricData?.map((d) => [d.MetricName, d.Value, d.Unit, d.Timestamp, d.Dimensions]),
            [
                ["QueueBacklog", 6, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
                ["BacklogPerInstance", 3, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
                // Only InService instances count (the Pending one does not), unlike DesiredCapacity.
                ["InServiceInstances", 2, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
                ["DesiredCapacity", 3, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
            ],
        );
    });

    for (const [what, attributes] of [
        ["a missing in-flight count", { ApproximateNumberOfMessages: "5" }],
        ["a NaN visible count", { ApproximateNumberOfMessages: "NaN", ApproximateNumberOfMessagesNotVisible: "0" }],
        ["no attributes at all", undefined],
    ] as const) {
        it(`publishes nothing and throws on ${what}, logging a structured error`, async () => {
            const { clients, puts } = fakeClients({ attributes, groups: [group(["InService"])] });
            const logs: string[] = [];
            await assert.rejects(createScaler(env, clients, (l) => logs.push(l))(), /ApproximateNumberOf/);
            assert.equal(puts.length, 0);
            const line = JSON.parse(logs[0]) as Record<string, unknown>;
            assert.equal(line.level, "error");
            assert.equal(line.error, "InvalidSampleError");
        });
    }

    it("publishes nothing when the group is absent or reports no desired capacity", async () => {
        const absent = fakeClients({ attributes: { ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" } });
        await assert.rejects(createScaler(env, absent.clients, quiet)(), /Auto Scaling group video not found/);
        assert.equal(absent.puts.length, 0);
        const noDesired = fakeClients({
            attributes: { ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [{ AutoScalingGroupName: "video", Instances: [] }],
        });
        await assert.rejects(createScaler(env, noDesired.clients, quiet)(), /no DesiredCapacity/);
        assert.equal(noDesired.puts.length, 0);
    });

    it("turns SQS's non-existent-queue error into a message naming QUEUE_URL", async () => {
        const err = Object.assign(new Error("The specified queue does not exist."), { name: "QueueDoesNotExist" });
        const { clients, puts } = fakeClients({ sqsError: err, groups: [group(["InService"])] });
        await assert.rejects(createScaler(env, clients, quiet)(), /queue https:\/\/sqs.*jobs does not exist \(QUEUE_URL\)/);
        assert.equal(puts.length, 0);
    });
});
