// npm run sim:scaling [-- --json] [-- --seed N] [-- --target N]
// Compares the original design's scaling rule with this one on the same seeded load trace.
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

function parseArgs(argv: readonly string[]): SimOptions & { json: boolean } {
    const opts = { seed: 42, target: 4, json: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") opts.json = true;
        else if (arg === "--seed" || arg === "--target") {
            const value = Number(argv[++i]);
            if (!Number.isFinite(value) || value <= 0) throw new Error(`${arg} needs a positive number, got ${argv[i]}`);
            if (arg === "--seed") opts.seed = Math.floor(value);
            else opts.target = value;
        } else throw new Error(`unknown argument ${arg} (expected --json, --seed N, --target N)`);
    }
    return opts;
}

if (require.main === module) {
    try {
        const opts = parseArgs(process.argv.slice(2));
        const { summaries, jobs } = runComparison(opts);
        if (opts.json) {
            console.log(JSON.stringify({ seed: opts.seed, target: opts.target, params: DEFAULT_PARAMS, processing: DEFAULT_PROCESSING, summaries }, null, 2));
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
