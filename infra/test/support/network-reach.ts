// Who can open a connection to whom, from Kubernetes NetworkPolicies as the Amazon VPC CNI enforces them:
// the Kubernetes semantics (a pod selected by any policy of a direction is isolated in that direction and
// admits the union of those policies' rules; an empty or missing `from`/`to`/`ports` admits everything;
// namespaceSelector/podSelector/ipBlock peers; named ports resolved on the destination pod; policyTypes
// defaulting to Ingress, plus Egress when the policy has egress rules), plus what the VPC CNI network policy
// agent adds (aws/aws-network-policy-agent pkg/fwruleprocessor: the local node's primary IP is always allowed,
// both ways, which keeps kubelet probes working; hostNetwork pods are never policed; ipBlock CIDRs are plain
// address ranges, so they match pod addresses too).

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export interface PolicyPort {
    protocol?: Protocol;
    port?: number | string;
    endPort?: number;
}
export interface PolicyPeer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: string[] };
}
export interface NetworkPolicy {
    name: string;
    namespace: string;
    spec: {
        podSelector: LabelSelector;
        policyTypes?: ("Ingress" | "Egress")[];
        ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
        egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
    };
}

export interface ClusterPod {
    /** namespace/name, for reports. */
    id: string;
    namespace: string;
    labels: Record<string, string>;
    ip: string;
    /** The primary IP of its node. */
    nodeIp: string;
    ports: { name?: string; port: number; protocol: Protocol }[];
    hostNetwork?: boolean;
}

/** Somewhere a connection goes: a pod's port, or an address outside any pod. */
export interface Destination {
    ip: string;
    port: number;
    protocol: Protocol;
    pod?: ClusterPod;
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.hasOwn(labels, e.key);
        const value = labels[e.key];
        switch (e.operator) {
            case "In":
                if (!has || !(e.values ?? []).includes(value as string)) return false;
                break;
            case "NotIn":
                if (has && (e.values ?? []).includes(value as string)) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
        }
    }
    return true;
}

function ipv4(ip: string): number {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
    return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
}

export function cidrContains(cidr: string, ip: string): boolean {
    const [base, bitsText] = cidr.split("/");
    const bits = Number(bitsText ?? 32);
    if (!(bits >= 0 && bits <= 32)) throw new Error(`not an IPv4 CIDR: ${cidr}`);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (ipv4(base as string) & mask) >>> 0 === (ipv4(ip) & mask) >>> 0;
}

function policyTypes(policy: NetworkPolicy): ("Ingress" | "Egress")[] {
    if (policy.spec.policyTypes !== undefined && policy.spec.policyTypes.length > 0) return policy.spec.policyTypes;
    return ["Ingress", ...(policy.spec.egress !== undefined && policy.spec.egress.length > 0 ? (["Egress"] as const) : [])];
}

export class PolicedCluster {
    constructor(
        private readonly policies: NetworkPolicy[],
        /** Labels of each namespace (kubernetes.io/metadata.name included). */
        private readonly namespaceLabels: Record<string, Record<string, string>>,
    ) {}

    private selecting(pod: ClusterPod, direction: "Ingress" | "Egress"): NetworkPolicy[] {
        return this.policies.filter(
            (p) => p.namespace === pod.namespace && policyTypes(p).includes(direction) && selectorMatches(p.spec.podSelector, pod.labels),
        );
    }

    private peerMatches(policy: NetworkPolicy, peer: PolicyPeer, ip: string, pod: ClusterPod | undefined): boolean {
        if (peer.ipBlock !== undefined)
            return cidrContains(peer.ipBlock.cidr, ip) && !(peer.ipBlock.except ?? []).some((e) => cidrContains(e, ip));
        if (pod === undefined || pod.hostNetwork === true) return false;
        if (peer.namespaceSelector !== undefined) {
            const nsLabels = this.namespaceLabels[pod.namespace] ?? { "kubernetes.io/metadata.name": pod.namespace };
            if (!selectorMatches(peer.namespaceSelector, nsLabels)) return false;
        } else if (pod.namespace !== policy.namespace) return false;
        return peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels);
    }

    private portMatches(ports: PolicyPort[] | undefined, to: Destination): boolean {
        if (ports === undefined || ports.length === 0) return true;
        return ports.some((p) => {
            if ((p.protocol ?? "TCP") !== to.protocol) return false;
            if (p.port === undefined) return true;
            if (typeof p.port === "string") {
                // A named port means that port on the destination pod; an address outside a pod has no names.
                const named = to.pod?.ports.find((cp) => cp.name === p.port && cp.protocol === to.protocol);
                return named !== undefined && named.port === to.port;
            }
            return p.endPort === undefined ? to.port === p.port : to.port >= p.port && to.port <= p.endPort;
        });
    }

    /** May `from` send this connection out (its own egress policies)? */
    egressAllowed(from: ClusterPod, to: Destination): boolean {
        if (from.hostNetwork === true) return true;
        if (to.ip === from.nodeIp) return true; // the VPC CNI agent always allows the local node
        const policies = this.selecting(from, "Egress");
        if (policies.length === 0) return true;
        return policies.some((policy) =>
            (policy.spec.egress ?? []).some(
                (rule) =>
                    (rule.to === undefined ||
                        rule.to.length === 0 ||
                        rule.to.some((peer) => this.peerMatches(policy, peer, to.ip, to.pod))) &&
                    this.portMatches(rule.ports, to),
            ),
        );
    }

    /** May `to.pod` accept this connection from `fromIp` (a pod's address, or any other)? */
    ingressAllowed(fromIp: string, fromPod: ClusterPod | undefined, to: Destination & { pod: ClusterPod }): boolean {
        if (to.pod.hostNetwork === true) return true;
        if (fromIp === to.pod.nodeIp) return true; // kubelet probes: the local node is always allowed
        const policies = this.selecting(to.pod, "Ingress");
        if (policies.length === 0) return true;
        return policies.some((policy) =>
            (policy.spec.ingress ?? []).some(
                (rule) =>
                    (rule.from === undefined ||
                        rule.from.length === 0 ||
                        rule.from.some((peer) => this.peerMatches(policy, peer, fromIp, fromPod))) &&
                    this.portMatches(rule.ports, to),
            ),
        );
    }

    /** Both ends agree: the source's egress and, for a pod, the destination's ingress. */
    connects(from: ClusterPod, to: Destination): boolean {
        if (!this.egressAllowed(from, to)) return false;
        return to.pod === undefined
            ? true
            : this.ingressAllowed(from.hostNetwork === true ? from.nodeIp : from.ip, from, { ...to, pod: to.pod });
    }
}
