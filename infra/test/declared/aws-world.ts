// The AWS side of a plan, created in moto as `pulumi up` would leave it for the pods: the stack's
// queues (with their redrive policies and timeouts), its buckets and the bucket's S3 -> SQS
// notification, and the Auto Scaling group EKS makes for the video node group with the one instance
// the test's pod runs on. Names, regions and attributes come from the plan's resources.
import {
    AutoScalingClient,
    CreateAutoScalingGroupCommand,
    DescribeAutoScalingGroupsCommand,
    DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    CreateBucketCommand,
    PutBucketNotificationConfigurationCommand,
    S3Client,
    type BucketLocationConstraint,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { MockRunResult, RecordedResource } from "../../mock-run/mock-run";

export interface AwsClients {
    s3: S3Client;
    sqs: SQSClient;
    autoScaling: AutoScalingClient;
    ec2: EC2Client;
    destroy(): void;
}

/** Clients for moto in one region, with moto's test credentials (the test's own environment is not read). */
export function awsClients(endpoint: string, region: string): AwsClients {
    const common = { endpoint, region, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
    const clients = {
        s3: new S3Client({ ...common, forcePathStyle: true }),
        sqs: new SQSClient(common),
        autoScaling: new AutoScalingClient(common),
        ec2: new EC2Client(common),
    };
    return { ...clients, destroy: () => Object.values(clients).forEach((c) => c.destroy()) };
}

export interface StackWorld {
    region: string;
    /** Queue name -> URL, as moto returns it. */
    queues: Map<string, string>;
    buckets: string[];
    /** The video node group's Auto Scaling group and the instance the pod runs on, when the plan has a video scaler. */
    /** The video group's one instance, and its EC2 private DNS name: the Kubernetes node name EKS gives it. */
    videoGroup?: { name: string; instanceId: string; nodeName: string };
}

function ofType(plan: MockRunResult, type: string): RecordedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

/** The bucket a resource's `bucket` input names: the provider's id of an aws.s3.Bucket is its name. */
export function bucketNamed(plan: MockRunResult, bucketInput: unknown): string {
    const bucket = ofType(plan, "aws:s3/bucket:Bucket").find((b) => b.physicalName === bucketInput || `${b.name}-id` === bucketInput);
    if (bucket?.physicalName === undefined) throw new Error(`no bucket ${String(bucketInput)} in the plan`);
    return bucket.physicalName;
}

export async function createStackWorld(plan: MockRunResult, aws: AwsClients, region: string): Promise<StackWorld> {
    const world: StackWorld = { region, queues: new Map(), buckets: [] };
    // Queues: dead-letter targets first, so the redrive policies point at queues that exist.
    const queues = ofType(plan, "aws:sqs/queue:Queue").sort(
        (a, b) => Number(a.inputs.redrivePolicy !== undefined) - Number(b.inputs.redrivePolicy !== undefined),
    );
    for (const q of queues) {
        const i = q.inputs;
        const attributes: Record<string, string> = {};
        if (i.visibilityTimeoutSeconds !== undefined) attributes.VisibilityTimeout = String(i.visibilityTimeoutSeconds);
        if (i.messageRetentionSeconds !== undefined) attributes.MessageRetentionPeriod = String(i.messageRetentionSeconds);
        if (i.receiveWaitTimeSeconds !== undefined) attributes.ReceiveMessageWaitTimeSeconds = String(i.receiveWaitTimeSeconds);
        if (typeof i.redrivePolicy === "string") attributes.RedrivePolicy = i.redrivePolicy;
        const out = await aws.sqs.send(new CreateQueueCommand({ QueueName: q.physicalName, Attributes: attributes }));
        world.queues.set(q.physicalName as string, out.QueueUrl as string);
    }
    for (const b of ofType(plan, "aws:s3/bucket:Bucket")) {
        await aws.s3.send(
            new CreateBucketCommand({
                Bucket: b.physicalName,
                ...(region === "us-east-1"
                    ? {}
                    : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
            }),
        );
        world.buckets.push(b.physicalName as string);
    }
    for (const n of ofType(plan, "aws:s3/bucketNotification:BucketNotification")) {
        const configs = (n.inputs.queues ?? []) as { queueArn: string; events: string[]; filterPrefix?: string; filterSuffix?: string }[];
        await aws.s3.send(
            new PutBucketNotificationConfigurationCommand({
                Bucket: bucketNamed(plan, n.inputs.bucket),
                NotificationConfiguration: {
                    QueueConfigurations: configs.map((c) => ({
                        QueueArn: c.queueArn,
                        Events: c.events as never,
                        Filter: {
                            Key: {
                                FilterRules: [
                                    ...(c.filterPrefix ? [{ Name: "prefix" as const, Value: c.filterPrefix }] : []),
                                    ...(c.filterSuffix ? [{ Name: "suffix" as const, Value: c.filterSuffix }] : []),
                                ],
                            },
                        },
                    })),
                },
            }),
        );
    }
    // The group EKS made for the video node group: the scaler Lambda names it (ASG_NAME, from the node group's outputs).
    const scaler = ofType(plan, "aws:lambda/function:Function")[0];
    const asgName = ((scaler?.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {}).ASG_NAME;
    if (asgName !== undefined) {
        await aws.ec2.send(
            new CreateLaunchTemplateCommand({
                LaunchTemplateName: `${asgName}-lt`,
                LaunchTemplateData: { ImageId: "ami-12c6146b", InstanceType: "g6.xlarge" },
            }),
        );
        await aws.autoScaling.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: asgName,
                LaunchTemplate: { LaunchTemplateName: `${asgName}-lt`, Version: "$Latest" },
                MinSize: 0,
                MaxSize: 10,
                DesiredCapacity: 1,
                AvailabilityZones: [`${region}a`],
            }),
        );
        const group = await aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }));
        const instanceId = group.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId;
        if (instanceId === undefined) throw new Error(`moto started no instance in ${asgName}`);
        const instance = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
        const nodeName = instance.Reservations?.[0]?.Instances?.[0]?.PrivateDnsName;
        if (!nodeName) throw new Error(`moto gave instance ${instanceId} no private DNS name`);
        world.videoGroup = { name: asgName, instanceId, nodeName };
    }
    return world;
}

export async function queueCounts(aws: AwsClients, url: string): Promise<{ visible: number; inFlight: number }> {
    const out = await aws.sqs.send(
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

export async function protectedFromScaleIn(aws: AwsClients, instanceId: string): Promise<boolean | undefined> {
    const out = await aws.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
    return out.AutoScalingInstances?.[0]?.ProtectedFromScaleIn;
}
