// The EKS control plane: access entries (API authentication mode), KMS-encrypted secrets,
// control-plane logging with bounded retention. Workload identity is EKS Pod Identity (no OIDC provider).
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as pulumi from "@pulumi/pulumi";
import { ExistingEntry, planAdminEntries, previewRoleProblem } from "./admins";

export interface ClusterArgs {
    /** The EKS cluster's name (`<project>-<stack>`). */
    clusterName: string;
    /** Kubernetes version (major.minor), validated by the config. */
    kubernetesVersion: string;
    /**
     * upgradePolicy.supportType. Without it EKS defaults to EXTENDED: when standard support ends the cluster
     * stays on its version and is billed at 6x the cluster-hour price. STANDARD lets EKS upgrade it instead.
     */
    supportType: "STANDARD" | "EXTENDED";
    /** The VPC the cluster lives in. */
    vpcId: pulumi.Input<string>;
    /** Subnets of the cluster's network interfaces and the nodes. */
    privateSubnetIds: pulumi.Input<string>[];
    /** Public subnets, for internet-facing load balancers; nodes never run there. */
    publicSubnetIds: pulumi.Input<string>[];
    /** Given cluster-admin; the cluster creator (EKS's bootstrap entry) is skipped, see admins.ts. */
    adminPrincipalArns: string[];
    /** The PR preview's role (previewRoleArn): refused if it is the deployer or already has an entry (admins.ts). Default none (no preview access). */
    previewRoleArn?: string;
    /** Tags the stack's AWS provider puts on everything (to tell this stack's access entries from others). */
    stackTags: Record<string, string>;
    /** Control-plane log types sent to CloudWatch Logs. */
    logTypes: string[];
    /** CIDRs allowed to reach the public API endpoint. */
    publicAccessCidrs: string[];
    /** Retention of the control-plane log group, in days. */
    logRetentionDays: number;
}

export const CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy";

export class Cluster extends pulumi.ComponentResource {
    /** The @pulumi/eks component, declared once the deploying principal and any live access entries are known. */
    readonly eks: Promise<eks.Cluster>;
    readonly name: pulumi.Output<string>;
    /** The EKS-created cluster security group; managed nodes (no SGs in their launch template) get it. */
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly kubeconfigJson: pulumi.Output<string>;
    readonly secretsKeyArn: pulumi.Output<string>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:Cluster", name, {}, opts);
        const child = { parent: this };
        const partition = aws.getPartitionOutput({}, child).partition;

        const secretsKey = new aws.kms.Key(
            `${name}-secrets`,
            {
                description: `Envelope encryption of Kubernetes secrets in ${args.clusterName}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
            },
            child,
        );
        new aws.kms.Alias(`${name}-secrets`, { name: `alias/${args.clusterName}-secrets`, targetKeyId: secretsKey.keyId }, child);

        // EKS writes to this exact name; creating it first bounds its retention (EKS would keep logs forever).
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-control-plane`,
            {
                name: `/aws/eks/${args.clusterName}/cluster`,
                retentionInDays: args.logRetentionDays,
            },
            child,
        );

        // Who deploys, and whether the cluster (and admin entries not made by this stack) exist: read
        // before the component is declared, because its access entries must leave out the cluster creator.
        const adminPlan = this.adminPlan(args, child);
        this.eks = adminPlan.then(
            (plan) =>
                new eks.Cluster(
                    name,
                    {
                        name: args.clusterName,
                        version: args.kubernetesVersion,
                        upgradePolicy: { supportType: args.supportType },
                        vpcId: args.vpcId,
                        privateSubnetIds: args.privateSubnetIds,
                        publicSubnetIds: args.publicSubnetIds,
                        nodeAssociatePublicIpAddress: false,
                        authenticationMode: eks.AuthenticationMode.Api,
                        accessEntries: Object.fromEntries(
                            plan.declare.map(({ index, principalArn }): [string, eks.types.input.AccessEntryArgs] => [
                                `admin-${index}`,
                                {
                                    principalArn,
                                    accessPolicies: {
                                        admin: {
                                            policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_POLICY}`,
                                            accessScope: { type: "cluster" },
                                        },
                                    },
                                },
                            ]),
                        ),
                        // Node groups are declared separately (aws.eks.NodeGroup, any AMI type); they use the
                        // EKS cluster security group, so the component's extra security groups are not needed.
                        skipDefaultNodeGroup: true,
                        skipDefaultSecurityGroups: true,
                        createInstanceRole: false,
                        // Workload identity is Pod Identity, which needs no IAM OIDC provider.
                        createOidcProvider: false,
                        encryptionConfigKeyArn: secretsKey.arn,
                        enabledClusterLogTypes: args.logTypes,
                        endpointPrivateAccess: true,
                        endpointPublicAccess: true,
                        publicAccessCidrs: args.publicAccessCidrs,
                        // kube-proxy stays as the component installs it (an EKS managed add-on). vpc-cni is declared in
                        // addons.ts instead, because it takes a Pod Identity association there; CoreDNS too, once the
                        // general node group exists (without a default node group the component would install a
                        // self-managed CoreDNS).
                        useDefaultVpcCni: true,
                        corednsAddonOptions: { enabled: false },
                    },
                    { parent: this, dependsOn: [logGroup] },
                ),
        );

        // Outputs through the promise keep their dependencies on the component (pulumi.output lifts them).
        this.name = pulumi.output(this.eks.then((c) => c.eksCluster.name));
        this.clusterSecurityGroupId = pulumi.output(this.eks.then((c) => c.eksCluster.vpcConfig.clusterSecurityGroupId));
        this.kubeconfigJson = pulumi.secret(pulumi.output(this.eks.then((c) => c.kubeconfigJson)));
        this.secretsKeyArn = secretsKey.arn;
        this.registerOutputs({ name: this.name, clusterSecurityGroupId: this.clusterSecurityGroupId });
    }

    private async adminPlan(args: ClusterArgs, child: pulumi.InvokeOptions) {
        const [caller, clusters] = await Promise.all([aws.getCallerIdentity({}, child), aws.eks.getClusters({}, child)]);
        const exists = clusters.names.includes(args.clusterName);
        const existing = new Map<string, ExistingEntry>();
        // The preview role's entry is checked alongside (declared by PreviewAccess, see previewRoleProblem).
        const lookedUp = [...args.adminPrincipalArns, ...(args.previewRoleArn !== undefined ? [args.previewRoleArn] : [])];
        if (exists) {
            await Promise.all(
                lookedUp.map(async (principalArn) => {
                    let entry: aws.eks.GetAccessEntryResult;
                    try {
                        entry = await aws.eks.getAccessEntry({ clusterName: args.clusterName, principalArn }, child);
                    } catch (err) {
                        // No entry for this principal: this stack creates it. Anything else (AccessDenied, throttling,
                        // a network error) must stop the deploy: taking it for "no entry" would drop a live entry.
                        if (isAccessEntryNotFound(err)) return;
                        const key = args.adminPrincipalArns.includes(principalArn) ? "clusterAdminPrincipalArns" : "previewRoleArn";
                        throw new Error(
                            `${key}: cannot read the access entry of ${principalArn} in cluster ${args.clusterName} ` +
                                `(eks:DescribeAccessEntry): ${errorMessage(err)}`,
                            { cause: err },
                        );
                    }
                    // The data source fills `tags` (every tag AWS holds, default tags included); it never sets
                    // `tagsAll` (terraform-provider-aws access_entry_datasource.go: setTagsOut(output.Tags)).
                    const tags = entry.tags ?? {};
                    existing.set(principalArn, { managedByThisStack: Object.entries(args.stackTags).every(([k, v]) => tags[k] === v) });
                }),
            );
        }
        if (args.previewRoleArn !== undefined) {
            const problem = previewRoleProblem(
                args.previewRoleArn,
                caller.arn,
                args.adminPrincipalArns,
                args.clusterName,
                existing.get(args.previewRoleArn),
            );
            if (problem !== undefined) throw new Error(problem);
        }
        const plan = planAdminEntries(args.adminPrincipalArns, caller.arn, exists, existing);
        for (const reason of plan.skipped) pulumi.log.info(`clusterAdminPrincipalArns: not declaring ${reason}`, this);
        return plan;
    }
}

function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/**
 * DescribeAccessEntry's ResourceNotFoundException, as the AWS provider reports it: it wraps it in a
 * NotFoundError whose text is "couldn't find resource" ("reading EKS Access Entry (ID): couldn't find resource").
 */
export function isAccessEntryNotFound(err: unknown): boolean {
    return /couldn't find resource|ResourceNotFoundException/.test(errorMessage(err));
}
