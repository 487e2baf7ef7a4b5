// The one argument parser of the non-shipped CLIs (ops/args.ts), and the rules around it: every CLI in
// ops/, testing/, worker/bench/, scaler/sim/, scaler/bench/ and infra/plan/ uses it (no hand-written argv loops), and
// no shipped program imports ops/ or testing/.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { choiceFlag, numberFlag, parseFlags, parseFlagsAndPositionals, requiredFlag, UsageError } from "../args";

const ROOT = path.resolve(__dirname, "..", "..");
const USAGE = "usage: tool [--name N] [--count C] [--verbose]";
const SPEC = { name: { type: "string" }, count: { type: "string" }, verbose: { type: "boolean" } } as const;

function tsFiles(dir: string): string[] {
    const abs = path.join(ROOT, dir);
    if (!fs.existsSync(abs)) return [];
    return fs
        .readdirSync(abs, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.posix.join(dir, f.split(path.sep).join("/")));
}

function throwsUsage(fn: () => unknown, message: string): void {
    assert.throws(fn, (err: unknown) => err instanceof UsageError && err.message === `${message}\n${USAGE}`, message);
}

describe("ops/args: one parser for every CLI", () => {
    it("takes --flag value and --flag=value alike; the last occurrence wins", () => {
        assert.deepEqual(
            { ...parseFlags(["--name", "a", "--count=3", "--verbose"], SPEC, USAGE) },
            { name: "a", count: "3", verbose: true },
        );
        assert.deepEqual({ ...parseFlags(["--name=a=b", "--name", "c"], SPEC, USAGE) }, { name: "c" });
        assert.deepEqual({ ...parseFlags(["--name=-x"], SPEC, USAGE) }, { name: "-x" }, "a value starting with a dash goes after '='");
    });

    it("says what is wrong the same way in every tool, then the usage", () => {
        throwsUsage(() => parseFlags(["--nmae", "a"], SPEC, USAGE), 'unknown option "--nmae"');
        throwsUsage(() => parseFlags(["--name"], SPEC, USAGE), "--name needs a value");
        throwsUsage(() => parseFlags(["--name", "--verbose"], SPEC, USAGE), "--name needs a value");
        throwsUsage(() => parseFlags(["--verbose=yes"], SPEC, USAGE), "--verbose takes no value");
        throwsUsage(() => parseFlags(["stray"], SPEC, USAGE), 'unexpected argument "stray"');
        throwsUsage(() => parseFlags(["-n"], SPEC, USAGE), 'unknown option "-n"');
    });

    it("takes positional arguments only where a tool asks for them, with the same errors for flags", () => {
        const parsed = parseFlagsAndPositionals(["r.json", "--name=a", "s3://b/k"], SPEC, USAGE);
        assert.deepEqual([{ ...parsed.flags }, parsed.positionals], [{ name: "a" }, ["r.json", "s3://b/k"]]);
        throwsUsage(() => parseFlagsAndPositionals(["r.json", "--nmae", "a"], SPEC, USAGE), 'unknown option "--nmae"');
    });

    it("checks numbers, choices and required flags, naming the flag and the value", () => {
        assert.equal(numberFlag(undefined, "--count", { min: 1, integer: true }, USAGE, 5), 5);
        assert.equal(numberFlag(undefined, "--count", { min: 1 }, USAGE), undefined);
        assert.equal(numberFlag("2.5", "--count", { min: 0 }, USAGE), 2.5);
        throwsUsage(() => numberFlag("2.5", "--count", { min: 1, integer: true }, USAGE), '--count must be an integer >= 1, got "2.5"');
        throwsUsage(() => numberFlag("0", "--count", { min: 0, exclusive: true }, USAGE), '--count must be a number > 0, got "0"');
        throwsUsage(() => numberFlag("", "--count", { min: 0 }, USAGE), '--count must be a number >= 0, got ""');
        throwsUsage(() => numberFlag("ten", "--count", { min: 0 }, USAGE), '--count must be a number >= 0, got "ten"');
        assert.equal(choiceFlag("b", "--mode", ["a", "b"] as const, USAGE), "b");
        assert.equal(choiceFlag(undefined, "--mode", ["a", "b"] as const, USAGE, "a"), "a");
        throwsUsage(() => choiceFlag("c", "--mode", ["a", "b"] as const, USAGE), '--mode must be one of a, b, got "c"');
        assert.equal(requiredFlag("x", "--name", USAGE), "x");
        throwsUsage(() => requiredFlag(undefined, "--name", USAGE), "--name is required");
    });

    it("every command-line program outside the shipped code parses with it (no hand-written argv loops)", () => {
        const clis = ["ops", "testing", "worker/bench", "scaler/sim", "scaler/bench", "infra/plan"]
            .flatMap(tsFiles)
            .filter((f) => !f.includes("/test/"));
        const readers = clis.filter((f) => /process\.argv/.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
        assert.ok(readers.length >= 8, `expected the CLIs, found ${readers.join(", ")}`);
        for (const cli of ["infra/plan/plan.ts", "infra/plan/cost.ts", "infra/plan/stacks.ts"])
            assert.ok(readers.includes(cli), `${cli} is scanned`);
        for (const f of clis) {
            const text = fs.readFileSync(path.join(ROOT, f), "utf8");
            assert.doesNotMatch(
                text,
                /argv\[\s*(i|\+\+i|i\s*\+\s*1)\s*\]|argv\.(indexOf|includes)\(/,
                `${f} parses argv by hand; use ops/args.ts`,
            );
            if (f !== "ops/args.ts")
                assert.doesNotMatch(
                    text,
                    /\bparseArgs\b[^;]*from "(node:)?util"|util\.parseArgs\(/,
                    `${f} calls node:util parseArgs itself; use ops/args.ts`,
                );
        }
        for (const f of readers) {
            const text = fs.readFileSync(path.join(ROOT, f), "utf8");
            const parses =
                /parseFlags\(/.test(text) ||
                /\w*Args\(process\.argv/.test(text) ||
                /import \{[^}]*\bparse\w*Args\b[^}]*\} from "\.\/args"/.test(text);
            assert.ok(parses, `${f} reads process.argv without ops/args.ts`);
        }
    });

    it("no shipped program imports ops/ or testing/", () => {
        for (const f of ["worker/src", "worker/model-fetch", "worker/model-client", "scaler/src"].flatMap(tsFiles)) {
            const text = fs.readFileSync(path.join(ROOT, f), "utf8");
            for (const [, spec] of text.matchAll(/from "(\.[^"]*)"/g)) {
                const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
                assert.ok(!/^(ops|testing)(\/|$)/.test(target), `${f} imports ${spec}`);
            }
        }
    });
});
