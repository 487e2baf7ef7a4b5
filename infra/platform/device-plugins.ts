// Device plugins that advertise accelerators to the scheduler, installed from their vendors' Helm charts.
// Under `pulumi.runtime.setMocks` each Release is one recorded resource (helm v3 Release renders in
// the provider at apply time, not in this program).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_ACCELERATOR, LABEL_NODE_ROLE, LABEL_WORKLOAD } from "./accelerators";
import type { Scheduling, Toleration } from "../kube/common";

/**
 * oci://public.ecr.aws/neuron/neuron-helm-chart 1.10.0 (device plugin image 2.32.0.0, Neuron SDK 2.32;
 * chart digest sha256:ed5d8f73b7a05d3a1edf17b2bfaf277ea995ad1c65b115fa8ba2c7b4dc649346 per `helm show values`).
 * Its values keep the keys set below (devicePlugin, scheduler, npd, draDriver, ultraserverOperator).
 */
export const NEURON_HELM_CHART = "oci://public.ecr.aws/neuron/neuron-helm-chart";
export const NEURON_HELM_CHART_VERSION = "1.10.0";
/**
 * nvidia-device-plugin from https://nvidia.github.io/k8s-device-plugin: chart 0.20.0 (tag v0.20.0, 2026-08-19).
 * Checked 2026-12-06 for 0.20.1: NVIDIA/k8s-device-plugin has no v0.20.1 tag, its release-0.20 branch's Chart.yaml
 * is 0.20.0, and the chart index (gh-pages index.yaml, generated 2026-08-20) lists 0.20.0 as the newest, so
 * 0.20.0 stays until a 0.20.1 can be verified.
 */
export const NVIDIA_HELM_REPO = "https://nvidia.github.io/k8s-device-plugin";
export const NVIDIA_HELM_CHART = "nvidia-device-plugin";
export const NVIDIA_HELM_CHART_VERSION = "0.20.0";

/** The tolerations both charts ship with; values lists replace chart defaults, so they are repeated. */
const CRITICAL_ADDON_TOLERATION: Toleration = { key: "CriticalAddonsOnly", operator: "Exists" };

/**
 * Default placement for a device plugin: every inference node (whatever workload it is tainted for)
 * that carries `resourceName`'s device taint. The Neuron chart adds its own instance-type affinity.
 */
export function devicePluginScheduling(resourceName: "aws.amazon.com/neuron" | "nvidia.com/gpu", acceleratorLabel?: string): Scheduling {
    return {
        nodeSelector:
            acceleratorLabel === undefined
                ? { [LABEL_NODE_ROLE]: "inference" }
                : { [LABEL_NODE_ROLE]: "inference", [LABEL_ACCELERATOR]: acceleratorLabel },
        tolerations: [
            { key: LABEL_WORKLOAD, operator: "Exists", effect: "NoSchedule" },
            { key: resourceName, operator: "Exists", effect: "NoSchedule" },
        ],
    };
}

export interface NeuronDevicePluginArgs {
    /** Where the plugin may run; default devicePluginScheduling("aws.amazon.com/neuron"). */
    scheduling?: Scheduling;
    /** Helm chart version; default NEURON_HELM_CHART_VERSION. */
    chartVersion?: string;
    /** Namespace of the release; default kube-system. */
    namespace?: string;
}

/** The Neuron device plugin only: scheduler extension, node problem detector and DRA driver off. */
export class NeuronDevicePlugin extends pulumi.ComponentResource {
    readonly releaseName: pulumi.Output<string>;

    constructor(name: string, args: NeuronDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:workloads:NeuronDevicePlugin", name, {}, opts);
        const scheduling = args.scheduling ?? devicePluginScheduling("aws.amazon.com/neuron");
        const release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "neuron-device-plugin",
                chart: NEURON_HELM_CHART,
                version: args.chartVersion ?? NEURON_HELM_CHART_VERSION,
                namespace: args.namespace ?? "kube-system",
                atomic: true,
                values: {
                    devicePlugin: {
                        enabled: true,
                        nodeSelector: scheduling.nodeSelector,
                        tolerations: [CRITICAL_ADDON_TOLERATION, ...scheduling.tolerations],
                    },
                    scheduler: { enabled: false },
                    // The chart turns its Neuron node problem detector on by default (monitor-only: it reads
                    // NEURON_HW_ERR lines from /dev/kmsg and sets a NeuronHealth node condition). Off here, on
                    // purpose: nothing in this stack acts on that condition, its recovery mode needs IAM through
                    // IRSA (this cluster has no OIDC provider; workloads use Pod Identity), and as shipped its
                    // DaemonSet tolerates every taint, so it would run on the general nodes too. BERT's readiness
                    // probe already takes a pod with a failed device out of its Service.
                    npd: { enabled: false },
                    draDriver: { enabled: false },
                    ultraserverOperator: { enabled: false },
                },
            },
            { parent: this },
        );
        this.releaseName = release.name;
        this.registerOutputs({ releaseName: this.releaseName });
    }
}

export interface NvidiaDevicePluginArgs {
    /** Where the plugin may run; default devicePluginScheduling("nvidia.com/gpu", "nvidia"). */
    scheduling?: Scheduling;
    /** GPU time-slicing: each GPU is advertised as this many nvidia.com/gpu. 1 (default) = off. */
    timeSlicingReplicas?: number;
    /** Helm chart version; default NVIDIA_HELM_CHART_VERSION. */
    chartVersion?: string;
    /** Namespace of the release; default kube-system. */
    namespace?: string;
}

/** Device-plugin config (the chart's config.map) that time-slices every GPU into `replicas`. */
export function timeSlicingConfig(replicas: number): string {
    return [
        "version: v1",
        "flags:",
        "  migStrategy: none",
        "sharing:",
        "  timeSlicing:",
        // A pod asking for more than one slice would get no more compute: refuse it instead.
        "    failRequestsGreaterThanOne: true",
        "    resources:",
        "      - name: nvidia.com/gpu",
        `        replicas: ${replicas}`,
        "",
    ].join("\n");
}

export class NvidiaDevicePlugin extends pulumi.ComponentResource {
    readonly releaseName: pulumi.Output<string>;

    constructor(name: string, args: NvidiaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:workloads:NvidiaDevicePlugin", name, {}, opts);
        const replicas = args.timeSlicingReplicas ?? 1;
        if (!Number.isInteger(replicas) || replicas < 1)
            throw new pulumi.InputPropertyError({
                propertyPath: "timeSlicingReplicas",
                reason: `timeSlicingReplicas must be a positive integer, got ${replicas}`,
            });
        const scheduling = args.scheduling ?? devicePluginScheduling("nvidia.com/gpu", "nvidia");
        const values: Record<string, unknown> = {
            nodeSelector: scheduling.nodeSelector,
            // Replaces the chart's default affinity, which wants node-feature-discovery labels that EKS
            // nodes do not carry unless NFD is installed.
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [
                            {
                                matchExpressions: Object.entries(scheduling.nodeSelector).map(([key, value]) => ({
                                    key,
                                    operator: "In",
                                    values: [value],
                                })),
                            },
                        ],
                    },
                },
            },
            tolerations: [CRITICAL_ADDON_TOLERATION, ...scheduling.tolerations],
            gfd: { enabled: false },
        };
        if (replicas > 1) values.config = { map: { default: timeSlicingConfig(replicas) }, default: "default" };
        const release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "nvidia-device-plugin",
                chart: NVIDIA_HELM_CHART,
                version: args.chartVersion ?? NVIDIA_HELM_CHART_VERSION,
                repositoryOpts: { repo: NVIDIA_HELM_REPO },
                namespace: args.namespace ?? "kube-system",
                atomic: true,
                values,
            },
            { parent: this },
        );
        this.releaseName = release.name;
        this.registerOutputs({ releaseName: this.releaseName });
    }
}

/** The accelerated groups' profiles and the video group's GPU time-slicing (from the stack config). */
export interface DevicePluginsConfig {
    video: { enabled: boolean; nodes: { profile: { name: string; devicePlugin?: string } }; nvidiaTimeSlicingReplicas: number };
    bert: { enabled: boolean; nodes: { profile: { name: string; devicePlugin?: string } } };
}

/**
 * The device plugins the enabled workloads' profiles need, at most one of each, named `<name>-neuron`
 * and `<name>-nvidia`. Needs the `kubernetes` provider in `opts.providers`.
 */
export function devicePluginsFor(name: string, config: DevicePluginsConfig, opts: pulumi.ComponentResourceOptions): pulumi.Resource[] {
    const profiles = (["video", "bert"] as const).filter((w) => config[w].enabled).map((w) => config[w].nodes.profile);
    const plugins: pulumi.Resource[] = [];
    if (profiles.some((p) => p.devicePlugin === "neuron")) plugins.push(new NeuronDevicePlugin(`${name}-neuron`, {}, opts));
    if (profiles.some((p) => p.devicePlugin === "nvidia")) {
        plugins.push(
            new NvidiaDevicePlugin(
                `${name}-nvidia`,
                {
                    timeSlicingReplicas: config.video.nodes.profile.name === "nvidia" ? config.video.nvidiaTimeSlicingReplicas : 1,
                },
                opts,
            ),
        );
    }
    return plugins;
}
