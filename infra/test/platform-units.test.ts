// In-process checks of the platform's pure pieces: accelerator table, CIDR split, IAM documents, image tags.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    ACCELERATOR_PROFILES,
    FAMILY_REGIONS,
    PROFILES,
    RETIRED_PROFILES,
    instanceFamily,
    nodeLabels,
    nodeSelector,
    nodeTaints,
    tolerations,
} from "../accelerators";
import { cidrSubnet } from "../cidr";
import { bertServingPolicy, videoWorkerPolicy } from "../iam";
import { contentTag, lifecyclePolicy } from "../images";

describe("accelerator profiles", () => {
    it("every profile's default instance type is one of its families and listed in the region table", () => {
        for (const name of ACCELERATOR_PROFILES) {
            const profile = PROFILES[name];
            assert.ok(profile.instanceFamilies.includes(instanceFamily(profile.defaultInstanceType)), name);
            for (const family of profile.instanceFamilies) assert.ok(FAMILY_REGIONS[family], `${family} has a region entry`);
            assert.ok(profile.amiType.startsWith("AL2023_x86_64_"), `${name} uses an AL2023 AMI`);
        }
    });

    it("maps profiles to AMI types, device plugins and resources as EKS expects", () => {
        assert.deepStrictEqual(
            ACCELERATOR_PROFILES.map((p) => [p, PROFILES[p].amiType, PROFILES[p].devicePlugin, PROFILES[p].resourceName ?? null]),
            [
                ["inf2", "AL2023_x86_64_NEURON", "neuron", "aws.amazon.com/neuron"],
                ["inf1", "AL2023_x86_64_NEURON", "neuron", "aws.amazon.com/neuron"],
                ["nvidia", "AL2023_x86_64_NVIDIA", "nvidia", "nvidia.com/gpu"],
                ["cpu", "AL2023_x86_64_STANDARD", "none", null],
            ],
        );
    });

    it("explains that Elastic Inference is retired and what replaces it", () => {
        assert.match(RETIRED_PROFILES.ei as string, /retired.*April 2024.*'nvidia'.*g6f.*time-slicing/);
    });

    it("tolerations tolerate exactly their own group's taints; selectors match the labels", () => {
        for (const profile of ACCELERATOR_PROFILES) {
            for (const workload of ["video", "bert"] as const) {
                const taints = nodeTaints(workload, profile);
                const tols = tolerations(workload, profile);
                assert.deepStrictEqual(tols.map((t) => [t.key, t.value, t.effect]), taints.map((t) => [t.key, t.value, t.effect]));
                const labels = nodeLabels(workload, profile);
                for (const [k, v] of Object.entries(nodeSelector(workload, profile))) assert.strictEqual(labels[k], v);
                const other = workload === "video" ? "bert" : "video";
                const otherTols = tolerations(other, profile);
                assert.ok(!otherTols.some((t) => t.key === "eks-inference/workload" && t.value === workload), `${other} pods do not tolerate ${workload} nodes`);
            }
        }
    });

    it("Spot defaults list two or more types of the profile's own families, the on-demand default first", () => {
        for (const name of ACCELERATOR_PROFILES) {
            const profile = PROFILES[name];
            assert.ok(profile.spotInstanceTypes.length >= 2, `${name} Spot default has two or more types`);
            assert.strictEqual(profile.spotInstanceTypes[0], profile.defaultInstanceType, name);
            assert.strictEqual(new Set(profile.spotInstanceTypes).size, profile.spotInstanceTypes.length, `${name}: no duplicates`);
            for (const type of profile.spotInstanceTypes) assert.ok(profile.instanceFamilies.includes(instanceFamily(type)), `${name}: ${type}`);
        }
    });
});

describe("cidrSubnet", () => {
    it("splits like Terraform's cidrsubnet", () => {
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 0), "10.0.0.0/20");
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 1), "10.0.16.0/20");
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 8), "10.0.128.0/20");
        assert.strictEqual(cidrSubnet("172.16.32.0/20", 4, 11), "172.16.43.0/24");
        assert.throws(() => cidrSubnet("10.0.0.0/16", 4, 16), /out of range/);
    });
});

describe("workload IAM documents", () => {
    const base = {
        partition: "aws",
        region: "us-west-2",
        accountId: "123456789012",
        queueArn: "arn:aws:sqs:us-west-2:123456789012:jobs",
        deadLetterQueueArn: "arn:aws:sqs:us-west-2:123456789012:dlq",
        bucketArn: "arn:aws:s3:::videos",
        inputPrefix: "input/",
        resultsPrefix: "results/",
        asgName: "eks-video-asg",
        metricNamespace: "EksInference/VideoQueue",
    };

    it("scopes scale-in protection to the video group's ASG only", () => {
        const doc = videoWorkerPolicy(base);
        const protect = doc.Statement.find((s) => s.Sid === "ProtectOwnNodeFromScaleIn");
        assert.strictEqual(protect?.Resource, "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:*:autoScalingGroupName/eks-video-asg");
        assert.strictEqual(doc.Statement.filter((s) => s.Resource === "*").length, 2);
    });

    it("grants model reads under the prefix only, with a prefix-conditioned list", () => {
        assert.deepStrictEqual(bertServingPolicy("aws", { bucket: "models", prefix: "bert" }).Statement, [
            { Sid: "BertReadModel", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::models/bert/*" },
            { Sid: "BertListModel", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::models", Condition: { StringLike: { "s3:prefix": ["bert", "bert/*"] } } },
        ]);
        const whole = bertServingPolicy("aws-cn", { bucket: "models", prefix: "" }).Statement;
        assert.strictEqual(whole[0]?.Resource, "arn:aws-cn:s3:::models/*");
    });
});

describe("image tags and ECR lifecycle", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "images-"));
        fs.mkdirSync(path.join(root, "images", "worker"), { recursive: true });
        fs.mkdirSync(path.join(root, "worker", "src"), { recursive: true });
        fs.writeFileSync(path.join(root, "images", "worker", "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(root, "images", "worker", "Dockerfile.dockerignore"), "*\n!worker/src\n!package.json\n");
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export {};\n");
        fs.writeFileSync(path.join(root, "package.json"), "{}");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("is stable for the same content and changes when the image's sources change", () => {
        const first = contentTag("worker", root);
        assert.match(first, /^[0-9a-f]{16}$/);
        assert.strictEqual(contentTag("worker", root), first);
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export const changed = 1;\n");
        assert.notStrictEqual(contentTag("worker", root), first);
    });

    it("ignores sources of other images", () => {
        fs.mkdirSync(path.join(root, "images", "tf-serving-cpu"), { recursive: true });
        fs.writeFileSync(path.join(root, "images", "tf-serving-cpu", "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(root, "images", "tf-serving-cpu", "Dockerfile.dockerignore"), "*\n!images/tf-serving-cpu\n");
        const cpu = contentTag("tf-serving-cpu", root);
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export const changed = 2;\n");
        assert.strictEqual(contentTag("tf-serving-cpu", root), cpu);
    });

    it("fails clearly when a needed Dockerfile is missing", () => {
        assert.throws(() => contentTag("tf-serving-neuronx", root), /image 'tf-serving-neuronx' needs images\/tf-serving-neuronx\/Dockerfile, which does not exist/);
    });

    it("keeps the newest N images and drops untagged ones", () => {
        const rules = (JSON.parse(lifecyclePolicy(7)) as { rules: { selection: Record<string, unknown>; action: { type: string } }[] }).rules;
        assert.deepStrictEqual(rules.map((r) => [r.selection.tagStatus, r.selection.countType, r.selection.countNumber, r.action.type]), [
            ["untagged", "sinceImagePushed", 1, "expire"],
            ["any", "imageCountMoreThan", 7, "expire"],
        ]);
    });
});
