// Pod Security Admission: the restricted profile's checks themselves (each control can fail a pod), then the
// stack: every namespace it creates enforces restricted, and every pod it declares passes.
import * as assert from "node:assert/strict";
import { POD_SECURITY_ENFORCE_VERSION } from "../../kube/pod-security";
import type { MockRunResult } from "../../mock-run/mock-run";
import { podsOf, type DeclaredPod } from "../support/pod-templates";
import { podSecurityViolations, PSS_CHECK_IDS, type PssPodSpec } from "../support/pod-security-standards";
import { planOf, SECURITY_PLANS } from "./plans";

type Obj = Record<string, unknown>;

/** The newest checks (Kubernetes 1.37, pod-security-admission v0.37.0-alpha.2), and the pinned ones. */
const LATEST = 37;
const PINNED = Number(/^v1\.(\d+)$/.exec(POD_SECURITY_ENFORCE_VERSION)?.[1]);

/** A pod that meets restricted: what every container here declares. */
function compliantPod(): PssPodSpec {
    const container = () => ({
        name: "app",
        ports: [{ containerPort: 8080 }],
        securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        readinessProbe: { httpGet: {} },
    });
    return {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        volumes: [
            { name: "scratch", emptyDir: {} },
            { name: "config", configMap: { name: "c" } },
        ],
        initContainers: [{ ...container(), name: "init" }],
        containers: [container()],
    };
}

/** One change per control that takes a compliant pod out of restricted, and the check that must say so. */
const BREAKS: readonly [string, string, (spec: PssPodSpec, meta: { annotations?: Record<string, string> }) => void][] = [
    ["hostNetwork", "hostNamespaces", (s) => (s.hostNetwork = true)],
    ["hostPID", "hostNamespaces", (s) => (s.hostPID = true)],
    ["hostIPC", "hostNamespaces", (s) => (s.hostIPC = true)],
    ["privileged init container", "privileged", (s) => (s.initContainers![0]!.securityContext!.privileged = true)],
    ["a SYS_ADMIN capability", "capabilities_restricted", (s) => (s.containers![0]!.securityContext!.capabilities!.add = ["SYS_ADMIN"])],
    [
        "CHOWN added (baseline allows it, restricted does not)",
        "capabilities_restricted",
        (s) => (s.containers![0]!.securityContext!.capabilities!.add = ["CHOWN"]),
    ],
    ["capabilities not dropped", "capabilities_restricted", (s) => delete s.containers![0]!.securityContext!.capabilities],
    ["a hostPath volume", "restrictedVolumes", (s) => s.volumes!.push({ name: "host", hostPath: { path: "/var/run" } })],
    ["an NFS volume", "restrictedVolumes", (s) => s.volumes!.push({ name: "share", nfs: { server: "x", path: "/" } })],
    ["a hostPort", "hostPorts", (s) => (s.containers![0]!.ports = [{ containerPort: 8080, hostPort: 8080 }])],
    ["AppArmor Unconfined", "appArmorProfile", (s) => (s.containers![0]!.securityContext!.appArmorProfile = { type: "Unconfined" })],
    [
        "AppArmor annotation unconfined",
        "appArmorProfile",
        (_s, m) => (m.annotations = { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" }),
    ],
    ["SELinux type spc_t", "seLinuxOptions", (s) => (s.securityContext!.seLinuxOptions = { type: "spc_t" })],
    ["SELinux user", "seLinuxOptions", (s) => (s.containers![0]!.securityContext!.seLinuxOptions = { user: "system_u" })],
    ["procMount Unmasked", "procMount_restricted", (s) => (s.containers![0]!.securityContext!.procMount = "Unmasked")],
    ["seccomp Unconfined on the pod", "seccompProfile_restricted", (s) => (s.securityContext!.seccompProfile = { type: "Unconfined" })],
    [
        "no seccomp profile anywhere",
        "seccompProfile_restricted",
        (s) => {
            delete s.securityContext!.seccompProfile;
            delete s.containers![0]!.securityContext!.seccompProfile;
        },
    ],
    ["an unsafe sysctl", "sysctls", (s) => (s.securityContext!.sysctls = [{ name: "kernel.msgmax" }])],
    [
        "allowPrivilegeEscalation unset",
        "allowPrivilegeEscalation",
        (s) => delete s.initContainers![0]!.securityContext!.allowPrivilegeEscalation,
    ],
    ["runAsNonRoot false on a container", "runAsNonRoot", (s) => (s.containers![0]!.securityContext!.runAsNonRoot = false)],
    [
        "runAsNonRoot nowhere",
        "runAsNonRoot",
        (s) => {
            delete s.securityContext!.runAsNonRoot;
            delete s.containers![0]!.securityContext!.runAsNonRoot;
        },
    ],
    ["runAsUser 0", "runAsUser", (s) => (s.containers![0]!.securityContext!.runAsUser = 0)],
    ["a probe with a host", "hostProbesAndHostLifecycle", (s) => (s.containers![0]!.readinessProbe = { httpGet: { host: "10.0.0.1" } })],
    ["Windows host process", "hostProcess", (s) => (s.securityContext!.windowsOptions = { hostProcess: true })],
    [
        "a privileged ephemeral container",
        "privileged",
        (s) =>
            (s.ephemeralContainers = [
                {
                    ...structuredClone(s.containers![0]!),
                    name: "debug",
                    securityContext: { ...s.containers![0]!.securityContext, privileged: true },
                },
            ]),
    ],
];

describe("Pod Security Standards checks (as Pod Security Admission applies them)", () => {
    it("admits a pod that meets restricted, at every version from 1.25 to the newest", () => {
        for (let minor = 25; minor <= LATEST; minor++)
            assert.deepEqual(podSecurityViolations("restricted", {}, compliantPod(), minor), [], `1.${minor}`);
    });

    for (const [what, check, breakIt] of BREAKS) {
        it(`refuses ${what} (${check})`, () => {
            const spec = compliantPod();
            const meta: { annotations?: Record<string, string> } = {};
            breakIt(spec, meta);
            const found = podSecurityViolations("restricted", meta, spec, LATEST);
            assert.deepEqual(
                found.map((v) => v.check),
                [check],
                JSON.stringify(found),
            );
        });
    }

    it("covers every control of both profiles", () => {
        const exercised = new Set(BREAKS.map(([, check]) => check));
        // Overridden at restricted by their stricter twins, exercised at baseline below.
        for (const id of ["hostPathVolumes", "capabilities_baseline", "seccompProfile_baseline", "procMount"]) exercised.add(id);
        assert.deepEqual(
            [...PSS_CHECK_IDS.baseline, ...PSS_CHECK_IDS.restricted].filter((id) => !exercised.has(id)),
            [],
        );
    });

    it("baseline allows what only restricted forbids, and forbids its own controls", () => {
        const relaxed = compliantPod();
        relaxed.containers![0]!.securityContext = { capabilities: { add: ["CHOWN"] } };
        delete relaxed.securityContext;
        relaxed.initContainers = [];
        relaxed.volumes = [{ name: "share", nfs: { server: "x", path: "/" } }];
        assert.deepEqual(podSecurityViolations("baseline", {}, relaxed, LATEST), []);
        assert.deepEqual(
            podSecurityViolations("restricted", {}, relaxed, LATEST)
                .map((v) => v.check)
                .sort(),
            ["allowPrivilegeEscalation", "capabilities_restricted", "restrictedVolumes", "runAsNonRoot", "seccompProfile_restricted"],
        );
        const host = compliantPod();
        host.volumes!.push({ name: "host", hostPath: { path: "/" } });
        host.containers![0]!.securityContext!.capabilities!.add = ["NET_RAW"];
        host.securityContext!.seccompProfile = { type: "Unconfined" };
        host.containers![0]!.securityContext!.procMount = "Unmasked";
        assert.deepEqual(
            podSecurityViolations("baseline", {}, host, LATEST)
                .map((v) => v.check)
                .sort(),
            ["capabilities_baseline", "hostPathVolumes", "procMount", "seccompProfile_baseline"],
        );
        assert.deepEqual(podSecurityViolations("privileged", {}, host, LATEST), []);
    });

    it("follows the version gates and exemptions of pod-security-admission", () => {
        const withSysctl = compliantPod();
        withSysctl.securityContext!.sysctls = [{ name: "net.ipv4.tcp_rmem" }];
        assert.equal(podSecurityViolations("restricted", {}, withSysctl, 31).length, 1, "tcp_rmem is safe from 1.32");
        assert.equal(podSecurityViolations("restricted", {}, withSysctl, 32).length, 0);
        const probeHost = compliantPod();
        probeHost.containers![0]!.readinessProbe = { httpGet: { host: "example.com" } };
        assert.equal(podSecurityViolations("restricted", {}, probeHost, 33).length, 0, "probe hosts are checked from 1.34");
        assert.equal(podSecurityViolations("restricted", {}, probeHost, 34).length, 1);
        const engine = compliantPod();
        engine.securityContext!.seLinuxOptions = { type: "container_engine_t" };
        assert.equal(podSecurityViolations("restricted", {}, engine, 30).length, 1, "container_engine_t is allowed from 1.31");
        assert.equal(podSecurityViolations("restricted", {}, engine, 31).length, 0);
        // A pod in a user namespace may run as uid 0 inside it (1.35+), but restricted never unmasks /proc.
        const userNs = compliantPod();
        userNs.hostUsers = false;
        userNs.containers![0]!.securityContext!.runAsUser = 0;
        userNs.containers![0]!.securityContext!.procMount = "Unmasked";
        assert.deepEqual(
            podSecurityViolations("restricted", {}, userNs, 35).map((v) => v.check),
            ["procMount_restricted"],
        );
        assert.deepEqual(podSecurityViolations("baseline", {}, userNs, 35), []);
        assert.deepEqual(
            podSecurityViolations("restricted", {}, userNs, 34)
                .map((v) => v.check)
                .sort(),
            ["procMount", "runAsUser"],
        );
        // Windows pods are exempt from the Linux-only restricted controls (1.25+).
        const windows = compliantPod();
        windows.os = { name: "windows" };
        delete windows.containers![0]!.securityContext!.capabilities;
        delete windows.containers![0]!.securityContext!.allowPrivilegeEscalation;
        delete windows.securityContext!.seccompProfile;
        delete windows.containers![0]!.securityContext!.seccompProfile;
        assert.deepEqual(podSecurityViolations("restricted", {}, windows, 25), []);
        assert.equal(podSecurityViolations("restricted", {}, windows, 24).length, 3);
    });
});

/** The enforce level and version a namespace's labels set (PSA's defaults: privileged, latest). */
function enforcedBy(namespace: Obj | undefined): { level: "privileged" | "baseline" | "restricted"; minor: number } {
    const labels = ((namespace?.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
    const level = (labels["pod-security.kubernetes.io/enforce"] ?? "privileged") as "privileged" | "baseline" | "restricted";
    const version = labels["pod-security.kubernetes.io/enforce-version"] ?? "latest";
    return { level, minor: version === "latest" ? LATEST : Number(/^v1\.(\d+)$/.exec(version)?.[1]) };
}

function namespacesOf(run: MockRunResult): Map<string, Obj> {
    return new Map(
        run.resources
            .filter((r) => r.type === "kubernetes:core/v1:Namespace")
            .map((r) => [String((r.inputs.metadata as Obj).name), r.inputs] as const),
    );
}

describe("Pod Security Admission on what the stack declares", function () {
    this.timeout(120_000);

    it(`pins enforcement to the version the pods were checked against (${POD_SECURITY_ENFORCE_VERSION})`, () => {
        assert.ok(PINNED >= 25 && PINNED <= LATEST, POD_SECURITY_ENFORCE_VERSION);
    });

    for (const plan of SECURITY_PLANS) {
        describe(plan.title, () => {
            it("every namespace the stack creates enforces restricted (pinned), and warns and audits at the latest checks", async () => {
                const namespaces = namespacesOf(await planOf(plan));
                assert.ok(namespaces.size > 0, "the plan creates namespaces");
                for (const [name, ns] of namespaces) {
                    const labels = (ns.metadata as Obj).labels as Record<string, string> | undefined;
                    assert.deepEqual(
                        Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => k.startsWith("pod-security.kubernetes.io/"))),
                        {
                            "pod-security.kubernetes.io/enforce": "restricted",
                            "pod-security.kubernetes.io/enforce-version": POD_SECURITY_ENFORCE_VERSION,
                            "pod-security.kubernetes.io/warn": "restricted",
                            "pod-security.kubernetes.io/warn-version": "latest",
                            "pod-security.kubernetes.io/audit": "restricted",
                            "pod-security.kubernetes.io/audit-version": "latest",
                        },
                        `namespace ${name}`,
                    );
                }
            });

            it("every pod it declares is admitted: restricted at the pinned version and at the newest checks", async () => {
                const run = await planOf(plan);
                const namespaces = namespacesOf(run);
                const pods = podsOf(run);
                assert.ok(pods.length > 0);
                const problems: string[] = [];
                for (const pod of pods) {
                    assert.ok(namespaces.has(pod.namespace), `${pod.id}: in a namespace the stack creates (and labels)`);
                    const enforced = enforcedBy(namespaces.get(pod.namespace));
                    assert.equal(enforced.level, "restricted", pod.id);
                    for (const minor of [enforced.minor, LATEST])
                        for (const v of podSecurityViolations("restricted", pod.metadata, pod.spec as PssPodSpec, minor))
                            problems.push(`${pod.id} (1.${minor}): ${v.check}: ${v.detail}`);
                }
                assert.deepEqual(problems, []);
            });

            it("installs the device plugins (Helm) into kube-system, a namespace it neither creates nor labels", async () => {
                const run = await planOf(plan);
                for (const release of run.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")) {
                    assert.equal(release.inputs.namespace, "kube-system", release.name);
                    assert.notEqual(release.inputs.createNamespace, true, release.name);
                }
                assert.ok(!namespacesOf(run).has("kube-system"));
            });
        });
    }

    it("fails the plan's own pods once any restricted field is changed (the check is not blind to them)", async () => {
        const run = await planOf(SECURITY_PLANS[1]!);
        const pods = podsOf(run);
        const kinds = new Set(pods.map((p) => p.kind));
        assert.deepEqual([...kinds].sort(), ["DaemonSet", "Deployment", "Job"], "prod declares a DaemonSet, a Deployment and a Job");
        const mutations: [string, (spec: Obj) => void][] = [
            ["privileged", (s) => (((s.containers as Obj[])[0]!.securityContext as Obj).privileged = true)],
            ["hostNetwork", (s) => (s.hostNetwork = true)],
            ["escalation", (s) => (((s.containers as Obj[])[0]!.securityContext as Obj).allowPrivilegeEscalation = true)],
            ["root", (s) => (((s.containers as Obj[])[0]!.securityContext as Obj).runAsUser = 0)],
            [
                "hostPath",
                (s) => (s.volumes = [...((s.volumes ?? []) as Obj[]), { name: "docker", hostPath: { path: "/var/run/docker.sock" } }]),
            ],
            ["capability", (s) => ((((s.containers as Obj[])[0]!.securityContext as Obj).capabilities as Obj).add = ["NET_ADMIN"])],
        ];
        for (const pod of pods as DeclaredPod[]) {
            for (const [what, mutate] of mutations) {
                const spec = structuredClone(pod.spec);
                mutate(spec);
                assert.ok(
                    podSecurityViolations("restricted", pod.metadata, spec as PssPodSpec, PINNED).length > 0,
                    `${pod.id} with ${what}`,
                );
            }
        }
    });
});
