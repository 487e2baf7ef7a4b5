// Command-line arguments of `npm run plan` and `npm run cost` (pure), read with node:util parseArgs.
import { parseArgs } from "node:util";

export interface ToolArgs {
    stack: string;
    /** Frames per second one video node sustains (cost only). */
    fps?: number;
    /** Frame rate of the source video (cost only; default 30). */
    sourceFps?: number;
    /** Price table file (cost only; default: the newest in infra/plan/pricing). */
    prices?: string;
}

type Flag = "--stack" | "--fps" | "--source-fps" | "--prices";

function positive(raw: string, flag: string): number {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${raw}"`);
    return n;
}

/** The value of every option as node:util parseArgs reads it (`--flag value` or `--flag=value`). */
const OPTIONS = {
    stack: { type: "string" },
    fps: { type: "string" },
    "source-fps": { type: "string" },
    prices: { type: "string" },
} as const;

/** node:util parseArgs's own errors, reworded the way the rest of this parser words them. */
function parseError(error: unknown, usage: string): Error {
    const e = error as { code?: string; message?: string };
    const option = /'(--[a-z-]+)/.exec(e.message ?? "")?.[1];
    switch (e.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return new Error(`unknown argument "${option ?? e.message}"\n${usage}`);
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            return new Error(`${option ?? "an option"} needs a value\n${usage}`);
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return new Error(`unexpected argument: ${e.message}\n${usage}`);
        default:
            return error instanceof Error ? error : new Error(String(error));
    }
}

/** Parses argv (without node and script) with node:util parseArgs, accepting only `allowed` flags. Throws naming the bad argument. */
export function parseToolArgs(argv: readonly string[], allowed: readonly Flag[], usage: string): ToolArgs {
    const options = Object.fromEntries(allowed.map((flag) => [flag.slice(2), OPTIONS[flag.slice(2) as keyof typeof OPTIONS]]));
    let values: Record<string, string | boolean | undefined>;
    try {
        values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
    } catch (error) {
        throw parseError(error, usage);
    }
    const out: Partial<ToolArgs> = {};
    for (const flag of allowed) {
        const value = values[flag.slice(2)];
        if (typeof value !== "string") continue;
        switch (flag) {
            case "--stack":
                if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`--stack "${value}" is not a stack name`);
                out.stack = value;
                break;
            case "--fps":
                out.fps = positive(value, flag);
                break;
            case "--source-fps":
                out.sourceFps = positive(value, flag);
                break;
            case "--prices":
                out.prices = value;
                break;
        }
    }
    if (out.stack === undefined) throw new Error(`--stack is required\n${usage}`);
    return out as ToolArgs;
}
