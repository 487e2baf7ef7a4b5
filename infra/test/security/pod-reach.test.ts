// The attack, as a test: for every pod the plan declares, what it can reach (other pods by port, the node's
// instance metadata and so its role's credentials, the Pod Identity agent, DNS, AWS, the internet, the
// Kubernetes API and with which credential), and who can reach it, worked out from the plan's
// NetworkPolicies (as the VPC CNI enforces them: infra/test/support/network-reach.ts), the nodes' IMDS hop
// limits and the pods' service account tokens and RBAC. The result must equal the allow-list below: nothing
// more (a door nobody meant), nothing less (a workload cut off from DNS, its credentials or its model).
import * as assert from "node:assert/strict";
import { BERT_CLIENT_LABEL } from "../../bert/access";
import type { MockRunResult, RecordedResource } from "../../mock-run/mock-run";
import { isKubernetesObjectType, validateKubernetesObject } from "../support/k8s-schema";
import { podsOf, type DeclaredPod } from "../support/pod-templates";
import { PolicedCluster, type ClusterPod, type Destination, type NetworkPolicy, type Protocol } from "../support/network-reach";
import { planOf, type SecurityPlan } from "./plans";

type Obj = Record<string, unknown>;

/** Places a pod or a connection can go that are not pods of the plan. */
interface Outside {
    name: string;
    ip: string;
    port: number;
    protocol: Protocol;
}

const IMDS = { ip: "169.254.169.254", port: 80 };
/** The default Kubernetes Service CIDR EKS picks for a VPC in 10.0.0.0/8 (kubernetesNetworkConfig unset): its first address. */
const API_SERVER_CLUSTER_IP = "172.20.0.1";

const OUTSIDE: readonly Outside[] = [
    { name: "EKS Pod Identity agent 169.254.170.23:80", ip: "169.254.170.23", port: 80, protocol: "TCP" },
    { name: "Kubernetes API (ClusterIP):443", ip: API_SERVER_CLUSTER_IP, port: 443, protocol: "TCP" },
    { name: "S3 via the gateway endpoint (public S3 address):443", ip: "52.218.128.10", port: 443, protocol: "TCP" },
    { name: "internet HTTPS (model downloads):443", ip: "18.164.0.10", port: 443, protocol: "TCP" },
    { name: "internet plain HTTP:80", ip: "93.184.215.14", port: 80, protocol: "TCP" },
    { name: "internet SSH:22", ip: "93.184.215.14", port: 22, protocol: "TCP" },
];

interface Universe {
    cluster: PolicedCluster;
    /** Pods the plan declares, by id. */
    declared: ClusterPod[];
    /** Pods that are not the stack's: someone else's, or the ones its doors are meant for. */
    others: ClusterPod[];
    /** Where a declared pod runs: IMDS hop limit of its node group. */
    hopLimit: Map<string, number>;
    /** Service account token and the RBAC bound to it, per declared pod. */
    apiCredential: Map<string, string>;
    interfaceEndpointIp: string;
    otherNodeIp: string;
}

const inputsOf = (run: MockRunResult, type: string): RecordedResource[] => run.resources.filter((r) => r.type === type);
const meta = (r: RecordedResource): Obj => (r.inputs.metadata ?? {}) as Obj;

/** IPv4 address `offset` after the start of a CIDR. */
function addressIn(cidr: string, offset: number): string {
    const [base] = cidr.split("/");
    const n = (base as string).split(".").reduce((acc, p) => acc * 256 + Number(p), 0) + offset;
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

function portsOf(spec: Obj): ClusterPod["ports"] {
    const containers = [...((spec.initContainers ?? []) as Obj[]), ...((spec.containers ?? []) as Obj[])];
    return containers.flatMap((c) =>
        ((c.ports ?? []) as Obj[]).map((p) => ({
            name: p.name as string | undefined,
            port: Number(p.containerPort),
            protocol: ((p.protocol as Protocol | undefined) ?? "TCP") as Protocol,
        })),
    );
}

/** The node group a pod's nodeSelector lands it on (its labels are a subset of the group's). */
function nodeGroupOf(run: MockRunResult, pod: DeclaredPod): RecordedResource {
    const selector = (pod.spec.nodeSelector ?? {}) as Record<string, string>;
    const groups = inputsOf(run, "aws:eks/nodeGroup:NodeGroup").filter((g) =>
        Object.entries(selector).every(([k, v]) => (g.inputs.labels as Record<string, string>)[k] === v),
    );
    assert.equal(groups.length, 1, `${pod.id}: one node group matches nodeSelector ${JSON.stringify(selector)}`);
    return groups[0] as RecordedResource;
}

/** What a pod would present to the API server: its token (if mounted) and every binding that grants it something. */
function apiCredentialOf(run: MockRunResult, pod: DeclaredPod): string {
    const saName = String(pod.spec.serviceAccountName ?? "default");
    const sa = inputsOf(run, "kubernetes:core/v1:ServiceAccount").find(
        (r) => meta(r).name === saName && meta(r).namespace === pod.namespace,
    );
    const projected = ((pod.spec.volumes ?? []) as Obj[]).some((v) =>
        (((v.projected as Obj | undefined)?.sources ?? []) as Obj[]).some((s) => s.serviceAccountToken !== undefined),
    );
    const automount =
        (pod.spec.automountServiceAccountToken as boolean | undefined) ??
        (sa?.inputs.automountServiceAccountToken as boolean | undefined) ??
        true;
    if (!automount && !projected) return "no token";
    const subjects = new Set([
        `ServiceAccount:${pod.namespace}/${saName}`,
        "Group:system:serviceaccounts",
        `Group:system:serviceaccounts:${pod.namespace}`,
        "Group:system:authenticated",
    ]);
    const bindings = [
        ...inputsOf(run, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
        ...inputsOf(run, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
    ]
        .filter((b) =>
            ((b.inputs.subjects ?? []) as Obj[]).some((s) =>
                subjects.has(
                    s.kind === "ServiceAccount"
                        ? `ServiceAccount:${String(s.namespace)}/${String(s.name)}`
                        : `${String(s.kind)}:${String(s.name)}`,
                ),
            ),
        )
        .map((b) => `${String((b.inputs.roleRef as Obj).name)}`);
    return `token (RBAC: ${bindings.length === 0 ? "none" : bindings.join(", ")})`;
}

function universeOf(run: MockRunResult): Universe {
    const privateCidrs = inputsOf(run, "aws:ec2/subnet:Subnet")
        .filter((s) => s.name.includes("-private-"))
        .map((s) => String(s.inputs.cidrBlock));
    const subnet = privateCidrs[0] as string;
    // One node per group; pods get addresses from the same subnet (VPC CNI: pod IPs are VPC addresses).
    const groups = inputsOf(run, "aws:eks/nodeGroup:NodeGroup");
    const nodeIps = new Map(groups.map((g, i) => [g.name, addressIn(subnet, 10 + i)]));
    const general = groups.find(
        (g) => (g.inputs.labels as Record<string, string>)["eks-inference/node-role"] === "general",
    ) as RecordedResource;
    const launchTemplates = inputsOf(run, "aws:ec2/launchTemplate:LaunchTemplate");

    const namespaceLabels: Record<string, Record<string, string>> = {};
    const nsNames = new Set(["default", "kube-system"]);
    for (const ns of inputsOf(run, "kubernetes:core/v1:Namespace")) nsNames.add(String(meta(ns).name));

    let next = 100;
    const declared: ClusterPod[] = [];
    const hopLimit = new Map<string, number>();
    const apiCredential = new Map<string, string>();
    for (const pod of podsOf(run)) {
        const group = nodeGroupOf(run, pod);
        const lt = launchTemplates.find((l) => `${l.name}-id` === (group.inputs.launchTemplate as Obj).id) as RecordedResource;
        const id = `${pod.namespace}/${String(meta(pod.resource).name)} (${pod.kind})`;
        declared.push({
            id,
            namespace: pod.namespace,
            labels: (pod.metadata.labels ?? {}) as Record<string, string>,
            ip: addressIn(subnet, next++),
            nodeIp: nodeIps.get(group.name) as string,
            ports: portsOf(pod.spec),
            hostNetwork: pod.spec.hostNetwork === true,
        });
        hopLimit.set(id, Number((lt.inputs.metadataOptions as Obj).httpPutResponseHopLimit));
        apiCredential.set(id, apiCredentialOf(run, pod));
    }

    // Everyone else: pods in other namespaces, hand-started pods in ours, CoreDNS, and the pods the doors are for.
    const generalNode = nodeIps.get(general.name) as string;
    const other = (id: string, namespace: string, labels: Record<string, string>, ports: ClusterPod["ports"]): ClusterPod => {
        nsNames.add(namespace);
        return { id, namespace, labels, ip: addressIn(subnet, next++), nodeIp: generalNode, ports };
    };
    const others: ClusterPod[] = [
        other("kube-system/coredns", "kube-system", { "k8s-app": "kube-dns" }, [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, protocol: "TCP" },
            { name: "metrics", port: 9153, protocol: "TCP" },
        ]),
        other("default/some-app", "default", { app: "some-app" }, [{ port: 8080, protocol: "TCP" }]),
        other("default/https-app", "default", { app: "https-app" }, [{ port: 443, protocol: "TCP" }]),
    ];
    for (const ns of inputsOf(run, "kubernetes:core/v1:Namespace").map((n) => String(meta(n).name)))
        others.push(other(`${ns}/hand-started-pod`, ns, { run: "debug" }, [{ port: 8080, protocol: "TCP" }]));
    if (nsNames.has("bert")) others.push(other("bert/labelled-client", "bert", { ...BERT_CLIENT_LABEL }, []));
    const cfg = (key: string): string | undefined => run.config[`eks-inference:${key}`];
    const monitoring = cfg("monitoringNamespace");
    if (monitoring) others.push(other(`${monitoring}/prometheus`, monitoring, { app: "prometheus" }, [{ port: 9090, protocol: "TCP" }]));
    for (const entry of JSON.parse(cfg("bertClients") ?? "[]") as string[]) {
        const [namespace, selector] = [entry.split("/")[0] as string, entry.slice(entry.indexOf("/") + 1)];
        const labels = entry.includes("/")
            ? { [selector.slice(0, selector.indexOf("="))]: selector.slice(selector.indexOf("=") + 1) }
            : { app: "client" };
        others.push(other(`${namespace}/client (${entry})`, namespace, labels, []));
        if (entry.includes("/")) others.push(other(`${namespace}/unlabelled-neighbour`, namespace, { app: "other" }, []));
    }
    for (const ns of nsNames) namespaceLabels[ns] = { "kubernetes.io/metadata.name": ns };

    const policies: NetworkPolicy[] = inputsOf(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => ({
        name: String(meta(p).name),
        namespace: String(meta(p).namespace ?? "default"),
        spec: p.inputs.spec as NetworkPolicy["spec"],
    }));
    return {
        cluster: new PolicedCluster(policies, namespaceLabels),
        declared,
        others,
        hopLimit,
        apiCredential,
        interfaceEndpointIp: addressIn(privateCidrs[1] ?? subnet, 250),
        otherNodeIp: addressIn(subnet, 9),
    };
}

/** Every connection the plan lets happen from or to a declared pod, one line each. */
function reach(u: Universe): string[] {
    const lines: string[] = [];
    const everyone = [...u.declared, ...u.others];
    for (const from of u.declared) {
        for (const to of everyone) {
            if (to === from) continue;
            for (const p of to.ports)
                if (u.cluster.connects(from, { ip: to.ip, port: p.port, protocol: p.protocol, pod: to }))
                    lines.push(`${from.id} -> ${to.id}:${p.port}/${p.protocol}`);
        }
        const outside: Outside[] = [
            ...OUTSIDE,
            { name: "interface endpoint (VPC address):443", ip: u.interfaceEndpointIp, port: 443, protocol: "TCP" },
            { name: "another node's kubelet:10250", ip: u.otherNodeIp, port: 10250, protocol: "TCP" },
            { name: "own node's kubelet:10250", ip: from.nodeIp, port: 10250, protocol: "TCP" },
        ];
        for (const o of outside) {
            if (!u.cluster.connects(from, { ip: o.ip, port: o.port, protocol: o.protocol })) continue;
            lines.push(`${from.id} -> ${o.ip === API_SERVER_CLUSTER_IP ? `${o.name} with ${u.apiCredential.get(from.id)}` : o.name}`);
        }
        // The instance metadata service answers a pod only if the hop limit lets the answer in (or it is the host's).
        const imds: Destination = { ip: IMDS.ip, port: IMDS.port, protocol: "TCP" };
        if (u.cluster.connects(from, imds) && (from.hostNetwork === true || (u.hopLimit.get(from.id) ?? 1) >= 2))
            lines.push(`${from.id} -> instance metadata 169.254.169.254:80 (the node role's credentials)`);
    }
    for (const from of u.others)
        for (const to of u.declared)
            for (const p of to.ports)
                if (u.cluster.connects(from, { ip: to.ip, port: p.port, protocol: p.protocol, pod: to }))
                    lines.push(`${from.id} -> ${to.id}:${p.port}/${p.protocol}`);
    // The kubelet on a pod's own node (probes) and on any other node.
    for (const to of u.declared)
        for (const p of to.ports) {
            const node: ClusterPod = {
                id: "node",
                namespace: "",
                labels: {},
                ip: to.nodeIp,
                nodeIp: to.nodeIp,
                ports: [],
                hostNetwork: true,
            };
            const elsewhere: ClusterPod = { ...node, ip: u.otherNodeIp, nodeIp: u.otherNodeIp };
            if (u.cluster.connects(node, { ip: to.ip, port: p.port, protocol: p.protocol, pod: to }))
                lines.push(`kubelet (own node) -> ${to.id}:${p.port}/${p.protocol}`);
            if (u.cluster.connects(elsewhere, { ip: to.ip, port: p.port, protocol: p.protocol, pod: to }))
                lines.push(`another node -> ${to.id}:${p.port}/${p.protocol}`);
        }
    return [...new Set(lines)].sort();
}

/** The pods (namespace/app name/component) that work with AWS and the internet; every other declared pod reaches nothing. */
const WORKING_COMPONENTS = new Set([
    "video/video-inference/detector",
    "bert/bert-serving/model-server",
    "bert/bert-model-build/model-builder",
]);

/** What each declared pod is meant to reach, and who is meant to reach it. */
function allowList(u: Universe, run: MockRunResult): string[] {
    const lines: string[] = [];
    const cfg = (key: string): string | undefined => run.config[`eks-inference:${key}`];
    const monitoring = cfg("monitoringNamespace");
    const isBertServer = (p: ClusterPod) => p.namespace === "bert" && p.labels["app.kubernetes.io/name"] === "bert-serving";
    const apiPorts = (p: ClusterPod) => p.ports.filter((q) => q.name === "grpc" || q.name === "http");
    for (const from of u.declared) {
        // Every pod: its own node (the VPC CNI's exemption; the kubelet needs a credential).
        lines.push(`${from.id} -> own node's kubelet:10250`);
        // The workloads that work with AWS: DNS, their credentials, HTTPS anywhere (AWS APIs, S3 by its public
        // addresses, model downloads; so also any pod that happens to serve 443), the Kubernetes API without a
        // token. The model-server pre-pull pod (it only sleeps, to keep an image on the node) gets nothing.
        const component = from.labels["app.kubernetes.io/component"];
        if (WORKING_COMPONENTS.has(`${from.namespace}/${String(from.labels["app.kubernetes.io/name"])}/${String(component)}`))
            lines.push(
                `${from.id} -> kube-system/coredns:53/UDP`,
                `${from.id} -> kube-system/coredns:53/TCP`,
                `${from.id} -> default/https-app:443/TCP`,
                `${from.id} -> EKS Pod Identity agent 169.254.170.23:80`,
                `${from.id} -> Kubernetes API (ClusterIP):443 with no token`,
                `${from.id} -> S3 via the gateway endpoint (public S3 address):443`,
                `${from.id} -> internet HTTPS (model downloads):443`,
                `${from.id} -> interface endpoint (VPC address):443`,
            );
        for (const p of from.ports) lines.push(`kubelet (own node) -> ${from.id}:${p.port}/${p.protocol}`);
        if (isBertServer(from)) {
            const callers = u.others.filter(
                (o) => o.id === "bert/labelled-client" || (o.id.includes("/client (") && o.namespace !== "bert"),
            );
            for (const c of callers) for (const p of apiPorts(from)) lines.push(`${c.id} -> ${from.id}:${p.port}/${p.protocol}`);
        }
        if (monitoring) {
            const metrics = from.ports.filter((p) => p.name === "metrics");
            for (const p of metrics) lines.push(`${monitoring}/prometheus -> ${from.id}:${p.port}/${p.protocol}`);
        }
    }
    return [...new Set(lines)].sort();
}

const PLANS: readonly SecurityPlan[] = [
    { title: "Pulumi.dev.yaml", stack: "dev", config: {} },
    { title: "Pulumi.prod.yaml", stack: "prod", config: {} },
    {
        title: "prod with BERT clients and a monitoring namespace",
        stack: "prod",
        config: { bertClients: '["web", "shop/app.kubernetes.io/name=frontend"]', monitoringNamespace: "monitoring" },
    },
    {
        title: "dev with BERT on cpu (compile Job on the general nodes)",
        stack: "dev",
        config: { bertEnabled: "true", bertAccelerator: "cpu" },
    },
    {
        title: "dev with legacy TF Serving BERT on inf1 (no metrics port) and a monitoring namespace",
        stack: "dev",
        config: {
            bertEnabled: "true",
            bertServer: "tf-serving",
            bertAccelerator: "inf1",
            bertModelUri: "s3://models-bucket/bert/neuron/",
            monitoringNamespace: "observability",
        },
    },
];

describe("what each declared pod can reach, and who can reach it (NetworkPolicies, IMDS hop limits, API credentials)", function () {
    this.timeout(120_000);

    for (const plan of PLANS) {
        it(`${plan.title}: exactly the allow-list`, async () => {
            const run = await planOf(plan);
            for (const r of run.resources) if (isKubernetesObjectType(r.type)) validateKubernetesObject(r.type, r.inputs);
            const u = universeOf(run);
            assert.ok(u.declared.length > 0);
            const actual = reach(u);
            const allowed = allowList(u, run);
            const extra = actual.filter((l) => !allowed.includes(l));
            const missing = allowed.filter((l) => !actual.includes(l));
            assert.deepEqual(
                { reachableButNotAllowed: extra, allowedButNotReachable: missing },
                { reachableButNotAllowed: [], allowedButNotReachable: [] },
            );
        });
    }

    it("a pod on a node with hop limit 2 and no policy reaches the node role's credentials (the check can see it)", async () => {
        const run = structuredClone(await planOf(PLANS[1] as SecurityPlan));
        for (const lt of run.resources.filter((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate"))
            (lt.inputs.metadataOptions as Obj).httpPutResponseHopLimit = 2;
        run.resources = run.resources.filter(
            (r) => !(r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && (r.inputs.metadata as Obj).namespace === "video"),
        );
        const lines = reach(universeOf(run));
        assert.ok(
            lines.includes("video/video-inference (DaemonSet) -> instance metadata 169.254.169.254:80 (the node role's credentials)"),
            lines.join("\n"),
        );
        assert.ok(
            lines.includes("default/some-app -> video/video-inference (DaemonSet):8500/TCP"),
            "TF Serving open to any pod without the policies",
        );
    });
});
