// Command-line arguments of `npm run plan` and `npm run cost` (pure).

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

/** Parses argv (without node and script), accepting only `allowed` flags. Throws naming the bad argument. */
export function parseToolArgs(argv: readonly string[], allowed: readonly Flag[], usage: string): ToolArgs {
    const out: Partial<ToolArgs> = {};
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (!(allowed as readonly string[]).includes(flag)) throw new Error(`unknown argument "${flag}"\n${usage}`);
        const value = argv[i + 1];
        if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value\n${usage}`);
        i++;
        switch (flag as Flag) {
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
