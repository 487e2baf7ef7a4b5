// A rollout of the video DaemonSet (a new worker image, say) over the largest group a stack allows must
// fit in how long `pulumi up` waits for it. pulumi-kubernetes waits until every node runs an updated,
// ready pod, 10 minutes unless customTimeouts say otherwise; Kubernetes replaces maxUnavailable pods at a
// time (a percentage of the nodes, rounded up). Checked on the plan of every stack file and profile, from
// what the plan declares: the group's max size, the grace period, the model server's startup budget, the
// worker's readiness probe; image pull and model fetch are the estimates in infra/video/rollout.ts.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { REPO_ROOT, type MockRunResult, type RecordedResource } from "../../mock-run/mock-run";
import { ROLLOUT_ALLOWANCES } from "../../video/rollout";
import { declaredCases, planOf } from "../declared/cases";

const PULUMI_KUBERNETES_DEFAULT_AWAIT_SECONDS = 600;

/** A Go duration as Pulumi's customTimeouts take it ("70m", "1h10m", "4200s"), in seconds. */
function goDurationSeconds(text: string): number {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
    assert.equal(parts.map((p) => p[0]).join(""), text, `not a duration: ${text}`);
    return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"], 0);
}

/** Pods the DaemonSet controller replaces at once on `nodes` nodes: an int, or a percentage rounded up (at least 1). */
function atOnce(maxUnavailable: string | number, nodes: number): number {
    if (typeof maxUnavailable === "number") return maxUnavailable;
    const m = /^(\d+)%$/.exec(maxUnavailable);
    assert.ok(m, `maxUnavailable ${maxUnavailable}`);
    return Math.max(1, Math.ceil((nodes * Number(m[1])) / 100));
}

function probeSeconds(container: IContainer, kind: "startupProbe" | "readinessProbe"): number {
    const probe = container[kind];
    assert.ok(probe, `${container.name} has a ${kind}`);
    return (probe.failureThreshold ?? 3) * (probe.periodSeconds ?? 10);
}

interface Rollout {
    maxNodes: number;
    /** The most turns (nodes one after another in one slot) at any group size up to maxNodes. */
    turns: number;
    turnSeconds: number;
    neededSeconds: number;
    update: number;
    create: number;
}

function videoRollout(plan: MockRunResult): Rollout | undefined {
    const ds = plan.resources.find(
        (r) => r.type === "kubernetes:apps/v1:DaemonSet" && (r.inputs.metadata as { name?: string }).name === "video-inference",
    );
    if (ds === undefined) return undefined;
    const group = plan.resources.find(
        (r: RecordedResource) =>
            r.type === "aws:eks/nodeGroup:NodeGroup" && (r.inputs.labels as Record<string, string>)["eks-inference/workload"] === "video",
    );
    assert.ok(group, "the video node group");
    const maxNodes = (group.inputs.scalingConfig as { maxSize: number }).maxSize;
    const spec = ds.inputs.spec as { updateStrategy: { rollingUpdate: { maxUnavailable: string | number } }; template: { spec: IPodSpec } };
    const pod = spec.template.spec;
    const server = (pod.initContainers ?? []).find((c) => c.name === "tf-serving");
    const worker = pod.containers.find((c) => c.name === "worker");
    assert.ok(server && worker);
    const turnSeconds =
        (pod.terminationGracePeriodSeconds ?? 30) +
        ROLLOUT_ALLOWANCES.imagePullSeconds +
        ROLLOUT_ALLOWANCES.modelFetchSeconds +
        probeSeconds(server, "startupProbe") +
        probeSeconds(worker, "readinessProbe");
    let turns = 0;
    for (let n = 1; n <= maxNodes; n++) turns = Math.max(turns, Math.ceil(n / atOnce(spec.updateStrategy.rollingUpdate.maxUnavailable, n)));
    const timeouts = ds.options?.customTimeouts ?? {};
    return {
        maxNodes,
        turns,
        turnSeconds,
        neededSeconds: turns * turnSeconds,
        update: timeouts.update === undefined ? PULUMI_KUBERNETES_DEFAULT_AWAIT_SECONDS : goDurationSeconds(timeouts.update),
        create: timeouts.create === undefined ? PULUMI_KUBERNETES_DEFAULT_AWAIT_SECONDS : goDurationSeconds(timeouts.create),
    };
}

describe("video DaemonSet rollouts fit `pulumi up`'s await (plans of every stack file and profile)", function () {
    this.timeout(180_000);
    for (const c of declaredCases()) {
        it(`${c.title}: every node of the largest group replaced, each step at its budget, within the await`, async () => {
            const plan = await planOf(c);
            const rollout = videoRollout(plan);
            if (rollout === undefined) {
                assert.equal(plan.config["eks-inference:videoEnabled"], "false");
                return;
            }
            assert.ok(rollout.turns <= 4, `a quarter of the nodes at a time: ${rollout.turns} turns`);
            assert.ok(
                rollout.update >= rollout.neededSeconds,
                `update await ${rollout.update} s < ${rollout.turns} turns x ${rollout.turnSeconds} s for ${rollout.maxNodes} nodes`,
            );
            // On creation every node starts its pod at once: one turn.
            assert.ok(rollout.create >= rollout.turnSeconds, `create await ${rollout.create} s < one turn (${rollout.turnSeconds} s)`);
        });
    }

    it("prod's largest rollout would outlast pulumi-kubernetes' default 10 minutes, and the README says how long it takes", async () => {
        const prod = declaredCases().find((c) => c.title === "Pulumi.prod.yaml");
        assert.ok(prod);
        const rollout = videoRollout(await planOf(prod));
        assert.ok(rollout);
        assert.ok(rollout.neededSeconds > PULUMI_KUBERNETES_DEFAULT_AWAIT_SECONDS);
        const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
        const text = `prod's largest group (${rollout.maxNodes} nodes) rolls in ${rollout.turns} turns, and \`pulumi up\` waits up to ${Math.ceil(rollout.update / 60)} minutes`;
        assert.ok(readme.includes(text), `README: "${text}"`);
    });
});
