// The stack's node groups from its config: the node role, the general group (system pods, compile Jobs)
// and one accelerated group per enabled workload. A plain function, not a component: the groups stay
// top-level resources, named `<name>-node`, `<name>-general`, `<name>-video`, `<name>-bert`.
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/config";
import { GENERAL_NODE_LABELS, nodeLabels, nodeTaints } from "./accelerators";
import type { Network } from "./network";
import { NodeGroup, NodeRole } from "./nodegroups";

/**
 * Root-volume throughput of the video nodes, MiB/s (gp3's baseline is 125). A new video node writes its
 * images to this volume before it can take a job: the model server's ~3 GB compressed / ~8 GB unpacked
 * plus the worker's, about 12 GB, takes ~90 s at 125 MiB/s and ~28 s at 400, where single-stream gzip
 * decompression (~32 s for 8 GB) becomes the limit, so more buys nothing (scaler/sim/startup.ts). Up to
 * 750 MiB/s needs no IOPS beyond gp3's included 3,000. Billed with the volume while the node runs: 275
 * MiB/s above the included 125 at ~$0.04 per MiB/s-month is ~$11/month, ~$0.015 per node-hour
 * (infra/plan prices it).
 */
export const VIDEO_VOLUME_THROUGHPUT_MIBPS = 400;

export interface NodePoolsArgs {
    /** The stack's validated configuration (versions, groups, volumes). */
    config: Pick<PlatformConfig, "kubernetesVersion" | "general" | "acceleratedVolumeGiB" | "video" | "bert">;
    /** The cluster's name (an output of the cluster). */
    clusterName: pulumi.Input<string>;
    /** Where each group gets subnets: the ones it runs in, or for a new group the zones that offer its instance types. */
    network: Pick<Network, "privateSubnetIdsFor">;
    /** The cluster's name as it is known before it exists, for the live desired-size lookup. */
    liveLookupClusterName: string;
    /** What every node waits for (the CNI and the Pod Identity agent). */
    dependsOn: pulumi.Resource[];
}

export interface NodePools {
    nodeRole: NodeRole;
    general: NodeGroup;
    video?: NodeGroup;
    bert?: NodeGroup;
}

export function nodePools(name: string, args: NodePoolsArgs, opts: pulumi.ComponentResourceOptions): NodePools {
    const { config } = args;
    const nodeRole = new NodeRole(`${name}-node`, opts);
    const general = new NodeGroup(
        `${name}-general`,
        {
            clusterName: args.clusterName,
            kubernetesVersion: config.kubernetesVersion,
            nodeRole,
            subnetIds: (running) => args.network.privateSubnetIdsFor("general", [config.general.instanceType], running),
            instanceTypes: [config.general.instanceType],
            amiType: "AL2023_x86_64_STANDARD",
            capacityType: "ON_DEMAND",
            sizing: config.general.sizing,
            labels: { ...GENERAL_NODE_LABELS },
            taints: [],
            volumeGiB: config.general.volumeGiB,
            liveLookupClusterName: args.liveLookupClusterName,
            dependsOn: args.dependsOn,
        },
        opts,
    );

    const accelerated = (workload: "video" | "bert"): NodeGroup => {
        const group = config[workload].nodes;
        return new NodeGroup(
            `${name}-${workload}`,
            {
                clusterName: args.clusterName,
                kubernetesVersion: config.kubernetesVersion,
                nodeRole,
                subnetIds: (running) => args.network.privateSubnetIdsFor(workload, group.instanceTypes, running),
                instanceTypes: group.instanceTypes,
                amiType: group.profile.amiType,
                capacityType: group.capacityType,
                sizing: group.sizing,
                labels: nodeLabels(workload, group.profile.name),
                taints: nodeTaints(workload, group.profile.name),
                volumeGiB: config.acceleratedVolumeGiB,
                // Video nodes are started by the scaler and must take jobs quickly; BERT nodes are not scaled.
                ...(workload === "video" ? { volumeThroughputMiBps: VIDEO_VOLUME_THROUGHPUT_MIBPS } : {}),
                // Inf2 groups pin the AMI release that ships their Neuron runtime's driver (Triton, legacy TF Serving,
                // video on inf2: infra/bert/neuron-releases.ts); the group's name carries that release (see NodeGroup).
                releaseVersion: config[workload].nodeReleaseVersion,
                liveLookupClusterName: args.liveLookupClusterName,
                dependsOn: args.dependsOn,
            },
            opts,
        );
    };
    return {
        nodeRole,
        general,
        video: config.video.enabled ? accelerated("video") : undefined,
        bert: config.bert.enabled ? accelerated("bert") : undefined,
    };
}
