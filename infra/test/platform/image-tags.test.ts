// Image content tags on a scratch repository, and the ECR lifecycle policy.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildSettings, contentTag, imagePaths, lifecyclePolicy, readContext, stageContext, stagingDir } from "../../platform/images";
import { providerContextHash } from "../support/provider-context-hash";

describe("image tags and ECR lifecycle", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "images-"));
        fs.mkdirSync(path.join(root, "images", "worker"), { recursive: true });
        fs.mkdirSync(path.join(root, "worker", "src"), { recursive: true });
        fs.writeFileSync(path.join(root, "images", "worker", "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(root, "images", "worker", "Dockerfile.dockerignore"), "*\n!worker/src\n!package.json\n");
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export {};\n");
        fs.writeFileSync(path.join(root, "package.json"), "{}");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("is stable for the same content and changes when the image's sources change", () => {
        const first = contentTag("worker", root);
        assert.match(first, /^[0-9a-f]{16}$/);
        assert.strictEqual(contentTag("worker", root), first);
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export const changed = 1;\n");
        assert.notStrictEqual(contentTag("worker", root), first);
    });

    it("ignores sources of other images", () => {
        fs.mkdirSync(path.join(root, "images", "tf-serving-cpu"), { recursive: true });
        fs.writeFileSync(path.join(root, "images", "tf-serving-cpu", "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(root, "images", "tf-serving-cpu", "Dockerfile.dockerignore"), "*\n!images/tf-serving-cpu\n");
        const cpu = contentTag("tf-serving-cpu", root);
        fs.writeFileSync(path.join(root, "worker", "src", "main.ts"), "export const changed = 2;\n");
        assert.strictEqual(contentTag("tf-serving-cpu", root), cpu);
    });

    describe("file modes: only the executable bit makes a new image, for the tag and for the provider alike", () => {
        /** The tag, and the contextHash pulumi-docker-build 0.0.22 computes for what the Image is given (the staged copy). */
        const observe = (): { tag: string; provider: string } => {
            const context = readContext("worker", root);
            const staged = stageContext(context, root);
            const settings = buildSettings("worker", root, {}, context);
            assert.equal(path.resolve(settings.context.location), staged, "the Image builds from the staged copy");
            assert.equal(path.resolve(settings.dockerfile.location), path.join(staged, imagePaths("worker").dockerfile));
            return {
                tag: contentTag("worker", root, settings, context),
                provider: providerContextHash(path.resolve(settings.context.location), path.resolve(settings.dockerfile.location)),
            };
        };
        const main = (): string => path.join(root, "worker", "src", "main.ts");

        it("0644 and 0664 checkouts share the tag and the provider's context hash (the raw checkout's hash would differ)", () => {
            fs.chmodSync(main(), 0o644);
            const at0644 = observe();
            const raw0644 = providerContextHash(root, path.join(root, imagePaths("worker").dockerfile));
            fs.chmodSync(main(), 0o664);
            assert.deepStrictEqual(observe(), at0644);
            // What the provider would have hashed had it been given the checkout itself: a rebuild under the same tag.
            assert.notStrictEqual(providerContextHash(root, path.join(root, imagePaths("worker").dockerfile)), raw0644);
        });

        it("0644 -> 0755 is a new tag and a new provider hash; so is a content change", () => {
            fs.chmodSync(main(), 0o644);
            const before = observe();
            fs.chmodSync(main(), 0o755);
            const executable = observe();
            assert.notStrictEqual(executable.tag, before.tag);
            assert.notStrictEqual(executable.provider, before.provider);
            fs.chmodSync(main(), 0o644);
            assert.deepStrictEqual(observe(), before, "back to 0644: back to the first tag");
            fs.writeFileSync(main(), "export const changed = 3;\n");
            const edited = observe();
            assert.notStrictEqual(edited.tag, before.tag);
            assert.notStrictEqual(edited.provider, before.provider);
        });

        it("the same tag never carries two provider hashes: over mode, umask and content variants, tag equality is provider-hash equality", () => {
            const seen = new Map<string, string>();
            const record = (): void => {
                const { tag, provider } = observe();
                assert.strictEqual(seen.get(tag) ?? provider, provider, `tag ${tag} with two provider hashes`);
                seen.set(tag, provider);
            };
            const previous = process.umask(0o077);
            try {
                for (const mode of [0o644, 0o664, 0o600, 0o755, 0o775, 0o700]) {
                    fs.chmodSync(main(), mode);
                    fs.rmSync(path.join(root, "node_modules"), { recursive: true, force: true });
                    record(); // staged under umask 077: chmod, not the umask, sets the staged modes
                    process.umask(0o002);
                    fs.rmSync(path.join(root, "node_modules"), { recursive: true, force: true });
                    record();
                    process.umask(0o077);
                }
                fs.writeFileSync(main(), "export const other = 4;\n");
                record();
            } finally {
                process.umask(previous);
            }
            assert.strictEqual(new Set(seen.values()).size, seen.size, "distinct tags have distinct provider hashes");
            assert.strictEqual(seen.size, 3, "644-like, 755-like, and the content change");
        });

        it("stages with git's modes whatever the umask, keeps one staged copy per image, and restores a tampered copy", () => {
            const previous = process.umask(0o077);
            try {
                fs.chmodSync(main(), 0o700);
                const context = readContext("worker", root);
                const dir = stageContext(context, root);
                assert.strictEqual(fs.statSync(path.join(dir, "worker", "src", "main.ts")).mode & 0o7777, 0o755);
                assert.strictEqual(fs.statSync(path.join(dir, "package.json")).mode & 0o7777, 0o644);
                assert.strictEqual(fs.statSync(path.join(dir, "worker")).mode & 0o7777, 0o755);
                fs.chmodSync(path.join(dir, "package.json"), 0o666);
                fs.writeFileSync(path.join(dir, "stray.txt"), "x");
                assert.strictEqual(stageContext(context, root), dir);
                assert.strictEqual(fs.statSync(path.join(dir, "package.json")).mode & 0o7777, 0o644);
                assert.ok(!fs.existsSync(path.join(dir, "stray.txt")));
                fs.writeFileSync(main(), "export const newer = 5;\n");
                const newer = stageContext(readContext("worker", root), root);
                assert.notStrictEqual(newer, dir);
                assert.ok(!fs.existsSync(dir), "the previous staged copy of this image is removed");
                assert.strictEqual(newer, stagingDir(readContext("worker", root), root));
            } finally {
                process.umask(previous);
            }
        });

        it("refuses a symbolic link in a build context, naming it", () => {
            fs.symlinkSync("main.ts", path.join(root, "worker", "src", "link.ts"));
            assert.throws(() => readContext("worker", root), /image 'worker': worker\/src\/link\.ts is a symbolic link/);
        });
    });

    it("fails clearly when a needed Dockerfile is missing", () => {
        assert.throws(
            () => contentTag("tf-serving-neuronx", root),
            /image 'tf-serving-neuronx' needs images\/tf-serving-neuronx\/Dockerfile, which does not exist/,
        );
    });

    it("keeps the newest N images and drops untagged ones", () => {
        const rules = (JSON.parse(lifecyclePolicy(7)) as { rules: { selection: Record<string, unknown>; action: { type: string } }[] })
            .rules;
        assert.deepStrictEqual(
            rules.map((r) => [r.selection.tagStatus, r.selection.countType, r.selection.countNumber, r.action.type]),
            [
                ["untagged", "sinceImagePushed", 1, "expire"],
                ["any", "imageCountMoreThan", 7, "expire"],
            ],
        );
    });
});
