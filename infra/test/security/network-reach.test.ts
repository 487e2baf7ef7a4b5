// The NetworkPolicy evaluator the reach test relies on, against the semantics of the Kubernetes docs
// (concepts/services-networking/network-policies) and what the VPC CNI's agent adds.
import * as assert from "node:assert/strict";
import { cidrContains, PolicedCluster, selectorMatches, type ClusterPod, type NetworkPolicy } from "../support/network-reach";

const pod = (id: string, namespace: string, labels: Record<string, string>, ip: string, ports: ClusterPod["ports"] = []): ClusterPod => ({
    id,
    namespace,
    labels,
    ip,
    nodeIp: "10.0.0.1",
    ports,
});
const web = pod("prod/web", "prod", { app: "web", tier: "front" }, "10.0.1.10", [{ name: "http", port: 8080, protocol: "TCP" }]);
const db = pod("prod/db", "prod", { app: "db" }, "10.0.1.11", [
    { name: "pg", port: 5432, protocol: "TCP" },
    { name: "metrics", port: 9187, protocol: "TCP" },
]);
const batch = pod("jobs/batch", "jobs", { app: "batch" }, "10.0.2.10");
const spy = pod("dev/spy", "dev", { app: "web" }, "10.0.3.10");
const namespaces = {
    prod: { "kubernetes.io/metadata.name": "prod", env: "production" },
    jobs: { "kubernetes.io/metadata.name": "jobs", env: "production" },
    dev: { "kubernetes.io/metadata.name": "dev", env: "dev" },
};
const to = (p: ClusterPod, port: number) => ({ ip: p.ip, port, protocol: "TCP" as const, pod: p });
const policy = (name: string, namespace: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ name, namespace, spec });

describe("NetworkPolicy evaluation (as the VPC CNI enforces it)", () => {
    it("selectors: matchLabels and every matchExpressions operator; {} selects everything", () => {
        const labels = { app: "web", tier: "front" };
        assert.ok(selectorMatches({}, labels));
        assert.ok(selectorMatches({ matchLabels: { app: "web" } }, labels));
        assert.ok(!selectorMatches({ matchLabels: { app: "web", tier: "back" } }, labels));
        assert.ok(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "edge"] }] }, labels));
        assert.ok(!selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, labels));
        assert.ok(selectorMatches({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, labels));
        assert.ok(selectorMatches({ matchExpressions: [{ key: "app", operator: "Exists" }] }, labels));
        assert.ok(!selectorMatches({ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, labels));
    });

    it("CIDRs: containment at every prefix length", () => {
        assert.ok(cidrContains("0.0.0.0/0", "93.184.215.14"));
        assert.ok(cidrContains("10.0.0.0/16", "10.0.255.255"));
        assert.ok(!cidrContains("10.0.0.0/16", "10.1.0.0"));
        assert.ok(cidrContains("169.254.170.23/32", "169.254.170.23"));
        assert.ok(!cidrContains("169.254.170.23/32", "169.254.169.254"));
    });

    it("a pod no policy selects accepts and sends everything; one selected for Ingress only still sends everything", () => {
        const open = new PolicedCluster([], namespaces);
        assert.ok(open.connects(spy, to(db, 5432)));
        const ingressOnly = new PolicedCluster([policy("deny-in", "prod", { podSelector: {}, policyTypes: ["Ingress"] })], namespaces);
        assert.ok(ingressOnly.egressAllowed(db, { ip: spy.ip, port: 80, protocol: "TCP" }), "egress untouched");
        // policyTypes unset: Ingress, plus Egress only when the policy has egress rules.
        const implicit = new PolicedCluster([policy("implicit", "prod", { podSelector: {} })], namespaces);
        assert.ok(!implicit.connects(spy, to(db, 5432)));
        assert.ok(implicit.egressAllowed(db, { ip: "93.184.215.14", port: 80, protocol: "TCP" }));
    });

    it("peers: podSelector alone is the policy's namespace; namespaceSelector+podSelector in one peer is AND; two peers are OR", () => {
        const and = new PolicedCluster(
            [
                policy("db-in", "prod", {
                    podSelector: { matchLabels: { app: "db" } },
                    policyTypes: ["Ingress"],
                    ingress: [
                        {
                            from: [
                                {
                                    namespaceSelector: { matchLabels: { env: "production" } },
                                    podSelector: { matchLabels: { app: "batch" } },
                                },
                            ],
                        },
                    ],
                }),
            ],
            namespaces,
        );
        assert.ok(and.connects(batch, to(db, 5432)));
        assert.ok(!and.connects(web, to(db, 5432)), "right namespace, wrong pod");
        const or = new PolicedCluster(
            [
                policy("db-in", "prod", {
                    podSelector: { matchLabels: { app: "db" } },
                    policyTypes: ["Ingress"],
                    ingress: [
                        {
                            from: [
                                { namespaceSelector: { matchLabels: { env: "production" } } },
                                { podSelector: { matchLabels: { app: "web" } } },
                            ],
                        },
                    ],
                }),
            ],
            namespaces,
        );
        assert.ok(or.connects(web, to(db, 5432)));
        assert.ok(or.connects(batch, to(db, 5432)), "any pod of a production namespace");
        assert.ok(!or.connects(spy, to(db, 5432)), "app=web, but podSelector alone means the policy's own namespace");
    });

    it("ports: protocol defaults to TCP; named ports resolve on the destination; endPort ranges; rules of several policies add up", () => {
        const cluster = new PolicedCluster(
            [
                policy("db-pg", "prod", {
                    podSelector: { matchLabels: { app: "db" } },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: "pg" }] }],
                }),
                policy("db-metrics", "prod", {
                    podSelector: { matchLabels: { app: "db" } },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 9000, endPort: 9200 }] }],
                }),
            ],
            namespaces,
        );
        assert.ok(cluster.connects(web, to(db, 5432)));
        assert.ok(!cluster.connects(web, { ...to(db, 5432), protocol: "UDP" }));
        assert.ok(!cluster.connects(batch, to(db, 5432)));
        assert.ok(cluster.connects(spy, to(db, 9187)), "the second policy's range, from any namespace");
        assert.ok(!cluster.connects(spy, to(db, 9300)));
    });

    it("egress: ipBlock with except; a named port never matches an address outside a pod; both ends must agree", () => {
        const cluster = new PolicedCluster(
            [
                policy("web-out", "prod", {
                    podSelector: { matchLabels: { app: "web" } },
                    policyTypes: ["Egress"],
                    egress: [
                        { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] } }], ports: [{ port: 80 }, { port: "pg" }] },
                    ],
                }),
                policy("db-in", "prod", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"], ingress: [] }),
            ],
            namespaces,
        );
        assert.ok(cluster.egressAllowed(web, { ip: "93.184.215.14", port: 80, protocol: "TCP" }));
        assert.ok(!cluster.egressAllowed(web, { ip: "169.254.169.254", port: 80, protocol: "TCP" }));
        assert.ok(!cluster.egressAllowed(web, { ip: "93.184.215.14", port: 5432, protocol: "TCP" }), "'pg' names no port of an address");
        assert.ok(cluster.egressAllowed(web, to(db, 5432)), "'pg' is db's 5432, and ipBlock covers pod addresses");
        assert.ok(!cluster.connects(web, to(db, 5432)), "db's ingress says no");
    });

    it("the VPC CNI: the local node's address is always allowed both ways; hostNetwork pods are never policed", () => {
        const cluster = new PolicedCluster([policy("deny", "prod", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })], namespaces);
        const kubelet: ClusterPod = {
            id: "node",
            namespace: "",
            labels: {},
            ip: "10.0.0.1",
            nodeIp: "10.0.0.1",
            ports: [],
            hostNetwork: true,
        };
        assert.ok(cluster.connects(kubelet, to(db, 9187)), "probes from the node");
        assert.ok(!cluster.connects({ ...kubelet, ip: "10.0.0.2", nodeIp: "10.0.0.2" }, to(db, 9187)), "another node is not exempt");
        assert.ok(cluster.egressAllowed(db, { ip: "10.0.0.1", port: 10250, protocol: "TCP" }));
        assert.ok(!cluster.egressAllowed(db, { ip: "10.0.0.2", port: 10250, protocol: "TCP" }));
        const hostPod = { ...web, hostNetwork: true, ip: "10.0.0.1" };
        assert.ok(cluster.egressAllowed(hostPod, { ip: "169.254.169.254", port: 80, protocol: "TCP" }));
    });
});
