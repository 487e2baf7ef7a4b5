// BERT serving (issue 13): which server and accelerator, the model the stack compiles, and the versions
// everything is pinned to. Pure data and parsing helpers: config.ts reads the keys, this module decides.
//
// Neuron versions and node AMI pins come from one table, infra/bert/neuron-releases.ts (sources there).
// Triton: triton-inference-server/server branch r26.08 (build.py DEFAULT_TRITON_VERSION_MAP: release 2.72.0,
// container 26.08, upstream container 26.08; README: nvcr.io/nvidia/tritonserver:26.08-py3;
// docs/introduction/compatibility.md: Python 3.12.3 in the 26.08 Python-backend containers, Ubuntu 24.04).

import { EKS_VERSIONS } from "../config/kubernetes-versions";
import { LEGACY_TF_NEURON, NeuronAmiRelease, PinnableNeuronRelease, TRITON_NEURON } from "./neuron-releases";

export const BERT_SERVERS = ["triton", "tf-serving"] as const;
export type BertServer = (typeof BERT_SERVERS)[number];

/** Accelerators each server can run on. Inf1 needs the Neuron 1.x stack, which only the legacy TF image carries. */
export const BERT_ACCELERATORS: Readonly<Record<BertServer, readonly ("inf2" | "inf1" | "cpu")[]>> = {
    triton: ["inf2", "cpu"],
    "tf-serving": ["inf2", "inf1"],
};
export type BertAccelerator = "inf2" | "inf1" | "cpu";

/** The Neuron release the Triton image, the compile Job and the model key are pinned to. */
export const NEURON_RELEASE = TRITON_NEURON.release;
export const NEURON_VERSIONS = {
    torchNeuronx: TRITON_NEURON.components.torchNeuronx as string,
    neuronxCc: TRITON_NEURON.components.neuronxCc as string,
    runtimeLib: TRITON_NEURON.components.runtimeLib,
    collectives: TRITON_NEURON.components.collectives as string,
    /** The node driver this release is tested with: the Triton Inf2 group pins the AMI release that ships it. */
    driver: TRITON_NEURON.components.driver,
} as const;
/** PyTorch the CPU image traces and serves with (the same major.minor torch-neuronx 2.9 builds on). */
export const TORCH_VERSION = "2.9.0";
export const TRITON_VERSIONS = { container: "26.08", server: "2.72.0" } as const;

/** Legacy TF Serving: the final TensorFlow Neuron build and the node AMI release whose driver matches it. */
export const LEGACY_TF_SERVING = {
    neuronRelease: LEGACY_TF_NEURON.release,
    modelServer: LEGACY_TF_NEURON.components.tfModelServer as string,
    runtimeLib: LEGACY_TF_NEURON.components.runtimeLib,
    driver: LEGACY_TF_NEURON.components.driver,
    amiRelease: LEGACY_TF_NEURON.ami.release,
    /** Managed node group releaseVersion of that AMI release, per Kubernetes version. */
    releaseVersions: LEGACY_TF_NEURON.ami.releaseVersions,
    /** The newest Kubernetes version the pinned AMI release exists for (its end of support: infra/config/kubernetes-versions.ts). */
    lastKubernetes: newestKubernetes(LEGACY_TF_NEURON.ami),
} as const;

function newestKubernetes(ami: NeuronAmiRelease): string {
    const minor = (v: string): number => Number(v.split(".")[1]);
    return Object.keys(ami.releaseVersions).reduce((a, b) => (minor(b) > minor(a) ? b : a));
}

/**
 * The Neuron release whose driver an accelerated node group must have, so its group pins the AMI release that
 * ships that driver; undefined when the group takes the newest AMI. Inf2 runs a user-space Neuron runtime that
 * must match the node driver: Triton (torch-neuronx) and TF Serving Neuronx (legacy BERT, video inf2). Inf1 needs
 * no pin: the AL2023 NEURON AMI installs the Inf1 driver (2.21.x) at boot on every release, and a pin would only
 * stop security updates. NVIDIA and CPU nodes carry no Neuron stack.
 */
export function neuronNodeRelease(
    runtime: "triton" | "tf-serving",
    accelerator: "inf2" | "inf1" | "nvidia" | "cpu",
): PinnableNeuronRelease | undefined {
    if (accelerator !== "inf2") return undefined;
    return runtime === "triton" ? TRITON_NEURON : LEGACY_TF_NEURON;
}

/** Kubernetes versions an AMI release has builds for, oldest first. */
export function amiKubernetesVersions(ami: NeuronAmiRelease): string[] {
    return Object.keys(ami.releaseVersions).sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
}

/** When EKS ends standard support for the newest version the pinned AMI exists for (the end of the legacy mode). */
export function legacyTfServingEnd(): string {
    return (
        EKS_VERSIONS.find((v) => v.version === LEGACY_TF_SERVING.lastKubernetes)?.endOfStandardSupport ??
        "(date not in infra/config/kubernetes-versions.ts)"
    );
}

export const DEFAULT_BERT_MODEL_ID = "google-bert/bert-base-cased-finetuned-mrpc";

/** A Hugging Face model id: `name` or `owner/name` (letters, digits, '-', '_', '.'), at most 96 characters. */
export function isHuggingFaceModelId(id: string): boolean {
    return id.length <= 96 && /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(id) && !id.includes("..");
}

/** "1,4,8" -> [1, 4, 8]; undefined when not a strictly increasing list of 1 to 4 sizes from 1 to 64. */
export function parseBatchSizes(text: string): number[] | undefined {
    const parts = text.split(",").map((p) => p.trim());
    if (parts.length < 1 || parts.length > 4 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
    const sizes = parts.map(Number);
    const ok = sizes.every((s, i) => s >= 1 && s <= 64 && (i === 0 || s > (sizes[i - 1] as number)));
    return ok ? sizes : undefined;
}

/** What the compile Job builds: a model traced at fixed shapes for one target. */
export interface CompiledModelSpec {
    modelId: string;
    sequenceLength: number;
    batchSizes: number[];
    /** neuronx: torch_neuronx.trace for Inf2; cpu: torch.jit.trace. */
    target: "neuronx" | "cpu";
}

/**
 * The key prefix (no leading slash, trailing slash) that names the model, its shapes and the toolchain:
 * bert/<model id>/seq128-batch1-4-8/neuronx-2.31.1/ or .../torch-2.9.0-cpu/. A change of any of them is
 * a new prefix, so a new compile; an existing prefix is never rebuilt.
 */
export function compiledModelPrefix(spec: CompiledModelSpec): string {
    const toolchain = spec.target === "neuronx" ? `neuronx-${NEURON_RELEASE}` : `torch-${TORCH_VERSION}-cpu`;
    return `bert/${spec.modelId}/seq${spec.sequenceLength}-batch${spec.batchSizes.join("-")}/${toolchain}/`;
}

/** Written last by the compile Job; its presence means every traced file under the prefix is complete. */
export const MODEL_MANIFEST = "manifest.json";

/** The file the Job writes per batch size (model-b4.pt), and the Python backend loads. */
export function tracedModelFile(batchSize: number): string {
    return `model-b${batchSize}.pt`;
}

/**
 * Why a TF Serving Neuron(x) image is legacy, and until when it can run (shown as a warning when selected):
 * for bertServer tf-serving, and for the video model server on inf1/inf2 (the same final TF build). On inf2 the
 * group is pinned to an old AMI release; on inf1 it is not (the AMI installs the Inf1 driver at boot).
 */
export function legacyTfServingNotice(
    kubernetesVersion: string,
    subject = "bertServer 'tf-serving'",
    remedy = "Move to bertServer 'triton'",
    accelerator: "inf2" | "inf1" = "inf2",
): string {
    if (accelerator === "inf1")
        return (
            `${subject} is a legacy mode: Inf1 is at end of life in the Neuron SDK (Inf1 environments ended with Neuron 2.27) ` +
            `and its model server is the final TensorFlow Neuron build for Inf1 (images/tf-serving-neuron, runtime built in). ` +
            `Its nodes take the newest AL2023 NEURON AMI, which installs the Inf1 driver (2.21.x) at boot, so they keep ` +
            `receiving security updates. ${remedy}.`
        );
    return (
        `${subject} is a legacy mode: Neuron ${LEGACY_TF_SERVING.neuronRelease} was the last release with TensorFlow ` +
        `(tensorflow-model-server-neuronx ${LEGACY_TF_SERVING.modelServer}, runtime-lib ${LEGACY_TF_SERVING.runtimeLib}), ` +
        `which needs Neuron driver 2.26.x: driver 2.29 and later refuse runtime-lib before 2.33 (nrt_init fails). ` +
        `Its node group is therefore pinned to EKS AMI release ${LEGACY_TF_SERVING.amiRelease} ` +
        `(${LEGACY_TF_SERVING.releaseVersions[kubernetesVersion] ?? "no build for this Kubernetes version"}, driver ${LEGACY_TF_SERVING.driver}), ` +
        `which receives no security updates. It can run only while EKS supports a Kubernetes version that AMI release exists for ` +
        `(${Object.keys(LEGACY_TF_SERVING.releaseVersions).join(", ")}): at the latest until ${legacyTfServingEnd()}, ` +
        `when Kubernetes ${LEGACY_TF_SERVING.lastKubernetes} leaves standard support. ${remedy} before then.`
    );
}
