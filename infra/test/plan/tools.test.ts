import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { latestPriceTablePath, loadPriceTable, validatePriceTable, type PriceTable } from "../../plan/pricing/table";
import { acceleratorComparison, costPerVideoHour, stackCost, videoCost } from "../../plan/cost-model";
import { formatComparison, formatStackCost } from "../../plan/cost-format";
import { formatPlan, type PlanInput } from "../../plan/plan-format";
import { customMetricsInDashboard, deriveStackShape, invocationsPerHour, type DeclaredResource } from "../../plan/stack-shape";
import { buildDashboardBody } from "../../video/dashboard";

// A small stack as mock-run records it: one cluster, a general and a video node group, one NAT,
// two interface endpoints over 2 AZs, a scheduled Lambda, alarms, log groups and the dashboard.
const FIXTURE: DeclaredResource[] = [
    { type: "eks:index:Cluster", name: "demo", inputs: { version: "1.35", skipDefaultNodeGroup: true } },
    { type: "aws:ec2/launchTemplate:LaunchTemplate", name: "demo-general", inputs: { blockDeviceMappings: [{ ebs: { volumeSize: 40 } }] } },
    {
        type: "aws:eks/nodeGroup:NodeGroup",
        name: "demo-general",
        inputs: {
            instanceTypes: ["m7i.large"],
            scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 3 },
            labels: { "eks-inference/node-role": "general" },
        },
    },
    { type: "aws:ec2/launchTemplate:LaunchTemplate", name: "demo-video", inputs: { blockDeviceMappings: [{ ebs: { volumeSize: 100 } }] } },
    {
        type: "aws:eks/nodeGroup:NodeGroup",
        name: "demo-video",
        inputs: {
            instanceTypes: ["g6f.large"],
            scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 4 },
            capacityType: "ON_DEMAND",
            labels: { "eks-inference/workload": "video" },
        },
    },
    { type: "aws:ec2/natGateway:NatGateway", name: "demo-0", inputs: {} },
    { type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "demo-s3", inputs: { vpcEndpointType: "Gateway" } },
    { type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "demo-sqs", inputs: { vpcEndpointType: "Interface", subnetIds: ["a", "b"] } },
    { type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "demo-sts", inputs: { vpcEndpointType: "Interface", subnetIds: ["a", "b"] } },
    { type: "aws:lambda/function:Function", name: "demo-scaler", inputs: { runtime: "nodejs22.x", memorySize: 256 } },
    { type: "aws:cloudwatch/eventRule:EventRule", name: "demo-scaler", inputs: { scheduleExpression: "rate(1 minute)" } },
    { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "demo-dlq", inputs: {} },
    { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "demo-age", inputs: {} },
    { type: "aws:cloudwatch/logGroup:LogGroup", name: "demo-cp", inputs: { retentionInDays: 7 } },
    {
        type: "aws:cloudwatch/dashboard:Dashboard",
        name: "demo",
        inputs: {
            dashboardBody: JSON.stringify(
                buildDashboardBody({
                    region: "us-west-2",
                    queueName: "q",
                    deadLetterQueueName: "dlq",
                    backlogMetricNamespace: "ns/b",
                    workerMetricNamespace: "ns/w",
                    bertEnabled: false,
                }),
            ),
        },
    },
];

function table(): PriceTable {
    return loadPriceTable();
}

describe("price table", () => {
    it("the checked-in table is valid, dated, sourced, and prices every type the accelerator profiles use", () => {
        const t = table();
        assert.match(path.basename(latestPriceTablePath()), new RegExp(`prices-${t.date}\\.json`));
        const needed = [
            "inf2.xlarge",
            "inf1.xlarge",
            "inf1.2xlarge",
            "g6f.large",
            "g4dn.xlarge",
            "g5.xlarge",
            "g6.xlarge",
            "c7i.large",
            "m7i.large",
            "m6i.large",
            "m5.large",
            "c5.large",
            "p3.2xlarge",
        ];
        for (const [region, prices] of Object.entries(t.regions)) {
            for (const type of needed) assert.ok(prices.instances[type], `${region} has no price for ${type}`);
        }
        for (const s of Object.values(t.sources)) assert.match(s.url, /^https:\/\//);
    });
    it("keeps the 2019 figures as historical: c5.large + eia1.medium = $0.215/h, p3.2xlarge = $3.06/h", () => {
        const rows = acceleratorComparison(table(), "us-east-1");
        const hist = rows.filter((r) => r.historical);
        assert.deepEqual(
            hist.map((r) => r.usdPerHour),
            [0.215, 3.06],
        );
        assert.ok(Math.abs(hist[0].shareOfP3 - 0.215 / 3.06) < 1e-9);
    });
    it("rejects an entry without a known source, naming it", () => {
        const doc = JSON.parse(fs.readFileSync(latestPriceTablePath(), "utf8")) as PriceTable;
        doc.regions["us-east-1"].instances["c5.large"].source = "a-blog";
        assert.throws(() => validatePriceTable(doc), /regions\.us-east-1\.instances\.c5\.large\.source "a-blog"/);
    });
    it("refuses a file whose name and date disagree", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prices-"));
        const file = path.join(dir, "prices-2020-01-01.json");
        fs.copyFileSync(latestPriceTablePath(), file);
        assert.throws(() => loadPriceTable(file), /differs from its date/);
    });
});

describe("stack shape from the declared resources", () => {
    it("reads node groups, NAT, interface endpoint AZs, the Lambda schedule, alarms and dashboard metrics", () => {
        const shape = deriveStackShape(FIXTURE);
        assert.equal(shape.clusters, 1);
        assert.equal(shape.defaultNodeGroup, false);
        assert.deepEqual(
            shape.nodeGroups.map((g) => [g.name, g.instanceType, g.minSize, g.maxSize, g.workload, g.volumeGiB]),
            [
                ["demo-general", "m7i.large", 1, 3, undefined, 40],
                ["demo-video", "g6f.large", 1, 4, "video", 100],
            ],
        );
        assert.equal(shape.natGateways, 1);
        assert.deepEqual(shape.interfaceEndpoints, [
            { name: "demo-sqs", azs: 2 },
            { name: "demo-sts", azs: 2 },
        ]);
        assert.equal(shape.scheduledInvocationsPerHour, 60);
        assert.equal(shape.alarms, 2);
        assert.equal(shape.dashboards, 1);
        assert.equal(shape.customMetrics, 12, "7 scaler + 5 worker metrics");
    });
    it("understands rate() and simple cron() schedules", () => {
        assert.equal(invocationsPerHour("rate(1 minute)"), 60);
        assert.equal(invocationsPerHour("rate(5 minutes)"), 12);
        assert.equal(invocationsPerHour("rate(2 hours)"), 0.5);
        assert.equal(invocationsPerHour("cron(* * * * ? *)"), 60);
        assert.equal(invocationsPerHour("cron(0/10 * * * ? *)"), 6);
        assert.equal(invocationsPerHour("cron(0 12 * * ? *)"), undefined);
    });
    it("counts each custom metric once and ignores AWS/ namespaces", () => {
        const body = JSON.stringify({
            widgets: [
                {
                    properties: {
                        metrics: [
                            ["ns", "A", "Q", "q"],
                            ["ns", "A", "Q", "q", { stat: "Sum" }],
                            ["AWS/SQS", "X", "QueueName", "q"],
                        ],
                    },
                },
            ],
        });
        assert.deepEqual(customMetricsInDashboard(body), ["ns|A|Q|q"]);
    });
    it("fails clearly on a node group without instance types", () => {
        const bad = [{ type: "aws:eks/nodeGroup:NodeGroup", name: "ng", inputs: { scalingConfig: { minSize: 1, maxSize: 2 } } }];
        assert.throws(() => deriveStackShape(bad), /node group ng: instanceTypes/);
    });
});

describe("cost model", () => {
    it("adds up the hourly cost at minimum and maximum size from the table's prices", () => {
        const t = table();
        const p = (type: string): number => t.regions["us-west-2"].instances[type].usd;
        const s = t.regions["us-west-2"].services;
        const cost = stackCost(deriveStackShape(FIXTURE), t, "us-west-2");
        const ebs = (gib: number): number => (gib * s.ebsGp3.usd) / t.hoursPerMonth;
        const lambda = (60 * s.lambdaRequests.usd) / 1e6 + 60 * 1 * 0.25 * s.lambdaGbSecond.usd;
        const cloudwatch =
            (12 * s.cloudwatchCustomMetric.usd + 2 * s.cloudwatchAlarm.usd + 1 * s.cloudwatchDashboard.usd) / t.hoursPerMonth;
        const fixed = s.eksControlPlane.usd + s.natGateway.usd + 4 * s.interfaceEndpoint.usd + lambda + cloudwatch;
        const expectedMin = fixed + p("m7i.large") + ebs(40) + p("g6f.large") + ebs(100);
        const expectedMax = fixed + 3 * (p("m7i.large") + ebs(40)) + 4 * (p("g6f.large") + ebs(100));
        assert.ok(Math.abs(cost.minUsdPerHour - expectedMin) < 1e-4, `min ${cost.minUsdPerHour} vs ${expectedMin}`);
        assert.ok(Math.abs(cost.maxUsdPerHour - expectedMax) < 1e-4, `max ${cost.maxUsdPerHour} vs ${expectedMax}`);
        const text = formatStackCost("demo", cost);
        assert.match(text, /node group demo-video\s+\$0\.2000\s+\$0\.8000\s+g6f\.large x 1\.\.4/);
        assert.match(text, /total/);
    });
    it("prices provisioned gp3 throughput above the included 125 MiB/s per node, with the volume", () => {
        const t = table();
        const s = t.regions["us-west-2"].services;
        const withThroughput = FIXTURE.map((r) =>
            r.name === "demo-video" && r.type === "aws:ec2/launchTemplate:LaunchTemplate"
                ? { ...r, inputs: { blockDeviceMappings: [{ ebs: { volumeSize: 100, throughput: 500 } }] } }
                : r,
        );
        const shape = deriveStackShape(withThroughput);
        assert.equal(shape.nodeGroups.find((g) => g.name === "demo-video")?.volumeThroughputMiBps, 500);
        const base = stackCost(deriveStackShape(FIXTURE), t, "us-west-2");
        const cost = stackCost(shape, t, "us-west-2");
        const perNode = (375 * s.ebsGp3Throughput.usd) / t.hoursPerMonth;
        assert.ok(Math.abs(cost.minUsdPerHour - base.minUsdPerHour - perNode) < 1e-4, "one node at the minimum");
        assert.ok(Math.abs(cost.maxUsdPerHour - base.maxUsdPerHour - 4 * perNode) < 1e-4, "four at the maximum");
        assert.match(formatStackCost("demo", cost), /\+ 375 MiB\/s throughput above the included 125/);
    });
    it("prices a group with several instance types from the cheapest (minimum) to the dearest (maximum)", () => {
        const t = table();
        const p = (type: string): number => t.regions["us-west-2"].instances[type].usd;
        const group = {
            type: "aws:eks/nodeGroup:NodeGroup",
            name: "mixed",
            inputs: { instanceTypes: ["g6.xlarge", "g6f.large"], capacityType: "SPOT", scalingConfig: { minSize: 1, maxSize: 2 } },
        };
        const line = stackCost(deriveStackShape([group]), t, "us-west-2").lines.find((l) => l.item === "node group mixed");
        assert.ok(line, "a cost line for the group");
        assert.ok(Math.abs(line.minUsdPerHour - p("g6f.large")) < 1e-6, `min ${line.minUsdPerHour}`);
        assert.ok(Math.abs(line.maxUsdPerHour - 2 * p("g6.xlarge")) < 1e-6, `max ${line.maxUsdPerHour}`);
        assert.match(line.detail, /g6\.xlarge .*g6f\.large/);
    });
    it("prices a video-hour as node $/h divided by hours of video per node-hour (fps / source fps)", () => {
        assert.equal(costPerVideoHour(0.2, 30), 0.2);
        assert.equal(costPerVideoHour(0.2, 60), 0.1);
        assert.equal(costPerVideoHour(0.2, 15), 0.4);
        assert.equal(costPerVideoHour(0.2, 25, 25), 0.2);
        assert.throws(() => costPerVideoHour(0.2, 0), /--fps must be a positive number/);
        const t = table();
        const shape = deriveStackShape(FIXTURE);
        const v = videoCost(shape, stackCost(shape, t, "us-west-2"), t, 60);
        assert.equal(v.instanceType, "g6f.large");
        assert.ok(Math.abs(v.nodeUsdPerVideoHour - 0.1) < 1e-9);
    });
    it("says so when a stack has no video node group", () => {
        const t = table();
        const shape = deriveStackShape(FIXTURE.filter((r) => r.name !== "demo-video"));
        assert.throws(() => videoCost(shape, stackCost(shape, t, "us-west-2"), t, 30), /no video node group/);
    });
    it("refuses a region or an instance type the table does not price", () => {
        assert.throws(() => stackCost(deriveStackShape(FIXTURE), table(), "eu-north-1"), /no prices for eu-north-1/);
        const odd = FIXTURE.map((r) => (r.name === "demo-video" ? { ...r, inputs: { ...r.inputs, instanceTypes: ["x9.huge"] } } : r));
        assert.throws(() => stackCost(deriveStackShape(odd), table(), "us-west-2"), /no us-west-2 price for x9\.huge/);
    });
    it("shows the 2019 comparison next to today's options", () => {
        const text = formatComparison(acceleratorComparison(table(), "us-east-1", 30), "us-east-1", 30);
        assert.match(text, /c5\.large \+ eia1\.medium.*\$0\.215\s+7\.0%/);
        assert.match(text, /p3\.2xlarge \(reference.*\$3\.060\s+100\.0%/);
        assert.match(text, /today \(us-east-1\)/);
        assert.match(text, /g6f\.large\s+\$0\.200/);
        assert.match(text, /inf2\.xlarge/);
    });
});

describe("plan formatting", () => {
    const run: PlanInput = {
        stack: "demo",
        resources: [
            ...FIXTURE,
            {
                type: "aws:lambda/function:Function",
                name: "demo-fn",
                inputs: { name: "demo-scaler" },
                physicalName: "demo-scaler",
                autoNamed: false,
            },
            { type: "aws:sqs/queue:Queue", name: "demo-dlq", inputs: {}, physicalName: "demo-dlq-0a1b2c3", autoNamed: true },
            {
                type: "aws:sqs/queue:Queue",
                name: "demo-jobs",
                inputs: { visibilityTimeoutSeconds: 300, sqsManagedSseEnabled: true, redrivePolicy: '{"maxReceiveCount":3}' },
            },
            {
                type: "kubernetes:core/v1:Secret",
                name: "bert-aws",
                inputs: { stringData: { AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG" } },
            },
            {
                type: "kubernetes:apps/v1:DaemonSet",
                name: "video",
                inputs: {
                    spec: {
                        template: {
                            spec: {
                                nodeSelector: { "eks-inference/workload": "video" },
                                initContainers: [
                                    {
                                        name: "tf-serving",
                                        image: "repo/tfs@sha256:1",
                                        restartPolicy: "Always",
                                        resources: { limits: { "nvidia.com/gpu": 1 } },
                                    },
                                ],
                                containers: [
                                    { name: "worker", image: "repo/worker@sha256:2", env: [{ name: "TOKEN", value: "hidden-env" }] },
                                ],
                            },
                        },
                    },
                },
            },
            {
                type: "aws:iam/rolePolicy:RolePolicy",
                name: "worker",
                inputs: {
                    policy: JSON.stringify({
                        Statement: [{ Action: ["sqs:ReceiveMessage", "s3:GetObject"] }, { Action: "sqs:DeleteMessage" }],
                    }),
                },
            },
        ],
        outputs: { queueUrl: "https://sqs/q", kubeconfig: "apiVersion: v1 token-abc" },
        secretOutputs: ["kubeconfig"],
        config: { "aws:region": "us-west-2", "eks-inference:bertAwsSecretAccessKey": "wJalrXUtnFEMI/K7MDENG" },
    };
    const text = formatPlan(run, ["eks-inference:bertAwsSecretAccessKey"]);

    it("lists the properties a reviewer cares about", () => {
        assert.match(text, /demo-video {2}instanceTypes=\["g6f\.large"\] capacityType=ON_DEMAND min=1 desired=1 max=4/);
        assert.match(text, /demo-scaler {2}runtime=nodejs22\.x memorySize=256/);
        assert.match(text, /demo-jobs {2}visibilityTimeoutSeconds=300 sqsManagedSseEnabled=true redrivePolicy=\{"maxReceiveCount":3\}/);
        assert.match(text, /demo-sqs {2}vpcEndpointType=Interface azs=2/);
        assert.match(
            text,
            /video {2}nodeSelector=\{"eks-inference\/workload":"video"\} tf-serving\.image=repo\/tfs@sha256:1 tf-serving\.limits=\{"nvidia\.com\/gpu":1\} worker\.image=repo\/worker@sha256:2/,
        );
        assert.doesNotMatch(text, /hidden-env/, "environment variables are not shown");
        assert.match(text, /worker {2}actions=\["s3:GetObject","sqs:DeleteMessage","sqs:ReceiveMessage"\]/);
    });
    it("shows the names AWS will show: explicit names as given, auto-names with their random suffix", () => {
        assert.match(text, /\n {2}demo-fn -> demo-scaler\n/);
        assert.match(text, /\n {2}demo-dlq -> demo-dlq-\?{7}\n/);
    });
    it("counts resources per type", () => {
        assert.match(text, /aws:eks\/nodeGroup:NodeGroup\s+2\n/);
        assert.match(text, /aws:ec2\/vpcEndpoint:VpcEndpoint\s+3\n/);
        assert.match(text, new RegExp(`total\\s+${run.resources.length}`));
    });
    it("never prints secrets: secret outputs are withheld and secret config values redacted", () => {
        assert.doesNotMatch(text, /wJalrXUtnFEMI/);
        assert.doesNotMatch(text, /token-abc/);
        assert.match(text, /kubeconfig = \[secret\]/);
        assert.match(text, /queueUrl = https:\/\/sqs\/q/);
    });
});
