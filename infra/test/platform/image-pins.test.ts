// Static checks on images/*/Dockerfile: bases pinned by digest, no package pins that can vanish, a
// non-root user, no credentials.
import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { IMAGES as IMAGE_TABLE } from "../../platform/images";
import { SCALER_RUNTIME } from "../../video/scaling";
import { LEGACY_TF_SERVING, NEURON_VERSIONS, TORCH_VERSION, TRITON_VERSIONS } from "../../bert/settings";

const IMAGES = Object.keys(IMAGE_TABLE);
const root = path.resolve(__dirname, "../../..");

/**
 * Bases pinned to an exact version tag only, because no source this project can check records their
 * digest (see the Dockerfiles). Every other FROM must carry @sha256.
 */
const TAG_ONLY_BASES = new Set([
    "tensorflow/serving:2.20.0",
    "tensorflow/serving:2.20.0-gpu",
    // NVIDIA's NGC registry: the tag is checked against triton-inference-server/server (branch r26.08:
    // release 2.72.0 = container 26.08); its digest is published only on NGC, which no source here reaches.
    "nvcr.io/nvidia/tritonserver:26.08-py3",
]);

/**
 * Archives that keep every published version, so `name=version` pins into them stay installable.
 * Debian and Ubuntu drop superseded versions, so packages from them go unpinned (the base image's
 * digest fixes the release).
 */
const VERSIONED_ARCHIVES: { repository: RegExp; packages: RegExp }[] = [
    { repository: /apt\.repos\.neuron\.amazonaws\.com/, packages: /^(aws-neuronx-[a-z0-9-]+|tensorflow-model-server-neuronx)$/ },
];

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
                packages.push(
                    word.replace(/"/g, "").replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => defaults.get(name) ?? `<unset ${name}>`),
                );
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

            it("builds from base images pinned by digest", () => {
                const froms = lines.filter((l) => l.startsWith("FROM "));
                assert.ok(froms.length > 0);
                for (const from of froms) {
                    const ref = (from.split(/\s+/)[1] as string).replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => defaults.get(name) ?? "");
                    if (/^[a-z]+$/.test(ref)) continue; // a previous stage, e.g. FROM bundle
                    if (TAG_ONLY_BASES.has(ref)) continue;
                    assert.match(
                        ref,
                        /^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/,
                        `${from} resolves to ${ref}, which is not <image>:<tag>@sha256:<digest>`,
                    );
                }
            });

            it("has no package pins that can vanish from their archive", () => {
                const text = lines.join("\n");
                for (const pkg of aptInstalls(lines, defaults)) {
                    const [name, version] = pkg.split("=", 2) as [string, string | undefined];
                    if (version === undefined) continue;
                    const archive = VERSIONED_ARCHIVES.find((a) => a.packages.test(name));
                    assert.ok(archive, `${pkg}: Debian/Ubuntu packages must not be pinned to a version (it disappears at the next update)`);
                    assert.match(text, archive.repository, `${pkg} comes from an archive the Dockerfile adds`);
                }
                // Download helpers are purged in the same layer and never ship.
                for (const helper of ["curl", "gnupg"]) {
                    if (aptInstalls(lines, defaults).includes(helper))
                        assert.ok(
                            lines.some((l) => new RegExp(`apt-get purge[^&]*\\b${helper}\\b`).test(l)),
                            `${helper} is purged`,
                        );
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

    describe("BERT images keep the versions infra/bert/settings.ts names (the model key carries the Neuron release)", () => {
        const argsOf = (image: string): Map<string, string> =>
            argDefaults(instructions(readFileSync(path.join(root, "images", image, "Dockerfile"), "utf8")));

        it("triton-neuronx: one Neuron release (the table's Triton release) and the pinned Triton", () => {
            const args = argsOf("triton-neuronx");
            assert.deepEqual(
                [
                    "NEURON_RUNTIME_LIB_VERSION",
                    "NEURON_COLLECTIVES_VERSION",
                    "TORCH_NEURONX_VERSION",
                    "NEURONX_CC_VERSION",
                    "TORCH_VERSION",
                    "TRITON_IMAGE",
                ].map((k) => args.get(k)),
                [
                    NEURON_VERSIONS.runtimeLib,
                    NEURON_VERSIONS.collectives,
                    NEURON_VERSIONS.torchNeuronx,
                    NEURON_VERSIONS.neuronxCc,
                    TORCH_VERSION,
                    `nvcr.io/nvidia/tritonserver:${TRITON_VERSIONS.container}-py3`,
                ],
            );
            // Noble: Triton 26.08 is Ubuntu 24.04.
            assert.match(
                readFileSync(path.join(root, "images", "triton-neuronx", "Dockerfile"), "utf8"),
                /apt\.repos\.neuron\.amazonaws\.com noble main/,
            );
        });

        it("triton-cpu: the same PyTorch and Triton, no Neuron package", () => {
            const args = argsOf("triton-cpu");
            assert.deepEqual(
                [args.get("TORCH_VERSION"), args.get("TRITON_IMAGE")],
                [TORCH_VERSION, `nvcr.io/nvidia/tritonserver:${TRITON_VERSIONS.container}-py3`],
            );
            assert.doesNotMatch(
                instructions(readFileSync(path.join(root, "images", "triton-cpu", "Dockerfile"), "utf8")).join("\n"),
                /neuron/i,
            );
        });

        it("both Triton images prepend to the base image's PATH and LD_LIBRARY_PATH instead of replacing them", () => {
            for (const image of ["triton-neuronx", "triton-cpu"]) {
                const envs = instructions(readFileSync(path.join(root, "images", image, "Dockerfile"), "utf8")).filter((l) =>
                    /^ENV\s/.test(l),
                );
                for (const name of ["PATH", "LD_LIBRARY_PATH"]) {
                    const values = envs.flatMap((l) =>
                        [...l.matchAll(new RegExp(`(?:^ENV|\\s)${name}=(\\S+)`, "g"))].map((m) => m[1] as string),
                    );
                    assert.ok(values.length > 0, `${image}: sets ${name}`);
                    for (const value of values)
                        assert.ok(value.includes(`\${${name}`), `${image}: ${name}=${value} drops the base image's ${name}`);
                }
            }
        });

        it("both Triton images carry the Python model code the pod specs run", () => {
            for (const image of ["triton-neuronx", "triton-cpu"]) {
                assert.match(
                    readFileSync(path.join(root, "images", image, "Dockerfile"), "utf8"),
                    /^COPY images\/bert-python\/ \/opt\/bert\/$/m,
                );
            }
            for (const file of ["model.py", "compile.py", "fetch_model.py", "common.py"])
                assert.ok(readFileSync(path.join(root, "images", "bert-python", file), "utf8").length > 0);
        });

        it("tf-serving-neuronx (legacy) is the final TF build with the runtime it pairs with", () => {
            const args = argsOf("tf-serving-neuronx");
            assert.deepEqual(
                [args.get("TF_MODEL_SERVER_NEURONX_VERSION"), args.get("NEURON_RUNTIME_LIB_VERSION")],
                [LEGACY_TF_SERVING.modelServer, LEGACY_TF_SERVING.runtimeLib],
            );
        });
    });
});

describe("image files cite repository paths that exist", () => {
    it("every infra/, images/, worker/ or scaler/ path named in a Dockerfile, an allowlist or images/README.md is a real file or folder", () => {
        const files = IMAGES.flatMap((image) => [`images/${image}/Dockerfile`, `images/${image}/Dockerfile.dockerignore`]).concat(
            "images/README.md",
        );
        const cited: string[] = [];
        for (const file of files) {
            const text = readFileSync(path.join(root, file), "utf8");
            for (const m of text.matchAll(/(?<![\w/.-])((?:infra|images|worker|scaler)\/[\w./-]*[\w])/g)) {
                const cite = (m[1] as string).replace(/\/$/, "");
                if (/[*<>]/.test(cite) || cite.startsWith("images/<")) continue;
                cited.push(`${file}: ${cite}`);
                assert.ok(existsSync(path.join(root, cite)), `${file} cites ${cite}, which does not exist`);
            }
        }
        assert.ok(
            cited.some((c) => c.includes("infra/bert/")),
            "the Neuron images cite the version table",
        );
    });
});

describe("one supported Node.js LTS in production", () => {
    // Node 20 reached end of life in April 2026; 22 and 24 are the supported LTS lines (December 2026).
    const SUPPORTED_LTS = [22, 24];
    const dockerfile = readFileSync(path.join(root, "images", "worker", "Dockerfile"), "utf8");
    const major = Number(/^ARG NODE_IMAGE=node:(\d+)\.\d+\.\d+-/m.exec(dockerfile)?.[1]);

    it("the worker image runs a supported LTS, and every bundle targets that same major", () => {
        assert.ok(SUPPORTED_LTS.includes(major), `worker image Node ${major}`);
        const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        const bundles = Object.entries(scripts).filter(([name]) => name.startsWith("bundle:"));
        assert.ok(bundles.length >= 3);
        for (const [name, script] of bundles) assert.match(script, new RegExp(`--target=node${major}(\\s|$)`), name);
        assert.match(
            readFileSync(path.join(root, "scaler", "test", "bundle.ts"), "utf8"),
            new RegExp(`target: "node${major}"`),
            "the test build of the scaler bundle",
        );
    });

    it("the scaler Lambda runs the same LTS", () => {
        assert.equal(SCALER_RUNTIME, `nodejs${major}.x`);
    });

    it("npm scripts (tests, npm start, every tool) run that same LTS from the registry's node package, whatever Node npm runs on", () => {
        const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
            engines: { node: string };
            devDependencies: Record<string, string>;
            allowScripts: Record<string, boolean>;
        };
        assert.match(
            pkg.devDependencies["node"] ?? "",
            new RegExp(`^${major}\\.\\d+\\.\\d+$`),
            "devDependencies.node pins an exact release of the image's major",
        );
        assert.equal(
            pkg.allowScripts["node"],
            true,
            "recent npm releases (11.19 here) block dependency install scripts unless allowed; the node package's preinstall fetches the binary",
        );
        assert.equal(pkg.engines.node, `>=${major}`);
        assert.match(pkg.devDependencies["@types/node"] ?? "", new RegExp(`^${major}\\.`));
        assert.equal(Number(process.versions.node.split(".")[0]), major, `this test runs on Node ${process.versions.node}`);
    });
});
