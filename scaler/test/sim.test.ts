// Invariants of the scaling simulation (npm run sim:scaling) and the rules it encodes.
import { strict as assert } from "node:assert";
import { backlogPerInstanceRule, originalRule } from "../sim/designs";
import { parseSimArgs, runComparison } from "../sim/main";
import { DEFAULT_PARAMS, simulate, type Observation, type ScalingRule, type SimResult } from "../sim/model";
import { markdownTable, summarize } from "../sim/report";
import { seededRng } from "../sim/rng";
import { generateTrace, type Job } from "../sim/trace";

const obs = (o: Partial<Observation>): Observation => ({ t: 0, visible: 0, inFlight: 0, inService: 0, pending: 0, desired: 0, ...o });

describe("scaling simulation", () => {
    const trace = generateTrace(seededRng(42));
    let original: SimResult;
    let ours: SimResult;
    before(() => {
        original = simulate(originalRule(), trace, DEFAULT_PARAMS);
        ours = simulate(backlogPerInstanceRule({ target: 4 }), trace, DEFAULT_PARAMS);
    });

    it("finishes every video exactly once in both designs", () => {
        assert.ok(trace.length > 100, "the trace should be substantial");
        for (const r of [original, ours]) {
            assert.deepEqual(
                r.completionsPerJob.map((c, id) => [id, c]).filter(([, c]) => c !== 1),
                [],
                `${r.design}: jobs not completed exactly once`,
            );
        }
    });

    it("never interrupts a job with this design, and never terminates a protected instance", () => {
        assert.ok(ours.terminations.length > 0, "the design must actually scale in on this trace");
        assert.deepEqual(
            ours.terminations.filter((t) => t.busy || t.protectedFromScaleIn),
            [],
        );
    });

    it("interrupts jobs with the original rule on the same trace, and those jobs come back through the queue", () => {
        const killed = original.terminations.filter((t) => t.busy);
        assert.ok(killed.length > 0, "expected the original rule to terminate busy nodes");
        for (const k of killed) {
            assert.ok(k.jobId !== undefined && k.jobReceivedAt !== undefined);
            assert.equal(original.completionsPerJob[k.jobId], 1);
            const returned = k.jobReceivedAt + 600; // the visibility the original worker set at receipt
            const rerun = trace[k.jobId].processingSeconds;
            assert.ok(original.completedAt[k.jobId] >= returned + rerun, "ran again only after its message returned");
        }
    });

    it("keeps this design's invariants on other seeds too", () => {
        for (const seed of [7, 2026]) {
            const r = simulate(backlogPerInstanceRule({ target: 4 }), generateTrace(seededRng(seed)), DEFAULT_PARAMS);
            assert.equal(r.terminations.filter((t) => t.busy).length, 0, `seed ${seed}`);
            assert.ok(
                r.completionsPerJob.every((c) => c === 1),
                `seed ${seed}`,
            );
        }
    });

    it("scales this design to zero when idle and back from zero when work arrives", () => {
        assert.ok(
            ours.timeline.some((o) => o.desired === 0 && o.t > 3600),
            "reaches zero after the load",
        );
        const woke = ours.activities.filter((a) => a.from === 0 && a.to === 1);
        assert.ok(woke.length > 0, "wakes from zero");
        const last = ours.timeline[ours.timeline.length - 1];
        assert.equal(last.desired, 0);
        assert.equal(original.timeline[original.timeline.length - 1].desired, 2, "the original never goes below 2");
    });

    it("is deterministic for a seed and reports both designs in one table", () => {
        const a = runComparison({ seed: 42, target: 4 });
        const b = runComparison({ seed: 42, target: 4 });
        assert.deepEqual(a, b);
        const table = markdownTable(a.summaries);
        assert.match(table, /jobs interrupted by scale-in \| [1-9]\d* \| 0 \|/);
        assert.match(table, /instance-hours/);
        assert.equal(a.summaries[0].jobsInterruptedByScaleIn, original.terminations.filter((t) => t.busy).length);
        assert.equal(
            summarize(
                ours,
                trace.map((j) => j.arrival),
            ).jobsInterruptedByScaleIn,
            0,
        );
    });
});

describe("scale-in protection in the model", () => {
    // Two long jobs on two nodes; the rule drops desired capacity to 0 at t = 60 s.
    const jobs: Job[] = [
        { id: 0, arrival: 0, processingSeconds: 400 },
        { id: 1, arrival: 0, processingSeconds: 200 },
    ];
    const dropToZero = (scaleInProtection: boolean): ScalingRule => ({
        name: scaleInProtection ? "protected" : "unprotected",
        minSize: 0,
        maxSize: 2,
        initialDesired: 2,
        scaleInProtection,
        messageReturnsAt: (_r, interruptedAt) => interruptedAt + 30,
        decide: (history, t) => (t === 60 ? 0 : history[history.length - 1].visible > 0 ? 2 : undefined),
    });
    const params = { ...DEFAULT_PARAMS, horizonSeconds: 1800 };

    it("waits for each busy, protected node to finish before terminating it", () => {
        const r = simulate(dropToZero(true), jobs, params);
        assert.deepEqual(
            r.terminations.map((t) => [t.t, t.busy]),
            [
                [200, false],
                [400, false],
            ],
        );
        assert.deepEqual(r.completionsPerJob, [1, 1]);
    });

    it("terminates busy nodes when protection is not honoured, and the jobs run again later", () => {
        const r = simulate(dropToZero(false), jobs, params);
        const first = r.terminations.filter((t) => t.t === 60);
        assert.equal(first.length, 2);
        assert.ok(first.every((t) => t.busy));
        assert.deepEqual(r.completionsPerJob, [1, 1]);
        assert.ok(r.completedAt[0] > 400, "job 0 restarted after its message returned");
        assert.ok(r.wastedWorkSeconds >= 120);
    });
});

describe("scaling rules", () => {
    it("target tracking: scales out to ceil(backlog / target) only after 3 datapoints above target", () => {
        const rule = backlogPerInstanceRule({ target: 4 });
        const busy = obs({ visible: 18, inFlight: 2, inService: 2, desired: 2 }); // 10 per instance
        assert.equal(rule.decide([obs({ inService: 2, desired: 2 }), busy, busy], 180), undefined);
        assert.equal(rule.decide([busy, busy, busy], 180), 5);
    });

    it("wakes an empty group with one instance as soon as one video waits", () => {
        const rule = backlogPerInstanceRule({ target: 4 });
        assert.equal(rule.decide([obs({ visible: 1 })], 60), 1);
        assert.equal(rule.decide([obs({ visible: 1, desired: 1, pending: 1 })], 120), undefined);
    });

    it("scales in one instance after 15 quiet datapoints, then waits for the cooldown", () => {
        const rule = backlogPerInstanceRule({ target: 4, scaleInCooldownSeconds: 300 });
        const quiet = Array.from({ length: 15 }, (_, i) => obs({ t: i * 60, inFlight: 1, inService: 3, desired: 3 }));
        assert.equal(rule.decide(quiet.slice(0, 14), 840), undefined);
        assert.equal(rule.decide(quiet, 900), 2);
        assert.equal(rule.decide(quiet, 960), undefined, "cooldown");
        assert.equal(rule.decide(quiet, 1200), 2);
        const pending = [...quiet.slice(1), obs({ inService: 3, pending: 1, desired: 4 })];
        assert.equal(backlogPerInstanceRule({ target: 4 }).decide(pending, 900), undefined, "no scale-in during scale-out");
    });

    it("original: +2 on more than 2 visible messages, -1 when the 5-minute average is under 2", () => {
        assert.equal(originalRule().decide([obs({ visible: 3, desired: 2 })], 60), 4);
        const calm = Array.from({ length: 5 }, () => obs({ visible: 1, inFlight: 6, desired: 6 }));
        assert.equal(originalRule().decide(calm, 300), 5, "in-flight work is invisible to the original rule");
    });
});

describe("sim:scaling arguments", () => {
    it("reads --seed, --target and --json, in either --flag value or --flag=value form", () => {
        assert.deepEqual(parseSimArgs([]), { seed: 42, target: 4, json: false });
        assert.deepEqual(parseSimArgs(["--seed", "7", "--target=2.5", "--json"]), { seed: 7, target: 2.5, json: true });
    });

    it("names a bad argument, then the usage", () => {
        assert.throws(() => parseSimArgs(["--seed", "1.5"]), /--seed must be an integer >= 1, got "1.5"\nusage: npm run sim:scaling/);
        assert.throws(() => parseSimArgs(["--target=0"]), /--target must be a number > 0, got "0"/);
        assert.throws(() => parseSimArgs(["--seeds", "3"]), /unknown option "--seeds"/);
    });
});
