// Managed node groups: one general group for system pods and one accelerated group per enabled
// workload. aws.eks.NodeGroup (not eks.ManagedNodeGroup) because only it accepts the NEURON AMI type.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AmiType, Taint, eksTaints } from "./accelerators";
import { CapacityType, Sizing } from "../config/config";

/**
 * AWS managed policies every EKS node needs (kubelet, image pulls). Not AmazonEKS_CNI_Policy: the VPC CNI
 * gets it through its own Pod Identity role (addons.ts), so pods that reach IMDS cannot use it.
 */
export const NODE_MANAGED_POLICIES = [
    "AmazonEKSWorkerNodePolicy",
    // Pull-only (2024) is narrower than ReadOnly: no Describe/List on repositories.
    "AmazonEC2ContainerRegistryPullOnly",
] as const;

export class NodeRole extends pulumi.ComponentResource {
    readonly role: aws.iam.Role;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:NodeRole", name, {}, opts);
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        this.role = new aws.iam.Role(
            name,
            {
                description: "EKS managed node groups (kubelet, image pulls); the VPC CNI and workloads use Pod Identity roles",
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
            },
            { parent: this },
        );
        for (const policy of NODE_MANAGED_POLICIES) {
            new aws.iam.RolePolicyAttachment(
                `${name}-${policy}`,
                {
                    role: this.role.name,
                    policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`,
                },
                { parent: this },
            );
        }
        this.registerOutputs({ roleArn: this.role.arn });
    }
}

export interface NodeGroupArgs {
    /** The cluster the group joins. */
    clusterName: pulumi.Input<string>;
    /**
     * The cluster's Kubernetes version (major.minor). Nodes follow it, so raising kubernetesVersion
     * upgrades the control plane and then (the group depends on the cluster) each node group.
     */
    kubernetesVersion: string;
    /** The node role component; groups wait for its policy attachments. */
    nodeRole: NodeRole;
    /**
     * The private subnets the group launches in, given the subnets of the group as it runs now (undefined when
     * there is none to keep: the group does not exist yet, or it changes instance types, AMI type or capacity
     * type, which replaces it anyway). EKS cannot move a group to other subnets (subnetIds forces a new group),
     * so a running group keeps its subnets whatever EC2 offers today; new groups go where their types are offered.
     */
    subnetIds: (running: string[] | undefined) => pulumi.Output<string[]>;
    /** ON_DEMAND launches the first; SPOT spreads over all of them (each type is its own Spot pool). */
    instanceTypes: string[];
    /** The EKS AMI type (picks the AMI and its bootstrap). */
    amiType: AmiType;
    /** ON_DEMAND or SPOT. */
    capacityType: CapacityType;
    /** Min, desired (first deploy only) and max size. */
    sizing: Sizing;
    /** Kubernetes labels of the nodes (and tags of the instances). */
    labels: Record<string, string>;
    /** Kubernetes taints of the nodes. */
    taints: Taint[];
    /** Root volume size (gp3, encrypted). */
    volumeGiB: number;
    /**
     * Root volume throughput, MiB/s, 125 to 750 (gp3 includes 125; up to 750 needs no IOPS beyond the
     * included 3,000). Default undefined: gp3's baseline.
     */
    volumeThroughputMiBps?: number;
    /**
     * Pin the EKS AMI release (e.g. 1.35.2-20260403) instead of taking the newest one; only for a
     * workload whose user-space stack needs an older driver (legacy TF Serving Neuron).
     * Default undefined: the AMI release EKS picks for the Kubernetes version.
     */
    releaseVersion?: string;
    /**
     * The cluster's name as a plain string, to read the running group at deploy time (see liveNodeGroups): its
     * desired capacity and its subnets. Without it the configured desired size is sent and subnets are chosen anew.
     */
    liveLookupClusterName?: string;
    /** Resources the node group waits for besides the node role (the CNI and Pod Identity add-ons). Default none. */
    dependsOn?: pulumi.Resource[];
}

/**
 * The desired size to send with the scaling config. The AWS provider sends the whole scaling config
 * (min, max AND desired) whenever any of it changes (terraform-provider-aws eks node_group.go:
 * UpdateNodegroupConfig with expandNodegroupScalingConfig), and with desiredSize in ignoreChanges Pulumi
 * would send the desired size recorded at creation: a min/max change would then reset the group (dropping
 * busy nodes) or fail (desired below the new min). So the live desired capacity is sent, clamped into the
 * new [min, max] (which EKS requires); the configured one only when the group does not exist yet.
 */
export function desiredSizeToSend(sizing: Sizing, live: number | undefined): number {
    if (live === undefined) return sizing.desiredSize;
    return Math.min(sizing.maxSize, Math.max(sizing.minSize, live));
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A node group as it runs (EKS DescribeNodegroup, and its Auto Scaling group's desired capacity). */
export interface LiveNodeGroup {
    nodeGroupName: string;
    desiredSize?: number;
    subnetIds: string[];
    instanceTypes: string[];
    amiType: string;
    capacityType: string;
}

/**
 * The running node groups declared as `groupName` (the provider names them `<groupName>-<7 hex>`), read at
 * deploy time (preview included): EKS for each group, then its Auto Scaling group, whose desired capacity is
 * what the scaling policies set. Empty when the cluster or the group does not exist yet (first deploy); two
 * while a replacement runs.
 */
export async function liveNodeGroups(clusterName: string, groupName: string, opts: pulumi.InvokeOptions): Promise<LiveNodeGroup[]> {
    const clusters = await aws.eks.getClusters({}, opts);
    if (!clusters.names.includes(clusterName)) return [];
    const groups = await aws.eks.getNodeGroups({ clusterName }, opts);
    const ours = new RegExp(`^${escapeRegExp(groupName)}(-[0-9a-f]{7})?$`);
    return Promise.all(
        groups.names
            .filter((n) => ours.test(n))
            .map(async (nodeGroupName): Promise<LiveNodeGroup> => {
                const group = await aws.eks.getNodeGroup({ clusterName, nodeGroupName }, opts);
                const live = {
                    nodeGroupName,
                    subnetIds: group.subnetIds ?? [],
                    instanceTypes: group.instanceTypes ?? [],
                    amiType: group.amiType ?? "",
                    capacityType: group.capacityType ?? "",
                };
                const eksDesired = group.scalingConfigs[0]?.desiredSize;
                const asgName = group.resources[0]?.autoscalingGroups[0]?.name;
                if (asgName === undefined) return { ...live, desiredSize: eksDesired };
                try {
                    return { ...live, desiredSize: (await aws.autoscaling.getGroup({ name: asgName }, opts)).desiredCapacity };
                } catch {
                    return { ...live, desiredSize: eksDesired }; // the group is being replaced or deleted: EKS's figure is the best there is
                }
            }),
    );
}

/** The live desired capacity to keep: the larger one while a replacement runs; undefined on a first deploy. */
export function liveDesiredSize(groups: readonly LiveNodeGroup[]): number | undefined {
    const known = groups.map((g) => g.desiredSize).filter((n): n is number => n !== undefined);
    return known.length === 0 ? undefined : Math.max(...known);
}

/**
 * The subnets of the running group this declaration continues, if any: same instance types, AMI type and
 * capacity type (a change of any of them replaces the group, which then gets subnets chosen anew).
 */
export function runningSubnets(
    groups: readonly LiveNodeGroup[],
    declared: { instanceTypes: readonly string[]; amiType: string; capacityType: string },
): string[] | undefined {
    const same = groups.find(
        (g) =>
            g.subnetIds.length > 0 &&
            g.amiType === declared.amiType &&
            g.capacityType === declared.capacityType &&
            JSON.stringify(g.instanceTypes) === JSON.stringify(declared.instanceTypes),
    );
    return same === undefined ? undefined : [...same.subnetIds];
}

/**
 * The resource name of the EKS node group: `name` for a group on the newest AMI, `name-ami-v<date>` for a
 * group pinned to an AMI release (releaseVersion `1.35.2-20260403` -> `name-ami-v20260403`).
 *
 * releaseVersion is Optional+Computed in the AWS provider and sent only when it changes: dropping the pin
 * (bertServer tf-serving -> triton) would be no diff at all, leaving the group on the old AMI. With the pin
 * in the name, adding, dropping or moving it to another AMI release is another resource (so another
 * auto-name, `<resource name>-<7 hex>`): Pulumi creates the new group first and deletes the old one after,
 * and an unpinned group never inherits a stale pin. A Kubernetes version change of the same release date
 * stays an in-place update.
 */
export function nodeGroupResourceName(name: string, releaseVersion: string | undefined): string {
    let groupName = name;
    if (releaseVersion !== undefined) {
        const date = /^\d+\.\d+\.\d+-(\d{8})$/.exec(releaseVersion)?.[1];
        if (date === undefined)
            throw new Error(
                `node group ${name}: releaseVersion '${releaseVersion}' is not an EKS AMI release version such as 1.35.2-20260403`,
            );
        groupName = `${name}-ami-v${date}`;
    }
    // EKS refuses node group names over 63 characters; the provider appends `-<7 hex>` to this name.
    const autoNameLength = groupName.length + 8;
    if (autoNameLength > MAX_NODE_GROUP_NAME_LENGTH) {
        throw new Error(
            `node group ${groupName}: its EKS name would be ${autoNameLength} characters (EKS allows ${MAX_NODE_GROUP_NAME_LENGTH}); ` +
                `use a shorter project or stack name (the name is <project>-<stack>-<group>)`,
        );
    }
    return groupName;
}

/**
 * gp3 throughput from its included 125 MiB/s up to 750, the most the included 3,000 IOPS allow (AWS: at
 * most 0.25 MiB/s per provisioned IOPS); undefined keeps the baseline.
 */
export function checkVolumeThroughput(group: string, throughput: number | undefined): number | undefined {
    if (throughput !== undefined && (!Number.isInteger(throughput) || throughput < 125 || throughput > 750)) {
        throw new pulumi.InputPropertyError({
            propertyPath: "volumeThroughputMiBps",
            reason: `node group ${group}: volumeThroughputMiBps must be an integer from 125 to 750 (gp3 with its included 3,000 IOPS), got ${throughput}`,
        });
    }
    return throughput;
}

/** Every node group's IMDS hop limit: no pod reaches the instance metadata service (see NodeGroup). */
export const IMDS_HOP_LIMIT = 1;

/** EKS's limit on a node group's name (CreateNodegroup). */
export const MAX_NODE_GROUP_NAME_LENGTH = 63;

export class NodeGroup extends pulumi.ComponentResource {
    readonly nodeGroup: aws.eks.NodeGroup;
    readonly launchTemplate: aws.ec2.LaunchTemplate;
    /** The Auto Scaling group EKS created for this node group. */
    readonly asgName: pulumi.Output<string>;

    constructor(name: string, args: NodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:NodeGroup", name, {}, opts);
        const throughput = checkVolumeThroughput(name, args.volumeThroughputMiBps);
        // No imageId (the node group's amiType picks the EKS AMI and its bootstrap) and no security
        // groups (so nodes get the EKS cluster security group).
        this.launchTemplate = new aws.ec2.LaunchTemplate(
            name,
            {
                description: `EKS node group ${name}`,
                updateDefaultVersion: true,
                // IMDSv2 only, and hop limit 1 on every group: the token's response cannot cross the extra hop into
                // a pod's network namespace, so only the host (and hostNetwork pods) reach the node role's
                // credentials (EKS Best Practices, security: restrict access to the instance profile assigned
                // to the worker node). Pods get their own credentials through EKS Pod Identity, and the video
                // worker finds its instance by its node name (worker/src/protection.ts).
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    httpPutResponseHopLimit: IMDS_HOP_LIMIT,
                },
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/xvda",
                        ebs: {
                            volumeSize: args.volumeGiB,
                            volumeType: "gp3",
                            encrypted: "true",
                            deleteOnTermination: "true",
                            ...(throughput === undefined ? {} : { throughput }),
                        },
                    },
                ],
                tagSpecifications: [
                    { resourceType: "instance", tags: { Name: name, ...args.labels } },
                    { resourceType: "volume", tags: { Name: name } },
                ],
            },
            { parent: this },
        );

        const groupName = nodeGroupResourceName(name, args.releaseVersion);
        const live =
            args.liveLookupClusterName === undefined
                ? pulumi.output<LiveNodeGroup[]>([])
                : pulumi.output(liveNodeGroups(args.liveLookupClusterName, groupName, { parent: this }));
        const declared = { instanceTypes: args.instanceTypes, amiType: args.amiType, capacityType: args.capacityType };
        this.nodeGroup = new aws.eks.NodeGroup(
            groupName,
            {
                clusterName: args.clusterName,
                version: args.kubernetesVersion,
                ...(args.releaseVersion !== undefined ? { releaseVersion: args.releaseVersion } : {}),
                nodeRoleArn: args.nodeRole.role.arn,
                subnetIds: live.apply((groups) => pulumi.output(args.subnetIds(runningSubnets(groups, declared)))),
                amiType: args.amiType,
                instanceTypes: args.instanceTypes,
                capacityType: args.capacityType,
                scalingConfig: {
                    minSize: args.sizing.minSize,
                    maxSize: args.sizing.maxSize,
                    desiredSize:
                        args.liveLookupClusterName === undefined
                            ? args.sizing.desiredSize
                            : live.apply((groups) => desiredSizeToSend(args.sizing, liveDesiredSize(groups))),
                },
                updateConfig: { maxUnavailable: 1 },
                labels: args.labels,
                taints: eksTaints(args.taints),
                launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.apply(String) },
            },
            { parent: this, dependsOn: [args.nodeRole, ...(args.dependsOn ?? [])] },
        );

        this.asgName = this.nodeGroup.resources.apply((resources) => {
            const asg = resources[0]?.autoscalingGroups?.[0]?.name;
            if (asg === undefined) throw new Error(`node group ${name} reports no Auto Scaling group`);
            return asg;
        });
        this.registerOutputs({ asgName: this.asgName });
    }
}
