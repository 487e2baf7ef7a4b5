// Image tags vs build contexts (ECR tags are immutable): each image's build context, as BuildKit
// and @pulumi/docker-build see it (the staged copy), must be exactly the set of files its tag hashes, so
// the tag changes exactly when the image's inputs change.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildSync } from "esbuild";
import {
    IMAGES,
    ImageName,
    ImageSpec,
    REPOSITORY_PLACEHOLDER,
    buildSettings,
    canonicalJson,
    contentTag,
    contextFiles,
    imagePaths,
    parseAllowlist,
    readContext,
    stageContext,
} from "../../platform/images";
import { runStackUnderMocks } from "../../mock-run/mock-run";
import { buildContextFiles } from "../support/dockerignore";
import { providerContextHash } from "../support/provider-context-hash";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const NAMES = Object.keys(IMAGES) as ImageName[];

/** What the provider sees of an image (its staged context): the file list BuildKit gets and the provider's contextHash. */
function providerContext(root: string, image: string): { files: string[]; digest: string } {
    const staged = stageContext(readContext(image, root), root);
    const dockerfile = path.join(staged, imagePaths(image).dockerfile);
    return { files: buildContextFiles(staged, dockerfile), digest: providerContextHash(staged, dockerfile) };
}

/** A scratch repository: the real images/, the worker's inputs, and files no image reads. */
function scratchRepo(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "images-ctx-"));
    for (const entry of [
        "images",
        "worker",
        "testing",
        "ops",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "README.md",
        "infra/platform/images.ts",
        "Pulumi.yaml",
    ]) {
        fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    return dir;
}

function snapshot(root: string): Record<string, { tag: string; context: string }> {
    return Object.fromEntries(
        NAMES.map((image) => [image, { tag: contentTag(image, root), context: providerContext(root, image).digest }]),
    );
}

describe("images: tag vs build context", () => {
    it("every folder under images/ with a Dockerfile is one IMAGES entry, with its own Dockerfile.dockerignore", () => {
        const folders = fs
            .readdirSync(path.join(ROOT, "images"))
            .filter((d) => fs.existsSync(path.join(ROOT, "images", d, "Dockerfile")))
            .sort();
        assert.deepEqual(folders, [...NAMES].sort());
        for (const image of NAMES)
            assert.ok(fs.existsSync(path.join(ROOT, imagePaths(image).ignoreFile)), `${image} has a Dockerfile.dockerignore`);
    });

    for (const image of NAMES) {
        it(`${image}: the build context BuildKit gets is exactly the file set the tag hashes`, () => {
            const context = providerContext(ROOT, image).files;
            assert.deepEqual(contextFiles(image), context);
            assert.ok(
                !context.includes("README.md") && !context.some((f) => f.startsWith("infra/")),
                "README.md and infra/ stay out of the context",
            );
        });
    }

    it("the worker's context holds what its Dockerfile copies (and no tests, node_modules or dist)", () => {
        const files = contextFiles("worker");
        for (const needed of [
            "package.json",
            "package-lock.json",
            "tsconfig.json",
            "worker/src/main.ts",
            "worker/model-fetch/main.ts",
            "worker/model-client/tfserving/index.ts",
        ]) {
            assert.ok(files.includes(needed), needed);
        }
        assert.ok(!files.some((f) => /^(node_modules|dist|worker\/test|worker\/bench|testing|ops|\.git)(\/|$)/.test(f)), files.join(" "));
        const roots = new Set(files.map((f) => (f.startsWith("worker/") ? f.split("/").slice(0, 2).join("/") : f.split("/")[0])));
        assert.deepEqual([...roots].sort(), [
            "images",
            "package-lock.json",
            "package.json",
            "tsconfig.json",
            "worker/model-client",
            "worker/model-fetch",
            "worker/src",
        ]);
    });

    it("the worker image's bundles read only files inside its build context", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
            .scripts;
        const context = new Set(contextFiles("worker"));
        for (const script of ["bundle:worker", "bundle:model-fetch"]) {
            const entry = /esbuild (\S+\.ts) /.exec(scripts[script] ?? "")?.[1];
            assert.ok(entry, `${script} names its entry point`);
            const result = buildSync({
                entryPoints: [path.join(ROOT, entry)],
                bundle: true,
                platform: "node",
                format: "cjs",
                write: false,
                metafile: true,
                logLevel: "silent",
                absWorkingDir: ROOT,
            });
            const sources = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("node_modules/"));
            assert.ok(sources.length > 0);
            const outside = sources.filter((f) => !context.has(f));
            assert.deepEqual(
                outside,
                [],
                `${script} imports files the image build cannot see; add them to images/worker/Dockerfile.dockerignore`,
            );
        }
    });

    it("editing README.md, infra/, tests, benchmarks, testing/ or ops/ keeps every tag and context; editing an image's input changes that image's tag only", () => {
        const repo = scratchRepo();
        try {
            const before = snapshot(repo);
            fs.appendFileSync(path.join(repo, "README.md"), "\nan unrelated edit\n");
            fs.appendFileSync(path.join(repo, "infra", "images.ts"), "\n// an unrelated edit\n");
            fs.appendFileSync(path.join(repo, "worker", "test", "worker.test.ts"), "\n// tests are not in the image\n");
            fs.appendFileSync(path.join(repo, "worker", "bench", "worker.ts"), "\n// benchmarks are not in the image\n");
            // Test doubles and the local demo (testing/) and operator tools (ops/) ship in no image.
            fs.appendFileSync(path.join(repo, "testing", "tfserving", "emulator.ts"), "\n// an emulator edit\n");
            fs.appendFileSync(path.join(repo, "testing", "demo", "demo.ts"), "\n// a demo edit\n");
            fs.writeFileSync(path.join(repo, "testing", "new-double.ts"), "export {};\n");
            fs.appendFileSync(path.join(repo, "ops", "dlq", "replay.ts"), "\n// an ops tool edit\n");
            fs.appendFileSync(path.join(repo, "ops", "bert-latency", "bert.ts"), "\n// a latency client edit\n");
            fs.writeFileSync(path.join(repo, "infra", "new-module.ts"), "export {};\n");
            assert.deepEqual(
                snapshot(repo),
                before,
                "unrelated edits (README, infra, tests, benchmarks, testing/, ops/) change no tag and no build context",
            );

            fs.appendFileSync(path.join(repo, "worker", "model-client", "kserve", "client.ts"), "\n// a model-client change\n");
            const afterClient = snapshot(repo);
            assert.notEqual(
                afterClient.worker?.tag,
                before.worker?.tag,
                "a model-client edit changes the worker tag (the worker bundles it)",
            );
            fs.appendFileSync(path.join(repo, "worker", "model-fetch", "main.ts"), "\n// a model-fetch change\n");
            assert.notEqual(snapshot(repo).worker?.tag, afterClient.worker?.tag, "a model-fetch edit changes the worker tag");

            fs.appendFileSync(path.join(repo, "worker", "src", "main.ts"), "\n// a worker change\n");
            const afterWorker = snapshot(repo);
            assert.notEqual(afterWorker.worker?.tag, before.worker?.tag, "a worker source edit changes the worker tag");
            assert.notEqual(afterWorker.worker?.context, before.worker?.context);
            for (const image of NAMES.filter((n) => n !== "worker"))
                assert.deepEqual(afterWorker[image], before[image], `${image} is unaffected`);

            fs.writeFileSync(path.join(repo, "worker", "src", "added.ts"), "export const x = 1;\n");
            const afterAdd = snapshot(repo);
            assert.notEqual(afterAdd.worker?.tag, afterWorker.worker?.tag, "a new source file changes the tag");

            fs.chmodSync(path.join(repo, "worker", "src", "added.ts"), 0o755);
            const executable = snapshot(repo).worker;
            assert.notEqual(executable?.tag, afterAdd.worker?.tag, "an executable bit changes the tag");
            assert.notEqual(executable?.context, afterAdd.worker?.context, "and the provider's context hash");

            // Only the executable bit counts: a group-writable checkout (umask 002) builds the same image under the same tag,
            // and the provider sees the same context hash, so it does not rebuild either.
            fs.chmodSync(path.join(repo, "worker", "src", "added.ts"), 0o644);
            assert.deepEqual(snapshot(repo).worker, afterAdd.worker);
            fs.chmodSync(path.join(repo, "worker", "src", "added.ts"), 0o664);
            fs.chmodSync(path.join(repo, "worker", "src", "main.ts"), 0o660);
            assert.deepEqual(snapshot(repo).worker, afterAdd.worker, "0644 -> 0664 (or 0660) keeps the tag and the provider's hash");
            fs.chmodSync(path.join(repo, "worker", "src", "added.ts"), 0o644);
            fs.chmodSync(path.join(repo, "worker", "src", "main.ts"), 0o644);

            // Same build settings for both roots, so only the content differs.
            const settings = buildSettings("worker", ROOT);
            assert.equal(contentTag("worker", repo, settings), contentTag("worker", repo, buildSettings("worker", ROOT)));
            fs.appendFileSync(path.join(repo, "package-lock.json"), "\n");
            assert.notEqual(contentTag("worker", repo, settings), contentTag("worker", ROOT, settings));

            const cpu = contentTag("tf-serving-cpu", repo);
            fs.appendFileSync(path.join(repo, "images", "tf-serving-cpu", "Dockerfile"), "\n# changed\n");
            assert.notEqual(contentTag("tf-serving-cpu", repo), cpu, "a Dockerfile edit changes the tag");
            const base = buildSettings("tf-serving-cpu", repo);
            const tagOf = (change: Partial<typeof base>): string => contentTag("tf-serving-cpu", repo, { ...base, ...change });
            assert.equal(tagOf({}), contentTag("tf-serving-cpu", repo));
            // Every input whose change makes the provider rebuild (image.go Diff) is part of the tag.
            const variants: Record<string, Partial<typeof base>> = {
                "build args": { buildArgs: { X: "1" } },
                platforms: { platforms: ["linux/amd64", "linux/arm64"] as unknown as typeof base.platforms },
                "cache-to mode": {
                    cacheTo: [{ registry: { ...(base.cacheTo[0] as (typeof base.cacheTo)[number]).registry, mode: "min" } }],
                },
                "cache-to media types": {
                    cacheTo: [{ registry: { ...(base.cacheTo[0] as (typeof base.cacheTo)[number]).registry, ociMediaTypes: false } }],
                },
                "cache-from": { cacheFrom: [] },
                target: { target: "runtime" },
                "build on preview": { buildOnPreview: true },
                "dockerfile path": { dockerfile: { location: "images/tf-serving-cpu/Other.Dockerfile" } },
                "context location": { context: { location: "elsewhere" } },
                network: { network: "host" },
            };
            const tags = new Set([tagOf({})]);
            for (const [what, change] of Object.entries(variants)) {
                const tag = tagOf(change);
                assert.ok(!tags.has(tag), `${what} is part of the tag`);
                tags.add(tag);
            }
            assert.equal(
                canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }),
                canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }),
                "key order does not matter",
            );
        } finally {
            fs.rmSync(repo, { recursive: true, force: true });
        }
    });

    it("allowlists accept only '*' then plain '!<path>' lines, and name the file and line otherwise", () => {
        const f = "images/x/Dockerfile.dockerignore";
        assert.deepEqual(parseAllowlist("# c\n*\n!worker/src/\n!package.json\n", f, ROOT), ["worker/src", "package.json"]);
        assert.throws(
            () => parseAllowlist("!worker/src\n", f, ROOT),
            /images\/x\/Dockerfile\.dockerignore: the first pattern must be '\*'/,
        );
        assert.throws(() => parseAllowlist("*\n!worker/**/*.ts\n", f, ROOT), /line 2: '!worker\/\*\*\/\*\.ts' is not allowed/);
        assert.throws(() => parseAllowlist("*\nnode_modules\n", f, ROOT), /line 2: 'node_modules' is not allowed/);
        assert.throws(() => parseAllowlist("*\n!../secrets\n", f, ROOT), /line 2/);
        assert.throws(() => parseAllowlist("*\n!worker/srcs\n", f, ROOT), /line 2: 'worker\/srcs' does not exist/);
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "images-missing-"));
        try {
            fs.mkdirSync(path.join(repo, "images", "new"), { recursive: true });
            fs.writeFileSync(path.join(repo, "images", "new", "Dockerfile"), "FROM scratch\n");
            assert.throws(() => contentTag("new", repo), /image 'new' needs images\/new\/Dockerfile\.dockerignore, which does not exist/);
        } finally {
            fs.rmSync(repo, { recursive: true, force: true });
        }
    });

    it("the program's Image gets exactly the settings its tag hashes (besides tags and registry credentials)", async () => {
        const up = await runStackUnderMocks("dev");
        const builds = up.resources.filter((r) => r.type === "docker-build:index:Image");
        assert.ok(builds.length > 0);
        for (const b of builds) {
            const image = b.name.replace("eks-inference-dev-", "");
            const [tag] = b.inputs.tags as string[];
            const repo = (tag as string).replace(/:[^:/]+$/, "");
            const { tags: _tags, registries: _registries, ...rest } = b.inputs;
            const given = JSON.parse(JSON.stringify(rest).split(repo).join(REPOSITORY_PLACEHOLDER)) as unknown;
            assert.equal(
                canonicalJson(given),
                canonicalJson(buildSettings(image, ROOT, (IMAGES[image as ImageName] as ImageSpec).buildArgs ?? {})),
                image,
            );
        }
    });

    it("a preview builds nothing and knows no digest; after up, pods run repo@digest of the pushed tag", async () => {
        const UNKNOWN = "<unknown until apply>";
        const [preview, up] = await Promise.all([runStackUnderMocks("dev", { preview: true }), runStackUnderMocks("dev")]);
        const builds = preview.resources.filter((r) => r.type === "docker-build:index:Image");
        assert.ok(builds.length > 0);
        for (const b of builds) {
            assert.equal(b.inputs.buildOnPreview, false);
            assert.equal(b.inputs.push, true);
        }
        // The digest exists only after the push, so the refs (and the output holding them) are unknown.
        assert.equal(preview.outputs.imageRefs, UNKNOWN);
        const previewPods = preview.resources.filter((r) => r.type === "kubernetes:apps/v1:DaemonSet").map((r) => JSON.stringify(r.inputs));
        assert.ok(previewPods.length > 0 && previewPods.every((p) => !/@sha256:/.test(p)), "no invented digest in a previewed pod spec");
        const upRefs = up.outputs.imageRefs as Record<string, string>;
        for (const b of up.resources.filter((r) => r.type === "docker-build:index:Image")) {
            const image = b.name.replace("eks-inference-dev-", "");
            const [tag] = b.inputs.tags as string[];
            const repo = (tag as string).replace(/:[^:/]+$/, "");
            assert.match(String(upRefs[image]), new RegExp(`^${repo.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}$`));
        }
        const daemonSet = up.resources.find((r) => r.type === "kubernetes:apps/v1:DaemonSet");
        const pod = (
            (daemonSet?.inputs.spec as Record<string, unknown>).template as {
                spec: { containers: { image: string }[]; initContainers?: { image: string }[] };
            }
        ).spec;
        for (const c of [...(pod.initContainers ?? []), ...pod.containers])
            assert.match(c.image, /@sha256:[0-9a-f]{64}$/, "pods pull by digest");
    });
});
