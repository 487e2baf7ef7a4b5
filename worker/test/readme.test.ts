// The README's video-worker reference is true (issue 17, "Done when"): every failure code the worker can
// emit is in the error table with what happens to the job (dead-lettered, retried later, given back), no
// code in the table is one the worker no longer emits, and the environment table names exactly the
// variables loadConfig reads, with the defaults it applies.
import { strict as assert } from "node:assert";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../src/config";
import { GrpcCode } from "../model-client/grpc/protocol";
import { grpcError, httpError, isTransientGrpcCode } from "../model-client/tfserving/errors";

const REPO = join(__dirname, "../..");

/** The "## The video worker" section of the README. */
function workerSection(): string {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const start = readme.indexOf("\n## The video worker\n");
    assert.ok(start >= 0, "README has a video worker section");
    const end = readme.indexOf("\n## ", start + 1);
    return readme.slice(start, end < 0 ? undefined : end);
}

/** Rows of the first table in `section` whose header starts with `header`. */
function tableRows(section: string, header: string): string[][] {
    const lines = section.split("\n");
    const at = lines.findIndex((l) => l.startsWith(header));
    assert.ok(at >= 0, `README table "${header}"`);
    const rows: string[][] = [];
    for (const line of lines.slice(at + 2)) {
        if (!line.startsWith("|")) break;
        rows.push(
            line
                .slice(1, line.endsWith("|") ? -1 : undefined)
                .split(" | ")
                .map((c) => c.trim()),
        );
    }
    return rows;
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/**
 * The arguments of the call whose "(" is at `open`, as source text: strings, template literals (with
 * nested `${}`) and brackets are skipped whole, so commas inside them do not split.
 */
function callArguments(src: string, open: number): string[] {
    const args: string[] = [];
    let i = open + 1;
    let from = i;
    const skipString = (q: string): void => {
        for (i++; src[i] !== q; i++) if (src[i] === "\\") i++;
        i++;
    };
    const skipTemplate = (): void => {
        for (i++; src[i] !== "`";) {
            if (src[i] === "\\") i += 2;
            else if (src[i] === "$" && src[i + 1] === "{") {
                i += 2;
                skipCode("}");
            } else i++;
        }
        i++;
    };
    const skipCode = (closer: string): void => {
        while (src[i] !== closer) {
            const c = src[i];
            if (c === undefined) throw new Error(`unbalanced source at ${open}`);
            if (c === '"' || c === "'") skipString(c);
            else if (c === "`") skipTemplate();
            else if (c === "(" || c === "[" || c === "{") {
                i++;
                skipCode(c === "(" ? ")" : c === "[" ? "]" : "}");
            } else i++;
        }
        i++;
    };
    for (;;) {
        const c = src[i];
        if (c === undefined) throw new Error(`unbalanced call at ${open}`);
        if (c === ")") {
            const last = src.slice(from, i).trim();
            if (last !== "") args.push(last);
            return args;
        }
        if (c === ",") {
            args.push(src.slice(from, i).trim());
            from = ++i;
        } else if (c === '"' || c === "'") skipString(c);
        else if (c === "`") skipTemplate();
        else if (c === "(" || c === "[" || c === "{") {
            i++;
            skipCode(c === "(" ? ")" : c === "[" ? "]" : "}");
        } else i++;
    }
}

type Behaviour = "dead-lettered" | "retried later" | "given back";

interface Emitted {
    code: string;
    behaviour?: Behaviour;
    where: string;
}

/** Every JobError / GiveBackError with a literal code in worker/src (and the give-back subclasses' codes). */
function emittedBySource(): Emitted[] {
    const dir = join(REPO, "worker/src");
    const out: Emitted[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
        const src = readFileSync(join(dir, file), "utf8");
        for (const m of src.matchAll(/new (JobError|GiveBackError)\(|extends GiveBackError \{[\s\S]*?super\(/g)) {
            const open = (m.index ?? 0) + m[0].length - 1;
            const args = callArguments(src, open);
            const where = `${file}:${src.slice(0, open).split("\n").length}`;
            const codeArg = m[1] === "JobError" ? args[2] : args[1];
            const literal = /^"([A-Z][A-Z0-9_]+)"$/.exec(codeArg ?? "");
            if (literal === null) continue; // computed (MODEL_<code>, a carried failure's code): checked below
            const behaviour: Behaviour | undefined =
                m[1] !== "JobError"
                    ? "given back"
                    : args[1] === "true"
                      ? "dead-lettered"
                      : args[1] === "false"
                        ? "retried later"
                        : undefined;
            out.push({ code: literal[1], behaviour, where });
        }
    }
    return out;
}

/**
 * The codes a Predict failure gets (pipeline.ts): a transient model error still failing after the retries
 * gives the job back as MODEL_<code>; a permanent one dead-letters it. NOT_FOUND pauses for the model and
 * BAD_OUTPUT becomes MODEL_BAD_OUTPUT (both in the source scan's literals).
 */
function emittedByModelErrors(): Emitted[] {
    const spec = { name: "m" };
    const errors = [
        ...Object.values(GrpcCode)
            .filter((c): c is number => typeof c === "number" && c !== GrpcCode.OK)
            .map((c) => grpcError(c, "x", "grpc://s", spec)),
        ...Array.from({ length: 200 }, (_, i) => httpError(400 + i, "x", "http://s", spec)),
    ].map((e) => ({ code: e.code, transient: e.transient }));
    // The literal codes the TF Serving clients raise besides those (a non-gRPC answer, a body that is not JSON, ...).
    const clientDir = join(REPO, "worker/model-client/tfserving");
    for (const file of readdirSync(clientDir).filter((f) => f.endsWith(".ts"))) {
        const src = readFileSync(join(clientDir, file), "utf8");
        for (const m of src.matchAll(/new ModelServerError\(/g)) {
            const args = callArguments(src, (m.index ?? 0) + m[0].length - 1);
            const code = /^"([A-Z][A-Z0-9_]+)"$/.exec(args[1] ?? "")?.[1];
            if (code !== undefined && (args[2] === "true" || args[2] === "false")) errors.push({ code, transient: args[2] === "true" });
        }
    }
    assert.ok(isTransientGrpcCode(GrpcCode.UNAVAILABLE));
    const seen = new Map<string, Emitted>();
    for (const e of errors) {
        if (e.code === "NOT_FOUND" || e.code === "BAD_OUTPUT" || e.code === "MODEL_NOT_AVAILABLE") continue;
        seen.set(e.code, { code: `MODEL_${e.code}`, behaviour: e.transient ? "given back" : "dead-lettered", where: "model client" });
    }
    return [...seen.values()];
}

describe("README: the video worker's error table and environment", () => {
    const section = workerSection();
    const errorRows = tableRows(section, "| code | meaning | what happens |").map(([codes, meaning, happens]) => ({
        codes: backticked(codes),
        meaning,
        happens,
    }));

    /** The row naming `code` (an explicit name, a `MODEL_HTTP_5xx` pattern, or "other `MODEL_*`"). */
    function rowFor(code: string): { row: (typeof errorRows)[number]; explicit: boolean } | undefined {
        const explicit = errorRows.find((r) => r.codes.includes(code));
        if (explicit !== undefined) return { row: explicit, explicit: true };
        const pattern = errorRows.find((r) =>
            r.codes.some((c) => c.includes("<") && new RegExp(`^${c.replace(/<5xx>/, "5\\d\\d").replace(/<[^>]+>/g, "\\w+")}$`).test(code)),
        );
        if (pattern !== undefined) return { row: pattern, explicit: true };
        const wildcard = code.startsWith("MODEL_") ? errorRows.find((r) => r.codes.includes("MODEL_*")) : undefined;
        return wildcard === undefined ? undefined : { row: wildcard, explicit: false };
    }

    const emitted = [...emittedBySource(), ...emittedByModelErrors()];

    it("finds the worker's codes in its source (the scan works)", () => {
        const codes = new Set(emitted.map((e) => e.code));
        for (const code of [
            "FOREIGN_JOB",
            "DISK_FULL",
            "SHUTDOWN",
            "GIVE_BACK_LIMIT",
            "DECODER_KILLED",
            "MODEL_UNAVAILABLE",
            "MODEL_UNKNOWN",
        ])
            assert.ok(codes.has(code), code);
        assert.ok(emitted.length > 40, `${emitted.length} emitting sites`);
    });

    it("every code the worker emits is in the error table, with what happens to the job", () => {
        for (const e of emitted) {
            const found = rowFor(e.code);
            assert.ok(found !== undefined, `${e.code} (${e.where}) is not in the README's error table`);
            if (e.behaviour === undefined) continue;
            const word = e.behaviour === "retried later" ? "retried" : e.behaviour;
            assert.ok(
                found.row.happens.includes(word),
                `${e.code} (${e.where}) is ${e.behaviour}, but the README says: ${found.row.happens}`,
            );
            // A code only the wildcard row covers must not be one a given-back row names by another spelling.
            if (!found.explicit) assert.equal(e.behaviour, "dead-lettered", `${e.code} (${e.where}) must be named in the table`);
        }
    });

    it("every code in the error table is one the worker emits (nothing stale)", () => {
        const codes = new Set(emitted.map((e) => e.code));
        for (const row of errorRows)
            for (const code of row.codes) {
                if (code === "MODEL_*") continue;
                if (code.includes("<")) {
                    const re = new RegExp(`^${code.replace(/<5xx>/, "5\\d\\d").replace(/<[^>]+>/g, "\\w+")}$`);
                    assert.ok(
                        [...codes].some((c) => re.test(c)),
                        `${code}: no code the worker emits matches it`,
                    );
                    continue;
                }
                assert.ok(codes.has(code), `${code} is in the README's error table but the worker never emits it`);
            }
    });

    const envRows = tableRows(section, "| variable | default | meaning |").map(([names, defaults]) => ({
        names: backticked(names),
        defaults,
    }));
    const base = { JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs", RESULTS_BUCKET: "out" };

    it("the environment table names exactly the variables loadConfig reads", () => {
        const src = readFileSync(join(REPO, "worker/src/config.ts"), "utf8");
        const read = new Set([...src.matchAll(/\b(?:raw|required|int|integer|decimal|onOff)\(env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]));
        assert.ok(read.size > 30, `${read.size} variables read`);
        const documented = new Set(envRows.flatMap((r) => r.names));
        assert.deepEqual(
            [...read].filter((v) => !documented.has(v)),
            [],
            "read but not in the README",
        );
        assert.deepEqual(
            [...documented].filter((v) => !read.has(v)),
            [],
            "in the README but not read",
        );
    });

    it("each documented default is the one loadConfig applies: setting it explicitly changes nothing", () => {
        const defaults = loadConfig(base);
        let checked = 0;
        for (const row of envRows) {
            const values = row.defaults.split(/ \/ |, /).map((v) => v.trim());
            if (values.length !== row.names.length) continue;
            row.names.forEach((name, i) => {
                const v = values[i];
                const literal = /^`([^`]+)`$/.exec(v)?.[1] ?? (/^\d+$/.test(v) ? v : undefined);
                if (literal === undefined || /^[A-Z][A-Z0-9_]+$/.test(literal)) return; // prose, or another variable's value
                assert.deepEqual(loadConfig({ ...base, [name]: literal }), defaults, `README default of ${name} is ${v}`);
                checked++;
            });
        }
        assert.ok(checked >= 20, `${checked} defaults checked`);
    });
});
