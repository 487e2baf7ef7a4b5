// The accelerator table: profiles, instance families and regions, node labels, taints and selectors.
import * as assert from "assert";
import {
    ACCELERATOR_PROFILES,
    FAMILY_REGIONS,
    PROFILES,
    RETIRED_PROFILES,
    instanceFamily,
    nodeLabels,
    nodeSelector,
    nodeTaints,
    tolerations,
} from "../../platform/accelerators";

describe("accelerator profiles", () => {
    it("every profile's default instance type is one of its families and listed in the region table", () => {
        for (const name of ACCELERATOR_PROFILES) {
            const profile = PROFILES[name];
            assert.ok(profile.instanceFamilies.includes(instanceFamily(profile.defaultInstanceType)), name);
            for (const family of profile.instanceFamilies) assert.ok(FAMILY_REGIONS[family], `${family} has a region entry`);
            assert.ok(profile.amiType.startsWith("AL2023_x86_64_"), `${name} uses an AL2023 AMI`);
        }
    });

    it("maps profiles to AMI types, device plugins and resources as EKS expects", () => {
        assert.deepStrictEqual(
            ACCELERATOR_PROFILES.map((p) => [p, PROFILES[p].amiType, PROFILES[p].devicePlugin, PROFILES[p].resourceName ?? null]),
            [
                ["inf2", "AL2023_x86_64_NEURON", "neuron", "aws.amazon.com/neuron"],
                ["inf1", "AL2023_x86_64_NEURON", "neuron", "aws.amazon.com/neuron"],
                ["nvidia", "AL2023_x86_64_NVIDIA", "nvidia", "nvidia.com/gpu"],
                ["cpu", "AL2023_x86_64_STANDARD", "none", null],
            ],
        );
    });

    it("explains that Elastic Inference is retired and what replaces it", () => {
        assert.match(RETIRED_PROFILES.ei as string, /retired.*April 2024.*'nvidia'.*g6f.*time-slicing/);
    });

    it("tolerations tolerate exactly their own group's taints; selectors match the labels", () => {
        for (const profile of ACCELERATOR_PROFILES) {
            for (const workload of ["video", "bert"] as const) {
                const taints = nodeTaints(workload, profile);
                const tols = tolerations(workload, profile);
                assert.deepStrictEqual(
                    tols.map((t) => [t.key, t.value, t.effect]),
                    taints.map((t) => [t.key, t.value, t.effect]),
                );
                const labels = nodeLabels(workload, profile);
                for (const [k, v] of Object.entries(nodeSelector(workload, profile))) assert.strictEqual(labels[k], v);
                const other = workload === "video" ? "bert" : "video";
                const otherTols = tolerations(other, profile);
                assert.ok(
                    !otherTols.some((t) => t.key === "eks-inference/workload" && t.value === workload),
                    `${other} pods do not tolerate ${workload} nodes`,
                );
            }
        }
    });

    it("Spot defaults list two or more types of the profile's own families, the on-demand default first", () => {
        for (const name of ACCELERATOR_PROFILES) {
            const profile = PROFILES[name];
            assert.ok(profile.spotInstanceTypes.length >= 2, `${name} Spot default has two or more types`);
            assert.strictEqual(profile.spotInstanceTypes[0], profile.defaultInstanceType, name);
            assert.strictEqual(new Set(profile.spotInstanceTypes).size, profile.spotInstanceTypes.length, `${name}: no duplicates`);
            for (const type of profile.spotInstanceTypes)
                assert.ok(profile.instanceFamilies.includes(instanceFamily(type)), `${name}: ${type}`);
        }
    });
});
