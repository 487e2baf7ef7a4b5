// EC2 vCPU quotas (issue 16, item 11): the program reads the quotas of the classes its node groups use and
// warns, without ever failing, when the groups' maximum sizes cannot fit or a quota cannot be read.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { MockRunResult, runStackUnderMocks } from "../../mock-run/mock-run";
import { MOCK_EC2_QUOTAS } from "../../mock-run/mock-world";
import { listStacks, REPO_ROOT } from "../../plan/stacks";
import { PROFILES } from "../../platform/accelerators";
import { QuotaGroup, QuotaSummary, quotaClass, quotaNeeds, quotaWarnings, vcpusOf } from "../../platform/quotas";
import { CONFIG_KEYS } from "../../config/config";

/** A fresh account: G and Inf quotas at 0 (never raised), standard on-demand at 5 vCPUs. */
const FRESH_ACCOUNT = {
    ...MOCK_EC2_QUOTAS,
    "L-1216C47A": { defaultValue: 5, name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" },
    "L-DB2E81BA": { defaultValue: 0, name: "Running On-Demand G and VT instances" },
    "L-1945791B": { value: 8, defaultValue: 0, name: "Running On-Demand Inf instances" },
};

describe("vCPU quotas (pure)", () => {
    it("counts the vCPUs EC2 gives the types this stack launches", () => {
        // Published sizes: inf2.xlarge 4, inf2.8xlarge 32, inf1.xlarge 4, inf1.2xlarge 8, g6f.large 2, g6.xlarge 4,
        // g4dn.xlarge 4, c7i.large 2, c6i.large 2, c5.large 2, m7i.large 2; t3.micro 2 (burstable).
        const expected: Record<string, number> = {
            "inf2.xlarge": 4,
            "inf2.8xlarge": 32,
            "inf1.xlarge": 4,
            "inf1.2xlarge": 8,
            "inf1.6xlarge": 24,
            "g6f.large": 2,
            "g6.xlarge": 4,
            "g4dn.xlarge": 4,
            "c7i.large": 2,
            "c6i.large": 2,
            "c5.large": 2,
            "m7i.large": 2,
            "t3.micro": 2,
            "m5.medium": 1,
        };
        for (const [type, vcpus] of Object.entries(expected)) assert.equal(vcpusOf(type), vcpus, type);
        assert.equal(vcpusOf("m7i.metal-24xl"), undefined);
    });

    it("every instance type a profile or the general group can use has a quota class and a vCPU count", () => {
        const types = new Set<string>([String(CONFIG_KEYS.generalInstanceType.default)]);
        for (const profile of Object.values(PROFILES)) {
            types.add(profile.defaultInstanceType);
            for (const t of profile.spotInstanceTypes) types.add(t);
            for (const family of profile.instanceFamilies) types.add(`${family}.xlarge`);
        }
        for (const t of types) {
            assert.notEqual(quotaClass(t), undefined, `${t} has a quota class`);
            assert.notEqual(vcpusOf(t), undefined, `${t} has a vCPU count`);
        }
        assert.equal(quotaClass("inf2.xlarge"), "inf");
        assert.equal(quotaClass("g6f.large"), "g");
        assert.equal(quotaClass("im4gn.large"), "standard");
        assert.equal(quotaClass("trn1.2xlarge"), undefined);
        assert.equal(quotaClass("p5.48xlarge"), undefined);
    });

    const groups: QuotaGroup[] = [
        { group: "general", instanceTypes: ["m7i.large"], capacityType: "ON_DEMAND", minSize: 2, maxSize: 4 },
        { group: "video", instanceTypes: ["g6f.large", "g6.xlarge"], capacityType: "SPOT", minSize: 0, maxSize: 3 },
        { group: "bert", instanceTypes: ["c7i.large"], capacityType: "ON_DEMAND", minSize: 1, maxSize: 2 },
    ];

    it("adds up the groups of one quota at their largest type, per capacity type", () => {
        const { needs, uncounted } = quotaNeeds(groups);
        assert.deepEqual(uncounted, []);
        const standard = needs.find((n) => n.quota.code === "L-1216C47A")!;
        assert.deepEqual(
            standard.groups.map((g) => g.group),
            ["general", "bert"],
        );
        assert.equal(standard.atMax, 4 * 2 + 2 * 2);
        assert.equal(standard.atMin, 2 * 2 + 1 * 2);
        const gSpot = needs.find((n) => n.quota.code === "L-3819A6DF")!;
        assert.equal(gSpot.atMax, 3 * 4, "a Spot group may end up on its largest type");
        assert.equal(needs.length, 2);
    });

    it("warns per quota that cannot fit, naming the groups, max x vCPUs, the quota and the request command", () => {
        const { needs } = quotaNeeds(groups);
        const warnings = quotaWarnings(
            needs,
            new Map([
                ["L-1216C47A", { value: 32 }],
                ["L-3819A6DF", { value: 8 }],
            ]),
            "us-west-2",
        );
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /^EC2 quota L-3819A6DF "All G and VT Spot Instance Requests" in us-west-2 is 8 vCPUs/);
        assert.match(warnings[0], /video \(max 3 x 4 vCPUs of g6\.xlarge\) needs 12 vCPUs at maximum size/);
        assert.match(warnings[0], /The group cannot grow past 8 vCPUs/);
        assert.match(
            warnings[0],
            /aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF --desired-value 12 --region us-west-2/,
        );
    });

    it("says that `up` will fail when not even the minimum sizes fit", () => {
        const { needs } = quotaNeeds(groups);
        const [warning] = quotaWarnings(
            needs.filter((n) => n.quota.code === "L-1216C47A"),
            new Map([["L-1216C47A", { value: 5 }]]),
            "us-west-2",
        );
        assert.match(warning, /general \(max 4 x 2 vCPUs of m7i\.large\) \+ bert \(max 2 x 2 vCPUs of c7i\.large\) need 12 vCPUs/);
        assert.match(warning, /Not even the minimum sizes fit \(6 vCPUs\): EKS cannot start the first nodes, and `pulumi up` fails/);
    });

    it("a quota it could not read is a warning that names the groups and the permissions, not an error", () => {
        const { needs } = quotaNeeds(groups);
        const warnings = quotaWarnings(needs, new Map([["L-1216C47A", { error: "AccessDeniedException: no" }]]), "us-west-2");
        assert.equal(warnings.length, 2, "one per quota: the refused one and the one never read");
        assert.match(warnings[0], /could not read EC2 quota L-1216C47A .* \(AccessDeniedException: no\), so this run cannot check/);
        assert.match(warnings[0], /servicequotas:GetAWSDefaultServiceQuota and servicequotas:GetServiceQuota/);
    });
});

describe("vCPU quotas in the program (mocked Service Quotas)", function () {
    this.timeout(180_000);
    const stacks = listStacks();
    const plain = new Map<string, MockRunResult>();
    let fresh: MockRunResult;
    let denied: MockRunResult;

    before(async () => {
        const [runs, f, d] = await Promise.all([
            Promise.all(stacks.map((s) => runStackUnderMocks(s))),
            runStackUnderMocks("prod", { world: { serviceQuotas: FRESH_ACCOUNT }, preview: true }),
            runStackUnderMocks("dev", { world: { serviceQuotasDenied: true }, preview: true }),
        ]);
        stacks.forEach((s, i) => plain.set(s, runs[i]));
        fresh = f;
        denied = d;
    });

    it("reads the quotas at preview and warns for each that the groups' maximum sizes overflow", () => {
        assert.ok(fresh.calls.includes("aws:servicequotas/getServiceQuota:getServiceQuota"));
        const quotaWarnings = fresh.warnings.filter((w) => w.startsWith("EC2 quota "));
        assert.equal(quotaWarnings.length, 3, quotaWarnings.join("\n"));
        const g = quotaWarnings.find((w) => w.includes("L-DB2E81BA"))!;
        assert.match(g, /is 0 vCPUs, but video \(max 10 x 4 vCPUs of g6\.xlarge\) needs 40 vCPUs/);
        assert.match(g, /Not even the minimum size fits \(4 vCPUs\)/);
        const inf = quotaWarnings.find((w) => w.includes("L-1945791B"))!;
        assert.match(inf, /is 8 vCPUs, but bert \(max 4 x 4 vCPUs of inf2\.xlarge\) needs 16 vCPUs/);
        assert.match(inf, /--desired-value 16 --region us-east-1/);
        const summary = fresh.outputs.vcpuQuotas as QuotaSummary[];
        assert.deepEqual(
            summary.map((q) => [q.code, q.quota]),
            [
                ["L-1216C47A", 5],
                ["L-DB2E81BA", 0],
                ["L-1945791B", 8],
            ],
        );
    });

    it("never fails the preview when the quotas cannot be read: it says so per quota", () => {
        const unread = denied.warnings.filter((w) => w.startsWith("could not read EC2 quota"));
        assert.equal(unread.length, 2, denied.warnings.join("\n"));
        assert.ok(unread.every((w) => /AccessDeniedException/.test(w)));
        assert.ok((denied.outputs.vcpuQuotas as QuotaSummary[]).every((q) => q.quota === null));
        assert.ok(denied.resources.length > 50, "the rest of the program ran");
    });

    for (const stack of stacks) {
        it(`${stack}: the mocked account fits the stack (no quota warning), and the README lists exactly its quotas`, () => {
            const run = plain.get(stack)!;
            assert.deepEqual(
                run.warnings.filter((w) => /EC2 quota/.test(w)),
                [],
            );
            const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
            const rows = [...readme.matchAll(/^\| `([^`]+)` \| ([^|]+) \| `(L-[0-9A-F]+)` \| (\d+) \| (\d+) \|$/gm)]
                .filter((m) => m[1] === stack)
                .map((m) => ({ code: m[3], name: m[2].trim(), min: Number(m[4]), max: Number(m[5]) }));
            const summary = run.outputs.vcpuQuotas as QuotaSummary[];
            assert.deepEqual(
                rows,
                summary.map((q) => ({ code: q.code, name: q.name, min: q.neededAtMin, max: q.neededAtMax })),
            );
        });
    }
});
