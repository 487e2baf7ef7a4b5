import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { METRICS, WORKER_METRICS } from "../../../scaler/src/policy";
import { buildDashboardBody, OperationsDashboard, type DashboardSpec, type DashboardBody } from "../../video/dashboard";

const spec: DashboardSpec = {
    region: "us-west-2",
    queueName: "jobs-q",
    deadLetterQueueName: "jobs-dlq",
    backlogMetricNamespace: "eks-inference/scaling",
    workerMetricNamespace: "eks-inference/worker",
    bertEnabled: true,
};

type Line = (string | Record<string, unknown>)[];

/** Every metric line as "namespace/metric dim=value". */
function metricKeys(body: DashboardBody): string[] {
    return body.widgets
        .filter((w) => w.type === "metric")
        .flatMap((w) => (w.properties.metrics as Line[]).map((l) => `${l[0]}/${l[1]} ${l[2]}=${l[3]}`));
}

describe("operations dashboard body", () => {
    it("graphs backlog, in-service instances, worker fps, job outcomes, DLQ depth and message age", () => {
        const keys = metricKeys(buildDashboardBody(spec));
        for (const expected of [
            "eks-inference/scaling/QueueBacklog QueueName=jobs-q",
            "eks-inference/scaling/BacklogPerInstance QueueName=jobs-q",
            "eks-inference/scaling/DesiredCapacity QueueName=jobs-q",
            "eks-inference/scaling/InServiceInstances QueueName=jobs-q",
            "eks-inference/scaling/InstancesNeeded QueueName=jobs-q",
            "eks-inference/scaling/SecondsPerVideoUsed QueueName=jobs-q",
            "eks-inference/worker/SecondsPerVideo QueueName=jobs-q",
            "eks-inference/worker/FramesPerSecond QueueName=jobs-q",
            "eks-inference/worker/JobsSucceeded QueueName=jobs-q",
            "eks-inference/worker/JobsFailed QueueName=jobs-q",
            "AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=jobs-dlq",
            "AWS/SQS/ApproximateAgeOfOldestMessage QueueName=jobs-q",
        ]) {
            assert.ok(keys.includes(expected), `missing ${expected} in ${keys.join(", ")}`);
        }
    });

    it("names the region on every metric widget and keeps widgets inside the 24-column grid without overlap", () => {
        const body = buildDashboardBody(spec);
        const cells = new Set<string>();
        for (const w of body.widgets) {
            if (w.type === "metric") assert.equal(w.properties.region, "us-west-2");
            assert.ok(w.x >= 0 && w.x + w.width <= 24, `widget out of grid: ${JSON.stringify(w)}`);
            for (let x = w.x; x < w.x + w.width; x++) {
                for (let y = w.y; y < w.y + w.height; y++) {
                    const cell = `${x},${y}`;
                    assert.ok(!cells.has(cell), `widgets overlap at ${cell}`);
                    cells.add(cell);
                }
            }
        }
    });

    it("graphs the scaler's InServiceInstances next to DesiredCapacity, never ASG group metrics (not collected)", () => {
        const body = buildDashboardBody(spec);
        const nodes = body.widgets.find((w) => w.properties.title === "Accelerated video nodes");
        assert.ok(nodes, "a node widget");
        const lines = (nodes.properties.metrics as Line[]).map((l) => `${l[0]}/${l[1]} ${l[2]}=${l[3]}`);
        assert.deepEqual(lines, [
            "eks-inference/scaling/DesiredCapacity QueueName=jobs-q",
            "eks-inference/scaling/InServiceInstances QueueName=jobs-q",
            "eks-inference/scaling/InstancesNeeded QueueName=jobs-q",
        ]);
        assert.ok(!metricKeys(body).some((k) => k.startsWith("AWS/AutoScaling")), "no AWS/AutoScaling metric anywhere");
    });

    it("graphs only metric names the scaler Lambda actually publishes in its namespace", () => {
        const published = Object.values(METRICS);
        const scalerLines = buildDashboardBody(spec)
            .widgets.filter((w) => w.type === "metric")
            .flatMap((w) => w.properties.metrics as Line[])
            .filter((l) => l[0] === spec.backlogMetricNamespace);
        assert.deepEqual([...new Set(scalerLines.map((l) => l[1]))].sort(), [...published].sort());
    });

    it("graphs the worker's SecondsPerVideo under the name the worker publishes and the scaler reads", () => {
        const workerLines = buildDashboardBody(spec)
            .widgets.filter((w) => w.type === "metric")
            .flatMap((w) => w.properties.metrics as Line[])
            .filter((l) => l[0] === spec.workerMetricNamespace)
            .map((l) => l[1]);
        assert.ok(workerLines.includes(WORKER_METRICS.secondsPerVideo));
    });

    it("leaves out the BERT note when BERT is off", () => {
        const body = buildDashboardBody({ ...spec, bertEnabled: false });
        assert.ok(!body.widgets.some((w) => w.type === "text"));
    });

    it("explains where BERT latency lives instead of graphing a metric that does not exist", () => {
        const text = buildDashboardBody(spec).widgets.find((w) => w.type === "text");
        assert.ok(text, "expected a text widget for BERT");
        assert.match(String(text.properties.markdown), /Prometheus/);
    });

    it("rejects an empty queue name", () => {
        assert.throws(() => buildDashboardBody({ ...spec, queueName: " " }), /queueName/);
    });
});

describe("OperationsDashboard component", () => {
    const created: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
    before(() => {
        pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    created.push({ type: args.type, name: args.name, inputs: args.inputs });
                    return {
                        id: `${args.name}-id`,
                        state: { ...args.inputs, dashboardArn: `arn:aws:cloudwatch::1:dashboard/${args.name}` },
                    };
                },
                call: (args) => args.inputs,
            },
            "eks-inference",
            "dashboard-test",
            false,
        );
    });

    it("declares one dashboard whose body is the pure function's output for the resolved inputs", async () => {
        const dash = new OperationsDashboard("ops", {
            region: "us-west-2",
            queueName: pulumi.output("jobs-q"),
            deadLetterQueueName: "jobs-dlq",
            backlogMetricNamespace: "eks-inference/scaling",
            workerMetricNamespace: "eks-inference/worker",
            bertEnabled: true,
        });
        const name = await new Promise<string>((resolve) => dash.dashboardName.apply(resolve));
        assert.equal(name, "ops");
        const dashboards = created.filter((r) => r.type === "aws:cloudwatch/dashboard:Dashboard");
        assert.equal(dashboards.length, 1);
        assert.deepEqual(JSON.parse(String(dashboards[0].inputs.dashboardBody)), buildDashboardBody(spec));
    });
});
