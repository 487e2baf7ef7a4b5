// Test world for the video worker: the test process's moto (reset for each file), a bucket with S3 -> SQS notifications on
// input/, a job queue with a DLQ (redrive), an ASG with one instance, and helpers to run the real worker.
import {
    AutoScalingClient,
    CreateAutoScalingGroupCommand,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    CreateBucketCommand,
    GetObjectCommand,
    PutBucketNotificationConfigurationCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import {
    CreateQueueCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    SQSClient,
    type Message,
} from "@aws-sdk/client-sqs";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "../../src/log";
import { startWorker, type StartedWorker } from "../../src/main";

export const BUCKET = "videos";
export const RESULTS_PREFIX = "results/";

export interface World {
    s3: S3Client;
    sqs: SQSClient;
    autoScaling: AutoScalingClient;
    queueUrl: string;
    dlqUrl: string;
    instanceId: string;
    /** The instance's EC2 private DNS name: the Kubernetes node name EKS gives it (NODE_NAME in the pod). */
    nodeName: string;
    groupName: string;
}

export async function createWorld(options: { notifications?: boolean } = {}): Promise<World> {
    const s3 = new S3Client({ forcePathStyle: true });
    const sqs = new SQSClient({});
    const autoScaling = new AutoScalingClient({});
    const ec2 = new EC2Client({});
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: "video-jobs-dlq" }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes
        ?.QueueArn as string;
    const queue = await sqs.send(
        new CreateQueueCommand({
            QueueName: "video-jobs",
            Attributes: { VisibilityTimeout: "60", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) },
        }),
    );
    const queueUrl = queue.QueueUrl as string;
    if (options.notifications !== false) {
        const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes
            ?.QueueArn as string;
        await s3.send(
            new PutBucketNotificationConfigurationCommand({
                Bucket: BUCKET,
                NotificationConfiguration: {
                    QueueConfigurations: [
                        {
                            QueueArn: queueArn,
                            Events: ["s3:ObjectCreated:*"],
                            Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "input/" }] } },
                        },
                    ],
                },
            }),
        );
    }
    await ec2.send(
        new CreateLaunchTemplateCommand({
            LaunchTemplateName: "accel",
            LaunchTemplateData: { ImageId: "ami-12c6146b", InstanceType: "g4dn.xlarge" },
        }),
    );
    const groupName = "accel-nodes";
    await autoScaling.send(
        new CreateAutoScalingGroupCommand({
            AutoScalingGroupName: groupName,
            LaunchTemplate: { LaunchTemplateName: "accel", Version: "$Latest" },
            MinSize: 1,
            MaxSize: 1,
            DesiredCapacity: 1,
            AvailabilityZones: ["us-east-1a"],
        }),
    );
    const groups = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
    const instanceId = groups.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId as string;
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const nodeName = described.Reservations?.[0]?.Instances?.[0]?.PrivateDnsName;
    if (!nodeName) throw new Error(`moto gave instance ${instanceId} no private DNS name`);
    ec2.destroy();
    return { s3, sqs, autoScaling, queueUrl, dlqUrl: dlq.QueueUrl as string, instanceId, nodeName, groupName };
}

export function destroyWorld(world: World): void {
    world.s3.destroy();
    world.sqs.destroy();
    world.autoScaling.destroy();
}

/** This test process's own scratch directory: workers of other test runs on the machine never share it. */
const WORK_DIR = mkdtempSync(join(tmpdir(), "worker-scratch-"));
process.once("exit", () => rmSync(WORK_DIR, { recursive: true, force: true }));

export function workerEnv(world: World, modelServerUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        ...process.env,
        JOB_QUEUE_URL: world.queueUrl,
        DEAD_LETTER_QUEUE_URL: world.dlqUrl,
        RESULTS_BUCKET: BUCKET,
        RESULTS_PREFIX,
        MODEL_SERVER_URL: modelServerUrl,
        MODEL_NAME: "object_detection",
        BATCH_SIZE: "4",
        FRAME_WIDTH: "64",
        FRAME_HEIGHT: "48",
        SCORE_THRESHOLD: "0.5",
        SCALE_IN_PROTECTION: "on",
        // As in the pod: the node name from the downward API, resolved through EC2 (no instance metadata).
        NODE_NAME: world.nodeName,
        POLL_WAIT_SECONDS: "1",
        METRICS_PORT: "0",
        RETRY_BACKOFF_SECONDS: "0",
        // A failed Predict is tried again after 10, 20, 40 ... ms instead of the production 250, 500, 1000 ...:
        // the same retries, without waiting seconds for them in every test that injects a model fault.
        MODEL_RETRY_BASE_MS: "10",
        MODEL_WAIT_TIMEOUT_SECONDS: "20",
        LOG_LEVEL: "debug",
        WORK_DIR,
        ...extra,
    };
}

export interface LogCapture {
    log: Logger;
    lines: Record<string, unknown>[];
}

export function captureLogs(): LogCapture {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { log, lines };
}

/** Run the real worker in this process with --once semantics and wait for it to finish. */
export async function runWorkerOnce(
    env: NodeJS.ProcessEnv,
    capture = captureLogs(),
): Promise<{ started: StartedWorker; capture: LogCapture }> {
    const started = await startWorker({ env, once: true, log: capture.log });
    await started.done;
    return { started, capture };
}

export async function uploadFile(world: World, key: string, path: string): Promise<void> {
    await world.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(path) }));
}

export async function readResult(world: World, inputKey: string): Promise<string> {
    const out = await world.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${RESULTS_PREFIX}${inputKey}.json` }));
    return (await out.Body?.transformToString()) ?? "";
}

export async function sendJob(world: World, body: unknown): Promise<void> {
    await world.sqs.send(
        new SendMessageCommand({ QueueUrl: world.queueUrl, MessageBody: typeof body === "string" ? body : JSON.stringify(body) }),
    );
}

export interface QueueCounts {
    visible: number;
    inFlight: number;
}

export async function queueCounts(sqs: SQSClient, url: string): Promise<QueueCounts> {
    const out = await sqs.send(
        new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
    );
    return {
        visible: Number(out.Attributes?.ApproximateNumberOfMessages),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
}

/** Everything currently visible in a queue (received with a long visibility, so each is seen once). */
export async function drain(sqs: SQSClient, url: string): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
        const out = await sqs.send(
            new ReceiveMessageCommand({
                QueueUrl: url,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 0,
                VisibilityTimeout: 60,
                MessageAttributeNames: ["All"],
            }),
        );
        if (!out.Messages?.length) return all;
        all.push(...out.Messages);
    }
}

export async function isProtected(world: World): Promise<boolean | undefined> {
    const out = await world.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [world.instanceId] }));
    return out.AutoScalingInstances?.[0]?.ProtectedFromScaleIn;
}
