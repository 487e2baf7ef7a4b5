// The PR preview's read-only access (issue 16, item 2): with previewRoleArn the preview role gets an access
// entry whose Kubernetes group may read, and only read, what a refresh reads for every object the stack
// declares. What the provider reads per kind comes from pulumi-kubernetes' Read (see preview-access.ts); this
// test states it again on its own, so a kind added to the program without a read rule fails here.
import * as assert from "node:assert/strict";
import { ConfigError, RawConfig, parseConfig } from "../../config/config";
import { MockRunResult, RecordedResource, runStackUnderMocks } from "../../mock-run/mock-run";
import { listStacks, stackClusterName } from "../../plan/stacks";
import { worldAfter } from "../../mock-run/live-world";
import { mockCallerIdentity } from "../../mock-run/mock-world";
import { previewRoleProblem } from "../../platform/admins";
import { PREVIEW_GROUP } from "../../platform/preview-access";
import { isKubernetesObjectType, validateKubernetesObject } from "../support/k8s-schema";

const PREVIEW_ROLE = "arn:aws:iam::123456789012:role/ci/eks-inference-preview";
const READ_ONLY = new Set(["get", "list", "watch"]);

interface Rule {
    apiGroups?: string[];
    resources?: string[];
    resourceNames?: string[];
    verbs: string[];
}
interface Subject {
    kind: string;
    name: string;
    apiGroup?: string;
}
interface Binding {
    metadata: { name: string; namespace?: string };
    roleRef: { kind: string; name: string };
    subjects: Subject[];
}

function ofType(run: MockRunResult, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

function metadataOf(r: RecordedResource): { name?: string; namespace?: string } {
    return (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
}

/** Rules the preview group holds: from its ClusterRoleBindings (cluster-wide) and RoleBindings (one namespace). */
function previewRules(run: MockRunResult): { namespace?: string; rule: Rule }[] {
    const toGroup = (b: Binding) => b.subjects.some((s) => s.kind === "Group" && s.name === PREVIEW_GROUP);
    const out: { namespace?: string; rule: Rule }[] = [];
    for (const r of ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")) {
        const binding = r.inputs as unknown as Binding;
        if (!toGroup(binding)) continue;
        assert.equal(binding.roleRef.kind, "ClusterRole");
        const role = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").find(
            (c) => metadataOf(c).name === binding.roleRef.name,
        );
        assert.ok(role, `ClusterRole ${binding.roleRef.name} is declared`);
        for (const rule of role.inputs.rules as Rule[]) out.push({ rule });
    }
    for (const r of ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")) {
        const binding = r.inputs as unknown as Binding;
        if (!toGroup(binding)) continue;
        assert.equal(binding.roleRef.kind, "Role", "a RoleBinding to a ClusterRole would widen nothing here; keep it a Role");
        const role = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:Role").find(
            (c) => metadataOf(c).name === binding.roleRef.name && metadataOf(c).namespace === binding.metadata.namespace,
        );
        assert.ok(role, `Role ${binding.metadata.namespace}/${binding.roleRef.name} is declared`);
        for (const rule of role.inputs.rules as Rule[]) out.push({ namespace: binding.metadata.namespace, rule });
    }
    return out;
}

function grants(rules: { namespace?: string; rule: Rule }[], verb: string, group: string, resource: string, namespace?: string): boolean {
    return rules.some(
        ({ namespace: ns, rule }) =>
            (ns === undefined || ns === namespace) &&
            rule.resourceNames === undefined &&
            (rule.apiGroups ?? []).includes(group) &&
            (rule.resources ?? []).includes(resource) &&
            rule.verbs.includes(verb),
    );
}

/** `kubernetes:apps/v1:Deployment` -> API group "apps" (core -> ""), resource "deployments". */
function apiResource(type: string): { group: string; resource: string; kind: string } {
    const m = /^kubernetes:([a-z0-9.-]+)\/v[0-9a-z]+:([A-Z][A-Za-z]*)$/.exec(type);
    assert.ok(m, type);
    // The API's plural resource name: NetworkPolicy -> networkpolicies, Ingress -> ingresses, Service -> services.
    const lower = m[2].toLowerCase();
    const resource = /[^aeiou]y$/.test(lower) ? `${lower.slice(0, -1)}ies` : /(s|x|ch|sh)$/.test(lower) ? `${lower}es` : `${lower}s`;
    return { group: m[1] === "core" ? "" : m[1], resource, kind: m[2] };
}

/** What pulumi-kubernetes' Read lists, besides the object itself, to judge a kind's readiness. */
const READ_LISTS: Readonly<Record<string, readonly { group: string; resource: string }[]>> = {
    Deployment: [
        { group: "apps", resource: "replicasets" },
        { group: "", resource: "pods" },
        { group: "", resource: "persistentvolumeclaims" },
    ],
    DaemonSet: [{ group: "", resource: "pods" }],
    Job: [{ group: "", resource: "pods" }],
    Service: [{ group: "", resource: "endpoints" }],
};

describe("PR preview access (previewRoleArn)", function () {
    this.timeout(180_000);
    const withRole = new Map<string, MockRunResult>();
    let without: MockRunResult;

    before(async () => {
        const stacks = listStacks();
        const [runs, plain] = await Promise.all([
            Promise.all(stacks.map((stack) => runStackUnderMocks(stack, { config: { previewRoleArn: PREVIEW_ROLE } }))),
            runStackUnderMocks("prod"),
        ]);
        stacks.forEach((stack, i) => withRole.set(stack, runs[i]));
        without = plain;
    });

    it("without previewRoleArn the stack declares no access for a preview role", () => {
        assert.deepEqual(ofType(without, "eks-inference:platform:PreviewAccess"), []);
        assert.deepEqual(ofType(without, "aws:eks/accessEntry:AccessEntry"), []);
        assert.ok(!JSON.stringify(without.resources).includes(PREVIEW_GROUP));
    });

    for (const stack of listStacks()) {
        describe(stack, () => {
            it("gives the preview role one STANDARD access entry in the preview group, and no access policy", () => {
                const run = withRole.get(stack)!;
                const entries = ofType(run, "aws:eks/accessEntry:AccessEntry").filter((r) => r.inputs.principalArn === PREVIEW_ROLE);
                assert.equal(entries.length, 1);
                assert.equal(entries[0].inputs.type, "STANDARD");
                assert.deepEqual(entries[0].inputs.kubernetesGroups, [PREVIEW_GROUP]);
                assert.deepEqual(
                    ofType(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").filter(
                        (r) => r.inputs.principalArn === PREVIEW_ROLE,
                    ),
                    [],
                );
                const cluster = ofType(run, "eks:index:Cluster")[0];
                assert.ok(!JSON.stringify(cluster.inputs.accessEntries ?? {}).includes(PREVIEW_ROLE), "not a cluster admin");
            });

            it("the preview group may only read: get/list, no wildcard, no Secrets cluster-wide", () => {
                const rules = previewRules(withRole.get(stack)!);
                assert.ok(rules.length > 0);
                for (const { namespace, rule } of rules) {
                    for (const verb of rule.verbs) assert.ok(READ_ONLY.has(verb), `verb ${verb} writes`);
                    for (const field of [rule.apiGroups, rule.resources, rule.verbs])
                        assert.ok(!(field ?? []).includes("*"), "no wildcard");
                    if (namespace === undefined) assert.ok(!(rule.resources ?? []).includes("secrets"), "no Secrets cluster-wide");
                }
            });

            it("the preview group may get and list every object the stack declares, and what Read lists beside it", () => {
                const run = withRole.get(stack)!;
                const rules = previewRules(run);
                const objects = run.resources.filter((r) => isKubernetesObjectType(r.type));
                assert.ok(objects.length > 5);
                for (const object of objects) {
                    const { group, resource, kind } = apiResource(object.type);
                    const namespace = metadataOf(object).namespace;
                    for (const verb of ["get", "list"])
                        assert.ok(
                            grants(rules, verb, group, resource, namespace),
                            `${verb} ${group || "core"}/${resource} (${object.name})`,
                        );
                    for (const extra of READ_LISTS[kind] ?? [])
                        assert.ok(
                            grants(rules, "list", extra.group, extra.resource, namespace),
                            `list ${extra.resource} for ${kind} ${object.name}`,
                        );
                }
            });

            it("the preview group may read Helm's release records (Secrets) in each Release's namespace, and only there", () => {
                const run = withRole.get(stack)!;
                const rules = previewRules(run);
                const releaseNamespaces = ofType(run, "kubernetes:helm.sh/v3:Release").map((r) => String(r.inputs.namespace));
                assert.ok(releaseNamespaces.length > 0, "both stacks install a device plugin chart");
                for (const ns of releaseNamespaces) assert.ok(grants(rules, "list", "", "secrets", ns), `list secrets in ${ns}`);
                const secretNamespaces = rules.filter(({ rule }) => (rule.resources ?? []).includes("secrets")).map((r) => r.namespace);
                assert.deepEqual([...new Set(secretNamespaces)].sort(), [...new Set(releaseNamespaces)].sort());
            });

            it("the cluster is the one the PR workflow asks about (stacks.ts --cluster-of)", () => {
                const cluster = ofType(withRole.get(stack)!, "eks:index:Cluster")[0];
                assert.equal(cluster.inputs.name, stackClusterName(stack));
            });

            it("the RBAC objects validate against the Kubernetes schemas", () => {
                const run = withRole.get(stack)!;
                for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:rbac")))
                    validateKubernetesObject(r.type, r.inputs);
            });
        });
    }
});

describe("config: previewRoleArn", () => {
    const base: RawConfig = { values: {}, secretKeys: [], region: "us-west-2", stack: "test", today: new Date("2026-12-02T09:00:00Z") };
    function problems(values: Record<string, string>): string[] {
        try {
            parseConfig({ ...base, values });
        } catch (error) {
            assert.ok(error instanceof ConfigError);
            return error.problems;
        }
        assert.fail("accepted");
    }

    it("takes a role ARN, and empty means no preview access", () => {
        assert.equal(parseConfig({ ...base, values: { previewRoleArn: PREVIEW_ROLE } }).cluster.previewRoleArn, PREVIEW_ROLE);
        assert.equal(parseConfig(base).cluster.previewRoleArn, undefined);
    });

    it("refuses a user, an assumed-role session or a bad ARN, naming the key and what is valid", () => {
        for (const bad of ["arn:aws:iam::123456789012:user/alice", "arn:aws:sts::123456789012:assumed-role/preview/run-1", "preview"]) {
            const found = problems({ previewRoleArn: bad });
            assert.ok(
                found.some((p) => p.includes(`previewRoleArn is '${bad}'; expected the ARN of the IAM role the PR preview assumes`)),
                found.join("\n"),
            );
        }
    });

    it("refuses a role that clusterAdminPrincipalArns lists too (one access entry per principal; the preview stays read-only)", () => {
        const found = problems({
            previewRoleArn: PREVIEW_ROLE,
            clusterAdminPrincipalArns: JSON.stringify(["arn:aws:iam::123456789012:role/eks-inference-preview"]),
        });
        assert.ok(
            found.some((p) => /previewRoleArn is '.*', which clusterAdminPrincipalArns lists too/.test(p)),
            found.join("\n"),
        );
    });
});

describe("previewRoleArn against the deploying principal and the cluster's live access entries", function () {
    this.timeout(180_000);
    // The preview role's own session, as GetCallerIdentity reports it (the session ARN drops the role's path /ci/).
    const previewSession = "arn:aws:sts::123456789012:assumed-role/eks-inference-preview/GitHubActions";
    const deployer = "arn:aws:sts::123456789012:assumed-role/eks-inference-deploy/GitHubActions";
    const stackTags = { project: "eks-inference", stack: "dev", "managed-by": "pulumi" };

    it("the mocked caller identity is shaped as STS answers (account of the ARN, role id:session, user id)", () => {
        const session = mockCallerIdentity("arn:aws:sts::111122223333:assumed-role/deploy/run-9");
        assert.equal(session.accountId, "111122223333");
        assert.match(session.userId, /^AROA[0-9A-F]{17}:run-9$/);
        assert.match(mockCallerIdentity("arn:aws:iam::111122223333:user/people/alice").userId, /^AIDA[0-9A-F]{17}$/);
        assert.throws(() => mockCallerIdentity("arn:aws:iam::111122223333:role/deploy"), /assumed-role session or an IAM user/);
    });

    it("names the problem: the deployer (role path ignored), an admin, an entry this stack did not make; else none", () => {
        assert.match(
            previewRoleProblem(PREVIEW_ROLE, previewSession, [], "eks-inference-dev", undefined) ?? "",
            /^previewRoleArn is 'arn:aws:iam::123456789012:role\/ci\/eks-inference-preview', the principal deploying this stack \(caller arn:aws:sts::123456789012:assumed-role\/eks-inference-preview\/GitHubActions\)\. .*ResourceInUseException/,
        );
        assert.equal(previewRoleProblem(PREVIEW_ROLE, deployer, [], "eks-inference-dev", undefined), undefined);
        assert.equal(
            previewRoleProblem(PREVIEW_ROLE, "arn:aws:sts::111122223333:assumed-role/eks-inference-preview/x", [], "c", undefined),
            undefined,
            "a role of the same name in another account is another principal",
        );
        assert.match(
            previewRoleProblem(PREVIEW_ROLE, deployer, ["arn:aws:iam::123456789012:role/eks-inference-preview"], "c", undefined) ?? "",
            /which clusterAdminPrincipalArns lists too/,
        );
        assert.match(
            previewRoleProblem(PREVIEW_ROLE, deployer, [], "eks-inference-dev", { managedByThisStack: false }) ?? "",
            /already has an access entry on cluster eks-inference-dev not made by this stack.*aws eks delete-access-entry --cluster-name eks-inference-dev --principal-arn arn:aws:iam::123456789012:role\/ci\/eks-inference-preview/,
        );
        assert.equal(previewRoleProblem(PREVIEW_ROLE, deployer, [], "c", { managedByThisStack: true }), undefined);
    });

    it("a preview (and so an up) deployed by the preview role itself is refused up front, naming key and value", async () => {
        await assert.rejects(
            runStackUnderMocks("dev", { preview: true, config: { previewRoleArn: PREVIEW_ROLE }, world: { callerArn: previewSession } }),
            /previewRoleArn is 'arn:aws:iam::123456789012:role\/ci\/eks-inference-preview', the principal deploying this stack/,
        );
    });

    it("an existing cluster where the preview role already holds an entry this stack did not make is refused; its own entry is kept", async () => {
        await assert.rejects(
            runStackUnderMocks("dev", {
                config: { previewRoleArn: PREVIEW_ROLE },
                world: { callerArn: deployer, accessEntries: { "eks-inference-dev": [{ principalArn: PREVIEW_ROLE, tags: {} }] } },
            }),
            /previewRoleArn is '.*', which already has an access entry on cluster eks-inference-dev not made by this stack/,
        );
        // The second `up`: the account as the first left it (the preview entry carries the stack's tags).
        const first = await runStackUnderMocks("dev", { config: { previewRoleArn: PREVIEW_ROLE }, world: { callerArn: deployer } });
        const world = worldAfter(first, { callerArn: deployer });
        assert.deepEqual(world.accessEntries?.["eks-inference-dev"]?.find((e) => e.principalArn === PREVIEW_ROLE)?.tags, stackTags);
        const again = await runStackUnderMocks("dev", { config: { previewRoleArn: PREVIEW_ROLE }, world });
        const entry = again.resources.find((r) => r.type === "aws:eks/accessEntry:AccessEntry");
        assert.equal(entry?.inputs.principalArn, PREVIEW_ROLE);
    });
});
