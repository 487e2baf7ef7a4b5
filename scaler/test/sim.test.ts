// The scaling simulation (npm run sim:scaling): the model's invariants, each rule's mechanics, the
// issue's bar on a few seeds of every shape, and the committed picture.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { latencyObjectiveRule, originalRule } from "../sim/designs";
import {
    ablationTable,
    DEFAULT_SEEDS,
    DEFAULT_SVG,
    MAX_SIZE,
    parseSimArgs,
    runComparison,
    svgTitle,
    thisDesign,
    verdict,
    startupTable,
} from "../sim/main";
import { DEFAULT_PARAMS, simulate, type Observation, type ScalingRule, type SimResult } from "../sim/model";
import { markdownTable, summarize } from "../sim/report";
import { seededRng } from "../sim/rng";
import { BURSTS, DIURNAL, PHASES, SHAPES } from "../sim/shapes";
import { renderTimelineSvg } from "../sim/svg";
import type { Job } from "../sim/trace";
import * as policy from "../src/policy";

const obs = (o: Partial<Observation>): Observation => ({
    t: 0,
    visible: 0,
    inFlight: 0,
    inService: 0,
    pending: 0,
    desired: 0,
    processedSeconds: [],
    ...o,
});

describe("scaling simulation: the issue's bar", function () {
    this.timeout(60_000);
    // Three seeds per shape (42 is the README's default trace); sim:scaling reports ten.
    for (const shape of SHAPES) {
        for (const seed of [42, 1, 2026]) {
            it(`${shape.name}, seed ${seed}: p95 and drain no worse than the original, >= 10 % fewer instance-hours, nothing interrupted`, () => {
                const c = runComparison(shape, seed);
                assert.deepEqual(verdict(c), { meets: true, misses: [] }, markdownTable(c.summaries));
            });
        }
    }

    it("reports the ten default seeds, 42 first", () => {
        assert.equal(DEFAULT_SEEDS[0], 42);
        assert.equal(new Set(DEFAULT_SEEDS).size, 10);
    });
});

describe("scaling simulation: model invariants", function () {
    this.timeout(30_000);
    const trace = PHASES.generate(seededRng(42));
    const params = { ...DEFAULT_PARAMS, horizonSeconds: PHASES.horizonSeconds };
    let original: SimResult;
    let ours: SimResult;
    before(() => {
        original = simulate(originalRule(), trace, params);
        ours = simulate(thisDesign(), trace, params);
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

    it("keeps the original rule's model as documented: min 2, max 6, 180 s start-up", () => {
        const rule = originalRule();
        assert.deepEqual([rule.minSize, rule.maxSize, rule.startupSeconds ?? DEFAULT_PARAMS.startupSeconds], [2, 6, 180]);
        assert.equal(original.timeline[original.timeline.length - 1].desired, 2, "the original never goes below 2");
    });

    it("scales this design to zero when idle and back from zero when work arrives", () => {
        assert.ok(
            ours.timeline.some((o) => o.desired === 0 && o.t > 3600),
            "reaches zero after the load",
        );
        assert.ok(
            ours.activities.some((a) => a.from === 0 && a.to > 0),
            "wakes from zero",
        );
        assert.equal(ours.timeline[ours.timeline.length - 1].desired, 0);
    });

    it("feeds the rule what the workers measured: each finished job's seconds, once", () => {
        const published = ours.timeline.flatMap((o) => o.processedSeconds).sort((a, b) => a - b);
        const finishedBeforeLastBeat = trace
            .filter((j) => ours.completedAt[j.id] <= ours.timeline[ours.timeline.length - 1].t)
            .map((j) => j.processingSeconds)
            .sort((a, b) => a - b);
        assert.deepEqual(published, finishedBeforeLastBeat);
    });

    it("is deterministic for a shape and seed", () => {
        for (const shape of [DIURNAL, BURSTS]) assert.deepEqual(runComparison(shape, 7).summaries, runComparison(shape, 7).summaries);
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

    it("starts a rule's instances after that rule's own start-up time", () => {
        const startsAt = (startupSeconds: number) => {
            const rule: ScalingRule = {
                ...dropToZero(true),
                initialDesired: 0,
                startupSeconds,
                decide: (_h, t) => (t === 0 ? 1 : undefined),
            };
            return simulate(rule, [{ id: 0, arrival: 0, processingSeconds: 30 }], params).completedAt[0];
        };
        assert.equal(startsAt(120), 150);
        assert.equal(startsAt(60), 90);
    });
});

describe("this design's rule in the simulation (the shared policy)", () => {
    const rule = () =>
        latencyObjectiveRule({ latencyObjectiveSeconds: 600, fallbackSecondsPerVideo: 150, minSize: 0, maxSize: 6, startupSeconds: 122 });

    it("scales out on one datapoint to exactly InstancesNeeded: ceil(backlog / floor(600 / 150)) + 1", () => {
        // 17 waiting: ceil(17 / 4) + 1 = 6.
        assert.equal(rule().decide([obs({ visible: 15, inFlight: 2, inService: 2, desired: 2 })], 60), 6);
        // Capped by the group's maximum.
        assert.equal(rule().decide([obs({ visible: 40, inService: 2, desired: 2 })], 60), MAX_SIZE);
    });

    it("wakes an empty group with two instances when one video waits (one for it, one spare)", () => {
        assert.equal(rule().decide([obs({ visible: 1 })], 60), 2);
        assert.equal(rule().decide([obs({ visible: 1, desired: 2, pending: 2 })], 120), undefined, "already there");
    });

    it("sizes with the measured mean seconds per video once three videos are done", () => {
        // Three 300 s videos in the last hour: floor(600 / 300) = 2 per instance, so 8 waiting need 4 + 1.
        const history = [obs({ processedSeconds: [300, 300, 300] }), obs({ visible: 8, desired: 1, inService: 1 })];
        assert.equal(rule().decide(history, 120), 5);
        // Two measurements are not enough: the configured 150 s (4 per instance) sizes it, ceil(8 / 4) + 1 = 3.
        const sparse = [obs({ processedSeconds: [300, 300] }), obs({ visible: 8, desired: 1, inService: 1 })];
        assert.equal(rule().decide(sparse, 120), 3);
    });

    it("removes one instance after ten datapoints above the need, then waits out the cooldown", () => {
        const r = rule();
        const idle = (t: number) => obs({ t, inService: 3, desired: 3 });
        const history: Observation[] = [];
        const decisions: (number | undefined)[] = [];
        // Work 20 minutes ago only: the need is 0 throughout.
        for (let i = 0; i < 14; i++) {
            history.push(idle(i * 60));
            decisions.push(r.decide(history, i * 60));
        }
        assert.deepEqual(decisions.slice(0, 9), Array(9).fill(undefined));
        assert.equal(decisions[9], 2, "after the 10th datapoint");
        assert.deepEqual(decisions.slice(10, 12), [undefined, undefined], "cooldown");
        assert.equal(decisions[12], 2, `one more after ${policy.SCALE_IN_COOLDOWN_SECONDS} s (desired as observed: 3)`);
    });

    it("keeps two instances for SPARE_MINUTES after work, then lets them go", () => {
        const r = rule();
        const history: Observation[] = [obs({ t: 0, inFlight: 1, inService: 2, desired: 2 })];
        r.decide(history, 0);
        const decisions: (number | undefined)[] = [];
        for (let i = 1; i <= policy.SPARE_MINUTES + policy.SCALE_IN_DATAPOINTS; i++) {
            history.push(obs({ t: i * 60, inService: 2, desired: 2 }));
            decisions.push(r.decide(history, i * 60));
        }
        const firstScaleIn = decisions.findIndex((d) => d !== undefined) + 1;
        // The need stays 2 for SPARE_MINUTES beats, then 0; ten datapoints later the first instance goes.
        assert.equal(firstScaleIn, policy.SPARE_MINUTES + policy.SCALE_IN_DATAPOINTS);
    });
});

describe("the original rule", () => {
    it("+2 on more than 2 visible messages, -1 when the 5-minute average is under 2", () => {
        assert.equal(originalRule().decide([obs({ visible: 3, desired: 2 })], 60), 4);
        const calm = Array.from({ length: 5 }, () => obs({ visible: 1, inFlight: 6, desired: 6 }));
        assert.equal(originalRule().decide(calm, 300), 5, "in-flight work is invisible to the original rule");
    });
});

describe("the README", function () {
    this.timeout(30_000);
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    it("shows sim:scaling's tables for seed 42 of every shape, the start-up table and the picture", () => {
        for (const shape of SHAPES) {
            assert.ok(
                readme.includes(markdownTable(runComparison(shape, 42).summaries)),
                `README table for ${shape.name} / 42: run npm run sim:scaling and copy it`,
            );
        }
        assert.ok(readme.includes(startupTable()), "README start-up table");
        assert.ok(readme.includes("](scaler/sim/scaling.svg)"), "README shows the picture");
    });
});

describe("the picture", () => {
    it("is committed for the default trace exactly as sim:scaling draws it", () => {
        const c = runComparison(PHASES, 42);
        assert.equal(
            fs.readFileSync(DEFAULT_SVG, "utf8"),
            renderTimelineSvg(c.results, svgTitle(c)),
            "run npm run sim:scaling to redraw it",
        );
    });

    it("draws visible, in-flight and instance lines for both designs", () => {
        const c = runComparison(PHASES, 42);
        const svg = renderTimelineSvg(c.results, svgTitle(c));
        assert.equal((svg.match(/<polyline /g) ?? []).length, 6);
        for (const label of [
            "visible messages",
            "in-flight messages",
            "instances (running or starting)",
            c.results[0].design,
            c.results[1].design,
        ]) {
            assert.ok(svg.includes(label), label);
        }
    });
});

describe("sim:scaling arguments", () => {
    it("reads --shape, --seeds, --json and --svg, in either --flag value or --flag=value form", () => {
        const d = parseSimArgs([]);
        assert.deepEqual(
            d.shapes.map((s) => s.name),
            ["phases", "diurnal", "bursts"],
        );
        assert.deepEqual(d.seeds, [...DEFAULT_SEEDS]);
        assert.equal(d.json, false);
        assert.equal(d.ablation, false);
        assert.equal(d.svgPath, DEFAULT_SVG);
        const o = parseSimArgs(["--shape", "bursts", "--seeds=7,8", "--json", "--svg", "/tmp/x.svg", "--ablation"]);
        assert.deepEqual(
            o.shapes.map((s) => s.name),
            ["bursts"],
        );
        assert.deepEqual(o.seeds, [7, 8]);
        assert.equal(o.json, true);
        assert.equal(o.ablation, true);
        assert.equal(o.svgPath, "/tmp/x.svg");
    });

    it("names a bad argument, then the usage", () => {
        assert.throws(
            () => parseSimArgs(["--seeds", "1.5"]),
            /--seeds must be a comma-separated list of integers >= 1, got "1.5"\nusage: npm run sim:scaling/,
        );
        assert.throws(() => parseSimArgs(["--shape=weekly"]), /--shape must be one of/);
        assert.throws(() => parseSimArgs(["--seed", "3"]), /unknown option "--seed"/);
    });
});

describe("what each change bought", function () {
    this.timeout(30_000);
    it("neither the new rule alone nor the old rule meets the bar on the bursts, the rule with the faster start-up does", () => {
        const table = ablationTable([BURSTS], [42]);
        assert.match(table, /\| before issue 19 \(target tracking, 200 s start-up\) \| 0 of 1 \|/);
        assert.match(table, /\| this rule, 200 s start-up \| 0 of 1 \|/);
        assert.match(table, /\| this rule, 122 s start-up \| 1 of 1 \|/);
    });
});

describe("a report for a run", () => {
    it("tables both designs", () => {
        const c = runComparison(BURSTS, 42);
        const table = markdownTable(c.summaries);
        assert.match(table, /jobs interrupted by scale-in \| \d+ \| 0 \|/);
        assert.match(table, /instance-hours/);
        assert.equal(
            summarize(
                c.results[1],
                BURSTS.generate(seededRng(42)).map((j) => j.arrival),
            ).jobsInterruptedByScaleIn,
            0,
        );
    });
});
