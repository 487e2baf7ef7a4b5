// The Neuron release table: each release's packages, the AMI release that ships its driver, and the rules
// that keep a node group's driver and its image's runtime compatible.
import * as assert from "node:assert/strict";
import { EKS_VERSIONS, DEFAULT_KUBERNETES_VERSION, checkKubernetesVersion } from "../../config/kubernetes-versions";
import {
    LEGACY_TF_NEURON,
    NEURON_RELEASES,
    TRITON_NEURON,
    driverRuntimeProblems,
    neuronRelease,
    pinnable,
    versionAtLeast,
} from "../../bert/neuron-releases";
import { LEGACY_TF_SERVING, NEURON_RELEASE, NEURON_VERSIONS, neuronNodeRelease } from "../../bert/settings";

const compare = (a: string, b: string): number => {
    const x = a.split(".").map(Number);
    const y = b.split(".").map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
};

describe("Neuron releases and the node AMI releases that ship their drivers", () => {
    it("lists releases oldest first, each with its date, and says why a release has no AMI pin", () => {
        const versions = NEURON_RELEASES.map((r) => r.release);
        assert.deepEqual([...versions].sort(compare), versions);
        assert.deepEqual(
            NEURON_RELEASES.map((r) => r.date),
            [...NEURON_RELEASES.map((r) => r.date)].sort(),
        );
        for (const r of NEURON_RELEASES) {
            assert.match(r.date, /^\d{4}-\d{2}-\d{2}$/);
            assert.ok((r.ami === undefined) !== (r.whyNoAmi === undefined), `${r.release}: an AMI pin or a reason, not both`);
            if (r.ami !== undefined) assert.ok(r.components !== undefined, `${r.release}: a pinned release lists its packages`);
        }
        // The releases the issue names are in the table, with a reason where they cannot be pinned.
        for (const v of ["2.32.0", "2.33.0", "2.34.0"]) assert.match(neuronRelease(v).whyNoAmi ?? "", /AMI|packages/, v);
    });

    it("pins only to an AMI release whose driver is exactly the one the Neuron release ships, with a build per Kubernetes version", () => {
        for (const r of NEURON_RELEASES.filter((x) => x.ami !== undefined)) {
            const { ami, components } = pinnable(r.release);
            assert.equal(ami.driver, components.driver, r.release);
            assert.match(ami.release, /^v\d{8}$/);
            const date = ami.release.slice(1);
            for (const [k8s, releaseVersion] of Object.entries(ami.releaseVersions)) {
                assert.match(releaseVersion, new RegExp(`^${k8s.replace(".", "\\.")}\\.\\d+-${date}$`), `${r.release} ${k8s}`);
                assert.ok(
                    EKS_VERSIONS.some((v) => v.version === k8s),
                    `${r.release}: Kubernetes ${k8s} is in the EKS version table`,
                );
            }
        }
        assert.throws(() => pinnable("2.34.0"), /Neuron 2\.34\.0 cannot be pinned: .*no source available here lists its packages/);
        assert.throws(() => neuronRelease("9.9.9"), /Neuron 9\.9\.9 is not in infra\/bert\/neuron-releases\.ts/);
    });

    it("every pinned pair keeps the release notes' driver/runtime rules; the rules catch the pairs that broke", () => {
        for (const r of NEURON_RELEASES.filter((x) => x.ami !== undefined)) {
            const { ami, components } = pinnable(r.release);
            assert.deepEqual(driverRuntimeProblems(ami.driver, components.runtimeLib), [], r.release);
        }
        // The final TF build on the newest AMI (what an unpinned legacy group gets): nrt_init fails.
        assert.match(
            driverRuntimeProblems("2.29.0.0", LEGACY_TF_SERVING.runtimeLib).join(),
            /driver 2\.29 and later need runtime-lib 2\.33/,
        );
        // A 2.32+ runtime on the legacy AMI's driver.
        assert.match(driverRuntimeProblems("2.26.10.0", "2.34.10.0").join(), /runtime-lib 2\.32 and later do not work with driver 2\.26/);
        assert.ok(versionAtLeast("2.33.10.0", "2.33") && !versionAtLeast("2.30.51.0", "2.33") && versionAtLeast("2.30", "2.30.0.0"));
    });

    it("Triton uses the newest release that can be pinned; every newer one says why not", () => {
        const pinnableReleases = NEURON_RELEASES.filter((r) => r.ami !== undefined && r.components?.torchNeuronx !== undefined);
        assert.equal(TRITON_NEURON.release, pinnableReleases.at(-1)?.release);
        for (const r of NEURON_RELEASES.filter((x) => compare(x.release, TRITON_NEURON.release) > 0))
            assert.ok(r.whyNoAmi !== undefined, `${r.release} is newer than the Triton release: pin it, or say why not`);
        assert.equal(NEURON_RELEASE, TRITON_NEURON.release);
        assert.equal(NEURON_VERSIONS.runtimeLib, TRITON_NEURON.components.runtimeLib);
        assert.equal(
            NEURON_VERSIONS.driver,
            TRITON_NEURON.ami.driver,
            "the Triton group's AMI ships the driver the image's runtime was released with",
        );
        assert.equal(LEGACY_TF_SERVING.amiRelease, LEGACY_TF_NEURON.ami.release);
        assert.ok(LEGACY_TF_NEURON.components.tfModelServer !== undefined);
    });

    it("Inf2 groups are pinned (Triton and TF Serving to their own releases); Inf1, NVIDIA and CPU groups are not", () => {
        assert.equal(neuronNodeRelease("triton", "inf2"), TRITON_NEURON);
        assert.equal(neuronNodeRelease("tf-serving", "inf2"), LEGACY_TF_NEURON);
        for (const accelerator of ["inf1", "nvidia", "cpu"] as const)
            for (const runtime of ["triton", "tf-serving"] as const) assert.equal(neuronNodeRelease(runtime, accelerator), undefined);
    });

    it("the Triton AMI release has a build for the default Kubernetes version and every version EKS accepts in standard support today", () => {
        assert.ok(TRITON_NEURON.ami.releaseVersions[DEFAULT_KUBERNETES_VERSION] !== undefined);
        const today = new Date("2026-12-06T00:00:00Z");
        for (const { version } of EKS_VERSIONS) {
            if (checkKubernetesVersion(version, "STANDARD", today).problem !== undefined) continue;
            assert.ok(TRITON_NEURON.ami.releaseVersions[version] !== undefined, `Kubernetes ${version}`);
        }
    });
});
