// VideoQueueAlarms under pulumi mocks.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { VideoQueueAlarms } from "../../video/alarms";
import { MOCK_ACCOUNT_ID, MOCK_REGION, setComponentMocks, type Recorded } from "../support/component-mocks";

interface Statement {
    Sid: string;
    Principal: { AWS?: string; Service?: string };
    Action: string | string[];
    Resource: string;
    Condition?: Record<string, Record<string, string>>;
}

function resolved<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("VideoQueueAlarms component", () => {
    const created: Recorded[] = [];
    const calls: string[] = [];
    const ofComponent = (prefix: string) => created.filter((r) => r.name.startsWith(prefix));
    const alarm = (prefix: string, part: string) => {
        const found = ofComponent(prefix).filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name.includes(part));
        assert.equal(found.length, 1);
        return found[0].inputs;
    };

    before(async () => {
        await setComponentMocks("alarms-test", created, (args) => {
            calls.push(args.token);
            return { accountId: MOCK_ACCOUNT_ID, partition: "aws", region: MOCK_REGION, name: MOCK_REGION };
        });
        const own = new VideoQueueAlarms("own", {
            queueName: "video-jobs",
            deadLetterQueueName: "video-jobs-dlq",
            oldestMessageAgeThresholdSeconds: 1800,
            alarmEmail: "ops@example.com",
        });
        const given = new VideoQueueAlarms("given", {
            queueName: "video-jobs",
            deadLetterQueueName: "video-jobs-dlq",
            oldestMessageAgeThresholdSeconds: 900,
            alarmTopicArn: "arn:aws:sns:us-west-2:123456789012:existing",
        });
        await Promise.all([
            resolved(own.deadLetterAlarmName),
            resolved(own.oldestMessageAlarmName),
            resolved(given.deadLetterAlarmName),
            resolved(given.oldestMessageAlarmName),
        ]);
        // The topic policy resolves after the topic; wait until it has been registered.
        for (let i = 0; i < 50 && !created.some((r) => r.type === "aws:sns/topicPolicy:TopicPolicy"); i++) {
            await new Promise((r) => setTimeout(r, 10));
        }
    });

    it("alarms as soon as the dead-letter queue holds a message", () => {
        const a = alarm("own", "dlq-not-empty");
        assert.equal(a.namespace, "AWS/SQS");
        assert.equal(a.metricName, "ApproximateNumberOfMessagesVisible");
        assert.deepEqual(a.dimensions, { QueueName: "video-jobs-dlq" });
        assert.equal(a.comparisonOperator, "GreaterThanThreshold");
        assert.equal(a.threshold, 0);
        assert.equal(a.evaluationPeriods, 1);
        assert.equal(a.treatMissingData, "notBreaching");
    });

    it("alarms when the oldest job on the job queue is older than the threshold", () => {
        const a = alarm("own", "oldest-job-age");
        assert.equal(a.metricName, "ApproximateAgeOfOldestMessage");
        assert.deepEqual(a.dimensions, { QueueName: "video-jobs" });
        assert.equal(a.threshold, 1800);
        assert.equal(a.comparisonOperator, "GreaterThanThreshold");
        assert.equal(alarm("given", "oldest-job-age").threshold, 900);
    });

    it("notifies a given topic and creates none", () => {
        for (const part of ["dlq-not-empty", "oldest-job-age"]) {
            assert.deepEqual(alarm("given", part).alarmActions, ["arn:aws:sns:us-west-2:123456789012:existing"]);
            assert.deepEqual(alarm("given", part).okActions, ["arn:aws:sns:us-west-2:123456789012:existing"]);
        }
        assert.ok(!ofComponent("given").some((r) => r.type.startsWith("aws:sns/") || r.type.startsWith("aws:kms/")));
    });

    it("otherwise creates a topic encrypted with its own key that CloudWatch alarms can use", () => {
        const topic = ofComponent("own").find((r) => r.type === "aws:sns/topic:Topic");
        assert.ok(topic);
        const key = ofComponent("own").find((r) => r.type === "aws:kms/key:Key");
        assert.ok(key);
        assert.equal(key.inputs.enableKeyRotation, true);
        assert.equal(topic.inputs.kmsMasterKeyId, "arn:aws:kms:us-west-2:123456789012:own-alarm-topic-key-generated");
        assert.notEqual(topic.inputs.kmsMasterKeyId, "alias/aws/sns", "CloudWatch alarms cannot use the AWS-managed SNS key");
        const keyPolicy = JSON.parse(String(key.inputs.policy)) as { Statement: Statement[] };
        const cw = keyPolicy.Statement.find((s) => s.Principal.Service === "cloudwatch.amazonaws.com");
        assert.ok(cw);
        assert.deepEqual(cw.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
        assert.deepEqual(cw.Condition, { StringEquals: { "aws:SourceAccount": "123456789012" } });

        const topicPolicy = ofComponent("own").find((r) => r.type === "aws:sns/topicPolicy:TopicPolicy");
        assert.ok(topicPolicy);
        const tp = JSON.parse(String(topicPolicy.inputs.policy)) as { Statement: Statement[] };
        const publish = tp.Statement.find((s) => s.Principal.Service === "cloudwatch.amazonaws.com");
        assert.ok(publish);
        assert.equal(publish.Action, "sns:Publish");
        assert.equal(publish.Resource, "arn:aws:sns:us-west-2:123456789012:own-alarm-topic-generated");
        assert.deepEqual(publish.Condition?.ArnLike, { "aws:SourceArn": "arn:aws:cloudwatch:us-west-2:123456789012:alarm:*" });

        const sub = ofComponent("own").find((r) => r.type === "aws:sns/topicSubscription:TopicSubscription");
        assert.equal(sub?.inputs.protocol, "email");
        assert.equal(sub?.inputs.endpoint, "ops@example.com");
        for (const part of ["dlq-not-empty", "oldest-job-age"]) {
            assert.deepEqual(alarm("own", part).alarmActions, ["arn:aws:sns:us-west-2:123456789012:own-alarm-topic-generated"]);
        }
    });

    it("rejects a threshold under a minute and a malformed email", () => {
        assert.throws(
            () => new VideoQueueAlarms("bad", { queueName: "q", deadLetterQueueName: "d", oldestMessageAgeThresholdSeconds: 5 }),
            /oldestMessageAgeThresholdSeconds/,
        );
        assert.throws(
            () =>
                new VideoQueueAlarms("bad2", {
                    queueName: "q",
                    deadLetterQueueName: "d",
                    oldestMessageAgeThresholdSeconds: 600,
                    alarmEmail: "not-an-address",
                }),
            /alarmEmail/,
        );
    });
});
