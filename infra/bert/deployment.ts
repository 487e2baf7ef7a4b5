// The BERT serving Deployment both servers share (Triton and legacy TF Serving): one place for the
// rollout strategy, scheduling, pod security and spreading; each server brings only its containers
// and volumes.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { podSecurityContext, type Scheduling } from "../kube/common";
import { SKIP_AWAIT } from "./front";

export interface BertDeploymentParts {
    /** metadata.name of the Deployment. */
    name: string;
    namespace: pulumi.Input<string>;
    labels: { selector: Record<string, string>; all: Record<string, string> };
    replicas: number;
    serviceAccountName: pulumi.Input<string>;
    scheduling: Scheduling;
    priorityClassName?: pulumi.Input<string>;
    initContainers: k8s.types.input.core.v1.Container[];
    containers: k8s.types.input.core.v1.Container[];
    volumes: k8s.types.input.core.v1.Volume[];
}

/** The Deployment's args: metadata (never awaited by `pulumi up`) and spec, from the parts that differ per server. */
export function bertDeploymentArgs(parts: BertDeploymentParts): k8s.apps.v1.DeploymentArgs {
    const { labels } = parts;
    return {
        // Readiness can take long (node, image pull, model load): `pulumi up` does not wait for it.
        metadata: { name: parts.name, namespace: parts.namespace, labels: labels.all, annotations: { ...SKIP_AWAIT } },
        spec: {
            replicas: parts.replicas,
            selector: { matchLabels: labels.selector },
            // Accelerators are scarce: replace one pod at a time rather than needing a spare device
            // for a surge pod (with one replica that means a short gap during a rollout).
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
            template: {
                metadata: { labels: labels.all },
                spec: {
                    serviceAccountName: parts.serviceAccountName,
                    automountServiceAccountToken: false,
                    nodeSelector: parts.scheduling.nodeSelector,
                    tolerations: parts.scheduling.tolerations,
                    priorityClassName: parts.priorityClassName,
                    securityContext: podSecurityContext(),
                    terminationGracePeriodSeconds: 30,
                    // Spread replicas over nodes so one node's loss keeps the service up.
                    topologySpreadConstraints: [
                        {
                            maxSkew: 1,
                            topologyKey: "kubernetes.io/hostname",
                            whenUnsatisfiable: "ScheduleAnyway",
                            labelSelector: { matchLabels: labels.selector },
                        },
                    ],
                    initContainers: parts.initContainers,
                    containers: parts.containers,
                    volumes: parts.volumes,
                },
            },
        },
    };
}
