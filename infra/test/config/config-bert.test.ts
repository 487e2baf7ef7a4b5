// BERT configuration (issue 13): server, accelerator, model id, shapes, own model, legacy pinning.
import * as assert from "assert";
import { compiledModelPrefix, LEGACY_TF_SERVING, NEURON_RELEASE, parseBatchSizes, isHuggingFaceModelId } from "../../bert/settings";
import { TRITON_NEURON } from "../../bert/neuron-releases";
import { DEFAULT_KUBERNETES_VERSION } from "../../config/kubernetes-versions";
import { ConfigError, RawConfig, parseConfig } from "../../config/config";

function raw(values: Record<string, string>): RawConfig {
    return { values: { bertEnabled: "true", ...values }, secretKeys: [], region: "us-west-2", stack: "test" };
}
function problems(values: Record<string, string>): string[] {
    try {
        parseConfig(raw(values));
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems;
    }
    assert.fail(`accepted ${JSON.stringify(values)}`);
}
function assertProblem(values: Record<string, string>, pattern: RegExp): void {
    const found = problems(values);
    assert.ok(
        found.some((p) => pattern.test(p)),
        `no problem matches ${pattern}:\n${found.join("\n")}`,
    );
}

describe("config: BERT", () => {
    it("defaults to Triton on inf2 with the stack-built BERT-base MRPC classifier at sequence length 128", () => {
        const bert = parseConfig(raw({})).bert;
        assert.deepStrictEqual(
            {
                server: bert.server,
                accelerator: bert.accelerator,
                modelId: bert.modelId,
                sequenceLength: bert.sequenceLength,
                batchSizes: bert.batchSizes,
                modelUri: bert.modelUri,
                nodeReleaseVersion: bert.nodeReleaseVersion,
            },
            {
                server: "triton",
                accelerator: "inf2",
                modelId: "google-bert/bert-base-cased-finetuned-mrpc",
                sequenceLength: 128,
                batchSizes: [1, 4, 8],
                modelUri: undefined,
                // Pinned: the AMI release that ships the Neuron driver of the image's runtime (was the newest AMI).
                nodeReleaseVersion: TRITON_NEURON.ami.releaseVersions[DEFAULT_KUBERNETES_VERSION],
            },
        );
        assert.deepStrictEqual(
            parseConfig(raw({})).warnings.filter((w) => w.startsWith("bert")),
            [],
            "the default raises no BERT warning",
        );
    });

    it("accepts triton on cpu and takes the user's own compiled model", () => {
        const bert = parseConfig(
            raw({ bertAccelerator: "cpu", bertModelUri: "s3://my-models/bert/cpu/", bertBatchSizes: "2, 16", bertSequenceLength: "256" }),
        ).bert;
        assert.deepStrictEqual(
            [bert.accelerator, bert.batchSizes, bert.sequenceLength, bert.modelS3],
            ["cpu", [2, 16], 256, { bucket: "my-models", prefix: "bert/cpu/" }],
        );
    });

    it("offers inf1 only with legacy tf-serving, saying why", () => {
        assertProblem(
            { bertAccelerator: "inf1" },
            /eks-inference:bertAccelerator is 'inf1', which only bertServer 'tf-serving' \(legacy\) offers: Inf1 is at end of life.*Valid with bertServer 'triton': inf2, cpu/,
        );
        const bert = parseConfig(raw({ bertServer: "tf-serving", bertAccelerator: "inf1", bertModelUri: "s3://models/bert/" })).bert;
        assert.strictEqual(bert.accelerator, "inf1");
    });

    it("rejects accelerators BERT has no image for, naming the valid ones", () => {
        assertProblem(
            { bertAccelerator: "nvidia" },
            /eks-inference:bertAccelerator is 'nvidia'; valid values: inf2, cpu, or inf1 with bertServer tf-serving/,
        );
        assertProblem(
            { bertServer: "tf-serving", bertAccelerator: "cpu", bertModelUri: "s3://models/b/" },
            /bertAccelerator is 'cpu' while eks-inference:bertServer is 'tf-serving'; CPU serving runs Triton.*valid with tf-serving: inf2, inf1/,
        );
        assertProblem({ bertServer: "torchserve" }, /eks-inference:bertServer is 'torchserve'; valid values: triton, tf-serving/);
    });

    it("pins the legacy node group to the AMI release whose driver runs the final TF build, and warns why and until when", () => {
        const config = parseConfig(raw({ bertServer: "tf-serving", bertModelUri: "s3://models/bert/", kubernetesVersion: "1.35" }));
        assert.strictEqual(config.bert.nodeReleaseVersion, "1.35.2-20260403");
        const warning = config.warnings.find((w) => w.startsWith("bert: bertServer 'tf-serving' is a legacy mode"));
        assert.ok(warning, config.warnings.join("\n"));
        assert.match(warning, /Neuron 2\.28\.1 was the last release with TensorFlow/);
        assert.match(warning, /driver 2\.29 and later refuse runtime-lib before 2\.33/);
        assert.match(warning, /pinned to EKS AMI release v20260403 \(1\.35\.2-20260403, driver 2\.26\.10\.0\)/);
        assert.match(warning, /at the latest until 2027-03-27, when Kubernetes 1\.35 leaves standard support/);
        assert.strictEqual(
            parseConfig(
                raw({
                    bertServer: "tf-serving",
                    bertModelUri: "s3://models/bert/",
                    kubernetesVersion: "1.33",
                    upgradeSupportType: "EXTENDED",
                }),
            ).bert.nodeReleaseVersion,
            "1.33.8-20260403",
        );
    });

    it("refuses legacy tf-serving on a Kubernetes version the pinned AMI release was never built for", () => {
        assertProblem(
            { bertServer: "tf-serving", bertModelUri: "s3://models/bert/", kubernetesVersion: "1.36" },
            /eks-inference:bertServer is 'tf-serving', whose node AMI is pinned to release v20260403 \(Neuron driver 2\.26\.10\.0\); that release has no build for Kubernetes 1\.36.*Valid with tf-serving: 1\.32, 1\.33, 1\.34, 1\.35/,
        );
        // Disabled: nothing to refuse.
        assert.ok(
            parseConfig({
                values: { bertServer: "tf-serving", kubernetesVersion: "1.36" },
                secretKeys: [],
                region: "us-west-2",
                stack: "t",
            }),
        );
    });

    it("pins the video group on inf2 (TF Serving Neuronx) like legacy BERT: same release, Kubernetes limit and warning", () => {
        const video = { bertEnabled: "false", videoModelUri: "s3://models/ssd-neuron/" };
        const config = parseConfig(raw({ ...video, videoAccelerator: "inf2", kubernetesVersion: "1.35" }));
        assert.strictEqual(config.video.nodeReleaseVersion, "1.35.2-20260403");
        const warning = config.warnings.find((w) =>
            w.startsWith("video: videoAccelerator 'inf2' (TF Serving Neuron model server) is a legacy mode"),
        );
        assert.ok(warning, config.warnings.join("\n"));
        assert.match(warning, /pinned to EKS AMI release v20260403 \(1\.35\.2-20260403, driver 2\.26\.10\.0\)/);
        assert.match(warning, /Move video to videoAccelerator nvidia or cpu before then/);
        assertProblem(
            { ...video, videoAccelerator: "inf2", kubernetesVersion: "1.36" },
            /eks-inference:videoAccelerator is 'inf2', whose model server is the final TensorFlow Neuron build .*no build for Kubernetes 1\.36.*Valid with videoAccelerator inf2: 1\.32, 1\.33, 1\.34, 1\.35; or use videoAccelerator nvidia or cpu/,
        );
        for (const accelerator of ["nvidia", "cpu"]) {
            const other = parseConfig(raw({ bertEnabled: "false", videoAccelerator: accelerator, kubernetesVersion: "1.36" }));
            assert.strictEqual(other.video.nodeReleaseVersion, undefined, accelerator);
            assert.ok(!other.warnings.some((w) => w.startsWith("video: ")), accelerator);
        }
    });

    it("leaves inf1 groups unpinned (the AMI installs the Inf1 driver at boot), on any Kubernetes version, and says so", () => {
        const video = parseConfig(
            raw({ bertEnabled: "false", videoModelUri: "s3://models/ssd-neuron/", videoAccelerator: "inf1", kubernetesVersion: "1.36" }),
        );
        assert.strictEqual(video.video.nodeReleaseVersion, undefined);
        const videoWarning = video.warnings.find((w) =>
            w.startsWith("video: videoAccelerator 'inf1' (TF Serving Neuron model server) is a legacy mode"),
        );
        assert.ok(videoWarning, video.warnings.join("\n"));
        assert.match(videoWarning, /take the newest AL2023 NEURON AMI, which installs the Inf1 driver \(2\.21\.x\) at boot/);
        assert.doesNotMatch(videoWarning, /pinned/);
        const bert = parseConfig(
            raw({ bertServer: "tf-serving", bertAccelerator: "inf1", bertModelUri: "s3://models/bert/", kubernetesVersion: "1.36" }),
        );
        assert.strictEqual(bert.bert.nodeReleaseVersion, undefined);
        assert.ok(bert.warnings.some((w) => w.startsWith("bert: bertServer 'tf-serving' is a legacy mode: Inf1 is at end of life")));
    });

    it("pins the Triton inf2 group to the AMI release that ships its Neuron release's driver, and refuses a Kubernetes version it has no build for", () => {
        const config = parseConfig(raw({ kubernetesVersion: "1.35" }));
        assert.strictEqual(config.bert.server, "triton");
        assert.strictEqual(config.bert.accelerator, "inf2");
        assert.strictEqual(config.bert.nodeReleaseVersion, "1.35.6-20260714");
        assert.strictEqual(parseConfig(raw({ kubernetesVersion: "1.36" })).bert.nodeReleaseVersion, "1.36.2-20260714");
        assert.ok(!config.warnings.some((w) => w.startsWith("bert: ")), "the default mode is not a legacy mode");
        assert.strictEqual(parseConfig(raw({ bertAccelerator: "cpu" })).bert.nodeReleaseVersion, undefined);
        assertProblem(
            { kubernetesVersion: "1.31", upgradeSupportType: "EXTENDED" },
            /eks-inference:kubernetesVersion is 1\.31, but BERT on inf2 \(bertServer 'triton'\) runs Neuron 2\.31\.1 \(runtime-lib 2\.33\.10\.0\), whose node AMI is pinned to release v20260714 \(Neuron driver 2\.29\.0\.0\), which has no build for it\. Valid with BERT on inf2: 1\.32, 1\.33, 1\.34, 1\.35, 1\.36; or set bertAccelerator to cpu/,
        );
    });

    it("needs room on the BERT nodes for the compile Job when they run it (triton on inf2, stack-built model)", () => {
        assertProblem(
            { acceleratedVolumeGiB: "40" },
            /eks-inference:acceleratedVolumeGiB is 40, but the BERT nodes run the model compile Job .* need at least 60 \(default 100\)/,
        );
        assert.ok(parseConfig(raw({ acceleratedVolumeGiB: "60" })));
        // Without video: 40 GiB is too small for the video nodes' scratch (config.test.ts), not for BERT.
        assert.ok(
            parseConfig(raw({ acceleratedVolumeGiB: "40", bertModelUri: "s3://models/bert/", videoEnabled: "false" })),
            "no compile Job with the user's own model",
        );
        assert.ok(
            parseConfig(raw({ acceleratedVolumeGiB: "40", bertAccelerator: "cpu", videoEnabled: "false" })),
            "the CPU compile runs on the general nodes",
        );
    });

    it("rejects a malformed model id, sequence length and batch sizes", () => {
        assertProblem(
            { bertModelId: "not a model" },
            /eks-inference:bertModelId is 'not a model'; expected a Hugging Face model id such as google-bert\/bert-base-cased-finetuned-mrpc/,
        );
        assertProblem({ bertModelId: "a/b/c" }, /bertModelId is 'a\/b\/c'/);
        assertProblem({ bertSequenceLength: "1024" }, /eks-inference:bertSequenceLength is 1024; expected a whole number from 8 to 512/);
        for (const sizes of ["8,4", "0,1", "1,2,3,4,5", "1,,2", "x", "1,128"]) {
            assertProblem(
                { bertBatchSizes: sizes },
                new RegExp(`eks-inference:bertBatchSizes is '${sizes}'; expected 1 to 4 increasing batch sizes from 1 to 64`),
            );
        }
    });

    it("parses ids and batch sizes strictly", () => {
        for (const id of ["bert-base-uncased", "google-bert/bert-base-cased-finetuned-mrpc", "Intel/bert-base-uncased-mrpc"])
            assert.ok(isHuggingFaceModelId(id), id);
        for (const id of ["", "/x", "x/", "a/../b", "a b", "-x/y"]) assert.ok(!isHuggingFaceModelId(id), id);
        assert.deepStrictEqual(parseBatchSizes("1,4,8"), [1, 4, 8]);
        assert.strictEqual(parseBatchSizes("4,4"), undefined);
    });

    it("names the model's key after the model, the shapes and the toolchain", () => {
        const spec = { modelId: "google-bert/bert-base-cased-finetuned-mrpc", sequenceLength: 128, batchSizes: [1, 4, 8] };
        assert.strictEqual(
            compiledModelPrefix({ ...spec, target: "neuronx" }),
            `bert/google-bert/bert-base-cased-finetuned-mrpc/seq128-batch1-4-8/neuronx-${NEURON_RELEASE}/`,
        );
        assert.strictEqual(
            compiledModelPrefix({ ...spec, target: "cpu" }),
            "bert/google-bert/bert-base-cased-finetuned-mrpc/seq128-batch1-4-8/torch-2.9.0-cpu/",
        );
        assert.notStrictEqual(
            compiledModelPrefix({ ...spec, sequenceLength: 64, target: "neuronx" }),
            compiledModelPrefix({ ...spec, target: "neuronx" }),
        );
        assert.ok(Object.keys(LEGACY_TF_SERVING.releaseVersions).every((v) => LEGACY_TF_SERVING.releaseVersions[v]?.startsWith(`${v}.`)));
    });
});
