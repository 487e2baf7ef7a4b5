// Who may call BERT: its NetworkPolicies. The serving pods admit their API ports (gRPC and HTTP) only from
//   - pods in the BERT namespace labelled eks-inference/bert-client=true (how the latency client, or a smoke
//     test, runs inside the cluster: `kubectl -n bert run ... --labels=eks-inference/bert-client=true`), and
//   - the namespaces or pods the stack's bertClients config lists;
// and their metrics port only from the monitoringNamespace, when one is set. The kubelet's probes come from
// the node and are always allowed; `kubectl port-forward` (the README's way to run `npm run bench:bert` from
// a workstation) connects inside the pod and needs no door.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { workloadNetworkPolicy, type PodPeer } from "../kube/network-policies";

/** The label that lets a pod in the BERT namespace call BERT (and only that: DNS and BERT's API ports). */
export const BERT_CLIENT_LABEL = { "eks-inference/bert-client": "true" } as const;

export interface BertAccess {
    /** Pods outside the BERT namespace allowed to call BERT's API ports (config bertClients). */
    clients: PodPeer[];
    /** Pods allowed to scrape the metrics port (config monitoringNamespace). */
    metricsScrapers: PodPeer[];
}

export const NO_BERT_ACCESS: BertAccess = { clients: [], metricsScrapers: [] };

export interface BertNetworkArgs {
    /** The BERT namespace the policies go in (the serving pods' and the in-namespace clients'). */
    namespace: string;
    /** The serving pods' labels (`selector` picks them). */
    labels: { selector: Record<string, string>; all: Record<string, string> };
    /** gRPC and HTTP ports of the server. */
    apiPorts: number[];
    /** Its metrics port(s), if it has any. */
    metricsPorts: number[];
    /** Who may connect: the `bertClients` entries and the monitoring namespace's scrapers (config). */
    access: BertAccess;
}

/** The serving pods' policy and the in-namespace clients' policy; the Deployment waits for both. */
export function bertNetworkPolicies(
    name: string,
    args: BertNetworkArgs,
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
    const inNamespaceClients: PodPeer = { namespace: args.namespace, podLabels: { ...BERT_CLIENT_LABEL } };
    const serving = workloadNetworkPolicy(
        `${name}-network-policy`,
        {
            policyName: "bert-serving",
            namespace: args.namespace,
            labels: args.labels.all,
            traffic: {
                podSelector: args.labels.selector,
                ingress: [
                    { ports: args.apiPorts, peers: [inNamespaceClients, ...args.access.clients] },
                    { ports: args.metricsPorts, peers: args.access.metricsScrapers },
                ],
            },
        },
        opts,
    );
    const clients = workloadNetworkPolicy(
        `${name}-clients-network-policy`,
        {
            policyName: "bert-clients",
            namespace: args.namespace,
            labels: args.labels.all,
            traffic: {
                podSelector: { ...BERT_CLIENT_LABEL },
                ingress: [],
                egress: [{ ports: args.apiPorts, peers: [{ namespace: args.namespace, podLabels: args.labels.selector }] }],
                essentials: ["dns"],
            },
        },
        opts,
    );
    return [serving, clients];
}
