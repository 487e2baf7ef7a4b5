// The Kubernetes Pod Security Standards (baseline and restricted), as Pod Security Admission evaluates a pod,
// for checking the pods this stack declares before a cluster sees them. Written from the profile definitions
// in the Kubernetes docs (concepts/security/pod-security-standards) and the checks of k8s.io/pod-security-admission
// (policy/check_*.go, read at v0.37.0-alpha.2): the same fields, allowed values, container kinds (init, regular,
// ephemeral), version gates, Windows and user-namespace exemptions. A pod passes a level when no check of that
// level (and the levels below it) finds a violation.

/** The parts of a pod spec the checks read; anything else is ignored, as PSA ignores it. */
export interface PssContainer {
    name: string;
    ports?: { hostPort?: number; containerPort?: number }[];
    securityContext?: PssSecurityContext;
    livenessProbe?: PssProbe;
    readinessProbe?: PssProbe;
    startupProbe?: PssProbe;
    lifecycle?: { postStart?: PssHandler; preStop?: PssHandler };
}
interface PssHandler {
    httpGet?: { host?: string };
    tcpSocket?: { host?: string };
}
type PssProbe = PssHandler;
interface PssSecurityContext {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    procMount?: string;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type?: string };
    appArmorProfile?: { type?: string };
    seLinuxOptions?: { type?: string; user?: string; role?: string; level?: string };
    windowsOptions?: { hostProcess?: boolean };
}
export interface PssPodSpec {
    os?: { name?: string };
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    hostUsers?: boolean;
    securityContext?: PssSecurityContext & { sysctls?: { name: string }[] };
    volumes?: Record<string, unknown>[];
    initContainers?: PssContainer[];
    containers?: PssContainer[];
    ephemeralContainers?: PssContainer[];
}
export interface PssPodMetadata {
    annotations?: Record<string, string>;
}

export type PssLevel = "privileged" | "baseline" | "restricted";

export interface PssViolation {
    /** The PSA check's id (e.g. "allowPrivilegeEscalation"). */
    check: string;
    level: "baseline" | "restricted";
    detail: string;
}

/** A Kubernetes minor version, e.g. 35 for 1.35. The checks differ by version in small, documented ways. */
type Minor = number;

interface Check {
    id: string;
    level: "baseline" | "restricted";
    /** Checks of the restricted level that replace a baseline one when both apply. */
    overrides?: string[];
    /** First Kubernetes minor version the check exists in. */
    since: Minor;
    run(meta: PssPodMetadata, spec: PssPodSpec, minor: Minor): string | undefined;
}

function containersOf(spec: PssPodSpec): PssContainer[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

const isWindows = (spec: PssPodSpec): boolean => spec.os?.name === "windows";
/** 1.35+: a pod in a user namespace (hostUsers: false) may run as root inside it, and may unmask /proc at baseline. */
const inUserNamespace = (spec: PssPodSpec, minor: Minor): boolean => minor >= 35 && spec.hostUsers === false;
const names = (list: string[]): string => list.map((n) => `"${n}"`).join(", ");

const BASELINE_CAPABILITIES = new Set([
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
]);

/** Safe sysctls by the version that allowed them. */
const SAFE_SYSCTLS: readonly [Minor, string[]][] = [
    [
        0,
        [
            "kernel.shm_rmid_forced",
            "net.ipv4.ip_local_port_range",
            "net.ipv4.tcp_syncookies",
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_unprivileged_port_start",
        ],
    ],
    [27, ["net.ipv4.ip_local_reserved_ports"]],
    [29, ["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]],
    [32, ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]],
    [37, ["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"]],
];

/** Inline volume sources the restricted profile allows (everything else is a host or network volume). */
const RESTRICTED_VOLUME_SOURCES = new Set([
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
]);

const CHECKS: Check[] = [
    {
        id: "hostProcess",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.windowsOptions?.hostProcess === true)
                .map((c) => c.name);
            if (spec.securityContext?.windowsOptions?.hostProcess === true) bad.unshift("pod");
            return bad.length > 0 ? `${names(bad)} set securityContext.windowsOptions.hostProcess=true` : undefined;
        },
    },
    {
        id: "hostNamespaces",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = (["hostNetwork", "hostPID", "hostIPC"] as const).filter((f) => spec[f] === true);
            return bad.length > 0 ? `${bad.map((f) => `${f}=true`).join(", ")}` : undefined;
        },
    },
    {
        id: "privileged",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.privileged === true)
                .map((c) => c.name);
            return bad.length > 0 ? `${names(bad)} must not set securityContext.privileged=true` : undefined;
        },
    },
    {
        id: "capabilities_baseline",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = containersOf(spec).flatMap((c) =>
                (c.securityContext?.capabilities?.add ?? [])
                    .filter((cap) => !BASELINE_CAPABILITIES.has(cap))
                    .map((cap) => `${c.name}: ${cap}`),
            );
            return bad.length > 0 ? `non-default capabilities added: ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "hostPathVolumes",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
            return bad.length > 0 ? `hostPath volumes ${names(bad)}` : undefined;
        },
    },
    {
        id: "hostPorts",
        level: "baseline",
        since: 0,
        run(_m, spec) {
            const bad = containersOf(spec).flatMap((c) =>
                (c.ports ?? []).filter((p) => (p.hostPort ?? 0) !== 0).map((p) => `${c.name}: ${p.hostPort}`),
            );
            return bad.length > 0 ? `hostPort ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "appArmorProfile",
        level: "baseline",
        since: 0,
        run(meta, spec) {
            const allowedType = (t: string | undefined) => t === undefined || t === "RuntimeDefault" || t === "Localhost";
            const bad: string[] = [];
            if (!allowedType(spec.securityContext?.appArmorProfile?.type)) bad.push(`pod: ${spec.securityContext?.appArmorProfile?.type}`);
            for (const c of containersOf(spec))
                if (!allowedType(c.securityContext?.appArmorProfile?.type))
                    bad.push(`${c.name}: ${c.securityContext?.appArmorProfile?.type}`);
            for (const [key, value] of Object.entries(meta.annotations ?? {}))
                if (
                    key.startsWith("container.apparmor.security.beta.kubernetes.io/") &&
                    !(value === "" || value === "runtime/default" || value.startsWith("localhost/"))
                )
                    bad.push(`annotation ${key}=${value}`);
            return bad.length > 0 ? `AppArmor profile ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "seLinuxOptions",
        level: "baseline",
        since: 0,
        run(_m, spec, minor) {
            const types = new Set([
                "",
                "container_t",
                "container_init_t",
                "container_kvm_t",
                ...(minor >= 31 ? ["container_engine_t"] : []),
            ]);
            const bad: string[] = [];
            const look = (who: string, o: PssSecurityContext["seLinuxOptions"]) => {
                if (o === undefined) return;
                if (!types.has(o.type ?? "")) bad.push(`${who}: type ${o.type}`);
                if ((o.user ?? "") !== "") bad.push(`${who}: user ${o.user}`);
                if ((o.role ?? "") !== "") bad.push(`${who}: role ${o.role}`);
            };
            look("pod", spec.securityContext?.seLinuxOptions);
            for (const c of containersOf(spec)) look(c.name, c.securityContext?.seLinuxOptions);
            return bad.length > 0 ? `SELinux options ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "procMount",
        level: "baseline",
        since: 0,
        run(_m, spec, minor) {
            if (inUserNamespace(spec, minor)) return undefined;
            return unmaskedProc(spec);
        },
    },
    {
        id: "seccompProfile_baseline",
        level: "baseline",
        since: 19,
        run(_m, spec) {
            const valid = (t: string | undefined) => t === undefined || t === "RuntimeDefault" || t === "Localhost";
            const bad: string[] = [];
            if (spec.securityContext?.seccompProfile !== undefined && !valid(spec.securityContext.seccompProfile.type))
                bad.push(`pod: ${spec.securityContext.seccompProfile.type}`);
            for (const c of containersOf(spec))
                if (c.securityContext?.seccompProfile !== undefined && !valid(c.securityContext.seccompProfile.type))
                    bad.push(`${c.name}: ${c.securityContext.seccompProfile.type}`);
            return bad.length > 0 ? `seccomp profile ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "sysctls",
        level: "baseline",
        since: 0,
        run(_m, spec, minor) {
            const safe = new Set(SAFE_SYSCTLS.filter(([v]) => v <= minor).flatMap(([, list]) => list));
            const bad = (spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !safe.has(n));
            return bad.length > 0 ? `forbidden sysctls ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "hostProbesAndHostLifecycle",
        level: "baseline",
        since: 34,
        run(_m, spec) {
            const bad: string[] = [];
            for (const c of containersOf(spec)) {
                const handlers = [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop];
                for (const h of handlers)
                    for (const host of [h?.httpGet?.host, h?.tcpSocket?.host]) if ((host ?? "") !== "") bad.push(`${c.name}: ${host}`);
            }
            return bad.length > 0 ? `probe or lifecycle host ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "restrictedVolumes",
        level: "restricted",
        overrides: ["hostPathVolumes"],
        since: 0,
        run(_m, spec) {
            const bad = (spec.volumes ?? [])
                .filter((v) => !Object.keys(v).some((k) => RESTRICTED_VOLUME_SOURCES.has(k)))
                .map(
                    (v) =>
                        `${String(v.name)} (${
                            Object.keys(v)
                                .filter((k) => k !== "name")
                                .join(", ") || "no source"
                        })`,
                );
            return bad.length > 0 ? `restricted volume types: ${bad.join(", ")}` : undefined;
        },
    },
    {
        id: "allowPrivilegeEscalation",
        level: "restricted",
        since: 8,
        run(_m, spec, minor) {
            if (minor >= 25 && isWindows(spec)) return undefined;
            const bad = containersOf(spec)
                .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
                .map((c) => c.name);
            return bad.length > 0 ? `${names(bad)} must set securityContext.allowPrivilegeEscalation=false` : undefined;
        },
    },
    {
        id: "runAsNonRoot",
        level: "restricted",
        since: 0,
        run(_m, spec, minor) {
            if (inUserNamespace(spec, minor)) return undefined;
            const pod = spec.securityContext?.runAsNonRoot;
            const bad: string[] = pod === false ? ["pod"] : [];
            for (const c of containersOf(spec)) {
                const own = c.securityContext?.runAsNonRoot;
                if (own === false || (own === undefined && pod !== true)) bad.push(c.name);
            }
            return bad.length > 0 ? `pod or ${names(bad)} must set securityContext.runAsNonRoot=true` : undefined;
        },
    },
    {
        id: "runAsUser",
        level: "restricted",
        since: 23,
        run(_m, spec, minor) {
            if (inUserNamespace(spec, minor)) return undefined;
            const bad: string[] = spec.securityContext?.runAsUser === 0 ? ["pod"] : [];
            for (const c of containersOf(spec)) if (c.securityContext?.runAsUser === 0) bad.push(c.name);
            return bad.length > 0 ? `${names(bad)} must not set runAsUser=0` : undefined;
        },
    },
    {
        id: "seccompProfile_restricted",
        level: "restricted",
        overrides: ["seccompProfile_baseline"],
        since: 19,
        run(_m, spec, minor) {
            if (minor >= 25 && isWindows(spec)) return undefined;
            const valid = (t: string | undefined) => t === "RuntimeDefault" || t === "Localhost";
            const podProfile = spec.securityContext?.seccompProfile;
            const bad: string[] = podProfile !== undefined && !valid(podProfile.type) ? ["pod"] : [];
            const podSet = podProfile !== undefined && valid(podProfile.type);
            for (const c of containersOf(spec)) {
                const own = c.securityContext?.seccompProfile;
                if (own !== undefined ? !valid(own.type) : !podSet) bad.push(c.name);
            }
            return bad.length > 0
                ? `pod or ${names(bad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`
                : undefined;
        },
    },
    {
        id: "capabilities_restricted",
        level: "restricted",
        overrides: ["capabilities_baseline"],
        since: 22,
        run(_m, spec, minor) {
            if (minor >= 25 && isWindows(spec)) return undefined;
            const bad: string[] = [];
            for (const c of containersOf(spec)) {
                const caps = c.securityContext?.capabilities;
                if (!(caps?.drop ?? []).includes("ALL")) bad.push(`${c.name} must drop ALL`);
                const added = (caps?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
                if (added.length > 0) bad.push(`${c.name} must not add ${added.join(", ")}`);
            }
            return bad.length > 0 ? bad.join("; ") : undefined;
        },
    },
    {
        id: "procMount_restricted",
        level: "restricted",
        overrides: ["procMount"],
        since: 35,
        run(_m, spec) {
            return unmaskedProc(spec);
        },
    },
];

function unmaskedProc(spec: PssPodSpec): string | undefined {
    const bad = containersOf(spec)
        .filter((c) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== "Default")
        .map((c) => `${c.name}: ${c.securityContext?.procMount}`);
    return bad.length > 0 ? `procMount ${bad.join(", ")}` : undefined;
}

/** The check ids of each level, for tests that want to know every control is covered. */
export const PSS_CHECK_IDS: Readonly<Record<"baseline" | "restricted", string[]>> = {
    baseline: CHECKS.filter((c) => c.level === "baseline").map((c) => c.id),
    restricted: CHECKS.filter((c) => c.level === "restricted").map((c) => c.id),
};

/**
 * Every violation of `level` (and of baseline, for restricted) a pod with this metadata and spec has, as PSA at
 * Kubernetes 1.`minor` would report them. Empty: the pod is admitted.
 */
export function podSecurityViolations(level: PssLevel, meta: PssPodMetadata, spec: PssPodSpec, minor: Minor): PssViolation[] {
    if (level === "privileged") return [];
    const active = CHECKS.filter((c) => c.since <= minor && (c.level === "baseline" || level === "restricted"));
    const overridden = new Set(active.flatMap((c) => c.overrides ?? []));
    const found: PssViolation[] = [];
    for (const check of active) {
        if (overridden.has(check.id)) continue;
        const detail = check.run(meta, spec, minor);
        if (detail !== undefined) found.push({ check: check.id, level: check.level, detail });
    }
    return found;
}
