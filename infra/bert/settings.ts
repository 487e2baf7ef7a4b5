// BERT serving (issue 13): which server and accelerator, the model the stack compiles, and the versions
// everything is pinned to. Pure data and parsing helpers: config.ts reads the keys, this module decides.
//
// Sources (checked December 2026):
// - Neuron 2.32.0: aws-neuron/aws-neuron-sdk setup/pytorch/manual.rst (commit 10ea9ca) and
//   src/helperscripts/n2-manifest.json: driver aws-neuronx-dkms 2.30.2.0, aws-neuronx-runtime-lib and
//   aws-neuronx-collectives 2.34.10.0, neuronx-cc 2.27.5334.0; torch-neuronx 2.9.0.2.15.32035 is the
//   Neuron 2.31 build that 2.32 installs (2.32 ships no newer torch-neuronx); Ubuntu 24.04, Python 3.12.
// - Final TensorFlow build: n2-manifest.json, Neuron 2.28.1: tensorflow-model-server-neuronx
//   2.10.1.2.12.2.0, aws-neuronx-runtime-lib 2.30.51.0, aws-neuronx-dkms 2.26.10.0.
// - EKS AL2023 NEURON AMI drivers: awslabs/amazon-eks-ami CHANGELOG.md. Driver 2.26.10.0 is in
//   v20260318 and v20260403; v20260409 moved to 2.27.4.0, v20260610 to 2.28.0.0, v20260714 to 2.29.0.0.
//   So the last release whose driver matches the final TF build is v20260403.
// - Triton: triton-inference-server/server tag v2.71.0 (build.py: container 26.07, Ubuntu 24.04, Python 3.12).

import { EKS_VERSIONS } from "../config/kubernetes-versions";

export const BERT_SERVERS = ["triton", "tf-serving"] as const;
export type BertServer = (typeof BERT_SERVERS)[number];

/** Accelerators each server can run on. Inf1 needs the Neuron 1.x stack, which only the legacy TF image carries. */
export const BERT_ACCELERATORS: Readonly<Record<BertServer, readonly ("inf2" | "inf1" | "cpu")[]>> = {
    triton: ["inf2", "cpu"],
    "tf-serving": ["inf2", "inf1"],
};
export type BertAccelerator = "inf2" | "inf1" | "cpu";

/** The Neuron release the Triton image, the compile Job and the model key are pinned to. */
export const NEURON_RELEASE = "2.32.0";
export const NEURON_VERSIONS = {
    torchNeuronx: "2.9.0.2.15.32035",
    neuronxCc: "2.27.5334.0",
    runtimeLib: "2.34.10.0",
    collectives: "2.34.10.0",
    /** The node driver this release is tested with (the AL2023 NEURON AMI installs its own). */
    driver: "2.30.2.0",
} as const;
/** PyTorch the CPU image traces and serves with (the same major.minor torch-neuronx 2.9 builds on). */
export const TORCH_VERSION = "2.9.0";
export const TRITON_VERSIONS = { container: "26.07", server: "2.71.0" } as const;

/** Legacy TF Serving: the final TensorFlow Neuron build and the node AMI release whose driver matches it. */
export const LEGACY_TF_SERVING = {
    neuronRelease: "2.28.1",
    modelServer: "2.10.1.2.12.2.0",
    runtimeLib: "2.30.51.0",
    driver: "2.26.10.0",
    amiRelease: "v20260403",
    /** Managed node group releaseVersion of that AMI release, per Kubernetes version (CHANGELOG.md, v20260403). */
    releaseVersions: {
        "1.32": "1.32.12-20260403",
        "1.33": "1.33.8-20260403",
        "1.34": "1.34.4-20260403",
        "1.35": "1.35.2-20260403",
    } as Readonly<Record<string, string>>,
    /** The newest Kubernetes version the pinned AMI release exists for (its end of support: infra/config/kubernetes-versions.ts). */
    lastKubernetes: "1.35",
} as const;

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
 * bert/<model id>/seq128-batch1-4-8/neuronx-2.32.0/ or .../torch-2.9.0-cpu/. A change of any of them is
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
 * for bertServer tf-serving, and for the video model server on inf1/inf2 (the same final TF build).
 */
export function legacyTfServingNotice(
    kubernetesVersion: string,
    subject = "bertServer 'tf-serving'",
    remedy = "Move to bertServer 'triton'",
): string {
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
