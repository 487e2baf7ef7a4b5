// Changing a node group's min or max keeps the live desired capacity and never fails.
import * as assert from "assert";
import { LiveNodeGroup, checkVolumeThroughput, desiredSizeToSend, nodeGroupResourceName, runningSubnets } from "../../platform/nodegroups";
import { VIDEO_VOLUME_THROUGHPUT_MIBPS } from "../../platform/node-pools";
import { MockRunOptions, MockRunResult, prefetchStackRuns, runStackUnderMocks } from "../../mock-run/mock-run";
import { MockLiveNodeGroup } from "../../mock-run/mock-world";

function scaling(run: MockRunResult, group: string): Record<string, unknown> {
    const found = run.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup" && r.name === `eks-inference-dev-${group}`);
    assert.ok(found, group);
    assert.strictEqual(found.ignoreChanges, undefined, "desiredSize must not be ignored: Pulumi would send the creation-time value");
    return found.inputs.scalingConfig as Record<string, unknown>;
}

function live(group: string, sizes: Omit<MockLiveNodeGroup, "nodeGroupName">): MockLiveNodeGroup {
    return { nodeGroupName: `eks-inference-dev-${group}-1a2b3c4`, ...sizes };
}

describe("node group desired size", function () {
    this.timeout(120_000);

    it("sends the live desired size clamped into [min, max]; the configured one only when there is none", () => {
        const sizing = { minSize: 1, desiredSize: 1, maxSize: 4 };
        assert.strictEqual(desiredSizeToSend(sizing, undefined), 1, "first create");
        assert.strictEqual(desiredSizeToSend(sizing, 3), 3, "the autoscaler's 3 stays");
        assert.strictEqual(
            desiredSizeToSend({ ...sizing, minSize: 2 }, 0),
            2,
            "raising min above the live size never fails: desired follows min",
        );
        assert.strictEqual(desiredSizeToSend({ ...sizing, maxSize: 2 }, 3), 2, "lowering max below the live size: desired follows max");
        assert.strictEqual(desiredSizeToSend({ minSize: 0, desiredSize: 0, maxSize: 2 }, 0), 0, "scaled to zero stays at zero");
    });

    it("a running group keeps its subnets; only a group that is replaced anyway (types, AMI or capacity type) is placed anew", () => {
        const declared = { instanceTypes: ["g6.xlarge"], amiType: "AL2023_x86_64_NVIDIA", capacityType: "ON_DEMAND" };
        const running: LiveNodeGroup = {
            nodeGroupName: "eks-inference-prod-video-1a2b3c4",
            desiredSize: 2,
            subnetIds: ["s-a", "s-b"],
            ...declared,
        };
        assert.deepStrictEqual(runningSubnets([running], declared), ["s-a", "s-b"]);
        assert.strictEqual(runningSubnets([], declared), undefined, "first deploy");
        assert.strictEqual(runningSubnets([running], { ...declared, instanceTypes: ["g6.2xlarge"] }), undefined);
        assert.strictEqual(runningSubnets([running], { ...declared, instanceTypes: ["g6.xlarge", "g6.2xlarge"] }), undefined);
        assert.strictEqual(runningSubnets([running], { ...declared, amiType: "AL2023_x86_64_STANDARD" }), undefined);
        assert.strictEqual(runningSubnets([running], { ...declared, capacityType: "SPOT" }), undefined);
        assert.strictEqual(runningSubnets([{ ...running, subnetIds: [] }], declared), undefined, "EKS reported no subnets");
        // During a replacement two groups match: the one this declaration continues.
        const old = { ...running, nodeGroupName: "eks-inference-prod-video-9f8e7d6", instanceTypes: ["g5.xlarge"], subnetIds: ["s-c"] };
        assert.deepStrictEqual(runningSubnets([old, running], declared), ["s-a", "s-b"]);
    });

    const LIVE_WORLD = {
        clusters: {
            "eks-inference-dev": [
                // EKS's own figure lags; the Auto Scaling group's desired capacity is what the policies set.
                live("video", { minSize: 0, maxSize: 2, desiredSize: 2, asgDesiredCapacity: 2 }),
                live("general", { minSize: 1, maxSize: 2, desiredSize: 2 }),
            ],
        },
    };
    const RAISED: MockRunOptions = { world: LIVE_WORLD, config: { videoMaxSize: "6", generalMinSize: "1" } };
    const MIN_UP: MockRunOptions = { world: LIVE_WORLD, config: { videoMinSize: "3", videoDesiredSize: "3", videoMaxSize: "6" } };
    const REPLACING: MockRunOptions = {
        config: { videoMaxSize: "8" },
        world: {
            clusters: {
                "eks-inference-dev": [
                    live("video", { minSize: 0, maxSize: 8, desiredSize: 1, asgDesiredCapacity: 4 }),
                    { nodeGroupName: "eks-inference-dev-video-9f8e7d6", minSize: 0, maxSize: 8, desiredSize: 0 },
                    { nodeGroupName: "eks-inference-dev-video-extra-0a1b2c3", minSize: 0, maxSize: 8, desiredSize: 7 },
                ],
            },
        },
    };
    before(() => prefetchStackRuns([["dev"], ["dev", RAISED], ["dev", MIN_UP], ["dev", REPLACING]]));

    it("first deploy (no cluster): the configured initial sizes", async () => {
        const run = await runStackUnderMocks("dev");
        assert.deepStrictEqual(scaling(run, "video"), { minSize: 0, desiredSize: 0, maxSize: 2 });
        assert.deepStrictEqual(scaling(run, "general"), { minSize: 1, desiredSize: 1, maxSize: 2 });
    });

    it("raising max keeps the 2 nodes the autoscaler asked for; raising min above the live size follows min", async () => {
        const raised = await runStackUnderMocks("dev", RAISED);
        assert.deepStrictEqual(scaling(raised, "video"), { minSize: 0, desiredSize: 2, maxSize: 6 }, "not reset to the initial 0");
        assert.deepStrictEqual(scaling(raised, "general"), { minSize: 1, desiredSize: 2, maxSize: 2 });
        const minUp = await runStackUnderMocks("dev", MIN_UP);
        assert.strictEqual(scaling(minUp, "video").desiredSize, 3, "desired 2 below the new min 3 would fail UpdateNodegroupConfig");
    });

    it("reads the Auto Scaling group's desired capacity, and the larger one while a replacement runs", async () => {
        const run = await runStackUnderMocks("dev", REPLACING);
        assert.strictEqual(scaling(run, "video").desiredSize, 4);
        assert.strictEqual(scaling(run, "general").desiredSize, 1, "the general group does not exist yet in this world");
    });
});

describe("node group names", function () {
    it("carries an AMI release pin in the name, and refuses a name EKS would reject as too long", () => {
        assert.equal(nodeGroupResourceName("eks-inference-prod-bert", undefined), "eks-inference-prod-bert");
        assert.equal(nodeGroupResourceName("eks-inference-prod-bert", "1.35.2-20260403"), "eks-inference-prod-bert-ami-v20260403");
        // "-ami-v<date>" is 14 characters and the provider's "-<7 hex>" 8: a 41-character base is the longest EKS accepts.
        const longest = "g".repeat(41);
        assert.equal(nodeGroupResourceName(longest, "1.35.2-20260403").length + 8, 63);
        assert.throws(
            () => nodeGroupResourceName(`${longest}x`, "1.35.2-20260403"),
            /would be 64 characters \(EKS allows 63\).*shorter project or stack name/,
        );
        assert.throws(() => nodeGroupResourceName("x".repeat(56), undefined), /would be 64 characters/);
    });

    it("accepts gp3 throughput from 125 to 750 MiB/s (no IOPS beyond the included 3,000), and the video groups ask for 400", () => {
        assert.equal(checkVolumeThroughput("g", undefined), undefined);
        assert.equal(checkVolumeThroughput("g", 125), 125);
        assert.equal(checkVolumeThroughput("g", 750), 750);
        for (const bad of [124, 751, 500.5])
            assert.throws(() => checkVolumeThroughput("g", bad), /node group g: volumeThroughputMiBps must be an integer from 125 to 750/);
        assert.equal(checkVolumeThroughput("video", VIDEO_VOLUME_THROUGHPUT_MIBPS), 400);
    });
});
