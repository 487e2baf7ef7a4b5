// EC2 vCPU quotas against the node groups' maximum sizes. New accounts often have 0-8 vCPUs of G and Inf
// quota: a group that cannot get a node just stays empty (the video queue grows, BERT never serves) and
// nothing in Kubernetes says why. So every run (preview included) reads the Service Quotas of the instance
// families in use and warns, per quota, when the groups' maximum sizes cannot fit. Reading a quota is
// best effort: a refused or failed read is a warning too, never a failed preview.
//
// EC2 counts running instances in vCPUs per class of families, per region and capacity type. Quota codes
// (Service Quotas, service code `ec2`), as the console lists them and as public tools map them (e.g.
// meadowrun's aws_integration/quotas.py, copied from the console):
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export type QuotaClass = "standard" | "g" | "inf";
export type CapacityType = "ON_DEMAND" | "SPOT";

export interface VcpuQuota {
    code: string;
    name: string;
}

export const VCPU_QUOTAS: Readonly<Record<QuotaClass, Readonly<Record<CapacityType, VcpuQuota>>>> = {
    standard: {
        ON_DEMAND: { code: "L-1216C47A", name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" },
        SPOT: { code: "L-34B43A08", name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" },
    },
    g: {
        ON_DEMAND: { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances" },
        SPOT: { code: "L-3819A6DF", name: "All G and VT Spot Instance Requests" },
    },
    inf: {
        ON_DEMAND: { code: "L-1945791B", name: "Running On-Demand Inf instances" },
        SPOT: { code: "L-B5D1601B", name: "All Inf Spot Instance Requests" },
    },
};

/** The quota class of an instance type, or undefined for classes this stack never launches (P, Trn, DL, F, X, U, ...). */
export function quotaClass(instanceType: string): QuotaClass | undefined {
    const letters = /^[a-z]+/.exec(instanceType)?.[0] ?? "";
    if (letters === "inf") return "inf";
    if (letters === "g" || letters === "gr" || letters === "vt") return "g";
    if (letters === "trn" || letters === "dl" || letters === "hpc" || letters === "u") return undefined;
    return "acdhimrtz".includes(letters.charAt(0)) && letters !== "" ? "standard" : undefined;
}

/**
 * vCPUs of an instance type from its size, as EC2 sizes them for the x86 families here: medium 1, large 2,
 * xlarge 4, Nxlarge 4N (inf2.8xlarge 32, inf1.6xlarge 24, g6.xlarge 4, g6f.large 2); burstable t-types
 * below large have 2. Undefined for metal and unknown sizes (the check then says it could not count them).
 */
export function vcpusOf(instanceType: string): number | undefined {
    const m = /^([a-z0-9-]+)\.(\d*)(nano|micro|small|medium|large|xlarge)$/.exec(instanceType);
    if (m === null) return undefined;
    const [, family, multiple, size] = m;
    if (size === "xlarge") return 4 * (multiple === "" ? 1 : Number(multiple));
    if (multiple !== "") return undefined;
    if (size === "large") return 2;
    if (family.startsWith("t")) return 2;
    return size === "medium" ? 1 : undefined;
}

/** A node group as the quota check sees it. */
export interface QuotaGroup {
    /** Group name as the config spells it: general, video, bert. */
    group: string;
    instanceTypes: string[];
    capacityType: CapacityType;
    minSize: number;
    maxSize: number;
}

/** What the groups of one quota need: the largest type of each group, at its minimum and its maximum size. */
export interface QuotaNeed {
    quota: VcpuQuota;
    groups: { group: string; instanceType: string; vcpus: number; minSize: number; maxSize: number }[];
    /** vCPUs at every group's maximum size. */
    atMax: number;
    /** vCPUs at every group's minimum size (what `up` waits for). */
    atMin: number;
}

/** Needs per quota code, and the groups whose types could not be counted. Pure. */
export function quotaNeeds(groups: readonly QuotaGroup[]): { needs: QuotaNeed[]; uncounted: string[] } {
    const byCode = new Map<string, QuotaNeed>();
    const uncounted: string[] = [];
    for (const g of groups) {
        // A group may launch any of its types; count the largest (a Spot group falls back to it).
        let largest: { instanceType: string; vcpus: number } | undefined;
        let quota: VcpuQuota | undefined;
        for (const instanceType of g.instanceTypes) {
            const cls = quotaClass(instanceType);
            const vcpus = vcpusOf(instanceType);
            if (cls === undefined || vcpus === undefined) {
                uncounted.push(`${g.group} (${instanceType})`);
                continue;
            }
            quota = VCPU_QUOTAS[cls][g.capacityType];
            if (largest === undefined || vcpus > largest.vcpus) largest = { instanceType, vcpus };
        }
        if (largest === undefined || quota === undefined) continue;
        const need = byCode.get(quota.code) ?? { quota, groups: [], atMax: 0, atMin: 0 };
        need.groups.push({ group: g.group, ...largest, minSize: g.minSize, maxSize: g.maxSize });
        need.atMax += g.maxSize * largest.vcpus;
        need.atMin += g.minSize * largest.vcpus;
        byCode.set(quota.code, need);
    }
    return { needs: [...byCode.values()], uncounted };
}

/** A quota as read: its value in vCPUs, or why it could not be read. */
export type QuotaReading = { value: number } | { error: string };

function requestCommand(code: string, desired: number, region: string): string {
    return `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${code} --desired-value ${desired} --region ${region}`;
}

function describeGroups(need: QuotaNeed): string {
    return need.groups.map((g) => `${g.group} (max ${g.maxSize} x ${g.vcpus} vCPUs of ${g.instanceType})`).join(" + ");
}

/** The warnings for these needs and readings (pure): one per quota that does not fit or could not be read. */
export function quotaWarnings(needs: readonly QuotaNeed[], readings: ReadonlyMap<string, QuotaReading>, region: string): string[] {
    const warnings: string[] = [];
    for (const need of needs) {
        const reading = readings.get(need.quota.code);
        const what = `EC2 quota ${need.quota.code} "${need.quota.name}" in ${region}`;
        if (reading === undefined || "error" in reading) {
            warnings.push(
                `could not read ${what} (${reading?.error ?? "not read"}), so this run cannot check that ${describeGroups(need)} = ` +
                    `${need.atMax} vCPUs fit. The role running this preview or update needs servicequotas:GetAWSDefaultServiceQuota and ` +
                    `servicequotas:GetServiceQuota; or check the quota in the Service Quotas console.`,
            );
            continue;
        }
        if (need.atMax <= reading.value) continue;
        const one = need.groups.length === 1;
        const atMinToo =
            need.atMin > reading.value
                ? ` Not even the minimum size${one ? " fits" : "s fit"} (${need.atMin} vCPUs): EKS cannot start the first nodes, and \`pulumi up\` fails waiting for them.`
                : ` The group${one ? "" : "s"} cannot grow past ${reading.value} vCPUs: work queues up while the nodes look healthy.`;
        warnings.push(
            `${what} is ${reading.value} vCPUs, but ${describeGroups(need)} need${one ? "s" : ""} ${need.atMax} vCPUs at maximum size ` +
                `(every running instance of that class in the region counts too).${atMinToo} ` +
                `Request more in the Service Quotas console or with: ${requestCommand(need.quota.code, need.atMax, region)}`,
        );
    }
    return warnings;
}

/** One line per quota for the stack output: what the groups need, and the quota as read. */
export interface QuotaSummary {
    code: string;
    name: string;
    groups: string[];
    neededAtMax: number;
    neededAtMin: number;
    /** vCPUs, or null when it could not be read. */
    quota: number | null;
}

/**
 * Reads each needed quota through the AWS provider (aws.servicequotas.getServiceQuota: the account's
 * applied value, else AWS's default) and logs a warning for each quota that does not fit or could not be
 * read. Never rejects.
 */
export async function checkVcpuQuotas(groups: readonly QuotaGroup[], region: string, opts: pulumi.InvokeOptions): Promise<QuotaSummary[]> {
    const { needs, uncounted } = quotaNeeds(groups);
    if (uncounted.length > 0)
        pulumi.log.warn(`vCPU quota check: cannot count the vCPUs of ${uncounted.join(", ")}; check those groups' EC2 quotas by hand`);
    const readings = new Map<string, QuotaReading>();
    await Promise.all(
        needs.map(async (need) => {
            try {
                const q = await aws.servicequotas.getServiceQuota({ serviceCode: "ec2", quotaCode: need.quota.code }, opts);
                readings.set(need.quota.code, typeof q.value === "number" ? { value: q.value } : { error: "no value in the answer" });
            } catch (err) {
                readings.set(need.quota.code, { error: err instanceof Error ? err.message : String(err) });
            }
        }),
    );
    for (const warning of quotaWarnings(needs, readings, region)) pulumi.log.warn(warning);
    return needs.map((need) => {
        const reading = readings.get(need.quota.code);
        return {
            code: need.quota.code,
            name: need.quota.name,
            groups: need.groups.map((g) => g.group),
            neededAtMax: need.atMax,
            neededAtMin: need.atMin,
            quota: reading !== undefined && "value" in reading ? reading.value : null,
        };
    });
}
