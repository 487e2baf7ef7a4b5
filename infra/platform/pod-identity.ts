// EKS Pod Identity: a workload's IAM role, its inline policy and the association that binds it to a
// Kubernetes service account. The pipelines build their policy documents (pure functions) and call
// podIdentityRole; the documents' shared types and the model-read statements live here.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { S3Location } from "../config/config";
import type { WorkloadIdentity } from "./identities";

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
    Statement: [
        {
            Effect: "Allow",
            Principal: { Service: "pods.eks.amazonaws.com" },
            Action: ["sts:AssumeRole", "sts:TagSession"],
        },
    ],
};

/** Read a model under an S3 prefix: GetObject under it, ListBucket conditioned on it. A single archive: GetObject on it only. */
export function modelReadStatements(sidPrefix: string, partition: string, model: S3Location): PolicyStatement[] {
    const bucketArn = `arn:${partition}:s3:::${model.bucket}`;
    if (model.objectKey !== undefined) {
        // model-fetch streams an archive with one GetObject and never lists.
        return [{ Sid: `${sidPrefix}ReadModel`, Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucketArn}/${model.objectKey}` }];
    }
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

export interface PodIdentityRoleArgs {
    /** The cluster the association is made in. */
    clusterName: pulumi.Input<string>;
    /** The namespace and service account the role is bound to. */
    identity: WorkloadIdentity;
    /** The role's inline policy (JSON). */
    policy: pulumi.Input<string>;
    /** What the association waits for (the Pod Identity agent add-on); default none. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface PodIdentityRole {
    role: aws.iam.Role;
    /** Everything a pod using the role waits for: the role, its policy and the association. */
    ready: pulumi.Resource[];
}

/**
 * The role, its policy and its association, all named `name`, as children of `opts.parent`.
 * `opts.aliases` carries where they lived before (see the callers).
 */
export function podIdentityRole(
    name: string,
    args: PodIdentityRoleArgs,
    opts: { parent: pulumi.Resource; aliases?: pulumi.Input<pulumi.Alias>[] },
): PodIdentityRole {
    const { identity } = args;
    const role = new aws.iam.Role(
        name,
        {
            description: `Pod Identity role of ${identity.namespace}/${identity.serviceAccount}`,
            assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST),
        },
        opts,
    );
    const policy = new aws.iam.RolePolicy(name, { role: role.name, policy: args.policy }, opts);
    const association = new aws.eks.PodIdentityAssociation(
        name,
        {
            clusterName: args.clusterName,
            namespace: identity.namespace,
            serviceAccount: identity.serviceAccount,
            roleArn: role.arn,
        },
        { ...opts, dependsOn: args.dependsOn },
    );
    return { role, ready: [role, policy, association] };
}

/**
 * Until issue 12 the workload roles were children of one `WorkloadRoles` component named after the
 * stack; this alias lets an existing stack adopt them where they now live instead of replacing them.
 */
export function formerWorkloadRolesParent(stackBaseName: string): pulumi.Alias {
    return { parent: pulumi.createUrn(stackBaseName, "eks-inference:platform:WorkloadRoles") };
}
