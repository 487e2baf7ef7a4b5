// ECR repositories and container images for the enabled workloads, built with @pulumi/docker-build.
//
// Each image's build context is the repository root filtered by its own allowlist,
// images/<name>/Dockerfile.dockerignore (BuildKit and the provider both prefer a Dockerfile-specific
// ignore file to the root one). The program reads exactly that file set, normalises each file's mode to
// what git records (0644, or 0755 when the owner may execute it) and stages the result in
// node_modules/.cache/eks-inference/image-contexts/<image>-<digest>/; the Image builds from that staged
// copy. The image's tag is a hash of the staged content (paths, executable bits, bytes, the Dockerfile and
// the allowlist) and of every build setting the Image is given (BuildSettings), so the tag changes exactly
// when what the build reads or how it builds changes:
// an edit to README.md or infra/ leaves every tag (and context) alone, a checkout made under another umask
// (0664 instead of 0644) changes nothing, and ECR's immutable tags never see the same tag pushed twice with
// different content. Pods refer to images by digest.
//
// Why stage: the provider's own context hash (pulumi-docker-build 0.0.22 provider/internal/context.go,
// hashFile) covers each file's bytes, path and full Go FileMode string, and any change of it makes the
// provider rebuild and push under the unchanged tag, which ECR refuses. Hashing the staged copy, whose modes
// are normalised, makes the provider's hash a function of exactly what the tag covers.
//
// Adding an image: a folder images/<name>/ with a Dockerfile and a Dockerfile.dockerignore, and one
// entry in IMAGES below.
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AcceleratorProfileName } from "./accelerators";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface ImageSpec {
    /** What runs the image (documentation; shown in the plan). */
    readonly usedBy: string;
    /** Build args passed to the Dockerfile. They are part of the tag. */
    readonly buildArgs?: Readonly<Record<string, string>>;
}

/** Every image the program can build, by name (= folder under images/ and ECR repository suffix). */
export const IMAGES = {
    worker: { usedBy: "video worker container, model-fetch init container (video and BERT)" },
    "tf-serving-cpu": { usedBy: "model server of the cpu profile" },
    "tf-serving-nvidia": { usedBy: "model server of the nvidia profile" },
    "tf-serving-neuron": { usedBy: "model server of the inf1 profile" },
    "tf-serving-neuronx": { usedBy: "model server of the inf2 profile (video, legacy BERT)" },
    "triton-neuronx": { usedBy: "BERT on Inf2 (bertServer triton): Triton server, compile Job, wait-for-model init container" },
    "triton-cpu": { usedBy: "BERT on CPU (bertServer triton): Triton server, compile Job, wait-for-model init container" },
} as const satisfies Readonly<Record<string, ImageSpec>>;

export type ImageName = keyof typeof IMAGES;

/** BERT on Triton (issue 13): the image per target; each also runs the compile Job and the wait-for-model init container. */
export const BERT_TRITON_IMAGE: Readonly<Record<"neuronx" | "cpu", ImageName>> = { neuronx: "triton-neuronx", cpu: "triton-cpu" };

export function isImageName(name: string): name is ImageName {
    return Object.prototype.hasOwnProperty.call(IMAGES, name);
}

/** The TF Serving image each accelerator profile runs. */
export const SERVING_IMAGE: Readonly<Record<AcceleratorProfileName, ImageName>> = {
    cpu: "tf-serving-cpu",
    nvidia: "tf-serving-nvidia",
    inf1: "tf-serving-neuron",
    inf2: "tf-serving-neuronx",
};

/** The one mutable tag in each repository: the BuildKit registry cache (see Images). */
export const CACHE_TAG = "buildcache";

/** Repository-relative paths of an image's Dockerfile and its build-context allowlist. */
export function imagePaths(image: string): { dockerfile: string; ignoreFile: string } {
    const dockerfile = path.posix.join("images", image, "Dockerfile");
    return { dockerfile, ignoreFile: `${dockerfile}.dockerignore` };
}

/**
 * The allowlist in an image's Dockerfile.dockerignore: `*` (exclude everything) followed by
 * `!<path>` lines that bring back one file or directory each. Only this form is accepted, so the
 * context the program hashes and the context BuildKit sends cannot drift apart on pattern
 * semantics.
 */
export function parseAllowlist(text: string, file: string, root: string = REPO_ROOT): string[] {
    const lines = text
        .split("\n")
        .map((l, i) => ({ n: i + 1, text: l.trim() }))
        .filter((l) => l.text !== "" && !l.text.startsWith("#"));
    if (lines[0]?.text !== "*") {
        throw new Error(
            `${file}: the first pattern must be '*' (exclude everything, then list what the image reads as '!<path>'), found ${lines[0] ? `'${lines[0].text}' on line ${lines[0].n}` : "no patterns"}`,
        );
    }
    const allowed: string[] = [];
    for (const line of lines.slice(1)) {
        const entry = line.text.slice(1).replace(/\/+$/, "");
        if (
            !line.text.startsWith("!") ||
            entry === "" ||
            /[*?[\]\\]/.test(entry) ||
            entry.startsWith("/") ||
            entry.split("/").some((s) => s === ".." || s === ".")
        ) {
            throw new Error(
                `${file} line ${line.n}: '${line.text}' is not allowed; expected '!<path>' with a plain repository-relative path (no wildcards, '.', '..' or leading '/')`,
            );
        }
        if (!fs.existsSync(path.join(root, entry))) throw new Error(`${file} line ${line.n}: '${entry}' does not exist in the repository`);
        allowed.push(entry);
    }
    return allowed;
}

function walk(root: string, relative: string, out: string[]): void {
    const absolute = path.join(root, relative);
    const stat = fs.lstatSync(absolute);
    if (stat.isDirectory()) {
        for (const entry of fs.readdirSync(absolute)) walk(root, path.posix.join(relative, entry), out);
    } else {
        out.push(relative);
    }
}

/** Repository-relative paths of every file in an image's build context, sorted. */
export function contextFiles(image: string, root: string = REPO_ROOT): string[] {
    const { dockerfile, ignoreFile } = imagePaths(image);
    for (const required of [dockerfile, ignoreFile]) {
        if (!fs.existsSync(path.join(root, required))) throw new Error(`image '${image}' needs ${required}, which does not exist`);
    }
    const files: string[] = [];
    for (const entry of parseAllowlist(fs.readFileSync(path.join(root, ignoreFile), "utf8"), ignoreFile, root)) walk(root, entry, files);
    return [...new Set(files)].sort();
}

/** The mode a staged file gets: what git records (100644, or 100755 when the owner may execute the file). */
export function stagedMode(executable: boolean): number {
    return executable ? 0o755 : 0o644;
}
/** The mode of every staged directory. */
export const STAGED_DIR_MODE = 0o755;

/** One file of an image's build context as the image receives it. */
export interface ContextFile {
    /** Repository-relative, slash-separated. */
    path: string;
    /** The owner execute bit of the checkout (git's only mode bit); every other mode bit is normalised away. */
    executable: boolean;
    bytes: Buffer;
}

/** What an image build reads, as the program stages it. */
export interface ImageContext {
    image: string;
    dockerfile: Buffer;
    ignoreFile: Buffer;
    files: ContextFile[];
    /** sha256 (hex) over the Dockerfile, the allowlist and every file's path, executable bit and bytes. */
    digest: string;
}

/**
 * Reads an image's build context once (so the digest and the staged copy agree even if files change
 * meanwhile). Only regular files are accepted: a symlink would be sent to BuildKit as a link but hashed by
 * the provider through its target, so the error names it.
 */
export function readContext(image: string, root: string = REPO_ROOT): ImageContext {
    const { dockerfile, ignoreFile } = imagePaths(image);
    const files = contextFiles(image, root).map((file): ContextFile => {
        const absolute = path.join(root, file);
        const stat = fs.lstatSync(absolute);
        if (!stat.isFile())
            throw new Error(
                `image '${image}': ${file} is ${stat.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; ` +
                    `a build context may hold regular files only (copy the file instead, or take it out of ${ignoreFile})`,
            );
        return { path: file, executable: (stat.mode & 0o100) !== 0, bytes: fs.readFileSync(absolute) };
    });
    const context = {
        image,
        dockerfile: fs.readFileSync(path.join(root, dockerfile)),
        ignoreFile: fs.readFileSync(path.join(root, ignoreFile)),
        files,
    };
    const hash = createHash("sha256");
    const field = (value: string | Buffer): void => {
        hash.update(String(value.length)).update(":").update(value);
    };
    field(context.dockerfile);
    field(context.ignoreFile);
    for (const file of files) {
        field(file.path);
        field(file.executable ? "x" : "-");
        field(file.bytes);
    }
    return { ...context, digest: hash.digest("hex") };
}

/** Where an image's context is staged (absolute): named by its digest, so equal content shares one directory. */
export function stagingDir(context: ImageContext, root: string = REPO_ROOT): string {
    return path.join(root, "node_modules", ".cache", "eks-inference", "image-contexts", `${context.image}-${context.digest.slice(0, 16)}`);
}

/** True when `dir` holds exactly the staged form of `context` (bytes and normalised modes). */
function stagedCorrectly(context: ImageContext, dir: string): boolean {
    try {
        const { dockerfile, ignoreFile } = imagePaths(context.image);
        const expected: ContextFile[] = [
            { path: dockerfile, executable: false, bytes: context.dockerfile },
            { path: ignoreFile, executable: false, bytes: context.ignoreFile },
            ...context.files,
        ];
        const present: string[] = [];
        walk(dir, "", present);
        const wanted = new Map(expected.map((f) => [path.posix.normalize(f.path), f]));
        if (present.length !== wanted.size) return false;
        for (const file of present) {
            const want = wanted.get(path.posix.normalize(file));
            const stat = fs.lstatSync(path.join(dir, file));
            if (want === undefined || !stat.isFile() || (stat.mode & 0o7777) !== stagedMode(want.executable)) return false;
            if (!fs.readFileSync(path.join(dir, file)).equals(want.bytes)) return false;
        }
        return true;
    } catch {
        return false;
    }
}

/**
 * Writes the context into its staging directory (when it is not already there, intact) and removes this
 * image's other staged versions. Modes are set with chmod, which the umask does not narrow. The copy is
 * made in a temporary sibling and renamed into place, so concurrent runs never see a half-written context.
 */
export function stageContext(context: ImageContext, root: string = REPO_ROOT): string {
    const dir = stagingDir(context, root);
    const parent = path.dirname(dir);
    fs.mkdirSync(parent, { recursive: true });
    if (!stagedCorrectly(context, dir)) {
        const temporary = fs.mkdtempSync(`${dir}.tmp-`);
        try {
            const { dockerfile, ignoreFile } = imagePaths(context.image);
            const all: ContextFile[] = [
                { path: dockerfile, executable: false, bytes: context.dockerfile },
                { path: ignoreFile, executable: false, bytes: context.ignoreFile },
                ...context.files,
            ];
            for (const file of all) {
                const target = path.join(temporary, file.path);
                fs.mkdirSync(path.dirname(target), { recursive: true });
                fs.writeFileSync(target, file.bytes);
                fs.chmodSync(target, stagedMode(file.executable));
            }
            const chmodDirs = (relative: string): void => {
                const absolute = path.join(temporary, relative);
                fs.chmodSync(absolute, STAGED_DIR_MODE);
                for (const entry of fs.readdirSync(absolute, { withFileTypes: true }))
                    if (entry.isDirectory()) chmodDirs(path.join(relative, entry.name));
            };
            chmodDirs("");
            fs.rmSync(dir, { recursive: true, force: true });
            try {
                fs.renameSync(temporary, dir);
            } catch (err) {
                // Another run staged the same content first (same name, same bytes): keep its copy.
                if (!stagedCorrectly(context, dir)) throw err;
            }
        } finally {
            fs.rmSync(temporary, { recursive: true, force: true });
        }
    }
    for (const entry of fs.readdirSync(parent)) {
        const other = path.join(parent, entry);
        if (other !== dir && entry.startsWith(`${context.image}-`) && /^[0-9a-f]{16}$/.test(entry.slice(context.image.length + 1)))
            fs.rmSync(other, { recursive: true, force: true });
    }
    return dir;
}

function relativeToCwd(absolute: string): string {
    return path.relative(process.cwd(), absolute) || ".";
}

/** Stands for the repository URL in BuildSettings (the URL is known only once the repository exists). */
export const REPOSITORY_PLACEHOLDER = "<repository>";

/**
 * Every input of the docker-build Image except its tags and registry credentials, with the repository URL
 * as REPOSITORY_PLACEHOLDER. The provider rebuilds and pushes when any of these changes (image.go Diff:
 * buildArgs, buildOnPreview, cacheFrom, cacheTo, context, dockerfile, platforms, push, target, ...), so
 * all of them are part of the content tag: a rebuild always pushes a new tag, never one ECR already holds.
 * The Image is declared from this same object (Images below), so the two cannot drift apart.
 */
export interface BuildSettings {
    context: { location: string };
    dockerfile: { location: string };
    buildArgs: Record<string, string>;
    platforms: "linux/amd64"[];
    push: boolean;
    buildOnPreview: boolean;
    cacheFrom: { registry: { ref: string } }[];
    cacheTo: { registry: { ref: string; mode: "max" | "min"; imageManifest: boolean; ociMediaTypes: boolean; ignoreError: boolean } }[];
    /** The SDK's default, stated so the tag covers it. */
    network: "default" | "host" | "none";
    target?: string;
}

/**
 * How the program builds `image`: from its staged context (paths relative to the working directory, which
 * the provider sees too, so state holds no machine-specific paths).
 */
export function buildSettings(
    image: string,
    root: string = REPO_ROOT,
    buildArgs: Readonly<Record<string, string>> = {},
    context: ImageContext = readContext(image, root),
): BuildSettings {
    const cacheRef = `${REPOSITORY_PLACEHOLDER}:${CACHE_TAG}`;
    const staged = stagingDir(context, root);
    return {
        // The staged copy holds the Dockerfile's sibling .dockerignore, which narrows the context as in the repository.
        context: { location: relativeToCwd(staged) },
        dockerfile: { location: relativeToCwd(path.join(staged, imagePaths(image).dockerfile)) },
        buildArgs: { ...buildArgs },
        platforms: ["linux/amd64"],
        push: true,
        // Build (and push) only on `up`; a preview reports the change from the context hash.
        buildOnPreview: false,
        // Layer cache in the image's own repository, in the format ECR accepts (OCI image manifest).
        cacheFrom: [{ registry: { ref: cacheRef } }],
        cacheTo: [{ registry: { ref: cacheRef, mode: "max", imageManifest: true, ociMediaTypes: true, ignoreError: true } }],
        network: "default",
    };
}

/** JSON with object keys sorted at every level, so equal settings always hash the same. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/**
 * The image's tag: sha256 over the context digest (Dockerfile, allowlist, and every context file's path,
 * executable bit and bytes; no other mode bit, so a 0644 and a 0664 checkout share a tag) and the build
 * settings (canonical JSON).
 */
export function contentTag(
    image: string,
    root: string = REPO_ROOT,
    settings?: BuildSettings,
    context: ImageContext = readContext(image, root),
): string {
    const hash = createHash("sha256");
    const field = (value: string): void => {
        hash.update(String(value.length)).update(":").update(value);
    };
    field(context.digest);
    field(canonicalJson(settings ?? buildSettings(image, root, {}, context)));
    return hash.digest("hex").slice(0, 16);
}

/** ECR lifecycle: drop untagged layers after a day, keep the newest `keep` tagged images. */
export function lifecyclePolicy(keep: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: "Expire untagged images after 1 day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Keep the newest ${keep} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    });
}

export interface ImagesArgs {
    /** Repository name prefix, e.g. eks-inference/dev. */
    repositoryPrefix: string;
    /** The images this stack needs (one ECR repository and one build each). */
    images: ImageName[];
    /** Optional label put in front of every content tag (`<label>-<hash>`). */
    tagPrefix?: string;
    /** How many tagged images each repository keeps (the ECR lifecycle policy). */
    keepImages: number;
}

export class Images extends pulumi.ComponentResource {
    /** Pullable references (repository URL + digest) by image name. */
    readonly refs: Partial<Record<ImageName, pulumi.Output<string>>> = {};
    /** The tag each image is pushed under. */
    readonly tags: Partial<Record<ImageName, string>> = {};
    readonly repositories: Partial<Record<ImageName, aws.ecr.Repository>> = {};

    constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:Images", name, {}, opts);
        for (const image of [...new Set(args.images)].sort()) {
            const spec: ImageSpec = IMAGES[image];
            // Read once: the staged copy, the settings and the tag all come from the same bytes.
            const context = readContext(image, REPO_ROOT);
            stageContext(context, REPO_ROOT);
            const settings = buildSettings(image, REPO_ROOT, spec.buildArgs ?? {}, context);
            const hash = contentTag(image, REPO_ROOT, settings, context);
            const tag = args.tagPrefix ? `${args.tagPrefix}-${hash}` : hash;
            const repo = new aws.ecr.Repository(
                `${name}-${image}`,
                {
                    name: `${args.repositoryPrefix}/${image}`,
                    // Content tags never move; only the build cache's own tag is rewritten on each build.
                    imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                    imageTagMutabilityExclusionFilters: [{ filter: CACHE_TAG, filterType: "WILDCARD" }],
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "AES256" }],
                    // Every image here is rebuilt from the repository: `destroy`, or an `up` that drops an image, deletes
                    // the repository with its images (old tags and the buildcache tag stay after each Image delete).
                    forceDelete: true,
                },
                { parent: this },
            );
            // A repository has one lifecycle policy and a new policy text replaces this resource (no update in the
            // provider): delete the old one first, or its delete would remove the new policy.
            new aws.ecr.LifecyclePolicy(
                `${name}-${image}`,
                { repository: repo.name, policy: lifecyclePolicy(args.keepImages) },
                { parent: this, deleteBeforeReplace: true },
            );
            const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
            const inRepository = (ref: string): pulumi.Output<string> =>
                repo.repositoryUrl.apply((url) => ref.split(REPOSITORY_PLACEHOLDER).join(url));
            // Declared from the settings the tag hashes; only the tags and the registry credentials are added
            // (the provider ignores password changes; the username and address follow the repository).
            const built = new dockerBuild.Image(
                `${name}-${image}`,
                {
                    ...settings,
                    tags: [pulumi.interpolate`${repo.repositoryUrl}:${tag}`],
                    cacheFrom: settings.cacheFrom.map((c) => ({ registry: { ...c.registry, ref: inRepository(c.registry.ref) } })),
                    cacheTo: settings.cacheTo.map((c) => ({ registry: { ...c.registry, ref: inRepository(c.registry.ref) } })),
                    registries: [{ address: repo.repositoryUrl, username: auth.userName, password: pulumi.secret(auth.password) }],
                },
                { parent: this },
            );
            this.repositories[image] = repo;
            this.tags[image] = tag;
            this.refs[image] = pulumi.interpolate`${repo.repositoryUrl}@${built.digest}`;
        }
        this.registerOutputs({ refs: this.refs });
    }
}
