// Neuron releases, their component versions, and the EKS AMI release that ships each one's driver.
// Pure data and checks. Checked 2026-12-06; the newest material each source offered here:
// - Component versions: aws-neuron/aws-neuron-sdk src/helperscripts/n2-manifest.json (snapshot of
//   2026-08-21, manifest_date 08/17/2026: releases up to 2.32.0) and, for 2.33.0, the component table of
//   the Neuron release notes (awsdocs-neuron.readthedocs-hosted.com/en/v2.33.0/release-notes/components).
// - Driver/runtime rules: release-notes/components/runtime.rst (Neuron 2.30.0 and 2.31.0 known issues).
// - AMI drivers: awslabs/amazon-eks-ami CHANGELOG.md (snapshot of 2026-07-23, newest release v20260714),
//   the aws-neuronx-dkms row of each release's AL2023_x86_64_NEURON package table, and the release version
//   of each Kubernetes version in that release. The release pages after v20260714 (v20260728 ... v20261119)
//   exist, but no source available here shows their package tables.
// - templates/al2023/runtime/gpu/neuron-package-install.sh (same snapshot): on inf1 instances the AL2023
//   NEURON AMI replaces its driver with the cached 2.21.x at boot, whatever the AMI release.
//
// A pin is only ever to an AMI release whose driver is exactly the driver the Neuron release ships: the pairing
// Neuron tests. Driver and runtime may also be compatible across releases, but the runtime library checks a
// compatibility range against the driver at nrt_init, and the release notes state only two of those ranges
// (DRIVER_RUNTIME_RULES), so a cross-release pair would be a guess.

/** The Neuron packages a release ships (and that this project uses). */
export interface NeuronComponents {
    /** aws-neuronx-runtime-lib */
    runtimeLib: string;
    /** aws-neuronx-collectives */
    collectives?: string;
    /** aws-neuronx-dkms: the node driver the release is tested with */
    driver: string;
    /** neuronx-cc */
    neuronxCc?: string;
    /** torch-neuronx */
    torchNeuronx?: string;
    /** tensorflow-model-server-neuronx (releases up to 2.28.x) */
    tfModelServer?: string;
}

/** An EKS AL2023_x86_64_NEURON AMI release and the node group release versions it offers. */
export interface NeuronAmiRelease {
    /** The amazon-eks-ami release tag. */
    release: string;
    /** aws-neuronx-dkms in that release's NEURON AMIs (CHANGELOG.md). */
    driver: string;
    /** Managed node group releaseVersion per Kubernetes version EKS still accepts (CHANGELOG.md). */
    releaseVersions: Readonly<Record<string, string>>;
}

export interface NeuronRelease {
    release: string;
    /** Release date (ISO). */
    date: string;
    /** Undefined when no source available here lists the release's packages. */
    components?: NeuronComponents;
    /** The AMI release that ships exactly `components.driver`; undefined when none could be verified (see whyNoAmi). */
    ami?: NeuronAmiRelease;
    /** Why this release has no AMI pin, so cannot be used on Inf2 nodes here. */
    whyNoAmi?: string;
}

const CHANGELOG_ENDS =
    "the EKS AMI CHANGELOG.md available here ends at v20260714 (aws-neuronx-dkms 2.29.0.0); no AMI release could be verified to ship";

export const NEURON_RELEASES: readonly NeuronRelease[] = [
    {
        // The final release with TensorFlow (legacy TF Serving: bertServer tf-serving and the video inf2 profile).
        release: "2.28.1",
        date: "2026-03-13",
        components: { runtimeLib: "2.30.51.0", driver: "2.26.10.0", tfModelServer: "2.10.1.2.12.2.0" },
        ami: {
            // Driver 2.26.10.0 in v20260318 and v20260403; v20260409 moved to 2.27.4.0.
            release: "v20260403",
            driver: "2.26.10.0",
            releaseVersions: {
                "1.32": "1.32.12-20260403",
                "1.33": "1.33.8-20260403",
                "1.34": "1.34.4-20260403",
                "1.35": "1.35.2-20260403",
            },
        },
    },
    {
        // Neuron 2.31.0 (2026-07-07) with its 2.31.1 patch (tools only): the Triton image's set.
        release: "2.31.1",
        date: "2026-08-12",
        components: {
            runtimeLib: "2.33.10.0",
            collectives: "2.33.10.0",
            driver: "2.29.0.0",
            neuronxCc: "2.26.6360.0",
            torchNeuronx: "2.9.0.2.15.32035",
        },
        ami: {
            // The first release with driver 2.29.0.0 (v20260625 had 2.28.0.0), and the newest in the changelog.
            release: "v20260714",
            driver: "2.29.0.0",
            releaseVersions: {
                "1.32": "1.32.13-20260714",
                "1.33": "1.33.13-20260714",
                "1.34": "1.34.9-20260714",
                "1.35": "1.35.6-20260714",
                "1.36": "1.36.2-20260714",
            },
        },
    },
    {
        release: "2.32.0",
        date: "2026-08-17",
        components: {
            runtimeLib: "2.34.10.0",
            collectives: "2.34.10.0",
            driver: "2.30.2.0",
            neuronxCc: "2.27.5334.0",
            torchNeuronx: "2.9.0.2.15.32035",
        },
        whyNoAmi: `${CHANGELOG_ENDS} driver 2.30.x`,
    },
    {
        // From the release notes' component table only: n2-manifest.json for 2.33 is in no snapshot available here.
        release: "2.33.0",
        date: "2026-10-19",
        components: {
            runtimeLib: "2.35.30.0",
            collectives: "2.35.43.0",
            driver: "2.31.7.0",
            neuronxCc: "2.28.7631.0",
            torchNeuronx: "2.9.0.2.15.32035",
        },
        whyNoAmi: `${CHANGELOG_ENDS} driver 2.31.x`,
    },
    {
        release: "2.34.0",
        date: "2026-11-30",
        whyNoAmi:
            "its release notes exist, but no source available here lists its packages (n2-manifest.json, release artifacts), " +
            `and ${CHANGELOG_ENDS} a driver newer than 2.29`,
    },
];

/** The release `version` of the table; throws for one that is not in it. */
export function neuronRelease(version: string): NeuronRelease {
    const found = NEURON_RELEASES.find((r) => r.release === version);
    if (found === undefined) throw new Error(`Neuron ${version} is not in infra/bert/neuron-releases.ts`);
    return found;
}

/** A Neuron release that can run on pinned Inf2 nodes: its packages and its AMI release are both known. */
export type PinnableNeuronRelease = NeuronRelease & { components: NeuronComponents; ami: NeuronAmiRelease };

export function pinnable(version: string): PinnableNeuronRelease {
    const r = neuronRelease(version);
    if (r.components === undefined || r.ami === undefined)
        throw new Error(`Neuron ${version} cannot be pinned: ${r.whyNoAmi ?? "its packages are unknown"}`);
    return r as PinnableNeuronRelease;
}

/** Compares dotted versions numerically on the first parts of `floor` ("2.33.10.0" >= "2.33"). */
export function versionAtLeast(version: string, floor: string): boolean {
    const a = version.split(".").map(Number);
    const b = floor.split(".").map(Number);
    for (let i = 0; i < b.length; i++) {
        const x = a[i] ?? 0;
        const y = b[i] as number;
        if (x !== y) return x > y;
    }
    return true;
}

/** The driver/runtime compatibility statements of the Neuron release notes. */
export const DRIVER_RUNTIME_RULES: readonly {
    rule: string;
    source: string;
    holds: (driver: string, runtimeLib: string) => boolean;
}[] = [
    {
        rule: "driver 2.29 and later need runtime-lib 2.33 or later (nrt_init fails otherwise)",
        source: "Neuron 2.31.0 runtime release notes, known issues",
        holds: (driver, runtimeLib) => !versionAtLeast(driver, "2.29") || versionAtLeast(runtimeLib, "2.33"),
    },
    {
        rule: "runtime-lib 2.32 and later do not work with driver 2.26 or earlier",
        source: "Neuron 2.30.0 runtime release notes, known issues",
        holds: (driver, runtimeLib) => !versionAtLeast(runtimeLib, "2.32") || versionAtLeast(driver, "2.27"),
    },
];

/** The rules a driver/runtime pair breaks, as sentences (empty when it breaks none). */
export function driverRuntimeProblems(driver: string, runtimeLib: string): string[] {
    return DRIVER_RUNTIME_RULES.filter((r) => !r.holds(driver, runtimeLib)).map(
        (r) => `driver ${driver} with runtime-lib ${runtimeLib}: ${r.rule} (${r.source})`,
    );
}

/** The Neuron release the Triton image, the compile Job and the model key use (see the table for why not newer). */
export const TRITON_NEURON: PinnableNeuronRelease = pinnable("2.31.1");
/** The final TensorFlow Neuron release (legacy TF Serving on Inf2). */
export const LEGACY_TF_NEURON: PinnableNeuronRelease = pinnable("2.28.1");
