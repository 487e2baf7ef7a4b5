// BERT on Triton (the default server): a compile Job that builds the model into the stack's bucket when
// it is missing, and a Deployment whose pods wait for that model, assemble a Triton model repository
// and serve it over KServe v2 (gRPC 8001, HTTP 8000, metrics 8002).
//
// `pulumi up` does not wait for either: the Job may take many minutes on a fresh stack and the pods
// cannot be ready before it ends, so both carry pulumi.com/skipAwait and the init container's log
// says what it is waiting for (kubectl -n bert logs deploy/bert-serving -c wait-for-model).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { MODEL_MANIFEST } from "./settings";
import { BERT_MODEL_BUILDER_IDENTITY, BERT_SERVING_IDENTITY } from "../platform/identities";
import { BERT_SERVICE_NAME, SKIP_AWAIT, bertFront } from "./front";
import { bertNetworkPolicies, NO_BERT_ACCESS, type BertAccess } from "./access";
import { workloadNetworkPolicy } from "../kube/network-policies";
import { bertDeploymentArgs } from "./deployment";
import { BERT_SERVER_COMPONENT_TYPES, serverChildOptions } from "./server-switch";
import {
    appLabels,
    containerSecurityContext,
    podSecurityContext,
    requireDnsLabel,
    requireScheduling,
    resources,
    workloadNamespace,
    type AcceleratorRequest,
    type ResourceSpec,
    type Scheduling,
} from "../kube/common";
import {
    MODEL_REPOSITORY_MOUNT,
    TRITON_CONFIG_FILE,
    TRITON_CONFIG_MOUNT,
    TRITON_GRPC_PORT,
    TRITON_HTTP_PORT,
    TRITON_METRICS_PORT,
    tritonContainer,
    tritonModelConfig,
} from "./triton";

/** Where images/bert-python/ lands in the Triton images. */
export const BERT_PYTHON_DIR = "/opt/bert";

export const DEFAULT_TRITON_RESOURCES: Readonly<Record<"neuronx" | "cpu", ResourceSpec>> = {
    // inf2.xlarge: 4 vCPU, 16 GiB; one pod per node (it takes the node's only Neuron device).
    neuronx: { cpuRequest: "2", memoryRequest: "6Gi", memoryLimit: "8Gi" },
    // c7i.large: 2 vCPU, 4 GiB.
    cpu: { cpuRequest: "1", memoryRequest: "2Gi", memoryLimit: "3Gi" },
};
export const DEFAULT_WAIT_FOR_MODEL_RESOURCES: ResourceSpec = {
    cpuRequest: "250m",
    memoryRequest: "256Mi",
    cpuLimit: "1",
    memoryLimit: "512Mi",
};
/** neuronx-cc on BERT-base at a few batch sizes: a few GiB of memory, one core is enough. */
export const DEFAULT_COMPILE_RESOURCES: ResourceSpec = { cpuRequest: "1", memoryRequest: "4Gi", memoryLimit: "7Gi" };
/**
 * The compile Job's scratch (emptyDir size limits) per target: the Hugging Face cache (~0.5 GiB for
 * BERT-base), the traced models and, for neuronx, neuronx-cc's work files. Sized with the node it runs on:
 * neuronx on the BERT nodes (acceleratedVolumeGiB), cpu on the general nodes (generalVolumeGiB, 40 by default,
 * which also hold the ~15 GB Triton image).
 */
export const COMPILE_SCRATCH: Readonly<Record<"neuronx" | "cpu", { work: string; tmp: string }>> = {
    neuronx: { work: "20Gi", tmp: "10Gi" },
    cpu: { work: "6Gi", tmp: "2Gi" },
};

export interface BertTritonModel {
    /** Triton model name (a DNS label). */
    name: string;
    sequenceLength: number;
    batchSizes: number[];
    target: "neuronx" | "cpu";
    /** The bucket and key prefix (trailing slash) holding manifest.json and the traced files. */
    bucket: pulumi.Input<string>;
    prefix: string;
}

export interface BertTritonArgs {
    /** The Triton image of the target (triton-neuronx or triton-cpu): server, init container and compile Job. */
    image: pulumi.Input<string>;
    /** Deployment replicas; at least 1. */
    replicas: number;
    /** The BERT node group. */
    scheduling: Scheduling;
    /** Neuron devices per pod (neuronx); undefined for cpu. */
    accelerator?: AcceleratorRequest;
    /** Model instances per pod: NeuronCores of the pod's devices (inf2: 2 per device), or 1 on CPU. */
    instances: number;
    /** The model: name, shapes, target, and the bucket and key prefix it is served from. */
    model: BertTritonModel;
    /** When given, the stack compiles the model: a Job on these (general) nodes builds it from this Hugging Face id. */
    build?: { modelId: string; scheduling: Scheduling };
    /** The AWS region the init container and the compile Job use for S3. */
    region: pulumi.Input<string>;
    /** Triton's dynamic batching delay; default 2000 µs. */
    maxQueueDelayMicroseconds?: number;
    /** Requests and limits; defaults DEFAULT_TRITON_RESOURCES (per target), DEFAULT_WAIT_FOR_MODEL_RESOURCES, DEFAULT_COMPILE_RESOURCES. */
    resources?: { server?: ResourceSpec; waitForModel?: ResourceSpec; compile?: ResourceSpec };
    /** CPU target: PyTorch threads of the (single) model instance; default 2, the vCPUs of a c7i.large. */
    cpuThreads?: number;
    /** Seconds Triton may take to load the model once the server starts; default 600. */
    modelLoadBudgetSeconds?: number;
    /** Pod priority class; default none (the cluster's default priority). */
    priorityClassName?: pulumi.Input<string>;
    /** Who may call the server besides labelled pods in its namespace (infra/bert/access.ts); default nobody else. */
    access?: BertAccess;
}

/** A Job name that changes exactly when the model key does: bert-model-build-<8 hex of the prefix>. */
export function buildJobName(prefix: string): string {
    return `bert-model-build-${createHash("sha256").update(prefix).digest("hex").slice(0, 8)}`;
}

const VOLUMES = { repository: "model-repository", config: "triton-config", tmp: "tmp", shm: "dshm", work: "work" } as const;

export class BertTritonService extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    /** `<service>.<namespace>.svc.cluster.local` */
    readonly dnsName: pulumi.Output<string>;
    /** One A record per ready pod: for clients that open a connection per replica. */
    readonly headlessDnsName: pulumi.Output<string>;
    readonly grpcPort = TRITON_GRPC_PORT;
    readonly httpPort = TRITON_HTTP_PORT;
    readonly metricsPort = TRITON_METRICS_PORT;
    /** e.g. grpc://bert-serving.bert.svc.cluster.local:8001 */
    readonly grpcUrl: pulumi.Output<string>;
    /** s3://bucket/prefix/ the pods serve from. */
    readonly modelLocation: pulumi.Output<string>;
    /** The compile Job's name, when the stack builds the model. */
    readonly buildJobName?: string;

    constructor(name: string, args: BertTritonArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BERT_SERVER_COMPONENT_TYPES["triton"], name, {}, opts);
        const namespaceName = BERT_SERVING_IDENTITY.namespace;
        requireDnsLabel("model.name", args.model.name);
        requireScheduling(`${name} (BertTritonService)`, args.scheduling);
        if (args.build !== undefined) requireScheduling(`${name} (BertTritonService compile Job)`, args.build.scheduling);
        if (!Number.isInteger(args.replicas) || args.replicas < 1)
            throw new pulumi.InputPropertyError({
                propertyPath: "replicas",
                reason: `replicas must be a positive integer, got ${args.replicas}`,
            });
        if (!args.model.prefix.endsWith("/") || args.model.prefix.startsWith("/")) {
            throw new pulumi.InputPropertyError({
                propertyPath: "model.prefix",
                reason: `model.prefix must be a key prefix ending in '/' without a leading '/', got '${args.model.prefix}'`,
            });
        }
        if ((args.model.target === "neuronx") !== (args.accelerator?.resourceName === "aws.amazon.com/neuron")) {
            throw new pulumi.InputPropertyError({
                propertyPath: "model.target",
                reason: `model target '${args.model.target}' needs ${args.model.target === "neuronx" ? "a Neuron device (aws.amazon.com/neuron)" : "no accelerator"}`,
            });
        }
        const labels = appLabels("bert-serving", "model-server");
        // The objects both servers declare stay the same objects when bertServer switches (server-switch.ts).
        const childOpts = serverChildOptions(this, name, "triton", opts);
        const {
            namespace: ns,
            serviceAccount: sa,
            inNamespace,
        } = workloadNamespace(name, namespaceName, BERT_SERVING_IDENTITY.serviceAccount, labels.all, childOpts);
        const modelLocation = pulumi.interpolate`s3://${args.model.bucket}/${args.model.prefix}`;
        const modelEnv = [
            { name: "MODEL_BUCKET", value: args.model.bucket },
            { name: "MODEL_PREFIX", value: args.model.prefix },
            { name: "SEQUENCE_LENGTH", value: String(args.model.sequenceLength) },
            { name: "BATCH_SIZES", value: args.model.batchSizes.join(",") },
            { name: "TARGET", value: args.model.target },
            { name: "AWS_REGION", value: args.region },
            // boto3 reads the region from AWS_DEFAULT_REGION only (boto/boto3#3620), and the nodes' IMDS is out of a
            // pod's reach (hop limit 1): without it the Python programs would have no region.
            { name: "AWS_DEFAULT_REGION", value: args.region },
        ];

        // The compile Job: exits at once when the manifest already exists (a rerun or a replaced Job).
        let waitingFor: string;
        if (args.build !== undefined) {
            const jobName = buildJobName(args.model.prefix);
            this.buildJobName = jobName;
            waitingFor = `the compile Job ${namespaceName}/${jobName} (kubectl -n ${namespaceName} logs job/${jobName})`;
            const builderLabels = appLabels("bert-model-build", "model-builder");
            const builderSa = new k8s.core.v1.ServiceAccount(
                `${name}-builder-service-account`,
                {
                    metadata: {
                        name: BERT_MODEL_BUILDER_IDENTITY.serviceAccount,
                        namespace: BERT_MODEL_BUILDER_IDENTITY.namespace,
                        labels: builderLabels.all,
                    },
                    automountServiceAccountToken: false,
                },
                inNamespace,
            );
            // Nobody calls the compile Job; it reaches out to DNS, its credentials, Hugging Face and S3 (HTTPS).
            const buildPolicy = workloadNetworkPolicy(
                `${name}-build-network-policy`,
                {
                    policyName: "bert-model-build",
                    namespace: namespaceName,
                    labels: builderLabels.all,
                    traffic: { podSelector: builderLabels.selector, ingress: [] },
                },
                inNamespace,
            );
            new k8s.batch.v1.Job(
                `${name}-build`,
                {
                    metadata: { name: jobName, namespace: namespaceName, labels: builderLabels.all, annotations: { ...SKIP_AWAIT } },
                    spec: {
                        backoffLimit: 2,
                        // A compile that hangs is stopped after 3 hours.
                        activeDeadlineSeconds: 3 * 3600,
                        template: {
                            metadata: { labels: builderLabels.all },
                            spec: {
                                restartPolicy: "Never",
                                serviceAccountName: builderSa.metadata.name,
                                automountServiceAccountToken: false,
                                // Tracing needs no accelerator: placement comes from compileJobScheduling() (the BERT nodes on inf2, for their disk; general nodes on cpu).
                                nodeSelector: args.build.scheduling.nodeSelector,
                                tolerations: args.build.scheduling.tolerations,
                                securityContext: podSecurityContext(),
                                containers: [
                                    {
                                        name: "compile",
                                        image: args.image,
                                        command: ["python3", `${BERT_PYTHON_DIR}/compile.py`],
                                        workingDir: "/work",
                                        env: [
                                            ...modelEnv,
                                            { name: "MODEL_ID", value: args.build.modelId },
                                            // Hugging Face cache and neuronx-cc work files on the scratch volume,
                                            // temporaries (the compiler's too) on /tmp: the root filesystem is read-only.
                                            { name: "HF_HOME", value: "/work/hf" },
                                            { name: "TMPDIR", value: "/tmp" },
                                            { name: "HOME", value: "/work" },
                                        ],
                                        resources: resources(args.resources?.compile ?? DEFAULT_COMPILE_RESOURCES),
                                        securityContext: containerSecurityContext(),
                                        volumeMounts: [
                                            { name: VOLUMES.work, mountPath: "/work" },
                                            { name: VOLUMES.tmp, mountPath: "/tmp" },
                                        ],
                                    },
                                ],
                                // neuronx-cc's work files need room (the Job runs on the BERT nodes, see
                                // index.ts); a CPU TorchScript trace of BERT-base needs a few GiB (general nodes).
                                volumes: Object.entries(COMPILE_SCRATCH[args.model.target]).map(([volume, sizeLimit]) => ({
                                    name: volume,
                                    emptyDir: { sizeLimit },
                                })),
                            },
                        },
                    },
                },
                // A Job's pod template is immutable: a new spec replaces the Job (same name).
                { ...inNamespace, dependsOn: [ns, builderSa, buildPolicy], deleteBeforeReplace: true },
            );
        } else {
            waitingFor = "your compiled model (eks-inference:bertModelUri)";
        }

        const config = new k8s.core.v1.ConfigMap(
            `${name}-triton-config`,
            {
                metadata: { namespace: namespaceName, labels: labels.all },
                data: {
                    [TRITON_CONFIG_FILE]: tritonModelConfig({
                        name: args.model.name,
                        sequenceLength: args.model.sequenceLength,
                        batchSizes: args.model.batchSizes,
                        target: args.model.target,
                        instances: args.instances,
                        maxQueueDelayMicroseconds: args.maxQueueDelayMicroseconds ?? 2000,
                    }),
                },
            },
            inNamespace,
        );

        const networkPolicies = bertNetworkPolicies(
            name,
            {
                namespace: namespaceName,
                labels,
                apiPorts: [TRITON_GRPC_PORT, TRITON_HTTP_PORT],
                metricsPorts: [TRITON_METRICS_PORT],
                access: args.access ?? NO_BERT_ACCESS,
            },
            inNamespace,
        );

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            bertDeploymentArgs({
                name: BERT_SERVICE_NAME,
                namespace: namespaceName,
                labels,
                replicas: args.replicas,
                serviceAccountName: sa.metadata.name,
                scheduling: args.scheduling,
                priorityClassName: args.priorityClassName,
                initContainers: [
                    {
                        name: "wait-for-model",
                        image: args.image,
                        command: ["python3", `${BERT_PYTHON_DIR}/fetch_model.py`],
                        env: [
                            ...modelEnv,
                            { name: "MODEL_NAME", value: args.model.name },
                            { name: "MODEL_REPOSITORY", value: MODEL_REPOSITORY_MOUNT },
                            { name: "MODEL_CONFIG", value: `${TRITON_CONFIG_MOUNT}/${TRITON_CONFIG_FILE}` },
                            { name: "MANIFEST", value: MODEL_MANIFEST },
                            { name: "WAITING_FOR", value: waitingFor },
                            { name: "POLL_SECONDS", value: "30" },
                            { name: "TMPDIR", value: "/tmp" },
                            { name: "HOME", value: "/tmp" },
                        ],
                        resources: resources(args.resources?.waitForModel ?? DEFAULT_WAIT_FOR_MODEL_RESOURCES),
                        securityContext: containerSecurityContext(),
                        volumeMounts: [
                            { name: VOLUMES.repository, mountPath: MODEL_REPOSITORY_MOUNT },
                            { name: VOLUMES.config, mountPath: TRITON_CONFIG_MOUNT, readOnly: true },
                            { name: VOLUMES.tmp, mountPath: "/tmp" },
                        ],
                    },
                ],
                containers: [
                    tritonContainer({
                        image: args.image,
                        modelName: args.model.name,
                        repositoryVolume: VOLUMES.repository,
                        tmpVolume: VOLUMES.tmp,
                        shmVolume: VOLUMES.shm,
                        resources: args.resources?.server ?? DEFAULT_TRITON_RESOURCES[args.model.target],
                        accelerator: args.accelerator,
                        modelLoadBudgetSeconds: args.modelLoadBudgetSeconds ?? 600,
                        cpuThreads: args.model.target === "cpu" ? (args.cpuThreads ?? 2) : undefined,
                    }),
                ],
                volumes: [
                    { name: VOLUMES.repository, emptyDir: { sizeLimit: "8Gi" } },
                    { name: VOLUMES.config, configMap: { name: config.metadata.name } },
                    { name: VOLUMES.tmp, emptyDir: { sizeLimit: "1Gi" } },
                    { name: VOLUMES.shm, emptyDir: { medium: "Memory", sizeLimit: "512Mi" } },
                ],
            }),
            // The pods start once their way out (the model's S3 read) is open.
            { ...inNamespace, dependsOn: [ns, ...networkPolicies] },
        );

        const front = bertFront(name, {
            namespace: namespaceName,
            labels,
            ports: [
                { name: "grpc", port: TRITON_GRPC_PORT },
                { name: "http", port: TRITON_HTTP_PORT },
                { name: "metrics", port: TRITON_METRICS_PORT },
            ],
            replicas: args.replicas,
            deployment,
            opts: inNamespace,
            warnOn: this,
        });

        this.namespace = ns.metadata.name;
        this.serviceName = front.service.metadata.name;
        this.dnsName = front.dnsName;
        this.headlessDnsName = front.headlessDnsName;
        this.grpcUrl = pulumi.interpolate`grpc://${this.dnsName}:${TRITON_GRPC_PORT}`;
        this.modelLocation = modelLocation;
        this.registerOutputs({
            namespace: this.namespace,
            dnsName: this.dnsName,
            headlessDnsName: this.headlessDnsName,
            grpcUrl: this.grpcUrl,
            modelLocation,
        });
    }
}
