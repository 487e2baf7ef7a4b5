// plan and cost against the real program: one mock run per checked-in stack.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROFILES, type AcceleratorProfileName } from "../../platform/accelerators";
import { loadPriceTable } from "../../plan/pricing/table";
import { worldAfter } from "../../mock-run/live-world";
import { runStackUnderMocks, type MockRunResult } from "../../mock-run/mock-run";
import { stackCost, videoCost } from "../../plan/cost-model";
import { formatPlan } from "../../plan/plan-format";
import { deriveStackShape } from "../../plan/stack-shape";
import { REPO_ROOT, listStacks, readStackConfig, secretConfigKeys } from "../../plan/stacks";

describe("plan and cost on the checked-in stacks", function () {
    this.timeout(180_000);
    const runs = new Map<string, MockRunResult>();

    before(async () => {
        const stacks = listStacks();
        const results = await Promise.all(stacks.map((stack) => runStackUnderMocks(stack)));
        stacks.forEach((stack, i) => runs.set(stack, results[i]));
    });

    for (const stack of listStacks()) {
        describe(stack, () => {
            it("plan lists every declared resource and counts each type", () => {
                const run = runs.get(stack)!;
                const text = formatPlan(run, secretConfigKeys());
                const counts = new Map<string, number>();
                for (const r of run.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
                for (const [type, n] of counts)
                    assert.match(text, new RegExp(`\\n  ${type.replace(/[/.$]/g, "\\$&")}\\s+${n}\\n`), `count of ${type}`);
                for (const r of run.resources) assert.ok(text.includes(`  ${r.name}`), `resource ${r.name} is listed`);
                for (const name of run.secretOutputs) assert.match(text, new RegExp(`${name} = \\[secret\\]`));
            });

            it("plan prints the names AWS will show and the zones by zone ID", () => {
                const text = formatPlan(runs.get(stack)!, secretConfigKeys());
                assert.doesNotMatch(text, new RegExp(`${stack}-${stack}`), "no name carries the stack twice");
                assert.match(
                    text,
                    new RegExp(`\\n  eks-inference-${stack}-video-jobs -> eks-inference-${stack}-video-jobs-\\?{7}  `),
                    "auto-named queue",
                );
                assert.match(text, new RegExp(`\\n  eks-inference-${stack}-scaler  runtime=`), "the Lambda's explicit name");
                assert.match(text, /availabilityZoneId=[a-z]+\d-az\d/);
                assert.match(text, /supportType=STANDARD/);
            });

            it("the README lists the read-only actions a preview needs for the live state the program reads", async () => {
                const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
                const actions: Record<string, string | string[]> = {
                    "aws:index/getCallerIdentity:getCallerIdentity": "sts:GetCallerIdentity",
                    // aws_partition answers from the provider's own configuration: no AWS call.
                    "aws:index/getPartition:getPartition": [],
                    "aws:ecr/getAuthorizationToken:getAuthorizationToken": "ecr:GetAuthorizationToken",
                    "aws:ec2/getSubnets:getSubnets": "ec2:DescribeSubnets",
                    "aws:index/getAvailabilityZones:getAvailabilityZones": "ec2:DescribeAvailabilityZones",
                    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": "ec2:DescribeInstanceTypeOfferings",
                    "aws:eks/getClusters:getClusters": "eks:ListClusters",
                    "aws:eks/getAccessEntry:getAccessEntry": "eks:DescribeAccessEntry",
                    "aws:eks/getNodeGroups:getNodeGroups": "eks:ListNodegroups",
                    "aws:eks/getNodeGroup:getNodeGroup": "eks:DescribeNodegroup",
                    "aws:autoscaling/getGroup:getGroup": "autoscaling:DescribeAutoScalingGroups",
                    // service_quota_data_source.go: the default quota first, then the applied one.
                    "aws:servicequotas/getServiceQuota:getServiceQuota": [
                        "servicequotas:GetAWSDefaultServiceQuota",
                        "servicequotas:GetServiceQuota",
                    ],
                };
                const run = runs.get(stack)!;
                for (const token of [
                    "aws:index/getCallerIdentity:getCallerIdentity",
                    "aws:eks/getClusters:getClusters",
                    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
                    "aws:servicequotas/getServiceQuota:getServiceQuota",
                ]) {
                    assert.ok(run.calls.includes(token), `the program reads ${token}`);
                }
                // A later preview, of the stack as deployed, reads the running cluster too.
                const later = await runStackUnderMocks(stack, { preview: true, prior: run.resources, world: worldAfter(run) });
                for (const token of ["aws:eks/getNodeGroup:getNodeGroup", "aws:ec2/getSubnets:getSubnets"])
                    assert.ok(later.calls.includes(token), `a later preview reads ${token}`);
                for (const token of new Set([...run.calls, ...later.calls])) {
                    assert.ok(token in actions, `${token}: which IAM action does it need? (add it here and to the README)`);
                    for (const action of [actions[token] ?? []].flat())
                        assert.ok(readme.includes(`\`${action}\``), `README names ${action} (read by ${token})`);
                }
            });

            it("the README's cost table row is what the cost model gives (min/max $/h, per month, per hour of video at 30 fps)", () => {
                const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
                const config = readStackConfig(stack);
                const region = config["aws:region"];
                const row = readme.split("\n").find((l) => l.startsWith(`| \`${stack}\` (${region}) |`));
                assert.ok(row, `README cost table has a row for ${stack} (${region})`);
                const cells = row.split(" | ").map((c) => c.trim());
                const shape = deriveStackShape(runs.get(stack)!.resources);
                const table = loadPriceTable();
                const cost = stackCost(shape, table, region);
                const dollars = (n: number, digits: number): string =>
                    `$${n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
                assert.equal(cells[1], dollars(cost.minUsdPerHour, 2), "$/h at min size");
                assert.equal(cells[2], dollars(cost.maxUsdPerHour, 2), "$/h at max size");
                assert.equal(
                    cells[3],
                    `${dollars(cost.minUsdPerHour * 730, 0)} - ${dollars(cost.maxUsdPerHour * 730, 0)}`,
                    "per 730-h month",
                );
                const video = videoCost(shape, cost, table, 30);
                assert.ok(
                    cells[4]?.startsWith(`${dollars(video.nodeUsdPerVideoHour, 2)} (${video.instanceType}`),
                    `$/hour of video: ${cells[4]}`,
                );
            });

            it("cost reads the node groups the stack file asks for and prices them", () => {
                const run = runs.get(stack)!;
                const config = readStackConfig(stack);
                const shape = deriveStackShape(run.resources);
                const video = shape.nodeGroups.find((g) => g.workload === "video");
                assert.ok(video, "a video node group");
                const profile = (config["eks-inference:videoAccelerator"] ?? "nvidia") as AcceleratorProfileName;
                const listed = JSON.parse(config["eks-inference:videoInstanceTypes"] ?? "[]") as string[];
                assert.equal(video.instanceType, listed[0] ?? PROFILES[profile].defaultInstanceType);
                assert.equal(video.maxSize, Number(config["eks-inference:videoMaxSize"]));
                assert.equal(shape.clusters, 1);
                assert.ok(shape.natGateways >= 1);
                const table = loadPriceTable();
                const cost = stackCost(shape, table, config["aws:region"]);
                assert.ok(cost.minUsdPerHour > 0 && cost.minUsdPerHour < cost.maxUsdPerHour);
                const v = videoCost(shape, cost, table, 30);
                assert.equal(v.nodeUsdPerVideoHour, table.regions[config["aws:region"]].instances[video.instanceType].usd);
            });
        });
    }
});
