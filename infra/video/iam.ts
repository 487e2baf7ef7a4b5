// The video pod's IAM policy (worker + model-fetch init container share one service account).
import type { S3Location } from "../config/config";
import { modelReadStatements, type PolicyDocument, type PolicyStatement } from "../platform/pod-identity";

export interface VideoWorkerPolicyInputs {
    partition: string;
    region: string;
    accountId: string;
    queueArn: string;
    deadLetterQueueArn: string;
    bucketArn: string;
    inputPrefix: string;
    resultsPrefix: string;
    asgName: string;
    metricNamespace: string;
    modelS3?: S3Location;
}

/** The video pod (worker + model-fetch init container): jobs, inputs, results, own scale-in protection, metrics. */
export function videoWorkerPolicy(p: VideoWorkerPolicyInputs): PolicyDocument {
    const statements: PolicyStatement[] = [
        {
            Sid: "ConsumeJobs",
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            Resource: p.queueArn,
        },
        // A job interrupted for a reason that is not its own (shutdown, model or disk trouble) goes back as a
        // fresh copy, so the give-back does not count as a receive towards maxReceiveCount (worker/src/give-back.ts).
        { Sid: "GiveBackJobs", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: p.queueArn },
        // The worker dead-letters permanently failing jobs itself instead of letting them retry.
        { Sid: "DeadLetterJobs", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: p.deadLetterQueueArn },
        { Sid: "ReadInputs", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${p.bucketArn}/${p.inputPrefix}*` },
        // GetObject (HeadObject) on results: the ETag of a result another worker wrote, for the conditional
        // write that never replaces a newer version's result (worker/src/results.ts writeResult).
        { Sid: "WriteResults", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${p.bucketArn}/${p.resultsPrefix}*` },
        {
            Sid: "ProtectOwnNodeFromScaleIn",
            Effect: "Allow",
            Action: ["autoscaling:SetInstanceProtection"],
            Resource: `arn:${p.partition}:autoscaling:${p.region}:${p.accountId}:autoScalingGroup:*:autoScalingGroupName/${p.asgName}`,
        },
        // The worker finds its instance from its Kubernetes node name (the node is named after the instance's
        // private DNS name) instead of the instance metadata service, which no pod reaches (hop limit 1).
        // EC2 Describe* actions support no resource-level permissions, so "*"; the region condition keeps the
        // read to the stack's own region. The Kubernetes alternative, `get` on the Node object's providerID,
        // would need an API token in the pod and a ClusterRole on every node (a DaemonSet's nodes cannot be
        // named in resourceNames): a wider door than one read-only EC2 call.
        {
            Sid: "FindOwnInstance",
            Effect: "Allow",
            Action: ["ec2:DescribeInstances"],
            Resource: "*",
            Condition: { StringEquals: { "ec2:Region": p.region } },
        },
        // Describe* actions of Auto Scaling support no resource-level permissions: "*" is the only option.
        { Sid: "FindOwnAutoScalingGroup", Effect: "Allow", Action: ["autoscaling:DescribeAutoScalingInstances"], Resource: "*" },
        // PutMetricData supports no resources either; the namespace condition is the narrowing AWS offers.
        {
            Sid: "PublishWorkerMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": p.metricNamespace } },
        },
    ];
    if (p.modelS3 !== undefined) statements.push(...modelReadStatements("Video", p.partition, p.modelS3));
    return { Version: "2012-10-17", Statement: statements };
}
