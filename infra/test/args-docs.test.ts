// pulumi-eks habit: every field of a component's `...Args` interface is documented, and an optional
// field says what happens when it is left out (its default).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const INFRA = path.resolve(__dirname, "..");

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) return ["test", "plan", "mock-run"].includes(e.name) ? [] : sourceFiles(full);
        return e.name.endsWith(".ts") ? [full] : [];
    });
}

interface Problem {
    file: string;
    field: string;
    problem: string;
}

function argsProblems(file: string): { checked: number; problems: Problem[] } {
    const text = fs.readFileSync(file, "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const problems: Problem[] = [];
    let checked = 0;
    const rel = path.relative(INFRA, file);
    source.forEachChild((node) => {
        if (!ts.isInterfaceDeclaration(node) || !/Args$/.test(node.name.text)) return;
        if (!node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return;
        for (const member of node.members) {
            if (!ts.isPropertySignature(member)) continue;
            checked++;
            const field = `${node.name.text}.${member.name.getText(source)}`;
            const docs = ts
                .getJSDocCommentsAndTags(member)
                .map((d) => d.getText(source))
                .join(" ");
            if (docs === "") problems.push({ file: rel, field, problem: "no doc comment" });
            else if (
                member.questionToken !== undefined &&
                !/default|undefined|none|omit|left out|without|unless|only when|when given|optional/i.test(docs)
            ) {
                problems.push({ file: rel, field, problem: "optional, but the doc does not say what leaving it out means" });
            }
        }
    });
    return { checked, problems };
}

describe("component Args are documented (pulumi-eks habit)", () => {
    it("every field of every exported ...Args interface has a doc comment; optional ones give their default", () => {
        const results = sourceFiles(INFRA).map(argsProblems);
        const checked = results.reduce((n, r) => n + r.checked, 0);
        assert.ok(checked > 100, `expected many Args fields, found ${checked}`);
        const problems = results.flatMap((r) => r.problems).map((p) => `${p.file} ${p.field}: ${p.problem}`);
        assert.equal(problems.length, 0, `undocumented Args fields:\n${problems.join("\n")}`);
    });
});
