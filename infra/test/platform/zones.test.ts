// Zones are chosen by zone ID: never one EKS refuses, preferably where every node group's types are offered.
import * as assert from "assert";
import { MockRunOptions, MockRunResult, prefetchStackRuns, RecordedResource, runStackUnderMocks } from "../../mock-run/mock-run";
import { MOCK_ZONES } from "../../mock-run/mock-world";
import { EKS_UNSUPPORTED_ZONE_IDS, chooseZones, subnetsForTypes, zoneForSubnet } from "../../platform/zones";

const VIDEO = { group: "video", configKey: "videoInstanceTypes", instanceTypes: ["g6f.large", "g6.xlarge"] };
const GENERAL = { group: "general", configKey: "generalInstanceType", instanceTypes: ["m7i.large"] };

function offerings(byZone: Record<string, string[]>): { instanceTypes: string[]; locations: string[] } {
    const entries = Object.entries(byZone).flatMap(([zone, types]) => types.map((t) => [zone, t] as const));
    return { locations: entries.map(([z]) => z), instanceTypes: entries.map(([, t]) => t) };
}

function privateSubnets(run: MockRunResult): RecordedResource[] {
    return run.resources
        .filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.name.includes("-private-"))
        .sort((a, b) => a.name.localeCompare(b.name));
}

describe("zone choice (pure)", () => {
    it("never picks a zone EKS refuses, and prefers zones offering every type of every group", () => {
        const ids = ["use1-az3", "use1-az6", "use1-az1", "use1-az2", "use1-az5", "use1-az4"];
        const all = ["g6f.large", "g6.xlarge", "m7i.large"];
        const offered = offerings({
            "use1-az3": all,
            "use1-az6": all,
            "use1-az1": ["m7i.large"],
            "use1-az2": ["m7i.large", "g6.xlarge"],
            "use1-az5": all,
            "use1-az4": all,
        });
        const choice = chooseZones("us-east-1", ids, offered, [GENERAL, VIDEO], 3);
        assert.deepStrictEqual(choice.zoneIds, ["use1-az4", "use1-az5", "use1-az6"]);
        assert.deepStrictEqual(choice.warnings, []);
        // With four zones, the one offering some video type comes before the one offering none.
        assert.deepStrictEqual(chooseZones("us-east-1", ids, offered, [GENERAL, VIDEO], 4).zoneIds, [
            "use1-az4",
            "use1-az5",
            "use1-az6",
            "use1-az2",
        ]);
    });

    it("warns when a group can launch in only some chosen zones, and fails naming the key when it can launch in none", () => {
        const offered = offerings({ "usw2-az1": ["m7i.large"], "usw2-az2": ["m7i.large", "g6f.large"] });
        const choice = chooseZones("us-west-2", ["usw2-az1", "usw2-az2"], offered, [GENERAL, VIDEO], 2);
        assert.deepStrictEqual(choice.zoneIds, ["usw2-az2", "usw2-az1"]);
        assert.ok(
            choice.warnings.some((w) => /video nodes can launch only in usw2-az2/.test(w)),
            choice.warnings.join("\n"),
        );
        assert.ok(choice.warnings.some((w) => /video: g6.xlarge is offered in none of the chosen zones/.test(w)));
        assert.throws(
            () =>
                chooseZones(
                    "us-west-1",
                    ["usw1-az1", "usw1-az3"],
                    offerings({ "usw1-az1": ["m7i.large"], "usw1-az3": ["m7i.large"] }),
                    [GENERAL, VIDEO],
                    2,
                ),
            /eks-inference:videoInstanceTypes: EC2 offers none of g6f.large, g6.xlarge in the zones chosen in us-west-1 \(usw1-az1, usw1-az3\) nor anywhere else in us-west-1/,
        );
    });

    it("fails naming azCount when the region has too few zones EKS can use", () => {
        assert.throws(
            () => chooseZones("us-west-1", ["usw1-az2", "usw1-az1", "usw1-az3"], offerings({}), [], 3),
            /eks-inference:azCount is 3, but us-west-1 has only 2 zones EKS can use \(usw1-az1, usw1-az3; EKS refuses use1-az3, usw1-az2, cac1-az3\)/,
        );
    });

    it("puts each subnet pair in the best zone no earlier pair has: the ranking's head on a new VPC, a zone of its own later", () => {
        const ranked = ["usw2-az4", "usw2-az1", "usw2-az2", "usw2-az3"];
        const fresh: string[] = [];
        for (let i = 0; i < 3; i++) fresh.push(zoneForSubnet(ranked, fresh));
        assert.deepStrictEqual(fresh, ranked.slice(0, 3));
        // A VPC made when az2 and az3 ranked first, given a third pair once the ranking moved.
        assert.strictEqual(zoneForSubnet(ranked, ["usw2-az2", "usw2-az3"]), "usw2-az4");
        assert.throws(
            () => zoneForSubnet(["a", "b"], ["b", "a"]),
            /eks-inference:azCount: every zone EKS can use here \(a, b\) already has a subnet/,
        );
    });

    it("gives a group only the subnets whose zone offers one of its types", () => {
        const offered = offerings({ a: ["g6f.large"], b: ["m7i.large"], c: ["g6.xlarge"] });
        assert.deepStrictEqual(subnetsForTypes(["a", "b", "c"], offered, VIDEO.instanceTypes), [0, 2]);
    });
});

describe("zone choice in the program (mocked EC2)", function () {
    this.timeout(120_000);

    const standard = ["m7i.large"];
    const G6_IN_AZ2: MockRunOptions = {
        world: {
            offerings: { "usw2-az1": standard, "usw2-az2": [...standard, "g6.xlarge"], "usw2-az3": standard, "usw2-az4": standard },
        },
    };
    const NO_VIDEO_TYPE: MockRunOptions = {
        preview: true,
        world: {
            offerings: {
                "usw2-az1": ["m7i.large"],
                "usw2-az2": ["m7i.large"],
                "usw2-az3": ["m7i.large"],
                "usw2-az4": ["m7i.large"],
            },
        },
    };
    before(() => prefetchStackRuns([["prod"], ["dev", G6_IN_AZ2], ["dev", NO_VIDEO_TYPE]]));

    it("prod in us-east-1: zone IDs, not the first names (us-east-1a is use1-az3 in this account)", async () => {
        assert.strictEqual(MOCK_ZONES["us-east-1"]?.[0]?.zoneId, "use1-az3");
        const run = await runStackUnderMocks("prod");
        const zones = privateSubnets(run).map((s) => s.inputs.availabilityZoneId as string);
        assert.strictEqual(zones.length, 3);
        for (const z of zones) assert.ok(!EKS_UNSUPPORTED_ZONE_IDS.includes(z), z);
        // use1-az1 offers no GPU or Inferentia instances in the mocked account: it is not chosen.
        assert.deepStrictEqual(zones, ["use1-az2", "use1-az4", "use1-az5"]);
    });

    it("a node group gets only the subnets where its instance types are offered", async () => {
        const run = await runStackUnderMocks("dev", G6_IN_AZ2);
        const subnets = privateSubnets(run);
        assert.deepStrictEqual(
            subnets.map((s) => s.inputs.availabilityZoneId),
            ["usw2-az2", "usw2-az1"],
        );
        const group = (suffix: string) =>
            run.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup" && r.name === `eks-inference-dev-${suffix}`);
        assert.deepStrictEqual(group("video")?.inputs.subnetIds, [`${subnets[0]?.name}-id`], "video nodes only where g6.xlarge is offered");
        assert.deepStrictEqual(
            group("general")?.inputs.subnetIds,
            subnets.map((s) => `${s.name}-id`),
        );
    });

    it("fails at preview, naming the key, when no zone offers a group's instance types", async () => {
        await assert.rejects(
            runStackUnderMocks("dev", NO_VIDEO_TYPE),
            /eks-inference:videoInstanceTypes: EC2 offers none of g6f.large, g6.xlarge/,
        );
    });
});
