// Workload roles for EKS Pod Identity, each granted only what its pod touches.
// The policy documents are built by pure functions (resolved strings in, JSON out) so they are testable.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { S3Location } from "../config/config";
import { BERT_MODEL_BUILDER_IDENTITY, BERT_SERVING_IDENTITY, VIDEO_WORKER_IDENTITY, WorkloadIdentity } from "./identities";

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** Trust policy of every workload role: the EKS Pod Identity agent assumes it (and tags the session). */
export const POD_IDENTITY_TRUST: object = {
    Version: "2012-10-17",
    Statement: [{
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
    }],
};

function modelReadStatements(sidPrefix: string, partition: string, model: S3Location): PolicyStatement[] {
    const bucketArn = `arn:${partition}:s3:::${model.bucket}`;
    const prefix = model.prefix;
    const listPrefix = prefix === "" ? "*" : prefix.endsWith("/") ? `${prefix}*` : `${prefix}/*`;
    return [
        {
            Sid: `${sidPrefix}ReadModel`,
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: `${bucketArn}/${prefix === "" ? "" : prefix.endsWith("/") ? prefix : `${prefix}/`}*`,
        },
        {
            Sid: `${sidPrefix}ListModel`,
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": prefix === "" ? ["*"] : [prefix, listPrefix] } },
        },
    ];
}

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
        // The worker dead-letters permanently failing jobs itself instead of letting them retry.
        { Sid: "DeadLetterJobs", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: p.deadLetterQueueArn },
        { Sid: "ReadInputs", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${p.bucketArn}/${p.inputPrefix}*` },
        { Sid: "WriteResults", Effect: "Allow", Action: ["s3:PutObject"], Resource: `${p.bucketArn}/${p.resultsPrefix}*` },
        {
            Sid: "ProtectOwnNodeFromScaleIn",
            Effect: "Allow",
            Action: ["autoscaling:SetInstanceProtection"],
            Resource: `arn:${p.partition}:autoscaling:${p.region}:${p.accountId}:autoScalingGroup:*:autoScalingGroupName/${p.asgName}`,
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

/** The BERT serving pod: read its model from S3, nothing else. */
export function bertServingPolicy(partition: string, model: S3Location): PolicyDocument {
    return { Version: "2012-10-17", Statement: modelReadStatements("Bert", partition, model) };
}

/**
 * The BERT compile Job: look for the finished model (HEAD needs s3:GetObject; ListBucket under the
 * prefix makes a missing key a 404 rather than a 403) and write it, only under its own key prefix.
 */
export function bertModelBuilderPolicy(partition: string, model: S3Location): PolicyDocument {
    const bucketArn = `arn:${partition}:s3:::${model.bucket}`;
    const prefix = model.prefix.endsWith("/") ? model.prefix : `${model.prefix}/`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteCompiledModel",
                Effect: "Allow",
                // Multipart uploads (large traced files) need AbortMultipartUpload to clean up after a failure.
                Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "ListCompiledModel",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
        ],
    };
}

export interface WorkloadRolesArgs {
    clusterName: pulumi.Input<string>;
    region: string;
    video?: {
        queueArn: pulumi.Input<string>;
        deadLetterQueueArn: pulumi.Input<string>;
        bucketArn: pulumi.Input<string>;
        inputPrefix: string;
        resultsPrefix: string;
        asgName: pulumi.Input<string>;
        metricNamespace: string;
        modelS3?: S3Location;
    };
    bert?: {
        /** Where the serving pods read the model (the stack's bucket, or the user's bertModelUri). */
        model: { bucket: pulumi.Input<string>; prefix: string };
        /** When the stack compiles the model: where the compile Job writes it. */
        build?: { bucket: pulumi.Input<string>; prefix: string };
    };
    /** Resources the Pod Identity associations wait for (the pod identity agent add-on). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class WorkloadRoles extends pulumi.ComponentResource {
    readonly videoWorkerRole?: aws.iam.Role;
    readonly bertServingRole?: aws.iam.Role;
    readonly bertModelBuilderRole?: aws.iam.Role;

    constructor(name: string, args: WorkloadRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:WorkloadRoles", name, {}, opts);
        const child = { parent: this };
        const partition = aws.getPartitionOutput({}, child).partition;
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;

        const video = args.video;
        if (video !== undefined) {
            const policy = pulumi
                .all([partition, accountId, video.queueArn, video.deadLetterQueueArn, video.bucketArn, video.asgName])
                .apply(([part, account, queueArn, dlqArn, bucketArn, asgName]) => JSON.stringify(videoWorkerPolicy({
                    partition: part,
                    region: args.region,
                    accountId: account,
                    queueArn,
                    deadLetterQueueArn: dlqArn,
                    bucketArn,
                    inputPrefix: video.inputPrefix,
                    resultsPrefix: video.resultsPrefix,
                    asgName,
                    metricNamespace: video.metricNamespace,
                    modelS3: video.modelS3,
                })));
            this.videoWorkerRole = this.role(`${name}-video-worker`, VIDEO_WORKER_IDENTITY, policy, args);
        }
        if (args.bert !== undefined) {
            const { model, build } = args.bert;
            const policy = pulumi.all([partition, model.bucket]).apply(([part, bucket]) =>
                JSON.stringify(bertServingPolicy(part, { bucket, prefix: model.prefix })));
            this.bertServingRole = this.role(`${name}-bert-serving`, BERT_SERVING_IDENTITY, policy, args);
            if (build !== undefined) {
                const builderPolicy = pulumi.all([partition, build.bucket]).apply(([part, bucket]) =>
                    JSON.stringify(bertModelBuilderPolicy(part, { bucket, prefix: build.prefix })));
                this.bertModelBuilderRole = this.role(`${name}-bert-model-builder`, BERT_MODEL_BUILDER_IDENTITY, builderPolicy, args);
            }
        }
        this.registerOutputs({
            videoWorkerRoleArn: this.videoWorkerRole?.arn,
            bertServingRoleArn: this.bertServingRole?.arn,
            bertModelBuilderRoleArn: this.bertModelBuilderRole?.arn,
        });
    }

    private role(name: string, identity: WorkloadIdentity, policy: pulumi.Input<string>, args: WorkloadRolesArgs): aws.iam.Role {
        const role = new aws.iam.Role(name, {
            description: `Pod Identity role of ${identity.namespace}/${identity.serviceAccount}`,
            assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST),
        }, { parent: this });
        new aws.iam.RolePolicy(name, { role: role.name, policy }, { parent: this });
        new aws.eks.PodIdentityAssociation(name, {
            clusterName: args.clusterName,
            namespace: identity.namespace,
            serviceAccount: identity.serviceAccount,
            roleArn: role.arn,
        }, { parent: this, dependsOn: args.dependsOn });
        return role;
    }
}
