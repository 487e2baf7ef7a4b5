// The accelerator profiles a workload can run on, and where AWS offers them.
// Pure data and helpers: no Pulumi resources, no config reading.

export const ACCELERATOR_PROFILES = ["inf2", "inf1", "nvidia", "cpu"] as const;
export type AcceleratorProfileName = (typeof ACCELERATOR_PROFILES)[number];

/** Names a user may type; `ei` is accepted by the parser only to reject it with an explanation. */
export const RETIRED_PROFILES: Readonly<Record<string, string>> = {
    ei:
        "Amazon Elastic Inference (ei) was retired by AWS in April 2024 (closed to new customers on " +
        "2023-04-15) and can no longer be attached to instances. Use 'nvidia' instead: a fractional " +
        "NVIDIA GPU (g6f.large, a fraction of an L4) or GPU time-slicing on g4dn/g6 " +
        "(nvidiaTimeSlicingReplicas > 1); or 'inf2' for AWS Inferentia2.",
};

export type Workload = "video" | "bert";
export type AmiType = "AL2023_x86_64_STANDARD" | "AL2023_x86_64_NVIDIA" | "AL2023_x86_64_NEURON";
export type DevicePlugin = "neuron" | "nvidia" | "none";

export interface Taint {
    key: string;
    value: string;
    effect: "NoSchedule";
}

/** The pod-spec shape of a toleration (core/v1 Toleration). */
export interface Toleration {
    key: string;
    operator: "Equal" | "Exists";
    value?: string;
    effect: "NoSchedule";
}

export interface AcceleratorProfile {
    name: AcceleratorProfileName;
    defaultInstanceType: string;
    /**
     * Default types of a SPOT group: two or more of the same accelerator (so the model and device plugin
     * behave the same on each) in different Spot pools, so one pool without capacity does not stall the group.
     */
    spotInstanceTypes: readonly string[];
    /** Instance families this profile accepts as an instance type override. */
    instanceFamilies: readonly string[];
    amiType: AmiType;
    devicePlugin: DevicePlugin;
    /** Extended resource the device plugin advertises; undefined when none. */
    resourceName?: "aws.amazon.com/neuron" | "nvidia.com/gpu";
    /** Something the operator should know (shown as a Pulumi warning). */
    warning?: string;
}

export const PROFILES: Readonly<Record<AcceleratorProfileName, AcceleratorProfile>> = {
    inf2: {
        name: "inf2",
        defaultInstanceType: "inf2.xlarge",
        // Both carry one Inferentia2 chip (2 NeuronCores, 32 GiB); the 8xlarge adds host CPU only.
        spotInstanceTypes: ["inf2.xlarge", "inf2.8xlarge"],
        instanceFamilies: ["inf2"],
        amiType: "AL2023_x86_64_NEURON",
        devicePlugin: "neuron",
        resourceName: "aws.amazon.com/neuron",
    },
    inf1: {
        name: "inf1",
        defaultInstanceType: "inf1.xlarge",
        // Both carry one Inferentia chip (4 NeuronCores).
        spotInstanceTypes: ["inf1.xlarge", "inf1.2xlarge"],
        instanceFamilies: ["inf1"],
        amiType: "AL2023_x86_64_NEURON",
        devicePlugin: "neuron",
        resourceName: "aws.amazon.com/neuron",
        warning:
            "Inf1 is at end of life in the Neuron SDK (driver pinned; Inf1 environments ended with Neuron 2.27). " +
            "Prefer 'inf2' for new deployments.",
    },
    nvidia: {
        // g6f is listed for the AL2023 x86_64 NVIDIA AMI in the EKS user guide ("Use EKS-optimized
        // accelerated AMIs for GPU instances"); g6f.large is a fraction of one L4 GPU, the nearest
        // modern match for the retired Elastic Inference accelerators.
        name: "nvidia",
        defaultInstanceType: "g6f.large",
        // Both are NVIDIA L4 (Ada, compute capability 8.9) under the same AMI, driver and nvidia.com/gpu
        // resource: g6f.large is an eighth of one L4 (about $0.20/h on demand), g6.xlarge a whole L4
        // (about $0.80/h). Different families are different Spot pools, so a g6f shortage still gets a node.
        spotInstanceTypes: ["g6f.large", "g6.xlarge"],
        instanceFamilies: ["g6f", "gr6f", "g4dn", "g5", "g6", "g6e", "gr6"],
        amiType: "AL2023_x86_64_NVIDIA",
        devicePlugin: "nvidia",
        resourceName: "nvidia.com/gpu",
    },
    cpu: {
        name: "cpu",
        defaultInstanceType: "c7i.large",
        // 2 vCPU / 4 GiB each, three generations: three Spot pools.
        spotInstanceTypes: ["c7i.large", "c6i.large", "c5.large"],
        instanceFamilies: ["c7i", "c6i", "c5", "m7i", "m6i", "m5", "r7i", "r6i"],
        amiType: "AL2023_x86_64_STANDARD",
        devicePlugin: "none",
    },
};

export function instanceFamily(instanceType: string): string {
    return instanceType.split(".")[0] ?? instanceType;
}

/**
 * Where each instance family is offered, for the regions this project lists: used ONLY offline, by the
 * test mocks behind `npm run plan` and the tests. A real preview or update asks EC2 which zones of the
 * region offer each node group's instance types (DescribeInstanceTypeOfferings by zone ID, see
 * zones.ts), so a region or family missing here never blocks a deployment.
 *
 * Compiled in November 2026 from AWS's public EC2 instance-type pages and regional launch announcements;
 * not checked per region with `aws ec2 describe-instance-type-offerings`.
 */
const BROAD = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1"];
export const FAMILY_REGIONS: Readonly<Record<string, readonly string[]>> = {
    inf2: BROAD,
    inf1: BROAD,
    g4dn: BROAD,
    g5: ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"],
    g6: ["us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1"],
    g6e: ["us-east-1", "us-east-2", "us-west-2"],
    g6f: ["us-east-1", "us-east-2", "us-west-2"],
    gr6: ["us-east-1", "us-west-2"],
    gr6f: ["us-east-1", "us-west-2"],
    c7i: BROAD,
    c6i: BROAD,
    c5: BROAD,
    m7i: BROAD,
    m6i: BROAD,
    m5: BROAD,
    r7i: BROAD,
    r6i: BROAD,
};

// ---- Scheduling: labels, taints, selectors, tolerations -------------------------------------

export const LABEL_WORKLOAD = "eks-inference/workload";
export const LABEL_ACCELERATOR = "eks-inference/accelerator";
export const LABEL_NODE_ROLE = "eks-inference/node-role";

/** Node labels of the accelerated group that runs `workload` on `profile`. */
export function nodeLabels(workload: Workload, profile: AcceleratorProfileName): Record<string, string> {
    return { [LABEL_WORKLOAD]: workload, [LABEL_ACCELERATOR]: profile, [LABEL_NODE_ROLE]: "inference" };
}

/** Labels of the general (system) node group. */
export const GENERAL_NODE_LABELS: Readonly<Record<string, string>> = { [LABEL_NODE_ROLE]: "general" };

/**
 * Taints on the accelerated group: the workload taint keeps every other pod off, and the device taint
 * (the key the device plugins' own DaemonSets already tolerate) keeps non-accelerated pods off.
 */
export function nodeTaints(workload: Workload, profile: AcceleratorProfileName): Taint[] {
    const taints: Taint[] = [{ key: LABEL_WORKLOAD, value: workload, effect: "NoSchedule" }];
    const resource = PROFILES[profile].resourceName;
    if (resource !== undefined) {
        taints.push({ key: resource, value: "true", effect: "NoSchedule" });
    }
    return taints;
}

/** nodeSelector for a pod spec that must land on the `workload` group running `profile`. */
export function nodeSelector(workload: Workload, profile: AcceleratorProfileName): Record<string, string> {
    return { [LABEL_WORKLOAD]: workload, [LABEL_ACCELERATOR]: profile };
}

/** Tolerations for a pod spec that runs on the `workload` group running `profile`. */
export function tolerations(workload: Workload, profile: AcceleratorProfileName): Toleration[] {
    return nodeTaints(workload, profile).map((t) => ({
        key: t.key,
        operator: "Equal",
        value: t.value,
        effect: t.effect,
    }));
}

/** The taint shape `aws.eks.NodeGroup` takes (effect in EKS API spelling). */
export function eksTaints(taints: Taint[]): { key: string; value: string; effect: "NO_SCHEDULE" }[] {
    return taints.map((t) => ({ key: t.key, value: t.value, effect: "NO_SCHEDULE" }));
}
