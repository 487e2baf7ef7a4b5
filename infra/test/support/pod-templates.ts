// The pods a plan declares: every Kubernetes object that carries a pod (a Pod, or a controller's pod template),
// found by kind, so a new kind of workload cannot slip past the checks that read pods.
import type { MockRunResult, RecordedResource } from "../../mock-run/mock-run";
import { isKubernetesObjectType } from "./k8s-schema";

type Obj = Record<string, unknown>;

/** Where each pod-bearing kind keeps its pod (metadata + spec). */
const POD_PATHS: Readonly<Record<string, readonly string[]>> = {
    "kubernetes:core/v1:Pod": [],
    "kubernetes:core/v1:ReplicationController": ["spec", "template"],
    "kubernetes:apps/v1:Deployment": ["spec", "template"],
    "kubernetes:apps/v1:DaemonSet": ["spec", "template"],
    "kubernetes:apps/v1:StatefulSet": ["spec", "template"],
    "kubernetes:apps/v1:ReplicaSet": ["spec", "template"],
    "kubernetes:batch/v1:Job": ["spec", "template"],
    "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template"],
};

/** Kinds known to carry no pod. A kind in neither list fails podsOf: decide which it is. */
const PODLESS_KINDS = new Set([
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:Service",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
]);

export interface DeclaredPod {
    /** `<Kind> <namespace>/<name>` of the object that declares it. */
    id: string;
    kind: string;
    namespace: string;
    /** The declaring object. */
    resource: RecordedResource;
    metadata: Obj;
    spec: Obj;
}

function at(value: unknown, path: readonly string[]): unknown {
    let v = value;
    for (const key of path) v = (v as Obj | undefined)?.[key];
    return v;
}

/** Every pod the plan declares; throws on a Kubernetes kind this file does not know. */
export function podsOf(run: MockRunResult): DeclaredPod[] {
    const pods: DeclaredPod[] = [];
    for (const r of run.resources) {
        if (!isKubernetesObjectType(r.type)) continue;
        const path = POD_PATHS[r.type];
        if (path === undefined) {
            if (PODLESS_KINDS.has(r.type)) continue;
            throw new Error(
                `${r.type} (${r.name}): unknown whether it carries a pod; add it to POD_PATHS or PODLESS_KINDS in ${__filename}`,
            );
        }
        const pod = (path.length === 0 ? r.inputs : at(r.inputs, path)) as Obj | undefined;
        const meta = (r.inputs.metadata ?? {}) as Obj;
        if (pod === undefined || typeof pod.spec !== "object") throw new Error(`${r.type} ${r.name} has no pod at ${path.join(".")}`);
        const kind = r.type.split(":")[2] as string;
        const namespace = String(meta.namespace ?? "default");
        pods.push({
            id: `${kind} ${namespace}/${String(meta.name ?? r.name)}`,
            kind,
            namespace,
            resource: r,
            metadata: (pod.metadata ?? {}) as Obj,
            spec: pod.spec as Obj,
        });
    }
    return pods;
}
