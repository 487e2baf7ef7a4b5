// ECR repositories and container images for the enabled workloads, built with @pulumi/docker-build.
//
// Each image's build context is the repository root filtered by its own allowlist,
// images/<name>/Dockerfile.dockerignore (BuildKit and the provider both prefer a Dockerfile-specific
// ignore file to the root one). The image's tag is a hash of exactly that context plus the Dockerfile,
// the allowlist and every build setting the Image is given (BuildSettings), so the tag changes exactly
// when what the build reads or how it builds changes:
// an edit to README.md or infra/ leaves every tag (and context) alone, and ECR's immutable tags never
// see the same tag pushed twice with different content. Pods refer to images by digest.
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

/** How the program builds `image` (paths relative to the working directory, which the provider sees too). */
export function buildSettings(image: string, root: string = REPO_ROOT, buildArgs: Readonly<Record<string, string>> = {}): BuildSettings {
    const cacheRef = `${REPOSITORY_PLACEHOLDER}:${CACHE_TAG}`;
    return {
        // Relative to the project directory (the CLI's working directory), so state holds no
        // machine-specific paths. The Dockerfile's sibling .dockerignore narrows the context.
        context: { location: relativeToCwd(root) },
        dockerfile: { location: relativeToCwd(path.join(root, imagePaths(image).dockerfile)) },
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
 * The image's tag: sha256 over the Dockerfile, its allowlist, the build settings (canonical JSON) and
 * every file of the build context: path, full file mode (type and permission bits, as the provider's
 * hashFile writes fileMode.String(), so 0644 -> 0664 is a new context hash and a new tag) and bytes; a
 * symlink by its target.
 */
export function contentTag(image: string, root: string = REPO_ROOT, settings: BuildSettings = buildSettings(image, root)): string {
    const files = contextFiles(image, root);
    const { dockerfile, ignoreFile } = imagePaths(image);
    const hash = createHash("sha256");
    const field = (value: string | Buffer): void => {
        hash.update(String(value.length)).update(":").update(value);
    };
    field(fs.readFileSync(path.join(root, dockerfile)));
    field(fs.readFileSync(path.join(root, ignoreFile)));
    field(canonicalJson(settings));
    for (const file of files) {
        const absolute = path.join(root, file);
        const stat = fs.lstatSync(absolute);
        field(file);
        field(stat.mode.toString(8));
        field(stat.isSymbolicLink() ? fs.readlinkSync(absolute) : fs.readFileSync(absolute));
    }
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
            const settings = buildSettings(image, REPO_ROOT, spec.buildArgs ?? {});
            const hash = contentTag(image, REPO_ROOT, settings);
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
                    forceDelete: false,
                },
                { parent: this },
            );
            new aws.ecr.LifecyclePolicy(
                `${name}-${image}`,
                { repository: repo.name, policy: lifecyclePolicy(args.keepImages) },
                { parent: this },
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
