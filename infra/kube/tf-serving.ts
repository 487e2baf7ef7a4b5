// The TensorFlow Serving container and its batching configuration, shared by the video and BERT workloads.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    containerSecurityContext,
    resources,
    TF_SERVING_GRPC_PORT,
    TF_SERVING_REST_PORT,
    type AcceleratorRequest,
    type BatchingSpec,
    type ResourceSpec,
} from "./common";

export const MODELS_MOUNT = "/models";
export const BATCHING_MOUNT = "/etc/tf-serving";
export const BATCHING_FILE = "batching.config";
export const SERVER_TMP_MOUNT = "/tmp";

/** BatchingParameters in protobuf text format, as --batching_parameters_file reads it. */
export function batchingParametersText(spec: BatchingSpec): string {
    for (const [field, value] of Object.entries({
        maxBatchSize: spec.maxBatchSize,
        batchTimeoutMicros: spec.batchTimeoutMicros,
        numBatchThreads: spec.numBatchThreads,
        maxEnqueuedBatches: spec.maxEnqueuedBatches,
    })) {
        if (!Number.isInteger(value) || value < (field === "batchTimeoutMicros" ? 0 : 1)) {
            throw new pulumi.InputPropertyError({
                propertyPath: `batching.${field}`,
                reason: `batching.${field} must be a ${field === "batchTimeoutMicros" ? "non-negative" : "positive"} integer, got ${value}`,
            });
        }
    }
    const lines = [
        `max_batch_size { value: ${spec.maxBatchSize} }`,
        `batch_timeout_micros { value: ${spec.batchTimeoutMicros} }`,
        `num_batch_threads { value: ${spec.numBatchThreads} }`,
        `max_enqueued_batches { value: ${spec.maxEnqueuedBatches} }`,
    ];
    if (spec.allowedBatchSizes !== undefined && spec.allowedBatchSizes.length > 0) {
        const sizes = spec.allowedBatchSizes;
        const sorted = sizes.every((s, i) => Number.isInteger(s) && s > 0 && (i === 0 || s > sizes[i - 1]));
        if (!sorted || sizes[sizes.length - 1] !== spec.maxBatchSize) {
            throw new pulumi.InputPropertyError({
                propertyPath: "batching.allowedBatchSizes",
                reason: `batching.allowedBatchSizes must increase and end with maxBatchSize (${spec.maxBatchSize}), got [${sizes.join(", ")}]`,
            });
        }
        lines.push(...sizes.map((s) => `allowed_batch_sizes: ${s}`));
    }
    return `${lines.join("\n")}\n`;
}

export interface TfServingContainerArgs {
    /** The TF Serving image of the profile. */
    image: pulumi.Input<string>;
    /** The model's name (the model base path under the models volume). */
    modelName: string;
    /** Batching on when given; the ConfigMap holding batchingParametersText() is mounted by the caller as `batchingVolume`. */
    batchingVolume?: string;
    /** Volume the model-fetch init container filled. */
    modelsVolume: string;
    /** Writable /tmp volume (the root filesystem is read-only). */
    tmpVolume: string;
    /** The server's requests and limits. */
    resources: ResourceSpec;
    /** The accelerator; undefined (the default) requests none (cpu). */
    accelerator?: AcceleratorRequest;
    /** Seconds the startup probe allows for the model to load (Neuron loads take minutes). */
    modelLoadBudgetSeconds: number;
}

/**
 * Period of TF Serving's startup probe. The worker (a later container) starts only once this probe
 * passes, so on average half a period is lost after the model is AVAILABLE: 2 s instead of 10 s costs a
 * few more HTTP GETs while the server loads and gives a new node about 4 s sooner to the queue
 * (scaler/sim/startup.ts). Readiness and liveness keep their slower periods.
 */
export const STARTUP_PROBE_PERIOD_SECONDS = 2;

/**
 * TF Serving on its standard ports (gRPC 8500, REST 8501). The image's ENTRYPOINT is the server binary
 * (tensorflow_model_server, or the Neuron build), so only flags are given here.
 *
 * Probes: TF Serving answers GET /v1/models/<name> with 200 as soon as it knows the model, even while
 * its version is still LOADING; GET /v1/models/<name>/metadata needs a loaded servable and so answers
 * 200 only once a version is AVAILABLE. Startup and readiness use the metadata path; liveness is a
 * TCP check on gRPC (a slow inference must not get the server killed).
 */
export function tfServingContainer(args: TfServingContainerArgs): k8s.types.input.core.v1.Container {
    const availablePath = `/v1/models/${args.modelName}/metadata`;
    const period = 10;
    const flags = [
        `--port=${TF_SERVING_GRPC_PORT}`,
        `--rest_api_port=${TF_SERVING_REST_PORT}`,
        `--model_name=${args.modelName}`,
        `--model_base_path=${MODELS_MOUNT}/${args.modelName}`,
        // The init container puts the model in place before the server starts: one scan is enough.
        "--file_system_poll_wait_seconds=0",
    ];
    const volumeMounts: k8s.types.input.core.v1.VolumeMount[] = [
        { name: args.modelsVolume, mountPath: MODELS_MOUNT, readOnly: true },
        { name: args.tmpVolume, mountPath: SERVER_TMP_MOUNT },
    ];
    if (args.batchingVolume !== undefined) {
        flags.push("--enable_batching=true", `--batching_parameters_file=${BATCHING_MOUNT}/${BATCHING_FILE}`);
        volumeMounts.push({ name: args.batchingVolume, mountPath: BATCHING_MOUNT, readOnly: true });
    }
    return {
        name: "tf-serving",
        image: args.image,
        args: flags,
        ports: [
            { name: "grpc", containerPort: TF_SERVING_GRPC_PORT, protocol: "TCP" },
            { name: "http", containerPort: TF_SERVING_REST_PORT, protocol: "TCP" },
        ],
        resources: resources(args.resources, args.accelerator),
        securityContext: containerSecurityContext(),
        volumeMounts,
        startupProbe: {
            httpGet: { path: availablePath, port: "http" },
            periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
            timeoutSeconds: 5,
            failureThreshold: Math.max(1, Math.ceil(args.modelLoadBudgetSeconds / STARTUP_PROBE_PERIOD_SECONDS)),
        },
        readinessProbe: { httpGet: { path: availablePath, port: "http" }, periodSeconds: period, timeoutSeconds: 5, failureThreshold: 3 },
        livenessProbe: { tcpSocket: { port: "grpc" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
    };
}
