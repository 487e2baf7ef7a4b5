// What ships needs only `dependencies`: the Pulumi program (under `pulumi up`) and the worker, model-fetch
// and scaler bundles import no package that is in devDependencies (tests and tools only, e.g. yaml and
// kubernetes-models), and every package they import is declared.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { builtinModules } from "node:module";
import { buildSync } from "esbuild";

const ROOT = path.resolve(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    main: string;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};
/** The Pulumi program, and the entry point of every `bundle:*` script (what the images and the Lambda ship). */
const SHIPPED = [
    pkg.main,
    ...Object.entries(pkg.scripts)
        .filter(([name]) => name.startsWith("bundle:"))
        .map(([, script]) => /^esbuild (\S+)/.exec(script)?.[1] ?? script),
];

/** The npm package a bare import or a node_modules path belongs to ("@scope/name" or "name"). */
function packageOf(spec: string): string {
    const parts = spec.split("/");
    return spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Packages an entry point imports, directly or through its own files (packages themselves not followed). */
function packagesImportedBy(entry: string): Set<string> {
    const result = buildSync({
        entryPoints: [path.join(ROOT, entry)],
        bundle: true,
        write: false,
        metafile: true,
        platform: "node",
        packages: "external",
        logLevel: "silent",
        outfile: path.join(ROOT, "dist", "deps-check.js"),
    });
    const found = new Set<string>();
    for (const input of Object.values(result.metafile.inputs)) {
        for (const imp of input.imports)
            if (imp.external && !imp.path.startsWith("node:") && !imp.path.startsWith(".")) found.add(packageOf(imp.path));
    }
    return found;
}

describe("shipped code needs only dependencies", () => {
    it("finds the program and the three bundles", () => {
        assert.equal(SHIPPED.length, 4, SHIPPED.join(", "));
        for (const entry of SHIPPED) assert.ok(fs.existsSync(path.join(ROOT, entry)), entry);
    });
    for (const entry of SHIPPED) {
        it(`${entry} imports only declared dependencies`, () => {
            const builtins = new Set(builtinModules);
            const imported = [...packagesImportedBy(entry)].filter((p) => !builtins.has(p));
            assert.ok(imported.length > 0, "expected some package imports");
            const notDeclared = imported.filter((p) => pkg.dependencies[p] === undefined);
            assert.deepEqual(notDeclared, [], `${entry} imports packages outside dependencies`);
        });
    }
    it("test- and tool-only packages are devDependencies", () => {
        for (const p of ["yaml", "kubernetes-models"])
            assert.ok(pkg.devDependencies[p] !== undefined && pkg.dependencies[p] === undefined, p);
    });
});
