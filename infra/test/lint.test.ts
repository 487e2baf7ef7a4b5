// The lint set-up: a supported ESLint (9 reached end of life in August 2026), plugins whose peer ranges
// accept it, and the repository's own eslint.config.mjs doing what it says (run through ESLint's API).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ESLint } from "eslint";
import { REPO_ROOT } from "../plan/stacks";

function installed(name: string): { version: string; peerDependencies?: Record<string, string> } {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as {
        version: string;
        peerDependencies?: Record<string, string>;
    };
}

/** Whether `version` (x.y.z) satisfies one of the `^a.b.c` alternatives of an npm range. */
function caretAccepts(range: string, version: string): boolean {
    const [major, minor, patch] = version.split(".").map(Number);
    return range.split("||").some((alt) => {
        const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(alt);
        if (!m) return false;
        const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
        return major === a && (minor > b || (minor === b && patch >= c));
    });
}

async function lint(text: string, file: string): Promise<string[]> {
    const eslint = new ESLint({ cwd: REPO_ROOT });
    const [result] = await eslint.lintText(text, { filePath: path.join(REPO_ROOT, file) });
    return result.messages.map((m) => m.ruleId ?? m.message);
}

describe("lint set-up", () => {
    it("runs ESLint 10 or newer", () => {
        assert.ok(Number(ESLint.version.split(".")[0]) >= 10, `eslint ${ESLint.version}`);
        assert.equal(installed("eslint").version, ESLint.version);
    });

    it("every ESLint plugin package accepts the installed ESLint in its peerDependencies", () => {
        for (const name of ["typescript-eslint", "@eslint/js"]) {
            const range = installed(name).peerDependencies?.eslint;
            assert.ok(range, `${name} declares an eslint peer range`);
            assert.ok(caretAccepts(range, ESLint.version), `${name} peer eslint ${range} does not accept ${ESLint.version}`);
        }
    });

    it("eslint.config.mjs applies ESLint's and typescript-eslint's recommended rules to TypeScript", async () => {
        const findings = await lint(
            [
                "export function f(input: any): string {",
                "    try {",
                "        return JSON.stringify(input);",
                "    } catch (err) {",
                "        throw new Error(`cannot stringify: ${String(err)}`);",
                "    }",
                "}",
                "",
            ].join("\n"),
            "infra/lint-probe.ts",
        );
        assert.deepEqual(findings.sort(), ["@typescript-eslint/no-explicit-any", "preserve-caught-error"]);
        assert.deepEqual(await lint("export const ok = (_unused: number): number => 1;\n", "infra/lint-probe.ts"), []);
    });

    it("shipped code may not import the test doubles or the operator tools", async () => {
        assert.deepEqual(await lint('import "../../testing/moto";\n', "worker/src/lint-probe.ts"), ["no-restricted-imports"]);
        assert.deepEqual(await lint('import "../../ops/stats";\n', "scaler/src/lint-probe.ts"), ["no-restricted-imports"]);
        assert.deepEqual(await lint('import "../src/config";\n', "worker/model-client/lint-probe.ts"), ["no-restricted-imports"]);
        assert.deepEqual(await lint('import "../../testing/moto";\n', "infra/test/lint-probe.ts"), []);
    });
});
