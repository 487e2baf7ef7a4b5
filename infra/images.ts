// ECR repositories and container images for the enabled workloads. Images are built and pushed by
// `pulumi up` only (docker.Image skips the build during preview, so previews need no Docker daemon).
// Tags are immutable, so each tag is a hash of what goes into the image unless `imageTag` is set.
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AcceleratorProfileName } from "./accelerators";

export const REPO_ROOT = path.resolve(__dirname, "..");

export type ImageName = "worker" | "tf-serving-cpu" | "tf-serving-nvidia" | "tf-serving-neuron" | "tf-serving-neuronx";

/** The TF Serving image each accelerator profile runs. */
export const SERVING_IMAGE: Readonly<Record<AcceleratorProfileName, ImageName>> = {
    cpu: "tf-serving-cpu",
    nvidia: "tf-serving-nvidia",
    inf1: "tf-serving-neuron",
    inf2: "tf-serving-neuronx",
};

/** Repository paths (besides images/<name>/) whose content goes into each image. */
const EXTRA_SOURCES: Readonly<Partial<Record<ImageName, readonly string[]>>> = {
    // What images/worker/Dockerfile copies into its build stage.
    worker: ["worker/src", "package.json", "package-lock.json", "tsconfig.json"],
};

const SKIP = new Set(["node_modules", "dist", ".git", "test", "bench"]);

function listFiles(absolute: string): string[] {
    const stat = fs.statSync(absolute);
    if (stat.isFile()) return [absolute];
    return fs
        .readdirSync(absolute)
        .filter((entry) => !SKIP.has(entry))
        .sort()
        .flatMap((entry) => listFiles(path.join(absolute, entry)));
}

/** A content tag: sha256 over the relative paths and bytes of every file the image is built from. */
export function contentTag(image: ImageName, root: string = REPO_ROOT): string {
    const dockerfile = path.join(root, "images", image, "Dockerfile");
    if (!fs.existsSync(dockerfile)) {
        throw new Error(`image '${image}' is needed by the enabled workloads but ${path.relative(root, dockerfile)} does not exist`);
    }
    const hash = createHash("sha256");
    for (const source of [path.join("images", image), ...(EXTRA_SOURCES[image] ?? [])]) {
        const absolute = path.join(root, source);
        if (!fs.existsSync(absolute)) continue;
        for (const file of listFiles(absolute)) {
            hash.update(path.relative(root, file)).update("\0").update(fs.readFileSync(file)).update("\0");
        }
    }
    return hash.digest("hex").slice(0, 16);
}

function relativeToCwd(absolute: string): string {
    return path.relative(process.cwd(), absolute) || ".";
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
    images: ImageName[];
    /** Fixed tag for every image; undefined means a content hash per image. */
    tag?: string;
    keepImages: number;
}

export class Images extends pulumi.ComponentResource {
    /** Pullable references (repository URL + digest) by image name. */
    readonly refs: Partial<Record<ImageName, pulumi.Output<string>>> = {};
    readonly repositories: Partial<Record<ImageName, aws.ecr.Repository>> = {};

    constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:Images", name, {}, opts);
        for (const image of [...new Set(args.images)].sort()) {
            const tag = args.tag ?? contentTag(image);
            const repo = new aws.ecr.Repository(`${name}-${image}`, {
                name: `${args.repositoryPrefix}/${image}`,
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                forceDelete: false,
            }, { parent: this });
            new aws.ecr.LifecyclePolicy(`${name}-${image}`, { repository: repo.name, policy: lifecyclePolicy(args.keepImages) }, { parent: this });
            const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
            const built = new docker.Image(`${name}-${image}`, {
                imageName: pulumi.interpolate`${repo.repositoryUrl}:${tag}`,
                build: {
                    // Relative to the project directory (the CLI's working directory), so state holds
                    // no machine-specific absolute paths.
                    context: relativeToCwd(REPO_ROOT),
                    dockerfile: relativeToCwd(path.join(REPO_ROOT, "images", image, "Dockerfile")),
                    platform: "linux/amd64",
                },
                registry: {
                    server: repo.repositoryUrl,
                    username: auth.userName,
                    password: pulumi.secret(auth.password),
                },
            }, { parent: this });
            this.repositories[image] = repo;
            this.refs[image] = built.repoDigest;
        }
        this.registerOutputs({ refs: this.refs });
    }
}
