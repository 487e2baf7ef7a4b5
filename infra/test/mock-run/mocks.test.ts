// The test mocks must answer as the providers do, or they hide what a real account would hit.
import * as assert from "assert";
import { MockRunResult, RecordedResource, runStackUnderMocks } from "../../mock-run/mock-run";
import { MOCK_CALLER_ARN, MOCK_ZONES, isAutoNamed, mockZones, physicalName } from "../../mock-run/mock-world";

const UNKNOWN = "<unknown until apply>";

function one(run: MockRunResult, type: string, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.strictEqual(found.length, 1, `one ${type} ${name}`);
    return found[0] as RecordedResource;
}

describe("test mocks behave like the providers", function () {
    this.timeout(120_000);

    it("explicit names win over the resource name; other named types get <name>-<7 hex>", () => {
        assert.strictEqual(
            physicalName("aws:lambda/function:Function", "x-scaler", { name: "eks-inference-dev-scaler" }),
            "eks-inference-dev-scaler",
        );
        assert.strictEqual(physicalName("aws:eks/nodeGroup:NodeGroup", "g", { nodeGroupName: "given" }), "given");
        assert.match(physicalName("aws:eks/nodeGroup:NodeGroup", "g", {}) ?? "", /^g-[0-9a-f]{7}$/);
        assert.match(physicalName("aws:s3/bucket:Bucket", "Jobs", {}) ?? "", /^jobs-[0-9a-f]{7}$/);
        assert.match(physicalName("eks:index:Cluster", "c", {}) ?? "", /^c-eksCluster-[0-9a-f]{7}$/);
        assert.strictEqual(physicalName("aws:ec2/subnet:Subnet", "s", {}), undefined, "subnets have no name");
        assert.strictEqual(isAutoNamed("aws:sqs/queue:Queue", { name: "q" }), false);
        assert.strictEqual(isAutoNamed("aws:sqs/queue:Queue", {}), true);
    });

    it("the caller is an assumed-role session and zone names map to zone IDs out of name order", () => {
        assert.match(MOCK_CALLER_ARN, /^arn:aws:sts::\d{12}:assumed-role\/Deployer\/session$/);
        for (const zones of Object.values(MOCK_ZONES)) {
            const ids = zones.map((z) => z.zoneId);
            assert.notDeepStrictEqual(ids, [...ids].sort(), "zone IDs are not in name order");
        }
        const other = mockZones("eu-west-1");
        assert.deepStrictEqual(
            other.map((z) => z.zoneId),
            ["euw1-az3", "euw1-az1", "euw1-az4", "euw1-az2"],
        );
    });

    it("at preview, outputs that exist only after apply are unknown; inputs and names are known", async () => {
        const run = await runStackUnderMocks("dev", { preview: true });
        assert.deepStrictEqual(run.unmockedCalls, []);
        const fn = one(run, "aws:lambda/function:Function", "eks-inference-dev-scaler");
        assert.strictEqual(fn.physicalName, "eks-inference-dev-scaler");
        const env = (fn.inputs.environment as { variables: Record<string, unknown> }).variables;
        assert.strictEqual(env.ASG_NAME, UNKNOWN, "the Auto Scaling group exists only after the node group is created");
        assert.strictEqual(env.QUEUE_URL, UNKNOWN, "a queue URL exists only after the queue is created");
        assert.strictEqual(env.METRIC_NAMESPACE, "EksInference/VideoQueue");
        const group = one(run, "aws:eks/nodeGroup:NodeGroup", "eks-inference-dev-video");
        assert.strictEqual((group.inputs.launchTemplate as Record<string, unknown>).id, UNKNOWN);
        assert.strictEqual(group.inputs.nodeRoleArn, UNKNOWN);
        assert.strictEqual(run.outputs.videoAsgName, UNKNOWN);
        assert.strictEqual(run.outputs.clusterName, UNKNOWN, "the remote eks.Cluster component's outputs exist only after apply");
        assert.strictEqual(one(run, "eks:index:Cluster", "eks-inference-dev").inputs.name, "eks-inference-dev");
    });
});
