// EKS managed add-ons: vpc-cni (with its own Pod Identity role), the Pod Identity agent, CoreDNS.
// kube-proxy comes with the eks.Cluster component. Versions are left to EKS: with no addonVersion, EKS
// installs the default version for the cluster's Kubernetes version, which keeps add-ons compatible across
// `kubernetesVersion` changes without a per-version pin table in this repository.
//
// vpc-cni: the CNI's ENI permissions (AmazonEKS_CNI_Policy) belong to the aws-node service account through
// EKS Pod Identity, not to the node role, which anything reaching IMDS could use (every node group keeps IMDS
// at hop limit 1, so only the host and hostNetwork pods do). The add-on's podIdentityAssociations (aws.eks.Addon) make EKS create the association
// and roll aws-node onto it. @pulumi/eks's own VpcCniAddon cannot take them, so the cluster is declared with
// useDefaultVpcCni and the add-on is declared here, adopting the component's former add-on by alias (the
// same EKS add-on; a second CreateAddon for vpc-cni would fail).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { POD_IDENTITY_TRUST } from "./pod-identity";

export const MANAGED_ADDONS = ["vpc-cni", "eks-pod-identity-agent", "coredns"] as const;

/**
 * The vpc-cni add-on's configuration: NetworkPolicy enforcement on (`enableNetworkPolicy`, a string in the
 * add-on's configuration schema, VPC CNI 1.14+). That one value sets `enable-network-policy-controller` in the
 * amazon-vpc-cni ConfigMap (EKS's network policy controller on the control plane then resolves policies into
 * PolicyEndpoints) and `--enable-network-policy` on the node agent container of aws-node, which the add-on runs
 * by default (`nodeAgent.enabled`). Without it the stack's NetworkPolicies (infra/kube/network-policies.ts) are
 * accepted and enforce nothing. Standard enforcing mode: a new pod starts allowed and is policed within
 * seconds (the workloads wait for their own policies, so nothing they need is ever missing). Sources:
 * aws/amazon-vpc-cni-k8s charts/aws-vpc-cni (values.yaml, templates/configmap.yaml, templates/daemonset.yaml,
 * v1.23.x) and the EKS user guide, "Restrict Pod network traffic with Kubernetes network policies".
 */
export const VPC_CNI_CONFIGURATION = { enableNetworkPolicy: "true" } as const;

/** The service account of the VPC CNI DaemonSet (kube-system/aws-node). */
export const VPC_CNI_SERVICE_ACCOUNT = "aws-node";
/** AWS managed policy with the IPv4 CNI's EC2 network-interface permissions. */
export const VPC_CNI_POLICY = "AmazonEKS_CNI_Policy";

/**
 * URN of the vpc-cni add-on as @pulumi/eks declared it inside the Cluster component (before this stack
 * declared its own): eks:index:Cluster -> eks:index:VpcCniAddon "<cluster>-vpc-cni" -> aws:eks/addon:Addon
 * "<cluster>-vpc-cni" (as in pulumi/pulumi-eks's recorded test states), under this project's Cluster component.
 */
export function componentVpcCniAddonUrn(stack: string, project: string, clusterComponentName: string): string {
    return `urn:pulumi:${stack}::${project}::eks-inference:platform:Cluster$eks:index:Cluster$eks:index:VpcCniAddon$aws:eks/addon:Addon::${clusterComponentName}-vpc-cni`;
}

export interface AddonsArgs {
    /** The cluster the add-ons are installed in. */
    clusterName: pulumi.Input<string>;
    /** Name of this project's Cluster component (and of the eks.Cluster in it), for the vpc-cni alias. */
    clusterComponentName: string;
}

/**
 * Declared before the node groups: nodes need the CNI (and the CNI its Pod Identity credentials through
 * the agent) to become Ready. Both are DaemonSets, which EKS reports ACTIVE with no nodes yet. CoreDNS
 * needs schedulable nodes, so it is added once the general group exists (addCoreDns).
 */
export class Addons extends pulumi.ComponentResource {
    readonly podIdentityAgent: aws.eks.Addon;
    readonly vpcCni: aws.eks.Addon;
    readonly vpcCniRole: aws.iam.Role;
    private readonly clusterName: pulumi.Input<string>;
    private coreDns?: aws.eks.Addon;

    constructor(
        private readonly addonsName: string,
        args: AddonsArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("eks-inference:platform:Addons", addonsName, {}, opts);
        this.clusterName = args.clusterName;
        const name = addonsName;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        this.podIdentityAgent = new aws.eks.Addon(
            `${name}-eks-pod-identity-agent`,
            {
                clusterName: args.clusterName,
                addonName: "eks-pod-identity-agent",
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "PRESERVE",
            },
            { parent: this },
        );

        this.vpcCniRole = new aws.iam.Role(
            `${name}-vpc-cni`,
            {
                description: "VPC CNI (kube-system/aws-node) through EKS Pod Identity: node network interfaces and IPs",
                assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST),
            },
            { parent: this },
        );
        const cniPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-vpc-cni`,
            {
                role: this.vpcCniRole.name,
                policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${VPC_CNI_POLICY}`,
            },
            { parent: this },
        );
        this.vpcCni = new aws.eks.Addon(
            `${name}-vpc-cni`,
            {
                clusterName: args.clusterName,
                addonName: "vpc-cni",
                // OVERWRITE adopts the aws-node DaemonSet EKS installs with the cluster.
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                // Removing the add-on from the stack must not remove pod networking from running nodes.
                preserve: true,
                podIdentityAssociations: [{ serviceAccount: VPC_CNI_SERVICE_ACCOUNT, roleArn: this.vpcCniRole.arn }],
                configurationValues: JSON.stringify(VPC_CNI_CONFIGURATION),
            },
            {
                parent: this,
                dependsOn: [this.podIdentityAgent, cniPolicy],
                aliases: [componentVpcCniAddonUrn(pulumi.getStack(), pulumi.getProject(), args.clusterComponentName)],
            },
        );
    }

    /** CoreDNS, once `nodeGroups` can schedule it. */
    addCoreDns(nodeGroups: pulumi.Resource[]): aws.eks.Addon {
        this.coreDns = new aws.eks.Addon(
            `${this.addonsName}-coredns`,
            {
                clusterName: this.clusterName,
                addonName: "coredns",
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "PRESERVE",
            },
            { parent: this, dependsOn: nodeGroups },
        );
        this.registerOutputs({ vpcCniRoleArn: this.vpcCniRole.arn });
        return this.coreDns;
    }
}
