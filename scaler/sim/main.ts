// npm run sim:scaling -- [--shape phases|diurnal|bursts|all] [--seeds 42,1,2] [--ablation] [--json] [--svg PATH]
// Compares the original design's scaling rule with this one on the same seeded traces, for each traffic
// shape and seed, and draws the first shape and seed (visible and in-flight messages, instances).
import * as fs from "node:fs";
import * as path from "node:path";
import { choiceFlag, parseFlags, UsageError } from "../../ops/args";
import { CONFIG_KEYS } from "../../infra/config/config";
import { latencyObjectiveRule, originalRule, previousTargetTrackingRule } from "./designs";
import { DEFAULT_PARAMS, simulate, type SimResult } from "./model";
import { markdownTable, summarize, type Summary } from "./report";
import { seededRng } from "./rng";
import { SHAPES, type Shape } from "./shapes";
import { BEFORE, DECLARED, startupBreakdown } from "./startup";
import { renderTimelineSvg } from "./svg";

/** Both designs' group limits in the comparison: the original's 2..6, this design 0..6 (scale to zero). */
export const MAX_SIZE = 6;
export const THIS_DESIGN_MIN_SIZE = 0;
/** The seeds every report covers (42 first: the README's default trace). */
export const DEFAULT_SEEDS: readonly number[] = [42, 1, 2, 3, 4, 5, 6, 7, 8, 2026];
export const DEFAULT_SVG = path.join(__dirname, "scaling.svg");

/** This design as the stack's defaults declare it, with the start-up the stack's settings give. */
export function thisDesign(startupSeconds = startupBreakdown(DECLARED).totalSeconds) {
    return latencyObjectiveRule({
        latencyObjectiveSeconds: Number(CONFIG_KEYS.videoLatencyObjectiveSeconds.default),
        fallbackSecondsPerVideo: Number(CONFIG_KEYS.secondsPerVideo.default),
        minSize: THIS_DESIGN_MIN_SIZE,
        maxSize: MAX_SIZE,
        startupSeconds,
    });
}

export interface Comparison {
    shape: string;
    seed: number;
    jobs: number;
    results: SimResult[];
    summaries: Summary[];
}

/** The original rule and this design on one shape and seed. */
export function runComparison(shape: Shape, seed: number): Comparison {
    const trace = shape.generate(seededRng(seed));
    const arrivals = trace.map((j) => j.arrival);
    const params = { ...DEFAULT_PARAMS, horizonSeconds: shape.horizonSeconds };
    const results = [originalRule({ maxSize: MAX_SIZE }), thisDesign()].map((rule) => simulate(rule, trace, params));
    return { shape: shape.name, seed, jobs: trace.length, results, summaries: results.map((r) => summarize(r, arrivals)) };
}

/** What each change bought, on one shape and seed: the previous rule and this rule, each with the start-up before and after issue 19. */
export function runAblation(shape: Shape, seed: number): Summary[] {
    const trace = shape.generate(seededRng(seed));
    const arrivals = trace.map((j) => j.arrival);
    const params = { ...DEFAULT_PARAMS, horizonSeconds: shape.horizonSeconds };
    const before = startupBreakdown(BEFORE).totalSeconds;
    const rules = [
        originalRule({ maxSize: MAX_SIZE }),
        previousTargetTrackingRule({ target: 4, maxSize: MAX_SIZE, startupSeconds: before }),
        thisDesign(before),
        thisDesign(),
    ];
    const names = [
        "original",
        `before issue 19 (target tracking, ${before} s start-up)`,
        `this rule, ${before} s start-up`,
        `this rule, ${startupBreakdown(DECLARED).totalSeconds} s start-up`,
    ];
    return rules.map((rule, i) => ({ ...summarize(simulate(rule, trace, params), arrivals), design: names[i] }));
}

/** The issue's bar for one comparison: p95 and drain no worse, instance-hours >= 10 % lower, no interruptions. */
export function verdict(c: Pick<Comparison, "summaries">): { meets: boolean; misses: string[] } {
    const [o, n] = c.summaries;
    const misses: string[] = [];
    if (n.p95LatencySeconds > o.p95LatencySeconds) misses.push("p95 latency");
    if (n.timeToDrainSeconds > o.timeToDrainSeconds) misses.push("drain time");
    if (n.instanceHours > 0.9 * o.instanceHours) misses.push("instance-hours");
    if (n.jobsInterruptedByScaleIn > 0) misses.push("interruptions");
    if (n.completedOnce !== n.jobs) misses.push("videos completed once");
    return { meets: misses.length === 0, misses };
}

const minutes = (s: number) => (s / 60).toFixed(1);

/** One row per shape and seed: the numbers the bar is about. */
export function seedsTable(comparisons: readonly Comparison[]): string {
    const rows = comparisons.map((c) => {
        const [o, n] = c.summaries;
        const saving = Math.round((1 - n.instanceHours / o.instanceHours) * 100);
        const v = verdict(c);
        return (
            `| ${c.shape} | ${c.seed} | ${c.jobs} | ${minutes(o.p95LatencySeconds)} / ${minutes(n.p95LatencySeconds)} | ` +
            `${minutes(o.timeToDrainSeconds)} / ${minutes(n.timeToDrainSeconds)} | ${o.instanceHours.toFixed(1)} / ${n.instanceHours.toFixed(1)} (${saving} % less) | ` +
            `${o.jobsInterruptedByScaleIn} / ${n.jobsInterruptedByScaleIn} | ${v.meets ? "yes" : `no: ${v.misses.join(", ")}`} |`
        );
    });
    return [
        "| shape | seed | videos | p95 latency, min (original / this) | drain, min | instance-hours | interrupted | meets the bar |",
        "|---|---|---|---|---|---|---|---|",
        ...rows,
    ].join("\n");
}

/** For each variant of runAblation: on how many of the seeds it meets the bar, per shape. */
export function ablationTable(shapes: readonly Shape[], seeds: readonly number[]): string {
    const counts = new Map<string, number[]>();
    shapes.forEach((shape, k) => {
        for (const seed of seeds) {
            const [original, ...variants] = runAblation(shape, seed);
            for (const v of variants) {
                const row = counts.get(v.design) ?? shapes.map(() => 0);
                if (verdict({ summaries: [original, v] }).meets) row[k]++;
                counts.set(v.design, row);
            }
        }
    });
    return [
        `| variant (against the original) | ${shapes.map((s) => s.name).join(" | ")} |`,
        `|---|${shapes.map(() => "---").join("|")}|`,
        ...[...counts].map(([design, row]) => `| ${design} | ${row.map((n) => `${n} of ${seeds.length}`).join(" | ")} |`),
    ].join("\n");
}

export function startupTable(): string {
    const before = startupBreakdown(BEFORE);
    const now = startupBreakdown(DECLARED);
    const rows = before.steps.map((s, i) => `| ${now.steps[i].step} | ${s.seconds.toFixed(0)} | ${now.steps[i].seconds.toFixed(0)} |`);
    return [
        "| step (critical path) | before issue 19, s | now, s |",
        "|---|---|---|",
        ...rows,
        `| **launch to first job** | **${before.totalSeconds}** | **${now.totalSeconds}** |`,
    ].join("\n");
}

const SHAPE_NAMES = ["all", ...SHAPES.map((s) => s.name)] as const;
type ShapeChoice = (typeof SHAPE_NAMES)[number];
const USAGE = `usage: npm run sim:scaling -- [--shape ${SHAPE_NAMES.join("|")}] [--seeds 42,1,2] [--ablation] [--json] [--svg ${path.relative(process.cwd(), DEFAULT_SVG)}]`;
const FLAGS = {
    shape: { type: "string" },
    seeds: { type: "string" },
    ablation: { type: "boolean" },
    json: { type: "boolean" },
    svg: { type: "string" },
} as const;

export interface SimOptions {
    shapes: Shape[];
    seeds: number[];
    /** Also run the rule and the start-up each without the other (what each change bought). */
    ablation: boolean;
    json: boolean;
    svgPath: string;
}

export function parseSimArgs(argv: readonly string[]): SimOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const shape = choiceFlag<ShapeChoice>(flags.shape, "--shape", SHAPE_NAMES, USAGE, "all");
    let seeds = [...DEFAULT_SEEDS];
    if (flags.seeds !== undefined) {
        seeds = flags.seeds.split(",").map((s) => Number(s.trim()));
        if (flags.seeds.trim() === "" || seeds.some((n) => !Number.isInteger(n) || n < 1)) {
            throw new UsageError(`--seeds must be a comma-separated list of integers >= 1, got "${flags.seeds}"`, USAGE);
        }
    }
    if (flags.svg !== undefined && flags.svg.trim() === "") throw new UsageError("--svg needs a file path", USAGE);
    return {
        shapes: shape === "all" ? [...SHAPES] : SHAPES.filter((s) => s.name === shape),
        seeds,
        ablation: flags.ablation === true,
        json: flags.json === true,
        svgPath: flags.svg ?? DEFAULT_SVG,
    };
}

export function svgTitle(c: Comparison): string {
    return `Scaling simulation: shape "${c.shape}", seed ${c.seed}, ${c.jobs} videos (npm run sim:scaling)`;
}

function main(): void {
    const opts = parseSimArgs(process.argv.slice(2));
    const comparisons = opts.shapes.flatMap((shape) => opts.seeds.map((seed) => runComparison(shape, seed)));
    fs.writeFileSync(opts.svgPath, renderTimelineSvg(comparisons[0].results, svgTitle(comparisons[0])));
    if (opts.json) {
        console.log(
            JSON.stringify(
                {
                    params: DEFAULT_PARAMS,
                    startup: { before: startupBreakdown(BEFORE), now: startupBreakdown(DECLARED) },
                    comparisons: comparisons.map((c) => ({ shape: c.shape, seed: c.seed, summaries: c.summaries, verdict: verdict(c) })),
                },
                null,
                2,
            ),
        );
        return;
    }
    console.log(`Start-up of a new video node, launch to first job (scaler/sim/startup.ts):\n\n${startupTable()}\n`);
    for (const shape of opts.shapes) {
        const first = comparisons.find((c) => c.shape === shape.name);
        if (first === undefined) continue;
        console.log(`Shape "${shape.name}": ${shape.description}. Seed ${first.seed}, ${first.jobs} videos.\n`);
        console.log(`${markdownTable(first.summaries)}\n`);
    }
    console.log(`Every shape and seed (original / this design):\n\n${seedsTable(comparisons)}\n`);
    if (opts.ablation) {
        console.log(
            `What each change bought: runs meeting the bar, per shape, over seeds ${opts.seeds.join(", ")}:\n\n${ablationTable(opts.shapes, opts.seeds)}\n`,
        );
    }
    const met = comparisons.filter((c) => verdict(c).meets).length;
    console.log(
        `${met} of ${comparisons.length} runs meet the bar. Picture of ${comparisons[0].shape}/${comparisons[0].seed}: ${opts.svgPath}`,
    );
}

if (require.main === module) {
    try {
        main();
    } catch (err) {
        console.error(`sim:scaling: ${(err as Error).message}`);
        process.exit(2);
    }
}
