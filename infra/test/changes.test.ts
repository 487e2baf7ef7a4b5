// Changes between plans: every change a user makes to a deployed stack, planned as the Pulumi engine would
// act on it. Each case plans the stack as deployed (a mock run of the program with the "from" config in a
// fresh account), then plans it again after the change, with the first run as the state (ignoreChanges keep
// old values) and the account as the first run left it (the cluster and its node groups exist), and hands
// the pair to the engine model (infra/mock-run/change-plan.ts). A case fails when the model finds:
// - two live resources with one physical identity at once (AWS names, Kubernetes namespace/kind/name, a
//   bucket's one policy), a Namespace deleted with objects still declared in it;
// - a delete AWS refuses (a bucket with objects without forceDestroy, a repository with images without
//   forceDelete) or the engine refuses (protect);
// - a resource type the replace table (infra/mock-run/replace-rules.ts) does not cover;
// - a cluster, bucket, queue or node group replaced or deleted other than those the case lists in `gone`
//   (and each one listed must go: the list is exact).
//
// Adding a case: append an entry to CASES below.
//   { title: "what the user does", stack: "dev" | "prod",
//     from: { key: "value" },            // config of the deployed stack (overrides on Pulumi.<stack>.yaml); optional
//     to: { key: "value" } | "destroy",  // config overrides after the change (merged over `from`), or destroy
//     world: { before, after },          // the AWS account (zones, instance type offerings) before/after; optional
//     edit: (root) => { ... },           // edit files in a copy of the repository before the second plan; optional
//     preview: true,                     // plan the change as the preview shows it (new resources' outputs unknown;
//                                        // the model replaces on an unknown value in a replacing property); optional
//     gone: [nodeGroup("video"), ...] | "all",  // the guarded resources this change replaces or deletes
//     check: (report) => { ... } }       // more assertions on the steps; optional
// Keys are config keys without the `eks-inference:` prefix. Cases with the same stack, `from` and world
// share their first run.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ChangeReport, GUARDED_TYPES, changedPaths, planChange } from "../mock-run/change-plan";
import { worldAfter } from "../mock-run/live-world";
import { MockRunResult, RecordedResource, runStackUnderMocks } from "../mock-run/mock-run";
import { type MockWorld, UNKNOWN_AT_PREVIEW } from "../mock-run/mock-world";
import { RESOURCE_RULES } from "../mock-run/replace-rules";
import { LEGACY_TF_NEURON, TRITON_NEURON } from "../bert/neuron-releases";
import { copyRepository } from "./support/repo-copy";

type Config = Record<string, string>;
type Stack = "dev" | "prod";

interface ChangeCase {
    title: string;
    stack: Stack;
    from?: Config;
    to: Config | "destroy";
    world?: { before?: MockWorld; after?: MockWorld };
    edit?: (root: string) => void;
    /** Plan the change as `pulumi preview` shows it: outputs of resources not yet created are unknown. */
    preview?: boolean;
    gone: string[] | "all";
    check?: (report: ChangeReport, before: MockRunResult, after: MockRunResult | undefined) => void;
}

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const BUCKET = "aws:s3/bucket:Bucket";
const QUEUE = "aws:sqs/queue:Queue";
const nodeGroup = (stack: Stack, group: string): string => `${NODE_GROUP}::eks-inference-${stack}-${group}`;
const bucket = (stack: Stack, name: string): string => `${BUCKET}::eks-inference-${stack}-${name}`;
const queue = (stack: Stack, name: string): string => `${QUEUE}::eks-inference-${stack}-${name}`;
/** Neuron node groups carry their pinned AMI release in their name (nodegroups.ts nodeGroupResourceName). */
const PROD_TRITON_BERT = nodeGroup("prod", `bert-ami-${TRITON_NEURON.ami.release}`);
const PROD_LEGACY_BERT = nodeGroup("prod", `bert-ami-${LEGACY_TF_NEURON.ami.release}`);
const VIDEO_DATA = (stack: Stack): string[] => [bucket(stack, "video"), queue(stack, "video-dlq"), queue(stack, "video-jobs")];

/** A read-only role for PR previews (platform/preview-access.ts). */
const PREVIEW_ROLE = "arn:aws:iam::123456789012:role/ci/eks-inference-preview";

/** Legacy BERT: TF Serving Neuron needs the user's own compiled model. */
const TF_SERVING: Config = { bertServer: "tf-serving", bertModelUri: "s3://models-bucket/bert/neuron/" };

/**
 * us-east-1 on the day the prod stack is deployed: Inferentia2 and L4 GPUs only in two of the zones EKS can
 * use, so the video and BERT groups get two of the three subnets; later AWS adds both types to use1-az1.
 */
const GENERAL_TYPES = ["m7i.large"];
const OFFERED_FIRST: Record<string, string[]> = {
    "use1-az1": GENERAL_TYPES,
    "use1-az2": [...GENERAL_TYPES, "inf2.xlarge", "g6.xlarge"],
    "use1-az3": GENERAL_TYPES,
    "use1-az4": [...GENERAL_TYPES, "inf2.xlarge", "g6.xlarge"],
    "use1-az5": [...GENERAL_TYPES, "g6.xlarge"],
    "use1-az6": GENERAL_TYPES,
};
const OFFERED_LATER: Record<string, string[]> = { ...OFFERED_FIRST, "use1-az1": [...GENERAL_TYPES, "inf2.xlarge", "g6.xlarge"] };

/**
 * us-west-2 for the dev stack: the video GPUs in usw2-az2..az4, Inferentia2 in usw2-az1 and usw2-az4. With BERT
 * off the VPC goes to az2 and az3; once BERT counts, the ranking starts az4, az1, az2, so a third subnet pair
 * must go to az4 (the best zone the VPC lacks), not to az2 again.
 */
const DEV_OFFERED: Record<string, string[]> = {
    "usw2-az1": [...GENERAL_TYPES, "inf2.xlarge"],
    "usw2-az2": [...GENERAL_TYPES, "g6f.large", "g6.xlarge"],
    "usw2-az3": [...GENERAL_TYPES, "g6f.large", "g6.xlarge"],
    "usw2-az4": [...GENERAL_TYPES, "g6f.large", "g6.xlarge", "inf2.xlarge"],
};

function privateSubnetsOf(run: MockRunResult): RecordedResource[] {
    return run.resources
        .filter((r) => r.type === "aws:ec2/subnet:Subnet" && /-private-\d+$/.test(r.name))
        .sort((a, b) => a.name.localeCompare(b.name));
}

function appendTo(root: string, file: string, text: string): void {
    fs.appendFileSync(path.join(root, file), text);
}

/** The bucket and every setting that protects or expires its objects stay; the S3 notification (to a deleted queue) goes. */
const RETAINED_BUCKET_PARTS = [
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
];

/** Types of the resources named `name` a delete leaves in the account. */
function retained(report: ChangeReport, name: string): string[] {
    return report.steps
        .filter((s) => s.name === name && s.op === "delete" && s.retained === true)
        .map((s) => s.type)
        .sort();
}

function stepsOf(report: ChangeReport, op: string): string[] {
    return report.steps.filter((s) => s.op === op).map((s) => `${s.type}::${s.name}`);
}

const CASES: ChangeCase[] = [
    {
        title: "an `up` with nothing changed",
        stack: "dev",
        to: {},
        gone: [],
        check: (report) => assert.deepStrictEqual(report.summary, "", "nothing to do"),
    },
    {
        title: "EC2 starts offering the accelerated types in another zone (no config change)",
        stack: "prod",
        world: { before: { offerings: OFFERED_FIRST }, after: { offerings: OFFERED_LATER } },
        to: {},
        gone: [],
        check: (report) => assert.deepStrictEqual(report.summary, "", "the zones and each group's subnets stay as created"),
    },
    {
        title: "a README edit",
        stack: "dev",
        to: {},
        edit: (root) => appendTo(root, "README.md", "\nAn operator's note.\n"),
        gone: [],
        check: (report) => assert.deepStrictEqual(report.summary, "", "no image tag, no resource changes"),
    },
    {
        title: "a worker code edit",
        stack: "dev",
        to: {},
        edit: (root) => appendTo(root, "worker/src/main.ts", "\n// An edit of the worker.\n"),
        gone: [],
        check: (report) => {
            assert.deepStrictEqual(stepsOf(report, "replace"), []);
            assert.deepStrictEqual(stepsOf(report, "update").sort(), [
                "docker-build:index:Image::eks-inference-dev-worker",
                "kubernetes:apps/v1:DaemonSet::eks-inference-dev-video-daemonset",
            ]);
        },
    },
    { title: "video off", stack: "dev", to: { videoEnabled: "false" }, gone: [...VIDEO_DATA("dev"), nodeGroup("dev", "video")] },
    { title: "video back on", stack: "dev", from: { videoEnabled: "false" }, to: { videoEnabled: "true" }, gone: [] },
    { title: "BERT on", stack: "dev", to: { bertEnabled: "true" }, gone: [] },
    { title: "BERT off", stack: "prod", to: { bertEnabled: "false" }, gone: [PROD_TRITON_BERT, bucket("prod", "models")] },
    {
        // Each server pins its own node AMI release, in the group's name (nodegroups.ts), so the group is new.
        // The objects both servers declare are the same objects (server-switch.ts): updated, never re-created.
        title: "bertServer triton -> tf-serving",
        stack: "prod",
        to: TF_SERVING,
        gone: [PROD_TRITON_BERT],
        check: (report) => {
            const shared = report.steps.filter((s) => /-bert-(namespace|service-account|deployment|service|headless|pdb)$/.test(s.name));
            assert.deepStrictEqual(shared.map((s) => [s.name, s.op, s.from !== undefined]).sort(), [
                ["eks-inference-prod-bert-deployment", "update", true],
                ["eks-inference-prod-bert-headless", "update", true],
                ["eks-inference-prod-bert-namespace", "same", true],
                ["eks-inference-prod-bert-pdb", "same", true],
                ["eks-inference-prod-bert-service", "update", true],
                ["eks-inference-prod-bert-service-account", "same", true],
            ]);
        },
    },
    {
        title: "bertServer tf-serving -> triton",
        stack: "prod",
        from: TF_SERVING,
        to: { bertServer: "triton", bertModelUri: "" },
        gone: [PROD_LEGACY_BERT],
    },
    { title: "video accelerator nvidia -> cpu", stack: "dev", to: { videoAccelerator: "cpu" }, gone: [nodeGroup("dev", "video")] },
    {
        title: "video accelerator nvidia -> inf2",
        stack: "dev",
        to: { videoAccelerator: "inf2", videoModelUri: "s3://models-bucket/ssd-neuron/" },
        gone: [nodeGroup("dev", "video")],
    },
    { title: "BERT accelerator inf2 -> cpu", stack: "prod", to: { bertAccelerator: "cpu" }, gone: [PROD_TRITON_BERT] },
    {
        title: "node group sizes",
        stack: "dev",
        to: { videoMaxSize: "4", generalMinSize: "2", generalDesiredSize: "2", generalMaxSize: "3" },
        gone: [],
        check: (report) => assert.deepStrictEqual(stepsOf(report, "replace"), []),
    },
    {
        // The launch template gets a new version (the provider's Update: CreateLaunchTemplateVersion), and the node
        // group follows its latestVersion: EKS rolls the nodes onto it in place (UpdateNodegroupVersion), no new group.
        title: "a bigger accelerated disk: a new launch template version rolls the video group in place",
        stack: "dev",
        to: { acceleratedVolumeGiB: "150" },
        gone: [],
        check: (report) => {
            assert.deepStrictEqual(stepsOf(report, "replace"), []);
            const changed = (type: string) =>
                report.steps.filter((s) => s.type === type && s.op === "update").map((s) => [s.name, s.changed]);
            assert.deepStrictEqual(changed("aws:ec2/launchTemplate:LaunchTemplate"), [
                ["eks-inference-dev-video", ["blockDeviceMappings.ebs.volumeSize"]],
            ]);
            assert.deepStrictEqual(changed(NODE_GROUP), [["eks-inference-dev-video", ["launchTemplate.version"]]]);
        },
    },
    { title: "interface endpoints off", stack: "prod", to: { interfaceEndpoints: "false" }, gone: [] },
    { title: "one NAT gateway per zone", stack: "dev", to: { natGateways: "onePerAz" }, gone: [] },
    {
        // Subnets keep the zone they were created in; the new pair must not land in a zone the VPC already has
        // (interface endpoints refuse two subnets of one zone, and the BERT group would find no Inferentia zone).
        title: "BERT on with a third zone, after the best zones moved",
        stack: "dev",
        world: { before: { offerings: DEV_OFFERED } },
        to: { bertEnabled: "true", azCount: "3" },
        gone: [],
        check: (report, before, after) => {
            assert.ok(after !== undefined);
            assert.deepStrictEqual(
                privateSubnetsOf(before).map((s) => s.inputs.availabilityZoneId),
                ["usw2-az2", "usw2-az3"],
            );
            const subnets = privateSubnetsOf(after);
            assert.deepStrictEqual(
                subnets.map((s) => s.inputs.availabilityZoneId),
                ["usw2-az2", "usw2-az3", "usw2-az4"],
            );
            const bert = after.resources.find((r) => r.type === NODE_GROUP && r.name.startsWith("eks-inference-dev-bert"));
            assert.deepStrictEqual(bert?.inputs.subnetIds, [subnets[2]?.id], "the BERT group goes where Inferentia2 is");
            assert.deepStrictEqual(stepsOf(report, "replace"), []);
        },
    },
    {
        // The new subnets' IDs are unknown until they exist; the running groups stay on their own subnets, so the
        // preview must not show them (and their scaling policies) replaced.
        title: "a third zone, as the preview shows it",
        stack: "dev",
        world: { before: { offerings: DEV_OFFERED } },
        to: { azCount: "3" },
        preview: true,
        gone: [],
        check: (report) => {
            assert.deepStrictEqual(stepsOf(report, "replace"), []);
            assert.ok(stepsOf(report, "create").includes("aws:ec2/subnet:Subnet::eks-inference-dev-private-2"), report.summary);
        },
    },
    {
        title: "a third zone with BERT on, as the preview shows it",
        stack: "prod",
        from: { azCount: "2" },
        to: { azCount: "3" },
        preview: true,
        gone: [],
        check: (report) => assert.deepStrictEqual(stepsOf(report, "replace"), []),
    },
    {
        // A group in a subnet that goes is placed anew on the subnets that stay (EC2 no longer lists its subnet
        // among the VPC's private ones); that replaces it, which is what lowering azCount asks for.
        title: "one zone fewer",
        stack: "prod",
        to: { azCount: "2" },
        gone: [nodeGroup("prod", "general"), nodeGroup("prod", "video"), PROD_TRITON_BERT],
        check: (report) =>
            assert.ok(stepsOf(report, "delete").includes("aws:ec2/subnet:Subnet::eks-inference-prod-private-2"), report.summary),
    },
    { title: "ECR keeps more images", stack: "dev", to: { ecrKeepImages: "20" }, gone: [] },
    { title: "PR preview access on", stack: "prod", to: { previewRoleArn: PREVIEW_ROLE }, gone: [] },
    { title: "uploads kept 30 days", stack: "dev", to: { inputExpiryDays: "30" }, gone: [] },
    { title: "an alarm e-mail", stack: "dev", to: { alarmEmail: "ops@example.com" }, gone: [] },
    { title: "Kubernetes 1.35 -> 1.36", stack: "dev", from: { kubernetesVersion: "1.35" }, to: { kubernetesVersion: "1.36" }, gone: [] },
    {
        title: "protectData on",
        stack: "dev",
        to: { protectData: "true" },
        gone: [],
        check: (report) =>
            assert.deepStrictEqual(
                report.steps.filter((s) => s.op !== "same").map((s) => [s.op, s.type, s.changed]),
                [["update", BUCKET, ["forceDestroy"]]],
                "only the bucket's forceDestroy changes (retainOnDelete is an option in the state)",
            ),
    },
    {
        title: "video off with protectData",
        stack: "dev",
        from: { protectData: "true" },
        to: { videoEnabled: "false" },
        gone: [...VIDEO_DATA("dev"), nodeGroup("dev", "video")],
        check: (report) => assert.deepStrictEqual(retained(report, "eks-inference-dev-video"), RETAINED_BUCKET_PARTS),
    },
    { title: "destroy dev", stack: "dev", to: "destroy", gone: "all" },
    {
        title: "destroy with protectData",
        stack: "prod",
        from: { protectData: "true" },
        to: "destroy",
        gone: "all",
        check: (report) => {
            assert.deepStrictEqual(retained(report, "eks-inference-prod-video"), RETAINED_BUCKET_PARTS);
            assert.deepStrictEqual(
                retained(report, "eks-inference-prod-models"),
                RETAINED_BUCKET_PARTS.filter((t) => !t.includes("Notification")),
            );
        },
    },
    { title: "destroy prod", stack: "prod", to: "destroy", gone: "all" },
];

/** The stack as deployed: a first `up` in a fresh account (identical runs are shared, see runStackUnderMocks). */
function deployed(stack: Stack, config: Config, world: MockWorld | undefined): Promise<MockRunResult> {
    return runStackUnderMocks(stack, {
        ...(Object.keys(config).length > 0 ? { config } : {}),
        ...(world !== undefined ? { world } : {}),
    });
}

async function plan(c: ChangeCase): Promise<{ report: ChangeReport; before: MockRunResult; after?: MockRunResult }> {
    const from = c.from ?? {};
    const before = await deployed(c.stack, from, c.world?.before);
    if (c.to === "destroy") return { report: planChange(before.resources, []), before };
    const copy = c.edit === undefined ? undefined : copyRepository();
    try {
        if (copy !== undefined) c.edit?.(copy.root);
        const after = await runStackUnderMocks(c.stack, {
            config: { ...from, ...c.to },
            prior: before.resources,
            ...(c.preview === true ? { preview: true } : {}),
            world: worldAfter(before, c.world?.after ?? c.world?.before),
            root: copy?.root,
        });
        return { report: planChange(before.resources, after.resources), before, after };
    } finally {
        copy?.remove();
    }
}

function guarded(run: MockRunResult): string[] {
    return run.resources
        .filter((r) => GUARDED_TYPES.includes(r.type))
        .map((r) => `${r.type}::${r.name}`)
        .sort();
}

describe("changes between plans", function () {
    this.timeout(240_000);

    // Every case's plan starts at once: the mock runs queue for runStackUnderMocks' child slots (two run at a
    // time, one per core) instead of one after the other as the cases await them. A plan that fails still
    // fails its own case, which awaits it.
    const plans = new Map<ChangeCase, ReturnType<typeof plan>>();
    before(() => {
        for (const c of CASES) {
            const planned = plan(c);
            planned.catch(() => undefined);
            plans.set(c, planned);
        }
    });

    for (const c of CASES) {
        it(`${c.stack}: ${c.title}`, async () => {
            const { report, before, after } = await (plans.get(c) ?? plan(c));
            const context = `\n--- plan ---\n${report.summary || "(nothing)"}`;
            assert.deepStrictEqual(report.problems, [], `the engine or AWS would fail or lose something:${context}`);
            const expected = c.gone === "all" ? guarded(before) : [...c.gone].sort();
            assert.deepStrictEqual(report.gone, expected, `cluster, buckets, queues and node groups replaced or deleted:${context}`);
            c.check?.(report, before, after);
        });
    }

    it("the replace table covers every resource type the program declares (all profiles, servers and options)", async () => {
        const runs = await Promise.all([
            deployed("dev", {}, undefined),
            deployed("prod", {}, undefined),
            deployed("prod", TF_SERVING, undefined),
            runStackUnderMocks("dev", {
                config: {
                    videoAccelerator: "inf1",
                    videoModelUri: "s3://models-bucket/ssd/",
                    alarmEmail: "ops@example.com",
                    previewRoleArn: PREVIEW_ROLE,
                    ...TF_SERVING,
                },
            }),
        ]);
        const declared = new Set(runs.flatMap((r) => r.resources.filter((x) => x.custom).map((x) => x.type)));
        const missing = [...declared].filter((t) => RESOURCE_RULES[t] === undefined).sort();
        assert.deepStrictEqual(
            missing,
            [],
            "types without a rule (add them to infra/mock-run/replace-rules.ts from the provider's source)",
        );
    });
});

// ---- The engine model itself, on hand-made states.
function resource(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<RecordedResource> = {}): RecordedResource {
    return { type, name, inputs, urn: `urn:pulumi:s::p::${type}::${name}`, custom: true, id: `${name}-id`, ...extra };
}

describe("engine model (change-plan.ts)", () => {
    const ns = (parent: string) =>
        resource(
            "kubernetes:core/v1:Namespace",
            "ns",
            { metadata: { name: "bert" } },
            { urn: `urn:pulumi:s::p::${parent}$kubernetes:core/v1:Namespace::ns` },
        );

    it("a Kubernetes object under a new URN with the same name collides, and the old Namespace's delete takes the new objects", () => {
        const sa = (parent: string) =>
            resource(
                "kubernetes:core/v1:ServiceAccount",
                "sa",
                { metadata: { name: "bert-serving", namespace: "bert" } },
                { urn: `urn:pulumi:s::p::${parent}$kubernetes:core/v1:ServiceAccount::sa` },
            );
        const report = planChange([ns("a:A"), sa("a:A")], [ns("b:B"), sa("b:B")]);
        assert.strictEqual(report.problems.filter((p) => p.includes("AlreadyExists")).length, 2, report.problems.join("\n"));
        assert.ok(
            report.problems.some((p) => p.startsWith("Namespace bert")),
            report.problems.join("\n"),
        );
        // The same objects adopted through aliases: nothing to do.
        const moved = [ns("b:B"), sa("b:B")].map((r) => ({ ...r, aliasUrns: [r.urn.replace("b:B", "a:A")] }));
        assert.deepStrictEqual(planChange([ns("a:A"), sa("a:A")], moved).problems, []);
    });

    it("a named Kubernetes object replaced in place is deleted first (no collision); an auto-named AWS one gets a new name", () => {
        const job = (image: string) =>
            resource("kubernetes:batch/v1:Job", "job", { metadata: { name: "build", namespace: "bert" }, spec: { template: { image } } });
        const report = planChange([job("a")], [job("b")]);
        assert.deepStrictEqual(report.problems, []);
        assert.deepStrictEqual(
            report.steps.map((s) => [s.op, s.deleteBeforeReplace]),
            [["replace", true]],
        );
        const sg = (description: string) =>
            resource(
                "aws:ec2/securityGroup:SecurityGroup",
                "sg",
                { vpcId: "vpc", description },
                { physicalName: "sg-abc1234", autoNamed: true },
            );
        const sgReport = planChange([sg("a")], [sg("b")]);
        assert.deepStrictEqual(
            sgReport.steps.map((s) => [s.op, s.deleteBeforeReplace]),
            [["replace", false]],
        );
        assert.deepStrictEqual(sgReport.problems, [], "the new copy has a new random suffix");
    });

    it("a replaced resource replaces the dependents whose force-new inputs came from it", () => {
        const group = resource(
            NODE_GROUP,
            "ng",
            { subnetIds: ["s-id"], clusterName: "c" },
            { physicalName: "ng-abc1234", autoNamed: true },
        );
        const policyOn = (g: RecordedResource) =>
            resource(
                "aws:autoscaling/policy:Policy",
                "p",
                { autoscalingGroupName: `eks-${g.physicalName}-uuid`, name: "p" },
                {
                    physicalName: "p",
                    autoNamed: false,
                    propertyDependencies: { autoscalingGroupName: [g.urn] },
                },
            );
        const moved = { ...group, inputs: { ...group.inputs, subnetIds: ["s-id", "t-id"] } };
        const report = planChange([group, policyOn(group)], [moved, policyOn(moved)]);
        assert.deepStrictEqual(
            report.steps.map((s) => [s.name, s.op, s.deleteBeforeReplace]),
            [
                ["ng", "replace", false],
                ["p", "replace", true],
            ],
        );
        assert.deepStrictEqual(report.gone, [`${NODE_GROUP}::ng`]);
    });

    it("a preview replaces on an unknown value in a replacing property, and leaves unknown identities to the apply", () => {
        const group = resource(
            NODE_GROUP,
            "ng",
            { subnetIds: ["s-id"], clusterName: "c" },
            { physicalName: "ng-abc1234", autoNamed: true },
        );
        const unknown = { ...group, inputs: { ...group.inputs, subnetIds: UNKNOWN_AT_PREVIEW } };
        assert.deepStrictEqual(
            planChange([group], [unknown]).steps.map((s) => [s.name, s.op]),
            [["ng", "replace"]],
        );
        const association = (name: string) =>
            resource("aws:ec2/routeTableAssociation:RouteTableAssociation", name, { subnetId: UNKNOWN_AT_PREVIEW, routeTableId: name });
        assert.deepStrictEqual(planChange([], [association("a"), association("b")]).problems, [], "two new subnets' IDs are not one ID");
    });

    it("refuses deletes AWS refuses, unless forced or retained; protect stops the engine", () => {
        const repo = (force: boolean, extra: Partial<RecordedResource> = {}) =>
            resource(
                "aws:ecr/repository:Repository",
                "repo",
                { name: "p/s/worker", forceDelete: force },
                { physicalName: "p/s/worker", autoNamed: false, ...extra },
            );
        const image = resource("docker-build:index:Image", "img", { tags: ["123.dkr.ecr.r.amazonaws.com/p/s/worker:abc"] });
        assert.strictEqual(planChange([repo(false), image], []).problems.length, 1);
        assert.deepStrictEqual(planChange([repo(true), image], []).problems, []);
        assert.deepStrictEqual(planChange([repo(false, { options: { retainOnDelete: true } }), image], []).problems, []);
        assert.deepStrictEqual(planChange([repo(false)], []).problems, [], "an empty repository deletes");
        assert.match(planChange([repo(true, { options: { protect: true } })], []).problems.join(), /protected/);
    });

    it("one old resource continued by two new ones (alias and URN, or two aliases) is refused, as the engine does", () => {
        const old = ns("a:A");
        const byAlias = (parent: string) => ({ ...ns(parent), aliasUrns: [old.urn] });
        assert.match(planChange([old], [byAlias("b:B"), byAlias("c:C")]).problems.join(), /both continue .*duplicate resource alias/);
        assert.match(planChange([old], [byAlias("b:B"), ns("a:A")]).problems.join(), /both continue .*duplicate resource alias/);
        assert.match(planChange([old], [ns("a:A"), byAlias("b:B")]).problems.join(), /both continue .*duplicate resource alias/);
        assert.deepStrictEqual(planChange([old], [byAlias("b:B")]).problems, []);
    });

    it("an interface endpoint given two subnets of one zone is refused (DuplicateSubnetsInSameZone)", () => {
        const subnet = (name: string, zone: string) =>
            resource("aws:ec2/subnet:Subnet", name, {
                vpcId: "vpc",
                cidrBlock: `10.0.${name.charCodeAt(0)}.0/24`,
                availabilityZoneId: zone,
            });
        const endpoint = (type: string) =>
            resource("aws:ec2/vpcEndpoint:VpcEndpoint", "sqs", {
                vpcId: "vpc",
                vpcEndpointType: type,
                subnetIds: ["a-id", "b-id", "c-id"],
            });
        const twice = [subnet("a", "usw2-az2"), subnet("b", "usw2-az3"), subnet("c", "usw2-az2")];
        assert.match(
            planChange([], [...twice, endpoint("Interface")]).problems.join(),
            /2 subnets in usw2-az2 \(a-id, c-id\).*DuplicateSubnetsInSameZone/,
        );
        assert.deepStrictEqual(planChange([], [...twice, endpoint("Gateway")]).problems, [], "a gateway endpoint takes route tables");
        const distinct = [subnet("a", "usw2-az2"), subnet("b", "usw2-az3"), subnet("c", "usw2-az4")];
        assert.deepStrictEqual(planChange([], [...distinct, endpoint("Interface")]).problems, []);
    });

    it("an unknown resource type is a problem, and paths compare leaf by leaf", () => {
        assert.match(
            planChange([], [resource("aws:new/thing:Thing", "t", {})]).problems.join(),
            /no replace rule for aws:new\/thing:Thing/,
        );
        assert.deepStrictEqual(changedPaths({ a: { b: [1, 2], c: "x" } }, { a: { b: [1, 3], c: "x" }, d: 1 }), ["a.b", "d"]);
    });
});
