// npm run sim:scaling -- [--json] [--seed N] [--target N]
// Compares the original design's scaling rule with this one on the same seeded load trace.
import { numberFlag, parseFlags } from "../../ops/args";
import { backlogPerInstanceRule, originalRule } from "./designs";
import { DEFAULT_PARAMS, simulate } from "./model";
import { markdownTable, summarize, type Summary } from "./report";
import { seededRng } from "./rng";
import { DEFAULT_PROCESSING, generateTrace } from "./trace";

export interface SimOptions {
    seed: number;
    /** Acceptable backlog per instance (acceptable latency / seconds per video). */
    target: number;
}

export function runComparison(o: SimOptions): { summaries: Summary[]; jobs: number } {
    const trace = generateTrace(seededRng(o.seed));
    const arrivals = trace.map((j) => j.arrival);
    const results = [originalRule(), backlogPerInstanceRule({ target: o.target })].map((rule) => simulate(rule, trace, DEFAULT_PARAMS));
    return { summaries: results.map((r) => summarize(r, arrivals)), jobs: trace.length };
}

const USAGE = "usage: npm run sim:scaling -- [--seed 42] [--target 4] [--json]";

const FLAGS = { seed: { type: "string" }, target: { type: "string" }, json: { type: "boolean" } } as const;

export function parseSimArgs(argv: readonly string[]): SimOptions & { json: boolean } {
    const flags = parseFlags(argv, FLAGS, USAGE);
    return {
        seed: numberFlag(flags.seed, "--seed", { min: 1, integer: true }, USAGE, 42),
        target: numberFlag(flags.target, "--target", { min: 0, exclusive: true }, USAGE, 4),
        json: flags.json === true,
    };
}

if (require.main === module) {
    try {
        const opts = parseSimArgs(process.argv.slice(2));
        const { summaries, jobs } = runComparison(opts);
        if (opts.json) {
            console.log(
                JSON.stringify(
                    { seed: opts.seed, target: opts.target, params: DEFAULT_PARAMS, processing: DEFAULT_PROCESSING, summaries },
                    null,
                    2,
                ),
            );
        } else {
            console.log(
                `Seed ${opts.seed}: ${jobs} videos over ${DEFAULT_PARAMS.horizonSeconds / 3600} h, ${DEFAULT_PROCESSING.meanSeconds} s mean processing, ` +
                    `${DEFAULT_PARAMS.startupSeconds} s node start-up, ${DEFAULT_PARAMS.stepSeconds} s steps, target ${opts.target} videos per instance.\n`,
            );
            console.log(markdownTable(summaries));
        }
    } catch (err) {
        console.error(`sim:scaling: ${(err as Error).message}`);
        process.exit(2);
    }
}
