// The one argument parser of every command-line tool outside the shipped programs (ops tools,
// benchmarks, emulator mains, the scaling simulation): node:util parseArgs, so `--flag value` and
// `--flag=value` both work, with errors that read the same in every tool, each followed by its usage.
// Shipped code (worker/src, worker/model-fetch, worker/model-client, scaler/src) must not import this.
import { parseArgs } from "node:util";

/** A bad command line: the message names the argument, then the tool's usage. */
export class UsageError extends Error {
    constructor(message: string, usage: string) {
        super(`${message}\n${usage}`);
        this.name = "UsageError";
    }
}

/** Flags a tool accepts: strings take a value, booleans do not. */
export type FlagSpec = Record<string, { type: "string" | "boolean" }>;

/** What parseArgs returns for a spec: string flags as string | undefined, boolean flags as boolean | undefined. */
export type FlagValues<S extends FlagSpec> = { [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : string };

function flagIn(message: string): string {
    return /'(--?[^'\s<]+)/.exec(message)?.[1] ?? "an option";
}

/** node:util parseArgs errors, said the same way in every tool (the node wording varies across releases). */
function reword(err: unknown): string {
    const { code, message } = err as { code?: string; message?: string };
    const text = String(message ?? err);
    switch (code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown option "${flagIn(text)}"`;
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument "${/'([^']*)'/.exec(text)?.[1] ?? text}"`;
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            return /does not take an argument/.test(text) ? `${flagIn(text)} takes no value` : `${flagIn(text)} needs a value`;
        default:
            return text;
    }
}

/**
 * Parses argv (without node and the script) against `spec`: long flags only, no positionals, the last
 * occurrence of a flag wins. Throws UsageError naming the bad argument.
 */
export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S, usage: string): FlagValues<S> {
    try {
        return parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }).values as FlagValues<S>;
    } catch (err) {
        throw new UsageError(reword(err), usage);
    }
}

/** As parseFlags, for tools that also take positional arguments (e.g. a file to work on). */
export function parseFlagsAndPositionals<S extends FlagSpec>(
    argv: readonly string[],
    spec: S,
    usage: string,
): { flags: FlagValues<S>; positionals: string[] } {
    try {
        const parsed = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: true });
        return { flags: parsed.values as FlagValues<S>, positionals: parsed.positionals };
    } catch (err) {
        throw new UsageError(reword(err), usage);
    }
}

export interface NumberRule {
    /** Smallest accepted value (inclusive, unless `exclusive`). */
    min: number;
    /** The value must be above `min`, not equal to it. */
    exclusive?: boolean;
    /** Whole numbers only. */
    integer?: boolean;
}

/** A numeric flag value, or `fallback` when the flag was not given; throws UsageError naming the flag otherwise. */
export function numberFlag(raw: string | undefined, flag: string, rule: NumberRule, usage: string, fallback: number): number;
export function numberFlag(raw: string | undefined, flag: string, rule: NumberRule, usage: string): number | undefined;
export function numberFlag(raw: string | undefined, flag: string, rule: NumberRule, usage: string, fallback?: number): number | undefined {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const belowMin = rule.exclusive === true ? n <= rule.min : n < rule.min;
    if (raw.trim() === "" || !Number.isFinite(n) || belowMin || (rule.integer === true && !Number.isInteger(n))) {
        throw new UsageError(
            `${flag} must be ${rule.integer ? "an integer" : "a number"} ${rule.exclusive ? ">" : ">="} ${rule.min}, got "${raw}"`,
            usage,
        );
    }
    return n;
}

/** A flag value that must be one of `choices`, or `fallback` when absent. */
export function choiceFlag<C extends string>(raw: string | undefined, flag: string, choices: readonly C[], usage: string, fallback: C): C;
export function choiceFlag<C extends string>(raw: string | undefined, flag: string, choices: readonly C[], usage: string): C | undefined;
export function choiceFlag<C extends string>(
    raw: string | undefined,
    flag: string,
    choices: readonly C[],
    usage: string,
    fallback?: C,
): C | undefined {
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw))
        throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got "${raw}"`, usage);
    return raw as C;
}

/** A string flag the tool cannot run without. */
export function requiredFlag(raw: string | undefined, flag: string, usage: string): string {
    if (raw === undefined) throw new UsageError(`${flag} is required`, usage);
    return raw;
}
