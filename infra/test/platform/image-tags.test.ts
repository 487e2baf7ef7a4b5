// Image content tags on a scratch repository, and the ECR lifecycle policy.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contentTag, lifecyclePolicy } from "../../platform/images";

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
