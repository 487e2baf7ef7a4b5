// Queue health alarms for the video pipeline: a dead-letter queue that is not empty, and jobs waiting
// too long. Both notify an SNS topic: the one given, or one created here.
//
// Topic encryption: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key
// alias/aws/sns (its key policy cannot grant cloudwatch.amazonaws.com kms:GenerateDataKey*/Decrypt,
// and the alarm action fails). So the topic created here is encrypted with its own customer-managed
// key (rotation on) whose policy lets CloudWatch use it for this account only.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface VideoQueueAlarmsArgs {
    /** Name of the video job queue. */
    queueName: pulumi.Input<string>;
    /** Name of its dead-letter queue. */
    deadLetterQueueName: pulumi.Input<string>;
    /** Alarm when the oldest waiting job is older than this (ApproximateAgeOfOldestMessage), seconds. */
    oldestMessageAgeThresholdSeconds: number;
    /** Existing SNS topic to notify. When absent, an encrypted topic is created (see topicArn). Default undefined. */
    alarmTopicArn?: pulumi.Input<string>;
    /** Subscribe this address to the created topic (ignored when alarmTopicArn is given). Default undefined: no subscription. */
    alarmEmail?: string;
    /** Tags of the resources made here; default none (the provider's default tags still apply). */
    tags?: Record<string, string>;
    /** The stack's region (the alarms' ARNs in the topic policy). Default: the provider's, read with aws.getRegion. */
    region?: string;
}

interface PolicyStatement {
    Sid: string;
    Effect: "Allow";
    Principal: { AWS: string } | { Service: string };
    Action: string | string[];
    Resource: string;
    Condition?: Record<string, Record<string, string>>;
}

/** Key policy of the alarm topic's KMS key (exported for tests). */
export function alarmTopicKeyPolicy(p: { partition: string; accountId: string }): string {
    const statements: PolicyStatement[] = [
        {
            // The account's own administrators keep control of the key (AWS's default key-policy statement;
            // in a key policy, Resource "*" means this key). Without it the key could become unmanageable.
            Sid: "AccountAdministers",
            Effect: "Allow",
            Principal: { AWS: `arn:${p.partition}:iam::${p.accountId}:root` },
            Action: "kms:*",
            Resource: "*",
        },
        {
            Sid: "CloudWatchAlarmsEncryptToTopic",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": p.accountId } },
        },
    ];
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Topic policy: the account keeps publishing rights; CloudWatch alarms of this account may publish. */
export function alarmTopicPolicy(p: { topicArn: string; partition: string; region: string; accountId: string }): string {
    const statements: PolicyStatement[] = [
        {
            Sid: "AccountPublishes",
            Effect: "Allow",
            Principal: { AWS: `arn:${p.partition}:iam::${p.accountId}:root` },
            Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"],
            Resource: p.topicArn,
        },
        {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: p.topicArn,
            Condition: {
                StringEquals: { "aws:SourceAccount": p.accountId },
                ArnLike: { "aws:SourceArn": `arn:${p.partition}:cloudwatch:${p.region}:${p.accountId}:alarm:*` },
            },
        },
    ];
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export class VideoQueueAlarms extends pulumi.ComponentResource {
    /** The topic the alarms notify (given or created). */
    readonly topicArn: pulumi.Output<string>;
    readonly deadLetterAlarmName: pulumi.Output<string>;
    readonly oldestMessageAlarmName: pulumi.Output<string>;

    constructor(name: string, args: VideoQueueAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:alarms:VideoQueueAlarms", name, {}, opts);
        const threshold = args.oldestMessageAgeThresholdSeconds;
        if (!Number.isInteger(threshold) || threshold < 60) {
            throw new pulumi.InputPropertyError({
                propertyPath: "oldestMessageAgeThresholdSeconds",
                reason: `VideoQueueAlarms: oldestMessageAgeThresholdSeconds must be an integer >= 60, got ${threshold}`,
            });
        }
        if (args.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.alarmEmail)) {
            throw new pulumi.InputPropertyError({
                propertyPath: "alarmEmail",
                reason: `VideoQueueAlarms: alarmEmail is not an email address: ${args.alarmEmail}`,
            });
        }
        const tags = args.tags ?? {};
        const parent = { parent: this };

        this.topicArn = args.alarmTopicArn ? pulumi.output(args.alarmTopicArn) : this.createTopic(name, args.alarmEmail, tags, args.region);
        const actions = [this.topicArn];

        const deadLetter = new aws.cloudwatch.MetricAlarm(
            `${name}-dlq-not-empty`,
            {
                alarmDescription:
                    "Video jobs reached the dead-letter queue: they failed maxReceiveCount times. Inspect, fix, then `npm run dlq:replay`.",
                namespace: "AWS/SQS",
                metricName: "ApproximateNumberOfMessagesVisible",
                dimensions: { QueueName: args.deadLetterQueueName },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 1,
                threshold: 0,
                comparisonOperator: "GreaterThanThreshold",
                // An idle queue stops emitting SQS metrics: no data means nothing arrived.
                treatMissingData: "notBreaching",
                alarmActions: actions,
                okActions: actions,
                tags,
            },
            parent,
        );
        const oldest = new aws.cloudwatch.MetricAlarm(
            `${name}-oldest-job-age`,
            {
                alarmDescription: `The oldest waiting video job is older than ${threshold} s for 3 minutes: the group is not keeping up (max size? start-up failing?).`,
                namespace: "AWS/SQS",
                metricName: "ApproximateAgeOfOldestMessage",
                dimensions: { QueueName: args.queueName },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                threshold,
                comparisonOperator: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
                alarmActions: actions,
                okActions: actions,
                tags,
            },
            parent,
        );

        this.deadLetterAlarmName = deadLetter.name;
        this.oldestMessageAlarmName = oldest.name;
        this.registerOutputs({
            topicArn: this.topicArn,
            deadLetterAlarmName: this.deadLetterAlarmName,
            oldestMessageAlarmName: this.oldestMessageAlarmName,
        });
    }

    private createTopic(name: string, email: string | undefined, tags: Record<string, string>, region?: string): pulumi.Output<string> {
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const partition = aws.getPartitionOutput({}, parent);
        const regionName = region ?? aws.getRegionOutput({}, parent).region;
        const key = new aws.kms.Key(
            `${name}-alarm-topic-key`,
            {
                description: "Encrypts the video pipeline's alarm topic (usable by CloudWatch alarms of this account)",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi
                    .all([partition.partition, identity.accountId])
                    .apply(([partitionName, accountId]) => alarmTopicKeyPolicy({ partition: partitionName, accountId })),
                tags,
            },
            parent,
        );
        const topic = new aws.sns.Topic(`${name}-alarm-topic`, { kmsMasterKeyId: key.arn, tags }, parent);
        new aws.sns.TopicPolicy(
            `${name}-alarm-topic-policy`,
            {
                arn: topic.arn,
                policy: pulumi
                    .all([topic.arn, partition.partition, regionName, identity.accountId])
                    .apply(([topicArn, partitionName, regionName, accountId]) =>
                        alarmTopicPolicy({ topicArn, partition: partitionName, region: regionName, accountId }),
                    ),
            },
            parent,
        );
        if (email) {
            new aws.sns.TopicSubscription(`${name}-alarm-email`, { topic: topic.arn, protocol: "email", endpoint: email }, parent);
        }
        return topic.arn;
    }
}
