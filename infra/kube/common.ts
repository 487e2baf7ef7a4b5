// Shapes and pod-level pieces shared by the inference workloads.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespaceIsolation } from "./network-policies";
import { podSecurityLabels } from "./pod-security";

type Input<T> = pulumi.Input<T>;
export type Toleration = k8s.types.input.core.v1.Toleration;

/** Where a pod may run: the accelerated node group's labels and taints (from infra/platform/accelerators.ts). */
export interface Scheduling {
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
}

/** An extended resource from a device plugin, requested (and limited) on the model server container. */
export interface AcceleratorRequest {
    resourceName: "aws.amazon.com/neuron" | "nvidia.com/gpu";
    /** Whole devices (Neuron) or GPUs / time-sliced GPU replicas (NVIDIA). */
    count: number;
}

/** CPU and memory for one container; limits default to the requests for memory, none for CPU. */
export interface ResourceSpec {
    cpuRequest: string;
    memoryRequest: string;
    cpuLimit?: string;
    memoryLimit?: string;
}

/** The model a TF Serving container serves, and where model-fetch gets it. */
export interface ModelSpec {
    /** --model_name, and the REST path /v1/models/<name>. */
    name: string;
    /** s3://bucket/prefix/, s3://bucket/model.tar.gz or https://.../model.tar.gz */
    uri: Input<string>;
    /** Version directory for a source without numbered versions; default 1. */
    version?: number;
}

/** TF Serving's server-side batching (BatchingParameters). */
export interface BatchingSpec {
    maxBatchSize: number;
    batchTimeoutMicros: number;
    numBatchThreads: number;
    maxEnqueuedBatches: number;
    /** For models compiled for fixed batch sizes (Neuron): batches are padded up to one of these. */
    allowedBatchSizes?: number[];
}

/** The uid/gid every container here runs as; the images create this user. */
export const RUN_AS_USER = 10001;
export const RUN_AS_GROUP = 10001;

export const TF_SERVING_GRPC_PORT = 8500;
export const TF_SERVING_REST_PORT = 8501;

export const PART_OF = "eks-inference";

/** The immutable selector labels of one app component, plus the descriptive ones for metadata. */
export function appLabels(name: string, component: string): { selector: Record<string, string>; all: Record<string, string> } {
    const selector = { "app.kubernetes.io/name": name, "app.kubernetes.io/component": component };
    return { selector, all: { ...selector, "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi" } };
}

export function podSecurityContext(): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: RUN_AS_USER,
        runAsGroup: RUN_AS_GROUP,
        // emptyDir volumes become group-writable for this gid.
        fsGroup: RUN_AS_GROUP,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function containerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: RUN_AS_USER,
        runAsGroup: RUN_AS_GROUP,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function resources(spec: ResourceSpec, accelerator?: AcceleratorRequest): k8s.types.input.core.v1.ResourceRequirements {
    const requests: Record<string, string> = { cpu: spec.cpuRequest, memory: spec.memoryRequest };
    const limits: Record<string, string> = { memory: spec.memoryLimit ?? spec.memoryRequest };
    if (spec.cpuLimit !== undefined) limits.cpu = spec.cpuLimit;
    if (accelerator !== undefined) {
        if (!Number.isInteger(accelerator.count) || accelerator.count < 1) {
            throw new pulumi.InputPropertyError({
                propertyPath: "accelerator.count",
                reason: `accelerator count for ${accelerator.resourceName} must be a positive integer, got ${accelerator.count}`,
            });
        }
        // Extended resources cannot be overcommitted: request and limit must be equal.
        requests[accelerator.resourceName] = String(accelerator.count);
        limits[accelerator.resourceName] = String(accelerator.count);
    }
    return { requests, limits };
}

/** Fail early (at `pulumi preview`) on names Kubernetes would reject at apply time. */
export function requireDnsLabel(what: string, value: string): void {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
        throw new pulumi.InputPropertyError({
            propertyPath: what,
            reason: `${what} must be a DNS label (lower-case letters, digits and '-', at most 63 characters), got ${JSON.stringify(value)}`,
        });
    }
}

/** A workload must be pinned to its node group: an empty nodeSelector would let it land anywhere. */
export function requireScheduling(what: string, scheduling: Scheduling): void {
    if (Object.keys(scheduling.nodeSelector).length === 0) {
        throw new pulumi.InputPropertyError({
            propertyPath: "scheduling.nodeSelector",
            reason: `${what}: scheduling.nodeSelector is empty; give the node group's labels (infra/platform/accelerators.ts nodeSelector())`,
        });
    }
}

/** A workload's namespace and its service account, and the options for everything else placed in it. */
export interface WorkloadNamespace {
    namespace: k8s.core.v1.Namespace;
    serviceAccount: k8s.core.v1.ServiceAccount;
    /** Denies all traffic to and from the namespace's pods; each workload's own policy opens its doors. */
    isolation: k8s.networking.v1.NetworkPolicy;
    /** Child options that wait for the namespace. */
    inNamespace: pulumi.CustomResourceOptions;
}

/**
 * Namespace + service account of one workload. EKS Pod Identity binds the IAM role to namespace/name,
 * so the account needs no annotation, and no pod mounts a Kubernetes API token. The namespace enforces the
 * restricted Pod Security Standard (pod-security.ts): a pod that is privileged, shares a host namespace,
 * mounts a host path, may escalate privileges, keeps a capability or runs as root is refused. Its pods get
 * no network traffic in or out until a policy opens it (network-policies.ts).
 */
export function workloadNamespace(
    name: string,
    namespaceName: string,
    serviceAccountName: string,
    labels: Record<string, string>,
    childOpts: pulumi.CustomResourceOptions,
): WorkloadNamespace {
    const namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: namespaceName, labels: { ...labels, ...podSecurityLabels("restricted") } } },
        childOpts,
    );
    const inNamespace = { ...childOpts, dependsOn: [namespace] };
    const isolation = namespaceIsolation(`${name}-default-deny`, namespaceName, labels, inNamespace);
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-service-account`,
        { metadata: { name: serviceAccountName, namespace: namespaceName, labels }, automountServiceAccountToken: false },
        inNamespace,
    );
    return { namespace, serviceAccount, isolation, inNamespace };
}
