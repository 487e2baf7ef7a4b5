// Where each stack's `pulumi up` runs in CI (.github/workflows/deploy.yml), and how long its AWS session lasts.
//
// Disk. `up` builds the stack's images on the runner (docker-build, BuildKit in a docker-container builder,
// whose store is a Docker volume under Docker's root directory). A standard GitHub-hosted Linux runner
// promises 14 GB of SSD (GitHub docs, "Supported runners and hardware resources"); the Triton images alone
// are ~20 GB unpacked. Per image, the estimate counts the base image twice (compressed blobs in BuildKit's
// content store, unpacked snapshots for the RUN steps), the new layers unpacked and compressed (push and
// registry cache), and ~25 % headroom. Images of one `up` build in parallel, so a stack needs the sum. A
// stack that needs more than a standard runner has goes to the runner labelled IMAGE_BUILD_RUNNER; the job's
// first step measures the free disk there and stops, before anything is deployed, when it is short.
//
// Time. The deploy job's AWS session must outlast the longest `up`; LONGEST_UP is that estimate.
import { parseConfig } from "../config/config";
import type { ImageName } from "../platform/images";
import { stackImages } from "../platform/stack-images";
import { readStackConfig } from "./stacks";

/** GiB of SSD a standard GitHub-hosted Linux runner (ubuntu-latest) promises. */
export const HOSTED_RUNNER_DISK_GIB = 14;

/** Estimated free disk (GiB) that building each image needs; sizes of the bases are approximate (not measured here). */
export const IMAGE_BUILD_DISK_GIB: Readonly<Record<ImageName, number>> = {
    // node:24 bookworm-slim (~0.1 GB) in both stages, `npm ci` of the whole lockfile in the build stage (~1.5 GB), ffmpeg (~0.4 GB).
    worker: 5,
    // tensorflow/serving CPU image: ~0.5 GB compressed, ~1 GB unpacked.
    "tf-serving-cpu": 3,
    // tensorflow/serving -gpu carries CUDA and cuDNN: ~3.5 GB compressed, ~7 GB unpacked.
    "tf-serving-nvidia": 12,
    // ubuntu:jammy plus the Neuron apt packages (~1.5 GB unpacked).
    "tf-serving-neuron": 4,
    "tf-serving-neuronx": 4,
    // nvcr.io tritonserver -py3: ~8 GB compressed, ~17 GB unpacked; plus torch (CPU), neuronx-cc, torch-neuronx, transformers (~5 GB).
    "triton-neuronx": 40,
    // The same base plus torch (CPU) and transformers (~3 GB).
    "triton-cpu": 36,
};

export function buildDiskGiB(images: readonly ImageName[]): number {
    return images.reduce((sum, image) => sum + IMAGE_BUILD_DISK_GIB[image], 0);
}

/** One entry of deploy.yml's `up` matrix. */
export interface DeployTarget {
    stack: string;
    /** Runner label the stack's `up` runs on. */
    runner: string;
    /** Free disk (GiB) the runner must have for the stack's image builds. */
    buildDiskGiB: number;
    /** The images the stack builds, comma-separated (for the job's messages). */
    images: string;
}

export interface RunnerLabels {
    /** vars.DEPLOY_RUNNER: where every `up` runs (network reach of the cluster endpoint); default ubuntu-latest. */
    deployRunner?: string;
    /** vars.IMAGE_BUILD_RUNNER: where stacks whose images do not fit a standard runner build them. */
    imageBuildRunner?: string;
}

/** Each stack's runner: DEPLOY_RUNNER (default ubuntu-latest), or IMAGE_BUILD_RUNNER when its images need more disk than a standard runner has. */
export function deployTargets(stacks: readonly string[], labels: RunnerLabels, root?: string): DeployTarget[] {
    const base = labels.deployRunner || "ubuntu-latest";
    return stacks.map((stack) => {
        const raw = readStackConfig(stack, root);
        const values: Record<string, string> = {};
        for (const [key, value] of Object.entries(raw))
            if (key.startsWith("eks-inference:")) values[key.slice("eks-inference:".length)] = value;
        const config = parseConfig({ values, secretKeys: [], region: raw["aws:region"], stack });
        const images = stackImages(config);
        const need = buildDiskGiB(images);
        // Without IMAGE_BUILD_RUNNER the stack still gets a runner; its first step then stops with what to set.
        const runner = need > HOSTED_RUNNER_DISK_GIB && labels.imageBuildRunner ? labels.imageBuildRunner : base;
        return { stack, runner, buildDiskGiB: need, images: images.join(", ") };
    });
}

/**
 * The longest `up` of a checked-in stack: prod's first, from nothing (minutes; typical, slow). Pulumi runs
 * independent resources in parallel, so it is the longest chain:
 * - the program, its live reads and the refresh: 2 / 4;
 * - then, in parallel, the platform (VPC and NAT gateways 3 / 5, EKS control plane 10 / 20, the CNI and Pod
 *   Identity add-ons 2 / 5, node groups 5 / 15, CoreDNS and the device-plugin Helm releases, which wait for
 *   their DaemonSets, 3 / 8: 23 / 53) and the image builds (triton-neuronx: pull ~8 GB, pip installs, push and
 *   cache export, 25 / 60 on a 4-core runner);
 * - then the video DaemonSet's await (pull of the serving image, model fetch, load): 5 / 10.
 * The BERT compile Job and Deployment are not awaited (pulumi.com/skipAwait): their ~30 minutes run after `up`.
 * A rollout of a new worker image over prod's 10 video nodes goes a quarter of the nodes at a time
 * (infra/video/rollout.ts: at most 4 turns, typically 1-4 min each) and is shorter, except when every turn
 * runs to its full customTimeouts budget (70 min on prod): 4 + 10 (worker build) + 70 = 84, still inside
 * UP_JOB_TIMEOUT_MINUTES.
 */
export const LONGEST_UP_MINUTES = {
    typical: 2 + Math.max(23, 25) + 5,
    slow: 4 + Math.max(53, 60) + 10,
} as const;

/** role-duration-seconds of the deploy job, and the deploy roles' MaxSessionDuration (README, one-time setup). */
export const DEPLOY_SESSION_SECONDS = 3 * 3600;

/** timeout-minutes of the deploy job: past the slow estimate with room, inside the session. */
export const UP_JOB_TIMEOUT_MINUTES = 150;
