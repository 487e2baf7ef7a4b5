// Video job plumbing: uploads under the input prefix of one bucket become SQS jobs (S3 event
// notifications); failed jobs land in a dead-letter queue; results expire.
//
// Decisions:
// - Bucket encryption is SSE-S3 (AES256): the worker role then needs no KMS grants, and nothing here
//   needs a customer-managed key. Queues use SQS-managed SSE: S3 event notifications cannot be sent
//   to a queue encrypted with the AWS-managed SQS KMS key, and SSE-SQS needs no key policy.
// - Versioning is off: inputs are transient jobs and results are reproducible from them; versions
//   would keep every expired result as a billed noncurrent version.
// - Both prefixes expire (inputs after inputExpiryDays, default the dead-letter queue's 14 days; results after
//   resultsExpiryDays). `destroy` deletes the bucket with whatever is left (forceDestroy), unless protectData
//   keeps it: then the bucket and its settings stay in the account, outside the stack.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransportStatement, hardenBucket } from "../platform/hardened-bucket";
import { DLQ_RETENTION_SECONDS, JOB_RETENTION_SECONDS } from "./retention";

export interface VideoJobsArgs {
    /** Key prefix uploads land under (S3 notifications fire for it only). */
    inputPrefix: string;
    /** Key prefix results are written under. */
    resultsPrefix: string;
    /** Days after which results expire; 0 keeps them. */
    resultsExpiryDays: number;
    /** Days after which uploaded videos (under inputPrefix) expire; 0 keeps them. */
    inputExpiryDays: number;
    /**
     * Keep the bucket, its objects and its settings when the stack (or the video feature) is removed: Pulumi
     * drops them from the state without deleting them (retainOnDelete). false: `destroy` empties and deletes
     * the bucket (forceDestroy).
     */
    protectData: boolean;
    /** The job queue's visibility timeout. */
    visibilityTimeoutSeconds: number;
    /** Receives before a job goes to the dead-letter queue. */
    maxReceiveCount: number;
}

export { DLQ_RETENTION_SECONDS, JOB_RETENTION_SECONDS };

export class VideoJobs extends pulumi.ComponentResource {
    readonly bucket: aws.s3.Bucket;
    readonly queue: aws.sqs.Queue;
    readonly deadLetterQueue: aws.sqs.Queue;
    readonly inputPrefix: string;
    readonly resultsPrefix: string;

    constructor(name: string, args: VideoJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:VideoJobs", name, {}, opts);
        const child = { parent: this };
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        this.inputPrefix = args.inputPrefix;
        this.resultsPrefix = args.resultsPrefix;

        // The bucket and everything that configures it stay when protectData keeps the data (the S3 notification
        // goes: the queue it points at is deleted).
        const keep: pulumi.CustomResourceOptions = { parent: this, retainOnDelete: args.protectData };
        const bucket = new aws.s3.Bucket(name, { forceDestroy: !args.protectData }, keep);
        this.bucket = bucket;
        const { publicAccess } = hardenBucket(name, bucket, this, { retainOnDelete: args.protectData });
        const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
            {
                id: "abort-incomplete-uploads",
                status: "Enabled",
                filter: {},
                abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            },
        ];
        if (args.inputExpiryDays > 0) {
            rules.push({
                id: "expire-inputs",
                status: "Enabled",
                filter: { prefix: args.inputPrefix },
                expiration: { days: args.inputExpiryDays },
            });
        }
        if (args.resultsExpiryDays > 0) {
            rules.push({
                id: "expire-results",
                status: "Enabled",
                filter: { prefix: args.resultsPrefix },
                expiration: { days: args.resultsExpiryDays },
            });
        }
        new aws.s3.BucketLifecycleConfiguration(name, { bucket: bucket.id, rules }, keep);
        new aws.s3.BucketPolicy(
            name,
            {
                bucket: bucket.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [denyInsecureTransportStatement(bucket)],
                }),
            },
            { ...keep, dependsOn: [publicAccess] },
        );

        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-dlq`,
            {
                messageRetentionSeconds: DLQ_RETENTION_SECONDS,
                sqsManagedSseEnabled: true,
            },
            child,
        );
        this.queue = new aws.sqs.Queue(
            `${name}-jobs`,
            {
                visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
                receiveWaitTimeSeconds: 20,
                messageRetentionSeconds: JOB_RETENTION_SECONDS,
                sqsManagedSseEnabled: true,
                redrivePolicy: pulumi.jsonStringify({
                    deadLetterTargetArn: this.deadLetterQueue.arn,
                    maxReceiveCount: args.maxReceiveCount,
                }),
            },
            child,
        );

        const queuePolicy = new aws.sqs.QueuePolicy(
            `${name}-jobs`,
            {
                queueUrl: this.queue.url,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AllowJobBucketNotifications",
                            Effect: "Allow",
                            Principal: { Service: "s3.amazonaws.com" },
                            Action: "sqs:SendMessage",
                            Resource: this.queue.arn,
                            Condition: {
                                ArnEquals: { "aws:SourceArn": bucket.arn },
                                StringEquals: { "aws:SourceAccount": accountId },
                            },
                        },
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "sqs:*",
                            Resource: this.queue.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                }),
            },
            child,
        );

        // S3 validates the destination when the notification is created: the queue policy must exist first.
        new aws.s3.BucketNotification(
            name,
            {
                bucket: bucket.id,
                queues: [{ queueArn: this.queue.arn, events: ["s3:ObjectCreated:*"], filterPrefix: args.inputPrefix }],
            },
            { parent: this, dependsOn: [queuePolicy] },
        );

        this.registerOutputs({ bucket: bucket.bucket, queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
    }
}
