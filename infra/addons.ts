// EKS managed add-ons declared here (vpc-cni and kube-proxy come with the eks.Cluster component).
// Versions are left to EKS: with no addonVersion, EKS installs the default version for the cluster's
// Kubernetes version, which keeps add-ons compatible across `kubernetesVersion` changes without a
// per-version pin table in this repository. Pin with `addonVersion` if you need reproducible upgrades.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export const MANAGED_ADDONS = ["coredns", "eks-pod-identity-agent"] as const;

export interface AddonsArgs {
    clusterName: pulumi.Input<string>;
    /** CoreDNS needs schedulable nodes to become healthy: the general node group. */
    nodeGroups: pulumi.Resource[];
}

export class Addons extends pulumi.ComponentResource {
    readonly podIdentityAgent: aws.eks.Addon;

    constructor(name: string, args: AddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:Addons", name, {}, opts);
        new aws.eks.Addon(`${name}-coredns`, {
            clusterName: args.clusterName,
            addonName: "coredns",
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "PRESERVE",
        }, { parent: this, dependsOn: args.nodeGroups });
        this.podIdentityAgent = new aws.eks.Addon(`${name}-eks-pod-identity-agent`, {
            clusterName: args.clusterName,
            addonName: "eks-pod-identity-agent",
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "PRESERVE",
        }, { parent: this, dependsOn: args.nodeGroups });
        this.registerOutputs({});
    }
}
