// Who may connect to the pods of the namespaces this stack creates, and where those pods may connect:
// Kubernetes NetworkPolicies, enforced by the VPC CNI's network policy agent (enableNetworkPolicy on the
// vpc-cni add-on, infra/platform/addons.ts).
//
// Every such namespace denies all ingress and egress to all its pods (namespaceIsolation, made with the
// namespace in workloadNamespace); each workload then opens exactly its own doors (workloadNetworkPolicy).
// Policies add up: a pod is allowed what any policy selecting it allows. The ways out every workload needs:
//   - DNS: CoreDNS in kube-system (k8s-app=kube-dns), UDP and TCP 53. The VPC CNI's policy controller also
//     admits the kube-dns Service's ClusterIP for this rule, because the rule's podSelector matches that
//     Service's selector (aws/amazon-network-policy-controller-k8s, pkg/resolvers/endpoints.go).
//   - Credentials: the EKS Pod Identity agent on the node, 169.254.170.23 TCP 80 (the link-local address
//     every pod's AWS_CONTAINER_CREDENTIALS_FULL_URI names; the VPC CNI exempts only the node's primary IP).
//   - HTTPS (TCP 443) to any address. The interface endpoints sit in the VPC, but S3 is reached through the
//     S3 gateway endpoint, a route to S3's public address ranges (a managed prefix list): a NetworkPolicy
//     cannot name a prefix list, and a copy of its CIDRs would go stale when AWS adds a range. Without
//     interface endpoints every AWS API goes out through the NAT gateway to public addresses too, and the
//     model downloads (an https videoModelUri, the compile Job's Hugging Face download) go to the internet.
// Nothing else leaves: no plain HTTP, no other port of another pod or node, no instance metadata
// (169.254.169.254:80; hop limit 1 on the nodes stops it as well). Traffic inside one pod (the worker and
// its TF Serving sidecar on 127.0.0.1) never crosses the pod's interface and is not subject to policy;
// neither is `kubectl port-forward`, which connects from inside the pod's network namespace. The VPC CNI
// agent always allows the local node's primary IP in both directions (aws/aws-network-policy-agent,
// pkg/fwruleprocessor), so kubelet probes keep working.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** The label Kubernetes puts on every namespace (1.22+), with the namespace's own name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
/** CoreDNS, as the EKS add-on labels its pods (and selects them in the kube-dns Service). */
export const KUBE_DNS: PodPeer = { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } };
export const DNS_PORT = 53;
/** Where the EKS Pod Identity agent answers on every node. */
export const POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;
export const HTTPS_PORT = 443;

/** Pods a rule names: every pod of a namespace, or those of its pods that carry all the given labels. */
export interface PodPeer {
    namespace: string;
    /** Only pods with these labels; undefined: every pod of the namespace. */
    podLabels?: Record<string, string>;
}

/** TCP ports of a workload's pods and the pods allowed to open them (or, for egress, to be reached on them). */
export interface TcpRule {
    ports: number[];
    peers: PodPeer[];
}

export type EssentialEgress = "dns" | "podIdentity" | "https";
export const ALL_ESSENTIALS: readonly EssentialEgress[] = ["dns", "podIdentity", "https"];

export interface WorkloadTraffic {
    /** The workload's pods (its controller's selector labels). */
    podSelector: Record<string, string>;
    /** Ways in. A rule with no peers or no ports is left out: nobody gets in that way. */
    ingress: TcpRule[];
    /** Ways out besides the essentials. */
    egress?: TcpRule[];
    /** Which essential ways out the pods get; default all (DNS, the Pod Identity agent, HTTPS). */
    essentials?: readonly EssentialEgress[];
}

function peer(p: PodPeer): NetworkPolicyPeer {
    return {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: p.namespace } },
        podSelector: p.podLabels === undefined ? {} : { matchLabels: { ...p.podLabels } },
    };
}

const tcp = (port: number) => ({ protocol: "TCP", port });

/** The essential ways out (see the file comment). */
export function essentialEgress(which: readonly EssentialEgress[] = ALL_ESSENTIALS): EgressRule[] {
    const rules: EgressRule[] = [];
    if (which.includes("dns")) rules.push({ to: [peer(KUBE_DNS)], ports: [{ protocol: "UDP", port: DNS_PORT }, tcp(DNS_PORT)] });
    if (which.includes("podIdentity"))
        rules.push({ to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT.cidr } }], ports: [tcp(POD_IDENTITY_AGENT.port)] });
    if (which.includes("https")) rules.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(HTTPS_PORT)] });
    return rules;
}

/**
 * Denies all ingress and egress to every pod of the namespace; the workloads' policies open what they need.
 * A pod someone starts there by hand gets nothing until a policy names it.
 */
export function namespaceIsolation(
    name: string,
    namespace: string,
    labels: Record<string, string>,
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
    return new k8s.networking.v1.NetworkPolicy(
        name,
        {
            metadata: { name: "default-deny", namespace, labels },
            spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        },
        opts,
    );
}

/** One workload's doors in and ways out, for the pods its selector picks. */
export function workloadNetworkPolicy(
    name: string,
    args: { policyName: string; namespace: string; labels: Record<string, string>; traffic: WorkloadTraffic },
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
    const { traffic } = args;
    const open = (rules: TcpRule[] | undefined) => (rules ?? []).filter((r) => r.peers.length > 0 && r.ports.length > 0);
    return new k8s.networking.v1.NetworkPolicy(
        name,
        {
            metadata: { name: args.policyName, namespace: args.namespace, labels: args.labels },
            spec: {
                podSelector: { matchLabels: { ...traffic.podSelector } },
                policyTypes: ["Ingress", "Egress"],
                ingress: open(traffic.ingress).map((r) => ({ from: r.peers.map(peer), ports: r.ports.map(tcp) })),
                egress: [
                    ...essentialEgress(traffic.essentials),
                    ...open(traffic.egress).map((r) => ({ to: r.peers.map(peer), ports: r.ports.map(tcp) })),
                ],
            },
        },
        opts,
    );
}

/** Every pod of the monitoring namespace, when one is configured (monitoringNamespace). */
export function monitoringScrapers(monitoringNamespace: string | undefined): PodPeer[] {
    return monitoringNamespace === undefined ? [] : [{ namespace: monitoringNamespace }];
}
