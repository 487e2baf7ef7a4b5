// The AWS account as a mock run left it: what the next run's live reads (the cluster, its node groups and
// their live sizes and subnets, the access entries this stack made, the subnets) find once that run was applied.
import type { MockRunResult, RecordedResource } from "./mock-run";
import type { MockLiveNodeGroup, MockWorld } from "./mock-world";

function recordOf(value: unknown): Record<string, unknown> {
    // Provider inputs arrive JSON-encoded (the SDK serialises non-string provider config).
    if (typeof value === "string" && value.startsWith("{")) return recordOf(JSON.parse(value));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function liveNodeGroup(r: RecordedResource): MockLiveNodeGroup {
    const scaling = recordOf(r.inputs.scalingConfig);
    const desiredSize = Number(scaling.desiredSize ?? 0);
    return {
        nodeGroupName: r.physicalName ?? r.name,
        minSize: Number(scaling.minSize ?? 0),
        maxSize: Number(scaling.maxSize ?? 0),
        desiredSize,
        subnetIds: strings(r.inputs.subnetIds),
        instanceTypes: strings(r.inputs.instanceTypes),
        ...(typeof r.inputs.amiType === "string" ? { amiType: r.inputs.amiType } : {}),
        ...(typeof r.inputs.capacityType === "string" ? { capacityType: r.inputs.capacityType } : {}),
    };
}

/** `world` (the account the run saw) plus everything `run` created in it. */
export function worldAfter(run: MockRunResult, world: MockWorld = {}): MockWorld {
    const cluster = run.resources.find((r) => r.type === "eks:index:Cluster");
    if (cluster === undefined) return world;
    const clusterName = String(cluster.inputs.name);
    const provider = run.resources.find((r) => r.type === "pulumi:providers:aws");
    const tags = recordOf(recordOf(provider?.inputs.defaultTags).tags) as Record<string, string>;
    // The component's admin entries and the stack's own aws.eks.AccessEntry resources (the preview role's).
    const entries = [
        ...Object.values(recordOf(cluster.inputs.accessEntries)).map((e) => String(recordOf(e).principalArn)),
        ...run.resources.filter((r) => r.type === "aws:eks/accessEntry:AccessEntry").map((r) => String(r.inputs.principalArn)),
    ].map((principalArn) => ({ principalArn, tags }));
    const subnets = run.resources
        .filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.id !== undefined)
        .map((r) => ({ id: r.id as string, vpcId: String(r.inputs.vpcId), tags: recordOf(r.inputs.tags) as Record<string, string> }));
    return {
        ...world,
        subnets: [...(world.subnets ?? []).filter((s) => !subnets.some((n) => n.id === s.id)), ...subnets],
        clusters: {
            ...world.clusters,
            [clusterName]: run.resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup").map(liveNodeGroup),
        },
        accessEntries: { ...world.accessEntries, [clusterName]: entries },
    };
}
