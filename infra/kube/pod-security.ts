// Pod Security Admission for the namespaces this stack creates: every one enforces the `restricted` Pod
// Security Standard. The enforced checks are pinned to the Kubernetes version the stack's pods were checked
// against (infra/test/security/pod-security.test.ts runs every declared pod through the restricted checks);
// warn and audit follow the cluster's latest checks, so a check a cluster upgrade adds shows up as a warning
// on `kubectl apply`/`pulumi up` and in the audit log before anyone pins enforcement to it.

/** The Pod Security Standards version `enforce` is pinned to (a Kubernetes minor version, `v1.x`). */
export const POD_SECURITY_ENFORCE_VERSION = "v1.35";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The namespace labels Pod Security Admission reads (kubernetes.io/docs/concepts/security/pod-security-admission). */
export function podSecurityLabels(level: PodSecurityLevel = "restricted"): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": POD_SECURITY_ENFORCE_VERSION,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
    };
}
