// The plans whose containers the "what the stack declares runs" tests run: every checked-in stack file
// as it is, plus the dev stack switched to each accelerator profile no stack file uses yet. Plans are
// made once per test process (the test files share them).
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { LEGACY_TF_SERVING } from "../../bert/settings";
import { CONFIG_KEYS } from "../../config/config";
import { ACCELERATOR_PROFILES, type AcceleratorProfileName } from "../../platform/accelerators";
import { REPO_ROOT, runStackUnderMocks, type MockRunResult } from "../../mock-run/mock-run";

/** A bucket outside the stack, holding the models a profile run points videoModelUri / bertModelUri at. */
export const OUTSIDE_MODELS_BUCKET = "eks-inference-test-outside-models";

export interface DeclaredCase {
    /** e.g. "Pulumi.prod.yaml" or "profile inf1 (dev)". */
    title: string;
    stack: string;
    overrides: Record<string, string>;
}

/** The newest Kubernetes version the legacy TF Serving Neuron AMI pin exists for (inf1/inf2 video nodes need it). */
function legacyKubernetes(): string {
    return LEGACY_TF_SERVING.lastKubernetes;
}

/** A profile run on the dev stack: its video group, and a BERT mode that profile serves. */
const PROFILE_OVERRIDES: Record<AcceleratorProfileName, Record<string, string>> = {
    // Neuron video needs a Neuron-compiled model: an s3 prefix here (inf1: an s3 archive).
    inf2: {
        videoAccelerator: "inf2",
        videoModelUri: `s3://${OUTSIDE_MODELS_BUCKET}/ssd-neuronx/`,
        bertEnabled: "true",
        bertAccelerator: "inf2",
        kubernetesVersion: legacyKubernetes(),
    },
    inf1: {
        videoAccelerator: "inf1",
        videoModelUri: `s3://${OUTSIDE_MODELS_BUCKET}/zoo/ssd-neuron.tar.gz`,
        bertEnabled: "true",
        bertServer: "tf-serving",
        bertAccelerator: "inf1",
        bertModelUri: `s3://${OUTSIDE_MODELS_BUCKET}/bert-neuron/`,
        kubernetesVersion: legacyKubernetes(),
    },
    nvidia: { videoAccelerator: "nvidia", bertEnabled: "true", bertAccelerator: "cpu" },
    cpu: { videoAccelerator: "cpu", bertEnabled: "true", bertAccelerator: "cpu" },
};

function stackFiles(): { stack: string; config: Record<string, unknown> }[] {
    return fs
        .readdirSync(REPO_ROOT)
        .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort()
        .map((stack) => ({
            stack,
            config:
                (
                    (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) ?? {}) as {
                        config?: Record<string, unknown>;
                    }
                ).config ?? {},
        }));
}

export function declaredCases(): DeclaredCase[] {
    const stacks = stackFiles();
    const cases: DeclaredCase[] = stacks.map(({ stack }) => ({ title: `Pulumi.${stack}.yaml`, stack, overrides: {} }));
    const used = new Set(
        stacks.map(({ config }) => String(config["eks-inference:videoAccelerator"] ?? CONFIG_KEYS.videoAccelerator.default)),
    );
    for (const profile of ACCELERATOR_PROFILES) {
        if (!used.has(profile))
            cases.push({ title: `profile ${profile} (Pulumi.dev.yaml)`, stack: "dev", overrides: PROFILE_OVERRIDES[profile] });
    }
    return cases;
}

/** Which stack file's run stands for each profile (for the test titles). */
export function profileCoverage(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { stack, config } of stackFiles()) {
        const profile = String(config["eks-inference:videoAccelerator"] ?? CONFIG_KEYS.videoAccelerator.default);
        out[profile] ??= `Pulumi.${stack}.yaml`;
    }
    return out;
}

/** The plan of a case (`pulumi up` under the mocks); runStackUnderMocks shares it with other test files that plan the same. */
export function planOf(c: DeclaredCase): Promise<MockRunResult> {
    // Without overrides, exactly as the other test files ask for a stack file's plan (runs are shared by their options).
    return Object.keys(c.overrides).length === 0 ? runStackUnderMocks(c.stack) : runStackUnderMocks(c.stack, { config: c.overrides });
}
