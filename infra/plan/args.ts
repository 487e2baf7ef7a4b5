// The command lines of `npm run plan`, `npm run cost` and `tsx infra/plan/stacks.ts`: flag specs and
// the checks only these tools need, read with ops/args.ts (the one parser of every CLI), so their
// errors read like every other tool's. infra/plan ships in no image, so it may import ops/.
import { numberFlag, parseFlags, requiredFlag, UsageError } from "../../ops/args";

export const PLAN_USAGE = "usage: npm run plan -- --stack NAME";
export const COST_USAGE =
    "usage: npm run cost -- --stack NAME [--fps F] [--source-fps S] [--prices infra/plan/pricing/prices-YYYY-MM-DD.json]";
export const STACKS_USAGE = "usage: tsx infra/plan/stacks.ts --list | --region-of STACK | --cluster-of STACK | --deploy-matrix";

export interface PlanArgs {
    stack: string;
}

export interface CostArgs extends PlanArgs {
    /** Frames per second one video node sustains. */
    fps?: number;
    /** Frame rate of the source video (default 30). */
    sourceFps?: number;
    /** Price table file (default: the newest in infra/plan/pricing). */
    prices?: string;
}

/** What the stacks CLI prints: every stack name, one stack's region or EKS cluster name, or deploy.yml's matrix. */
export type StacksCommand = { list: true } | { regionOf: string } | { clusterOf: string } | { deployMatrix: true };

/** A stack name as Pulumi.<stack>.yaml spells it; rejects paths and empty names, naming the flag. */
function stackName(raw: string | undefined, flag: string, usage: string): string {
    const stack = requiredFlag(raw, flag, usage);
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || /^\.+$/.test(stack))
        throw new UsageError(`${flag} must be a stack name (letters, digits, _ . -), got "${stack}"`, usage);
    return stack;
}

export function planArgs(argv: readonly string[]): PlanArgs {
    const values = parseFlags(argv, { stack: { type: "string" } }, PLAN_USAGE);
    return { stack: stackName(values.stack, "--stack", PLAN_USAGE) };
}

export function costArgs(argv: readonly string[]): CostArgs {
    const spec = {
        stack: { type: "string" },
        fps: { type: "string" },
        "source-fps": { type: "string" },
        prices: { type: "string" },
    } as const;
    const values = parseFlags(argv, spec, COST_USAGE);
    const out: CostArgs = { stack: stackName(values.stack, "--stack", COST_USAGE) };
    const fps = numberFlag(values.fps, "--fps", { min: 0, exclusive: true }, COST_USAGE);
    const sourceFps = numberFlag(values["source-fps"], "--source-fps", { min: 0, exclusive: true }, COST_USAGE);
    if (fps !== undefined) out.fps = fps;
    if (sourceFps !== undefined) out.sourceFps = sourceFps;
    if (values.prices !== undefined) out.prices = values.prices;
    return out;
}

export function stacksArgs(argv: readonly string[]): StacksCommand {
    const values = parseFlags(
        argv,
        {
            list: { type: "boolean" },
            "region-of": { type: "string" },
            "cluster-of": { type: "string" },
            "deploy-matrix": { type: "boolean" },
        },
        STACKS_USAGE,
    );
    const given = (["list", "region-of", "cluster-of", "deploy-matrix"] as const).filter((flag) => values[flag] !== undefined);
    if (given.length > 1) throw new UsageError(`${given.map((f) => `--${f}`).join(" and ")} go alone, not together`, STACKS_USAGE);
    if (values.list === true) return { list: true };
    if (values["region-of"] !== undefined) return { regionOf: stackName(values["region-of"], "--region-of", STACKS_USAGE) };
    if (values["cluster-of"] !== undefined) return { clusterOf: stackName(values["cluster-of"], "--cluster-of", STACKS_USAGE) };
    if (values["deploy-matrix"] === true) return { deployMatrix: true };
    throw new UsageError("give --list, --region-of STACK, --cluster-of STACK or --deploy-matrix", STACKS_USAGE);
}
