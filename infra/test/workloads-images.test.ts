// Static checks on images/*/Dockerfile: pinned bases and packages, a non-root user, no credentials.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const IMAGES = ["worker", "tf-serving-cpu", "tf-serving-nvidia", "tf-serving-neuron", "tf-serving-neuronx"];
const root = path.resolve(__dirname, "../..");

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): string[] {
    return text
        .replace(/\\\n/g, " ")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
}

function argDefaults(lines: string[]): Map<string, string> {
    const defaults = new Map<string, string>();
    for (const line of lines) {
        const m = /^ARG\s+([A-Z_]+)=(\S+)$/.exec(line);
        if (m) defaults.set(m[1], m[2]);
    }
    return defaults;
}

/** Packages an apt-get install names, with `${ARG}` references resolved from the ARG defaults. */
function aptInstalls(lines: string[], defaults: Map<string, string>): string[] {
    const packages: string[] = [];
    for (const line of lines) {
        for (const m of line.matchAll(/apt-get install ([^&]+)/g)) {
            for (const word of m[1].trim().split(/\s+/)) {
                if (word.startsWith("-")) continue;
                packages.push(word.replace(/"/g, "").replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => defaults.get(name) ?? `<unset ${name}>`));
            }
        }
    }
    return packages;
}

describe("container images (Dockerfiles)", () => {
    for (const image of IMAGES) {
        describe(image, () => {
            const lines = instructions(readFileSync(path.join(root, "images", image, "Dockerfile"), "utf8"));
            const defaults = argDefaults(lines);

            it("builds from base images pinned to an exact version", () => {
                const froms = lines.filter((l) => l.startsWith("FROM "));
                assert.ok(froms.length > 0);
                for (const from of froms) {
                    const ref = from.split(/\s+/)[1].replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => defaults.get(name) ?? "");
                    if (/^[a-z]+$/.test(ref)) continue; // a previous stage, e.g. FROM bundle
                    assert.match(ref, /^[a-z0-9./-]+:[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$/, `${from} resolves to ${ref}`);
                    assert.doesNotMatch(ref, /:latest|:\d+(-[a-z]+)*$/, `${ref} is a moving tag`);
                }
            });

            it("pins every package it keeps", () => {
                for (const pkg of aptInstalls(lines, defaults)) {
                    // Download helpers are purged in the same layer and never ship.
                    if (["ca-certificates", "curl", "gnupg"].includes(pkg)) {
                        assert.ok(lines.some((l) => new RegExp(`apt-get purge[^&]*\\b${pkg}\\b`).test(l)), `${pkg} is purged`);
                        continue;
                    }
                    assert.match(pkg, /^[a-z0-9.+-]+=\d[^\s]*$/, `${pkg} is pinned to a version`);
                }
            });

            it("runs as the fixed non-root uid the pod specs use, and bakes in no credentials", () => {
                const users = lines.filter((l) => l.startsWith("USER "));
                assert.equal(users.at(-1), "USER 10001:10001");
                const text = lines.join("\n");
                assert.doesNotMatch(text, /AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)/);
                assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}/);
            });
        });
    }

    it("the worker image bundles both programs the pod specs run", () => {
        const text = readFileSync(path.join(root, "images", "worker", "Dockerfile"), "utf8");
        assert.match(text, /\/src\/dist\/worker\/ \/app\/worker\//);
        assert.match(text, /\/src\/dist\/model-fetch\/ \/app\/model-fetch\//);
        assert.match(text, /npm run bundle:worker && npm run bundle:model-fetch/);
    });
});
