// What every BERT server (Triton or legacy TF Serving) puts in front of its pods: a ClusterIP Service,
// a headless Service (one DNS record per ready pod, so a client opening several HTTP/2 connections
// spreads them over replicas instead of pinning them to one), and a PodDisruptionBudget.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const BERT_SERVICE_NAME = "bert-serving";
export const BERT_HEADLESS_SERVICE_NAME = "bert-serving-pods";
/** Annotation that tells the Pulumi Kubernetes provider not to wait for readiness or completion. */
export const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

export interface ServicePort {
    /** What the port carries: grpc, http or metrics. */
    name: "grpc" | "http" | "metrics";
    port: number;
}

/** gRPC is HTTP/2 over cleartext: kubernetes.io/h2c is its standard appProtocol. */
function appProtocol(name: ServicePort["name"]): string {
    return name === "grpc" ? "kubernetes.io/h2c" : "http";
}

export interface BertFrontArgs {
    /** The namespace the Services and the PodDisruptionBudget go in. */
    namespace: string;
    /** The pods' labels: `selector` picks them, `all` labels the objects made here. */
    labels: { selector: Record<string, string>; all: Record<string, string> };
    /** The ports both Services expose. */
    ports: ServicePort[];
    /** The Deployment's replicas (one replica gets a warning, and no PodDisruptionBudget). */
    replicas: number;
    /** The Deployment the Services front (they are declared after it). */
    deployment: pulumi.Resource;
    /** Resource options of the objects made here (parent, dependsOn). */
    opts: pulumi.CustomResourceOptions;
    /** For the single-replica warning. */
    warnOn: pulumi.Resource;
}

export interface BertFront {
    service: k8s.core.v1.Service;
    headless: k8s.core.v1.Service;
    /** In-cluster DNS name of the ClusterIP Service. */
    dnsName: pulumi.Output<string>;
    /** In-cluster DNS name of the headless Service (one address per ready pod). */
    headlessDnsName: pulumi.Output<string>;
}

export function bertFront(name: string, args: BertFrontArgs): BertFront {
    const ports = args.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.name,
        protocol: "TCP",
        appProtocol: appProtocol(p.name),
    }));
    // With one replica, minAvailable 1 keeps the only server up during voluntary evictions: a node
    // drain then waits until the budget is lifted or replicas are raised (say so at preview).
    if (args.replicas === 1) {
        pulumi.log.warn(
            "BERT runs 1 replica: its PodDisruptionBudget (minAvailable 1) blocks draining that node until replicas > 1.",
            args.warnOn,
        );
    }
    new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        {
            metadata: { name: BERT_SERVICE_NAME, namespace: args.namespace, labels: args.labels.all },
            spec: { selector: { matchLabels: args.labels.selector }, ...(args.replicas > 1 ? { maxUnavailable: 1 } : { minAvailable: 1 }) },
        },
        { ...args.opts, dependsOn: [...((args.opts.dependsOn as pulumi.Resource[] | undefined) ?? []), args.deployment] },
    );
    // The Kubernetes provider waits for a Service's endpoints to have ready pods (await/core_service.go),
    // which on a fresh account cannot happen before the compile Job has built the model: without
    // skipAwait the first `pulumi up` would time out. The Services are ready the moment they exist.
    const service = new k8s.core.v1.Service(
        `${name}-service`,
        {
            metadata: { name: BERT_SERVICE_NAME, namespace: args.namespace, labels: args.labels.all, annotations: { ...SKIP_AWAIT } },
            spec: { type: "ClusterIP", selector: args.labels.selector, ports },
        },
        args.opts,
    );
    const headless = new k8s.core.v1.Service(
        `${name}-headless`,
        {
            metadata: {
                name: BERT_HEADLESS_SERVICE_NAME,
                namespace: args.namespace,
                labels: args.labels.all,
                annotations: { ...SKIP_AWAIT },
            },
            spec: { clusterIP: "None", selector: args.labels.selector, ports, publishNotReadyAddresses: false },
        },
        args.opts,
    );
    return {
        service,
        headless,
        dnsName: pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`,
        headlessDnsName: pulumi.interpolate`${BERT_HEADLESS_SERVICE_NAME}.${headless.metadata.namespace}.svc.cluster.local`,
    };
}
