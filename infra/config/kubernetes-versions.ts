// EKS Kubernetes versions and their support dates (pure data and a pure check).
//
// Sources, checked December 2026:
// - 1.28 to 1.31: the "Amazon EKS Kubernetes release calendar" in the EKS user guide
//   (awsdocs/amazon-eks-user-guide, latest/ug/clusters/kubernetes-versions.adoc).
// - 1.32 to 1.35: the same calendar as published on docs.aws.amazon.com (kubernetes-versions), cross-checked
//   with endoflife.date/amazon-eks; the project's FACTS.md agrees (1.31 ended 2026-11-26, 1.35 standard
//   support until 2027-03-27).
// - 1.36 (checked 2026-12-06): the EKS calendar available here (awsdocs/amazon-eks-user-guide
//   latest/ug/versioning/kubernetes-versions.adoc, and the docs pages' stored copies) predates it. The EKS
//   user guide's standard-support notes list 1.36 as available; the EKS AMI changelog has 1.36 node AMIs from
//   release v20260610 (1.36.1-20260610); a secondary source (devopsdreams, "Kubernetes 1.36 on Amazon EKS",
//   2026-08) gives the EKS release as 2026-06-02 and standard support through 2027-08-02. Its dates below are
//   that release date plus EKS's documented 14 + 12 months: `datesFrom: "derived"`, so they warn but never
//   refuse a deploy, and 1.36 is not the default until the calendar confirms them.
// - 1.37 exists (EKS AMI releases from v20261023 carry 1.37 node AMIs) but is not offered here: no dates, and
//   the pinned Neuron AMI releases (infra/bert/neuron-releases.ts) have no 1.37 build.
// A version is in standard support for 14 months after its EKS release, then in extended support
// (billed at 6x the cluster-hour price) for 12 more; after that EKS refuses it.

export interface EksVersion {
    version: string;
    /**
     * Where the dates come from: the EKS release calendar (default), or "derived" (an EKS release date from a
     * secondary source plus the documented 14 + 12 months). Derived dates warn but never refuse.
     */
    datesFrom?: "eks-calendar" | "derived";
    /** Last day of standard support (ISO date); undefined when not yet published in the sources above. */
    endOfStandardSupport?: string;
    /** Last day of extended support: EKS refuses the version from then on. */
    endOfExtendedSupport?: string;
}

export const EKS_VERSIONS: readonly EksVersion[] = [
    { version: "1.36", endOfStandardSupport: "2027-08-02", endOfExtendedSupport: "2028-08-02", datesFrom: "derived" },
    { version: "1.35", endOfStandardSupport: "2027-03-27", endOfExtendedSupport: "2028-03-27" },
    { version: "1.34", endOfStandardSupport: "2026-12-02", endOfExtendedSupport: "2027-12-02" },
    { version: "1.33", endOfStandardSupport: "2026-07-29", endOfExtendedSupport: "2027-07-29" },
    { version: "1.32", endOfStandardSupport: "2026-03-23", endOfExtendedSupport: "2027-03-23" },
    { version: "1.31", endOfStandardSupport: "2025-11-26", endOfExtendedSupport: "2026-11-26" },
    { version: "1.30", endOfStandardSupport: "2025-07-23", endOfExtendedSupport: "2026-07-23" },
    { version: "1.29", endOfStandardSupport: "2025-03-23", endOfExtendedSupport: "2026-03-23" },
    { version: "1.28", endOfStandardSupport: "2024-11-26", endOfExtendedSupport: "2025-11-26" },
];

/** The default version: the newest one whose dates the EKS calendar confirms (1.35 in December 2026). */
export const DEFAULT_KUBERNETES_VERSION = "1.35";

export type SupportType = "STANDARD" | "EXTENDED";
export const SUPPORT_TYPES: readonly SupportType[] = ["STANDARD", "EXTENDED"];

/** Days before the end of support from which the program warns. */
export const WARN_DAYS = 90;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole days from `today` (UTC date) to the ISO date `end` (negative once it has passed). */
function daysUntil(end: string, today: Date): number {
    const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    return Math.round((Date.parse(`${end}T00:00:00Z`) - todayUtc) / DAY_MS);
}

export interface VersionVerdict {
    /** Why the version cannot be deployed (the config key's message), or undefined. */
    problem?: string;
    /** Something the operator should know (within WARN_DAYS of an end, or in paid extended support). */
    warning?: string;
}

/**
 * Checks a version against the table for a cluster on `supportType`, as of `today`.
 * - Not in the table, or past the end of extended support: refused (EKS refuses it).
 * - STANDARD past the end of standard support: refused, because EKS upgrades such a cluster by itself and
 *   the stack's version would then be behind the live cluster.
 * - EXTENDED past the end of standard support: warned (extended support is billed).
 * - Within WARN_DAYS of the end that applies: warned.
 */
export function checkKubernetesVersion(version: string, supportType: SupportType, today: Date): VersionVerdict {
    const verdict = checkAgainstTable(version, supportType, today);
    const entry = EKS_VERSIONS.find((v) => v.version === version);
    if (entry?.datesFrom === "derived" && verdict.problem !== undefined) {
        const extendedOver = entry.endOfExtendedSupport !== undefined && daysUntil(entry.endOfExtendedSupport, today) <= 0;
        const [which, end] = extendedOver ? ["extended", entry.endOfExtendedSupport] : ["standard", entry.endOfStandardSupport];
        return {
            warning:
                `Kubernetes ${version}: its ${which} support ended on ${end ?? "?"} by dates derived from its EKS release, not yet confirmed ` +
                `by the EKS calendar (infra/config/kubernetes-versions.ts), so this is not refused. Check 'aws eks describe-cluster-versions' ` +
                `and upgrade: EKS ${extendedOver ? "refuses the version and upgrades such clusters" : "upgrades a cluster on STANDARD support by itself"}.`,
        };
    }
    return verdict;
}

function checkAgainstTable(version: string, supportType: SupportType, today: Date): VersionVerdict {
    const entry = EKS_VERSIONS.find((v) => v.version === version);
    const known = EKS_VERSIONS.map((v) => v.version).join(", ");
    if (entry === undefined)
        return {
            problem: `is '${version}', which is not in the EKS version table (known: ${known}); use ${DEFAULT_KUBERNETES_VERSION} or newer`,
        };
    const { endOfStandardSupport: standardEnd, endOfExtendedSupport: extendedEnd } = entry;
    if (extendedEnd !== undefined && daysUntil(extendedEnd, today) <= 0) {
        return {
            problem: `is ${version}, whose EKS support ended on ${extendedEnd} (extended support included): EKS refuses it; use ${DEFAULT_KUBERNETES_VERSION} or newer`,
        };
    }
    if (standardEnd === undefined) return {};
    const standardLeft = daysUntil(standardEnd, today);
    if (supportType === "STANDARD") {
        if (standardLeft <= 0) {
            return {
                problem:
                    `is ${version}, whose standard support ended on ${standardEnd}: with upgradeSupportType STANDARD, EKS upgrades such a cluster ` +
                    `by itself; use ${DEFAULT_KUBERNETES_VERSION} or newer (or set upgradeSupportType EXTENDED, billed at 6x the cluster price, until ${extendedEnd ?? "its end"})`,
            };
        }
        if (standardLeft <= WARN_DAYS) {
            return {
                warning: `Kubernetes ${version}: standard support ends on ${standardEnd} (in ${standardLeft} days); EKS then upgrades the cluster by itself. Plan the upgrade.`,
            };
        }
        return {};
    }
    if (extendedEnd !== undefined && daysUntil(extendedEnd, today) <= WARN_DAYS) {
        return {
            warning: `Kubernetes ${version}: extended support ends on ${extendedEnd} (in ${daysUntil(extendedEnd, today)} days); EKS then upgrades the cluster by itself.`,
        };
    }
    if (standardLeft <= 0) {
        return {
            warning: `Kubernetes ${version} is in extended support since ${standardEnd} (billed at 6x the standard cluster price) until ${extendedEnd ?? "a date not in the table"}.`,
        };
    }
    if (standardLeft <= WARN_DAYS) {
        return {
            warning: `Kubernetes ${version}: standard support ends on ${standardEnd} (in ${standardLeft} days); extended support is billed at 6x from then on.`,
        };
    }
    return {};
}
