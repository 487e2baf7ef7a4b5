// Triton Inference Server for BERT: the model configuration (config.pbtxt) and the server container.
// The model is a torch-neuronx (Inf2) or torch.jit (CPU) trace at fixed shapes, run by the Python
// backend (images/bert-python/model.py); the repository is assembled by the wait-for-model init container.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { containerSecurityContext, resources, type AcceleratorRequest, type ResourceSpec } from "../kube/common";

/** Triton's default ports (KServe v2 / Open Inference Protocol). */
export const TRITON_HTTP_PORT = 8000;
export const TRITON_GRPC_PORT = 8001;
export const TRITON_METRICS_PORT = 8002;

/** The inputs the client sends (INT64 [batch, sequence length]) and the output it reads. */
export const BERT_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;
export const BERT_OUTPUT = "logits";

export const MODEL_REPOSITORY_MOUNT = "/models";
export const TRITON_CONFIG_MOUNT = "/etc/bert";
export const TRITON_CONFIG_FILE = "config.pbtxt";

export interface TritonModelSpec {
    /** Triton model name (a DNS label here; the v2 path /v2/models/<name>). */
    name: string;
    sequenceLength: number;
    /** Compiled batch sizes, increasing; the largest is max_batch_size. */
    batchSizes: number[];
    /** neuronx: one instance per NeuronCore (KIND_MODEL, model.py pins a core); cpu: KIND_CPU. */
    target: "neuronx" | "cpu";
    /** Model instances: NeuronCores given to the pod (neuronx), or CPU instances. */
    instances: number;
    /** How long the dynamic batcher may hold a request to fill a batch. */
    maxQueueDelayMicroseconds: number;
}

function requireSpec(spec: TritonModelSpec): void {
    const sizes = spec.batchSizes;
    if (sizes.length === 0 || !sizes.every((s, i) => Number.isInteger(s) && s > 0 && (i === 0 || s > (sizes[i - 1] as number)))) {
        throw new Error(`Triton model ${spec.name}: batchSizes must be increasing positive integers, got [${sizes.join(", ")}]`);
    }
    if (!Number.isInteger(spec.sequenceLength) || spec.sequenceLength < 1)
        throw new Error(`Triton model ${spec.name}: sequenceLength must be a positive integer, got ${spec.sequenceLength}`);
    if (!Number.isInteger(spec.instances) || spec.instances < 1)
        throw new Error(`Triton model ${spec.name}: instances must be a positive integer, got ${spec.instances}`);
}

/**
 * The model configuration in protobuf text format. Inputs have the fixed sequence length, so Triton
 * itself rejects a request of another shape; the dynamic batcher prefers the compiled batch sizes
 * (model.py pads a batch up to the next compiled size).
 */
export function tritonModelConfig(spec: TritonModelSpec): string {
    requireSpec(spec);
    const maxBatch = spec.batchSizes[spec.batchSizes.length - 1] as number;
    const preferred = spec.batchSizes.filter((s) => s > 1);
    const lines = [
        `name: "${spec.name}"`,
        `backend: "python"`,
        `max_batch_size: ${maxBatch}`,
        ...BERT_INPUTS.map((input) => `input { name: "${input}" data_type: TYPE_INT64 dims: [ ${spec.sequenceLength} ] }`),
        // The number of labels depends on the model; model.py returns [batch, labels].
        `output { name: "${BERT_OUTPUT}" data_type: TYPE_FP32 dims: [ -1 ] }`,
        `instance_group { count: ${spec.instances} kind: ${spec.target === "neuronx" ? "KIND_MODEL" : "KIND_CPU"} }`,
        `dynamic_batching { ${preferred.length > 0 ? `preferred_batch_size: [ ${preferred.join(", ")} ] ` : ""}max_queue_delay_microseconds: ${spec.maxQueueDelayMicroseconds} }`,
        `parameters { key: "target" value: { string_value: "${spec.target}" } }`,
        `parameters { key: "batch_sizes" value: { string_value: "${spec.batchSizes.join(",")}" } }`,
        `parameters { key: "sequence_length" value: { string_value: "${spec.sequenceLength}" } }`,
    ];
    return `${lines.join("\n")}\n`;
}

export interface TritonContainerArgs {
    /** The Triton image (triton-neuronx or triton-cpu). */
    image: pulumi.Input<string>;
    /** The model's name in the repository (and in client requests). */
    modelName: string;
    /** Volume holding the model repository. */
    repositoryVolume: string;
    /** Writable /tmp volume (the root filesystem is read-only). */
    tmpVolume: string;
    /** Memory-backed /dev/shm volume. */
    shmVolume: string;
    /** The server's requests and limits. */
    resources: ResourceSpec;
    /** Neuron devices; undefined (the default) requests none (cpu). */
    accelerator?: AcceleratorRequest;
    /** Seconds the startup probe allows for the model to load after the server starts. */
    modelLoadBudgetSeconds: number;
    /** CPU target only: PyTorch threads per model instance (the node's vCPUs; the pod sets no CPU limit). Default undefined: the variable is not set. */
    cpuThreads?: number;
}

/**
 * tritonserver on its standard ports. Startup and readiness probe the v2 ModelReady endpoint
 * (GET /v2/models/<name>/ready: 200 only once the model is loaded); liveness is the server's own
 * /v2/health/live, so a slow batch never gets the server killed.
 */
export function tritonContainer(args: TritonContainerArgs): k8s.types.input.core.v1.Container {
    const ready = `/v2/models/${args.modelName}/ready`;
    const period = 10;
    return {
        name: "triton",
        image: args.image,
        command: ["tritonserver"],
        args: [
            `--model-repository=${MODEL_REPOSITORY_MOUNT}`,
            `--http-port=${TRITON_HTTP_PORT}`,
            `--grpc-port=${TRITON_GRPC_PORT}`,
            `--metrics-port=${TRITON_METRICS_PORT}`,
            // Serve exactly the model the init container placed; a model that fails to load stops the server.
            "--model-control-mode=none",
            "--strict-readiness=true",
            "--exit-on-error=true",
            "--disable-auto-complete-config",
        ],
        ports: [
            { name: "grpc", containerPort: TRITON_GRPC_PORT, protocol: "TCP" },
            { name: "http", containerPort: TRITON_HTTP_PORT, protocol: "TCP" },
            { name: "metrics", containerPort: TRITON_METRICS_PORT, protocol: "TCP" },
        ],
        env: [
            // The root filesystem is read-only: anything that wants a home or a cache gets /tmp.
            { name: "HOME", value: "/tmp" },
            ...(args.cpuThreads !== undefined ? [{ name: "BERT_CPU_THREADS", value: String(args.cpuThreads) }] : []),
        ],
        resources: resources(args.resources, args.accelerator),
        securityContext: containerSecurityContext(),
        volumeMounts: [
            { name: args.repositoryVolume, mountPath: MODEL_REPOSITORY_MOUNT, readOnly: true },
            { name: args.tmpVolume, mountPath: "/tmp" },
            // The Python backend exchanges tensors with its stub processes through shared memory.
            { name: args.shmVolume, mountPath: "/dev/shm" },
        ],
        startupProbe: {
            httpGet: { path: ready, port: "http" },
            periodSeconds: period,
            timeoutSeconds: 5,
            failureThreshold: Math.max(1, Math.ceil(args.modelLoadBudgetSeconds / period)),
        },
        readinessProbe: { httpGet: { path: ready, port: "http" }, periodSeconds: period, timeoutSeconds: 5, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: "/v2/health/live", port: "http" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
    };
}
