// The beat's I/O logic with fake clients: what is read and sent, and that doubtful inputs publish nothing.
import { strict as assert } from "node:assert";
import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { GetMetricDataCommand, PutMetricDataCommand, type MetricDataResult } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { ScalerEnv } from "../src/env";
import { createScaler, type ScalerClients } from "../src/scaler";

const env: ScalerEnv = {
    queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
    queueName: "jobs",
    asgName: "video",
    metricNamespace: "ns/scaling",
    latencyObjectiveSeconds: 600,
    secondsPerVideo: 60,
};

/** What CloudWatch holds, as the scaler's GetMetricData queries see it. */
interface FakeHistory {
    hour?: { sum: number; count: number };
    day?: { sum: number; count: number };
    /** QueueBacklog datapoints: [timestamp, maximum]. */
    backlog?: [Date, number][];
    error?: Error;
}

interface Fakes {
    attributes?: Record<string, string>;
    sqsError?: Error;
    groups?: {
        AutoScalingGroupName: string;
        DesiredCapacity?: number;
        MinSize?: number;
        MaxSize?: number;
        Instances: { LifecycleState: string }[];
    }[];
    history?: FakeHistory;
}

function fakeClients(f: Fakes): { clients: ScalerClients; puts: PutMetricDataCommand[]; reads: GetMetricDataCommand[] } {
    const puts: PutMetricDataCommand[] = [];
    const reads: GetMetricDataCommand[] = [];
    const h = f.history ?? {};
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
                if (cmd instanceof GetMetricDataCommand) {
                    reads.push(cmd);
                    if (h.error) throw h.error;
                    const windowMinutes = ((cmd.input.EndTime as Date).getTime() - (cmd.input.StartTime as Date).getTime()) / 60_000;
                    const w = windowMinutes === 60 ? h.hour : h.day;
                    const results: MetricDataResult[] = (cmd.input.MetricDataQueries ?? []).map((q) => {
                        if (q.Id === "backlog_max") {
                            return { Id: q.Id, Timestamps: (h.backlog ?? []).map(([t]) => t), Values: (h.backlog ?? []).map(([, v]) => v) };
                        }
                        const v = q.Id === "spv_sum" ? w?.sum : w?.count;
                        return {
                            Id: q.Id,
                            Timestamps: v === undefined ? [] : [cmd.input.StartTime as Date],
                            Values: v === undefined ? [] : [v],
                        };
                    });
                    return { MetricDataResults: results };
                }
                assert.ok(cmd instanceof PutMetricDataCommand);
                puts.push(cmd);
                return {};
            },
        },
    } as unknown as ScalerClients; // the fakes implement only `send`, which is all the scaler calls
    return { clients, puts, reads };
}

const group = (states: string[], desired = states.length, minSize = 0, maxSize = 6) => ({
    AutoScalingGroupName: "video",
    DesiredCapacity: desired,
    MinSize: minSize,
    MaxSize: maxSize,
    Instances: states.map((LifecycleState) => ({ LifecycleState })),
});

const published = (put: PutMetricDataCommand) => Object.fromEntries((put.input.MetricData ?? []).map((d) => [d.MetricName, d.Value]));

describe("scaler beat (fake clients)", () => {
    const quiet = () => undefined;

    it("publishes backlog, group and rule metrics in the configured namespace with one QueueName dimension", async () => {
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
                // No measurement yet: the configured 60 s, so 10 videos per instance; 6 waiting need 1 + 1 spare.
                ["InstancesNeeded", 2, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
                ["AllowedBacklogPerInstance", 10, "Count", at, [{ Name: "QueueName", Value: "jobs" }]],
                ["SecondsPerVideoUsed", 60, "Seconds", at, [{ Name: "QueueName", Value: "jobs" }]],
            ],
        );
    });

    it("sizes with the workers' mean seconds per video of the last hour, asking for the day only when the hour is thin", async () => {
        const attributes = { ApproximateNumberOfMessages: "10", ApproximateNumberOfMessagesNotVisible: "2" };
        const hourly = fakeClients({ attributes, groups: [group(["InService", "InService"])], history: { hour: { sum: 900, count: 3 } } });
        const beat = await createScaler(env, hourly.clients, quiet)();
        // 300 s per video: 2 per instance; 12 videos need 6 + 1, capped at the group's max of 6.
        assert.deepEqual(
            [beat.secondsPerVideo, beat.secondsPerVideoSource, beat.allowedBacklogPerInstance, beat.instancesNeeded],
            [300, "last hour", 2, 6],
        );
        assert.equal(hourly.reads.length, 1, "the hour was enough");

        const daily = fakeClients({
            attributes,
            groups: [group(["InService"], 1, 0, 10)],
            history: { hour: { sum: 200, count: 2 }, day: { sum: 2000, count: 20 } },
        });
        const dayBeat = await createScaler(env, daily.clients, quiet)();
        assert.deepEqual([dayBeat.secondsPerVideo, dayBeat.secondsPerVideoSource, dayBeat.instancesNeeded], [100, "last day", 3]);
        assert.equal(daily.reads.length, 2);
    });

    it("reads its history in whole minutes ending before this beat, from the worker's and its own metrics", async () => {
        const { clients, reads } = fakeClients({
            attributes: { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [group([])],
        });
        await createScaler(env, clients, quiet, () => new Date("2026-11-22T04:00:42.123Z"))();
        const [hour, day] = reads.map((r) => r.input);
        assert.equal((hour.EndTime as Date).toISOString(), "2026-11-22T04:00:00.000Z");
        assert.equal((hour.StartTime as Date).toISOString(), "2026-11-22T03:00:00.000Z");
        assert.equal((day.StartTime as Date).toISOString(), "2026-11-21T04:00:00.000Z");
        assert.deepEqual(
            hour.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat, q.MetricStat?.Period]),
            [
                ["spv_sum", "SecondsPerVideo", "Sum", 3600],
                ["spv_count", "SecondsPerVideo", "SampleCount", 3600],
                ["backlog_max", "QueueBacklog", "Maximum", 60],
            ],
        );
        for (const q of [...(hour.MetricDataQueries ?? []), ...(day.MetricDataQueries ?? [])]) {
            assert.equal(q.MetricStat?.Metric?.Namespace, "ns/scaling");
            assert.deepEqual(q.MetricStat?.Metric?.Dimensions, [{ Name: "QueueName", Value: "jobs" }]);
        }
    });

    it("keeps two instances while its own QueueBacklog datapoints show work within the last 15 minutes", async () => {
        const at = new Date("2026-11-22T04:00:30Z");
        const run = async (backlog: [Date, number][]) => {
            const f = fakeClients({
                attributes: { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" },
                groups: [group(["InService", "InService"])],
                history: { backlog },
            });
            return (await createScaler(env, f.clients, quiet, () => at)()).instancesNeeded;
        };
        assert.equal(await run([[new Date("2026-11-22T03:50:00Z"), 3]]), 2, "work 10 minutes ago");
        assert.equal(await run([[new Date("2026-11-22T03:40:00Z"), 3]]), 0, "work 20 minutes ago only");
        assert.equal(await run([[new Date("2026-11-22T03:55:00Z"), 0]]), 0, "a zero is no work");
    });

    it("publishes with the configured seconds per video when CloudWatch cannot be read for a passing reason, and says so", async () => {
        const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
        const { clients, puts } = fakeClients({
            attributes: { ApproximateNumberOfMessages: "3", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [group(["InService"])],
            history: { error: throttled },
        });
        const logs: string[] = [];
        await createScaler(env, clients, (l) => logs.push(l))();
        assert.equal(puts.length, 1);
        assert.equal(published(puts[0]).SecondsPerVideoUsed, 60);
        assert.equal(published(puts[0]).InstancesNeeded, 2);
        const line = JSON.parse(logs[0]) as Record<string, unknown>;
        assert.equal(line.level, "warn");
        assert.match(String(line.historyError), /ThrottlingException: Rate exceeded/);
    });

    it("fails the beat when it may not read CloudWatch (a permission is missing: configuration, not weather)", async () => {
        const denied = Object.assign(new Error("not authorized to perform: cloudwatch:GetMetricData"), { name: "AccessDenied" });
        const { clients, puts } = fakeClients({
            attributes: { ApproximateNumberOfMessages: "3", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [group(["InService"])],
            history: { error: denied },
        });
        await assert.rejects(createScaler(env, clients, quiet)(), /GetMetricData/);
        assert.equal(puts.length, 0);
    });

    it("keeps InstancesNeeded within the live group's MinSize..MaxSize", async () => {
        const idle = fakeClients({
            attributes: { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [group(["InService"], 1, 1, 4)],
        });
        assert.equal((await createScaler(env, idle.clients, quiet)()).instancesNeeded, 1);
        const flood = fakeClients({
            attributes: { ApproximateNumberOfMessages: "500", ApproximateNumberOfMessagesNotVisible: "0" },
            groups: [group(["InService"], 1, 1, 4)],
        });
        assert.equal((await createScaler(env, flood.clients, quiet)()).instancesNeeded, 4);
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
            groups: [{ AutoScalingGroupName: "video", MinSize: 0, MaxSize: 4, Instances: [] }],
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
