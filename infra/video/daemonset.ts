// Video object detection on the accelerated node group: one pod per node (DaemonSet) with the model
// fetched into an emptyDir, TF Serving beside the worker, and the worker polling the job queue.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { VIDEO_WORKER_IDENTITY } from "../platform/identities";
import {
    appLabels,
    containerSecurityContext,
    podSecurityContext,
    requireDnsLabel,
    requireScheduling,
    resources,
    type AcceleratorRequest,
    type BatchingSpec,
    type ModelSpec,
    type ResourceSpec,
    type Scheduling,
    workloadNamespace,
} from "../kube/common";
import { modelFetchInitContainer, WORKER_ENTRYPOINT } from "../kube/model-fetch";
import { workloadNetworkPolicy, type PodPeer } from "../kube/network-policies";
import { BATCHING_FILE, batchingParametersText, tfServingContainer } from "../kube/tf-serving";
import { ROLLOUT_ALLOWANCES, rolloutTimeoutSeconds, timeoutString, VIDEO_MAX_UNAVAILABLE_PERCENT } from "./rollout";
import { KUBELET_DISK_RESERVE_PERCENT } from "./scratch";

export const WORKER_METRICS_PORT = 9102;
export const WORKER_SCRATCH_MOUNT = "/scratch";

/** What the worker does with each job (see worker/src/config.ts for the meaning of each). */
export interface VideoWorkerSettings {
    jobQueueUrl: pulumi.Input<string>;
    deadLetterQueueUrl: pulumi.Input<string>;
    resultsBucket: pulumi.Input<string>;
    resultsPrefix: string;
    /** The bucket uploads become jobs in; the worker refuses jobs for any other bucket (INPUT_BUCKET). */
    inputBucket: pulumi.Input<string>;
    /** The key prefix uploads become jobs under; the worker refuses other keys (INPUT_PREFIX). */
    inputPrefix: string;
    /** Frames per Predict call; TF Serving's maxBatchSize must be at least this. */
    batchSize: number;
    frameWidth: number;
    frameHeight: number;
    /** Frames per second sampled from each video; 0 or undefined = every frame (SAMPLE_FPS left unset). */
    sampleFps?: number;
    scoreThreshold: number;
    visibilityTimeoutSeconds: number;
    metricsNamespace: string;
    region: pulumi.Input<string>;
    /** Further worker settings (e.g. LOG_LEVEL, MAX_VIDEO_BYTES), passed through as they are. */
    extraEnv?: Record<string, pulumi.Input<string>>;
}

export interface VideoInferenceArgs {
    /** Image with dist/worker and dist/model-fetch (images/worker). */
    workerImage: pulumi.Input<string>;
    /** The TF Serving image for the profile (images/tf-serving-{cpu,nvidia,neuron,neuronx}). */
    modelServerImage: pulumi.Input<string>;
    /** The accelerated video node group's nodeSelector and tolerations. */
    scheduling: Scheduling;
    /** Undefined for the cpu profile. */
    accelerator?: AcceleratorRequest;
    /** The detection model: name, URI, version. */
    model: ModelSpec;
    /** TF Serving's batching parameters. */
    batching: BatchingSpec;
    /** The worker's settings (queues, bucket, frames, metrics). */
    worker: VideoWorkerSettings;
    /** Requests and limits; default DEFAULT_VIDEO_RESOURCES (and the model-fetch defaults). */
    resources?: { worker?: ResourceSpec; modelServer?: ResourceSpec; modelFetch?: ResourceSpec };
    /** The worker's scratch emptyDir (one downloaded video and its result), GiB; default 12 (pipeline.ts: videoScratchGiB). */
    scratchGiB?: number;
    /** emptyDir limit for the model; default 4Gi. */
    modelVolumeSizeLimit?: string;
    /**
     * Most nodes the DaemonSet runs on: the video node group's maximum size. Sizes how long `pulumi up` waits
     * for a rollout over them (infra/video/rollout.ts). Required.
     */
    maxNodes: number;
    /** Time a pod gets after SIGTERM to hand its jobs back; default 120. */
    terminationGracePeriodSeconds?: number;
    /** Seconds TF Serving may take to load the model before the pod is restarted; default 600. */
    modelLoadBudgetSeconds?: number;
    /** Pod priority class; default none (the cluster's default priority). */
    priorityClassName?: pulumi.Input<string>;
    /** Defaults to the fixed identity the platform binds an IAM role to (infra/platform/identities.ts). */
    namespace?: string;
    /** Defaults to the fixed identity the platform binds an IAM role to (VIDEO_WORKER_IDENTITY). */
    serviceAccountName?: string;
    /**
     * Pods allowed to scrape the worker's metrics port (e.g. Prometheus in the monitoring namespace); default
     * none. Nothing else may connect to the pod: TF Serving answers only the worker beside it, on 127.0.0.1.
     */
    metricsScrapers?: PodPeer[];
}

export const DEFAULT_VIDEO_RESOURCES: { worker: ResourceSpec; modelServer: ResourceSpec } = {
    worker: { cpuRequest: "500m", memoryRequest: "1Gi", memoryLimit: "2Gi" },
    modelServer: { cpuRequest: "1", memoryRequest: "2Gi", memoryLimit: "4Gi" },
};

const VOLUMES = { models: "models", batching: "batching-config", serverTmp: "tf-serving-tmp", scratch: "scratch" } as const;

/**
 * A DaemonSet, not a Deployment: each node runs exactly one worker and one model server sharing its
 * accelerator, and the node group (not the pod count) is what scales. No PodDisruptionBudget: a PDB
 * would only block draining the node a pod is bound to (a DaemonSet pod cannot move elsewhere), and
 * scale-in of a busy node is governed by Auto Scaling instance protection, which the worker sets.
 */
export class VideoInferenceDaemonSet extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly serviceAccountName: pulumi.Output<string>;
    readonly daemonSetName: pulumi.Output<string>;
    /** The DaemonSet that pulls the model-server image as soon as a video node is Ready. */
    readonly prePullDaemonSetName: pulumi.Output<string>;
    /** Pod labels, for selectors elsewhere (e.g. a PodMonitor). */
    readonly podLabels: Record<string, string>;

    constructor(name: string, args: VideoInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:workloads:VideoInferenceDaemonSet", name, {}, opts);
        const namespaceName = args.namespace ?? VIDEO_WORKER_IDENTITY.namespace;
        const serviceAccountName = args.serviceAccountName ?? VIDEO_WORKER_IDENTITY.serviceAccount;
        requireDnsLabel("namespace", namespaceName);
        requireDnsLabel("model.name", args.model.name);
        requireScheduling(`${name} (VideoInferenceDaemonSet)`, args.scheduling);
        validateWorkerSettings(args);
        const labels = appLabels("video-inference", "detector");
        this.podLabels = labels.all;
        const childOpts: pulumi.CustomResourceOptions = { parent: this };

        const {
            namespace: ns,
            serviceAccount: sa,
            inNamespace,
        } = workloadNamespace(name, namespaceName, serviceAccountName, labels.all, childOpts);
        // In: the metrics port from the scrapers, if any. Out: DNS, the Pod Identity agent and HTTPS (S3, the
        // queue and the other AWS APIs, an https model source); see infra/kube/network-policies.ts.
        const networkPolicy = workloadNetworkPolicy(
            `${name}-network-policy`,
            {
                policyName: "video-inference",
                namespace: namespaceName,
                labels: labels.all,
                traffic: {
                    podSelector: labels.selector,
                    ingress: [{ ports: [WORKER_METRICS_PORT], peers: args.metricsScrapers ?? [] }],
                },
            },
            inNamespace,
        );
        // Auto-named, so a batching change yields a new ConfigMap name and rolls the pods.
        const batching = new k8s.core.v1.ConfigMap(
            `${name}-batching`,
            {
                metadata: { namespace: namespaceName, labels: labels.all },
                data: { [BATCHING_FILE]: batchingParametersText(args.batching) },
            },
            inNamespace,
        );

        const res = { ...DEFAULT_VIDEO_RESOURCES, ...args.resources };
        const modelServer = {
            ...tfServingContainer({
                image: args.modelServerImage,
                modelName: args.model.name,
                batchingVolume: VOLUMES.batching,
                modelsVolume: VOLUMES.models,
                tmpVolume: VOLUMES.serverTmp,
                resources: res.modelServer,
                accelerator: args.accelerator,
                modelLoadBudgetSeconds: args.modelLoadBudgetSeconds ?? 600,
            }),
            // A native sidecar (Kubernetes >= 1.29): started, and AVAILABLE per its startup probe, before
            // the worker starts; stopped only after the worker has handed its jobs back.
            restartPolicy: "Always",
        };

        const worker = workerContainer(args, res.worker);
        const terminationGracePeriodSeconds = args.terminationGracePeriodSeconds ?? 120;
        // A rollout replaces a quarter of the nodes at a time; `pulumi up` waits for all of them, each step at its budget.
        const rolloutTimeout = timeoutString(
            rolloutTimeoutSeconds(args.maxNodes, VIDEO_MAX_UNAVAILABLE_PERCENT, {
                terminationGraceSeconds: terminationGracePeriodSeconds,
                ...ROLLOUT_ALLOWANCES,
                modelLoadSeconds: probeBudgetSeconds(modelServer.startupProbe),
                workerReadySeconds: probeBudgetSeconds(worker.readinessProbe),
            }),
        );
        const ds = new k8s.apps.v1.DaemonSet(
            `${name}-daemonset`,
            {
                metadata: { name: "video-inference", namespace: namespaceName, labels: labels.all },
                spec: {
                    selector: { matchLabels: labels.selector },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: `${VIDEO_MAX_UNAVAILABLE_PERCENT}%` } },
                    template: {
                        metadata: {
                            labels: labels.all,
                            annotations: {
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(WORKER_METRICS_PORT),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        spec: {
                            serviceAccountName: sa.metadata.name,
                            automountServiceAccountToken: false,
                            nodeSelector: args.scheduling.nodeSelector,
                            tolerations: args.scheduling.tolerations,
                            priorityClassName: args.priorityClassName,
                            terminationGracePeriodSeconds,
                            securityContext: podSecurityContext(),
                            initContainers: [
                                modelFetchInitContainer({
                                    image: args.workerImage,
                                    model: args.model,
                                    modelsVolume: VOLUMES.models,
                                    region: args.worker.region,
                                    resources: res.modelFetch,
                                }),
                                modelServer,
                            ],
                            containers: [worker],
                            volumes: [
                                { name: VOLUMES.models, emptyDir: { sizeLimit: args.modelVolumeSizeLimit ?? "4Gi" } },
                                { name: VOLUMES.batching, configMap: { name: batching.metadata.name } },
                                { name: VOLUMES.serverTmp, emptyDir: { sizeLimit: "1Gi" } },
                                { name: VOLUMES.scratch, emptyDir: { sizeLimit: `${scratchGiB(args)}Gi` } },
                            ],
                        },
                    },
                },
            },
            // The pods start once their way out (model-fetch's download) is open.
            { ...inNamespace, dependsOn: [ns, networkPolicy], customTimeouts: { create: rolloutTimeout, update: rolloutTimeout } },
        );

        const prePull = new k8s.apps.v1.DaemonSet(
            `${name}-model-server-prepull`,
            modelServerPrePull(namespaceName, args.modelServerImage, args.scheduling, args.priorityClassName),
            inNamespace,
        );

        this.namespace = ns.metadata.name;
        this.serviceAccountName = sa.metadata.name;
        this.daemonSetName = ds.metadata.name;
        this.prePullDaemonSetName = prePull.metadata.name;
        this.registerOutputs({
            namespace: this.namespace,
            serviceAccountName: this.serviceAccountName,
            daemonSetName: this.daemonSetName,
            prePullDaemonSetName: this.prePullDaemonSetName,
        });
    }
}

/** Name of the model-server image pre-pull DaemonSet. */
export const PREPULL_DAEMONSET_NAME = "video-model-server-prepull";

/**
 * Pulls the model-server image on a new video node while the node is still getting ready for the video
 * pod. The video pod cannot be scheduled before the device plugin advertises the accelerator, and inside
 * it the images are pulled one container after another (model-fetch's worker image, then the model
 * server's multi-GB image). This pod requests no accelerator, so it starts as soon as the node is Ready,
 * and the kubelet pulls its image in parallel with everything else (nodeadm sets serializeImagePulls:
 * false); when the video pod reaches TF Serving the image is there or nearly (scaler/sim/startup.ts).
 * It only sleeps, holds no credentials (the namespace's default service account, no token) and keeps the
 * image in use, so image garbage collection never evicts it between video pods.
 */
export function modelServerPrePull(
    namespace: string,
    image: pulumi.Input<string>,
    scheduling: Scheduling,
    priorityClassName?: pulumi.Input<string>,
): k8s.types.input.apps.v1.DaemonSet {
    const labels = appLabels("video-inference", "model-server-prepull");
    return {
        metadata: { name: PREPULL_DAEMONSET_NAME, namespace, labels: labels.all },
        spec: {
            selector: { matchLabels: labels.selector },
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "100%" } },
            template: {
                metadata: { labels: labels.all },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    nodeSelector: scheduling.nodeSelector,
                    tolerations: scheduling.tolerations,
                    priorityClassName,
                    terminationGracePeriodSeconds: 1,
                    securityContext: podSecurityContext(),
                    containers: [
                        {
                            name: "hold-model-server-image",
                            image,
                            // The TF Serving images are Ubuntu-based: coreutils' sleep is there.
                            command: ["sleep", "infinity"],
                            // On NVIDIA nodes the default container runtime is nvidia (nodeadm), and TF Serving's GPU
                            // image inherits NVIDIA_VISIBLE_DEVICES=all from its CUDA base image: without this the
                            // runtime would give this pod every GPU of the node, though it requests none. "void"
                            // makes the runtime act as plain runc (no devices, no driver mounts).
                            env: [{ name: "NVIDIA_VISIBLE_DEVICES", value: "void" }],
                            resources: { requests: { cpu: "1m", memory: "8Mi" }, limits: { memory: "16Mi" } },
                            securityContext: containerSecurityContext(),
                        },
                    ],
                },
            },
        },
    };
}

/** How long a probe lets a container take before it gives up on it: failureThreshold x periodSeconds (Kubernetes' defaults 3 and 10). */
function probeBudgetSeconds(probe: pulumi.Input<k8s.types.input.core.v1.Probe | undefined>): number {
    // The probes are literal objects built in this module (tfServingContainer, workerContainer).
    const { periodSeconds = 10, failureThreshold = 3 } = (probe ?? {}) as { periodSeconds?: unknown; failureThreshold?: unknown };
    if (probe === undefined || typeof periodSeconds !== "number" || typeof failureThreshold !== "number") {
        throw new Error("a rollout budget needs a probe with literal periodSeconds and failureThreshold");
    }
    return failureThreshold * periodSeconds;
}

function validateWorkerSettings(args: VideoInferenceArgs): void {
    if (!Number.isInteger(args.maxNodes) || args.maxNodes < 1) {
        throw new pulumi.InputPropertyError({
            propertyPath: "maxNodes",
            reason: `maxNodes must be a positive integer (the video node group's maximum size), got ${args.maxNodes}`,
        });
    }
    const w = args.worker;
    const positiveInts = {
        batchSize: w.batchSize,
        frameWidth: w.frameWidth,
        frameHeight: w.frameHeight,
        visibilityTimeoutSeconds: w.visibilityTimeoutSeconds,
    };
    for (const [field, value] of Object.entries(positiveInts)) {
        if (!Number.isInteger(value) || value < 1)
            throw new pulumi.InputPropertyError({
                propertyPath: `worker.${field}`,
                reason: `worker.${field} must be a positive integer, got ${value}`,
            });
    }
    if (w.sampleFps !== undefined && !(Number.isFinite(w.sampleFps) && w.sampleFps >= 0)) {
        throw new pulumi.InputPropertyError({
            propertyPath: "worker.sampleFps",
            reason: `worker.sampleFps must be 0 (every frame) or a positive number of frames per second, got ${w.sampleFps}`,
        });
    }
    if (!(w.scoreThreshold >= 0 && w.scoreThreshold <= 1))
        throw new pulumi.InputPropertyError({
            propertyPath: "worker.scoreThreshold",
            reason: `worker.scoreThreshold must be between 0 and 1, got ${w.scoreThreshold}`,
        });
    if (w.batchSize > args.batching.maxBatchSize) {
        throw new pulumi.InputPropertyError({
            propertyPath: "worker.batchSize",
            reason: `worker.batchSize (${w.batchSize}) exceeds batching.maxBatchSize (${args.batching.maxBatchSize}): TF Serving would reject every batch`,
        });
    }
}

function scratchGiB(args: VideoInferenceArgs): number {
    return args.scratchGiB ?? 12;
}

/** 0 or undefined sampleFps means every frame. */
function everyFrame(sampleFps: number | undefined): sampleFps is 0 | undefined {
    return sampleFps === undefined || sampleFps === 0;
}

function workerContainer(args: VideoInferenceArgs, spec: ResourceSpec): k8s.types.input.core.v1.Container {
    const w = args.worker;
    const env: Record<string, pulumi.Input<string>> = {
        ...w.extraEnv,
        JOB_QUEUE_URL: w.jobQueueUrl,
        DEAD_LETTER_QUEUE_URL: w.deadLetterQueueUrl,
        RESULTS_BUCKET: w.resultsBucket,
        RESULTS_PREFIX: w.resultsPrefix,
        INPUT_BUCKET: w.inputBucket,
        INPUT_PREFIX: w.inputPrefix,
        MODEL_SERVER_URL: "grpc://127.0.0.1:8500",
        MODEL_NAME: args.model.name,
        BATCH_SIZE: String(w.batchSize),
        FRAME_WIDTH: String(w.frameWidth),
        FRAME_HEIGHT: String(w.frameHeight),
        // The worker decodes every frame when SAMPLE_FPS is unset (it rejects 0).
        ...(everyFrame(w.sampleFps) ? {} : { SAMPLE_FPS: String(w.sampleFps) }),
        SCORE_THRESHOLD: String(w.scoreThreshold),
        SCALE_IN_PROTECTION: "on",
        VISIBILITY_TIMEOUT_SECONDS: String(w.visibilityTimeoutSeconds),
        METRICS_NAMESPACE: w.metricsNamespace,
        METRICS_PORT: String(WORKER_METRICS_PORT),
        AWS_REGION: w.region,
        WORK_DIR: WORKER_SCRATCH_MOUNT,
        TMPDIR: WORKER_SCRATCH_MOUNT,
        // What the kubelet allows, so that a video that does not fit is DISK_FULL (given back) instead of an eviction (receive spent).
        WORK_DIR_LIMIT_BYTES: String(scratchGiB(args) * 1024 ** 3),
        WORK_DIR_RESERVE_PERCENT: String(KUBELET_DISK_RESERVE_PERCENT),
    };
    return {
        name: "worker",
        image: args.workerImage,
        command: WORKER_ENTRYPOINT,
        env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        ],
        ports: [{ name: "metrics", containerPort: WORKER_METRICS_PORT, protocol: "TCP" }],
        resources: resources(spec),
        securityContext: containerSecurityContext(),
        volumeMounts: [{ name: VOLUMES.scratch, mountPath: WORKER_SCRATCH_MOUNT }],
        livenessProbe: {
            httpGet: { path: "/healthz", port: "metrics" },
            initialDelaySeconds: 10,
            periodSeconds: 15,
            timeoutSeconds: 5,
            failureThreshold: 4,
        },
        readinessProbe: { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    };
}
