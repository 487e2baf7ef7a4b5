// The Kubernetes workloads under Pulumi mocks: every object validates against the Kubernetes schema,
// lands on the nodes it was given, and wires containers, volumes, probes, ports and secrets correctly.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { STARTUP_PROBE_PERIOD_SECONDS } from "../../kube/tf-serving";
import { nodeSelector, tolerations } from "../../platform/accelerators";
import { parseConfig } from "../../config/config";
import { BertInferenceService } from "../../bert/tf-serving-service";
import {
    NeuronDevicePlugin,
    NEURON_HELM_CHART_VERSION,
    NvidiaDevicePlugin,
    NVIDIA_HELM_CHART_VERSION,
} from "../../platform/device-plugins";
import { PREPULL_DAEMONSET_NAME, VideoInferenceDaemonSet, type VideoInferenceArgs } from "../../video/daemonset";
import {
    containerOf,
    envOf,
    podLabels,
    podSpec,
    setComponentMocks,
    type Container,
    type Obj,
    type Recorded,
} from "../support/component-mocks";
import { isKubernetesObjectType, validateKubernetesObject } from "../support/k8s-schema";

const recorded: Recorded[] = [];
const resolved = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

function of(component: string): Recorded[] {
    return recorded.filter((r) => r.name.startsWith(`${component}-`));
}
function one(component: string, type: string): Recorded {
    const found = of(component).filter((r) => r.type === type);
    assert.equal(found.length, 1, `${component}: expected one ${type}, found ${found.length}`);
    return found[0];
}
/** The video worker's DaemonSet (the component also declares the model-server pre-pull DaemonSet). */
function videoDaemonSet(component: string): Recorded {
    const found = of(component).filter(
        (r) => r.type === "kubernetes:apps/v1:DaemonSet" && (r.inputs.metadata as Obj).name === "video-inference",
    );
    assert.equal(found.length, 1, `${component}: expected one video-inference DaemonSet, found ${found.length}`);
    return found[0];
}
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}
function assertRestricted(c: Container): void {
    const sc = c.securityContext ?? {};
    assert.equal(sc.runAsNonRoot, true, `${c.name} runAsNonRoot`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${c.name} allowPrivilegeEscalation`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${c.name} readOnlyRootFilesystem`);
    assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, `${c.name} capabilities`);
    assert.deepEqual(sc.seccompProfile, { type: "RuntimeDefault" });
}

const videoArgs = (profile: "inf2" | "cpu"): VideoInferenceArgs => ({
    workerImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/worker@sha256:aaaa",
    modelServerImage: pulumi.output(`123456789012.dkr.ecr.us-west-2.amazonaws.com/tf-serving-${profile}:1`),
    scheduling: { nodeSelector: nodeSelector("video", profile), tolerations: tolerations("video", profile) },
    accelerator: profile === "inf2" ? { resourceName: "aws.amazon.com/neuron", count: 1 } : undefined,
    maxNodes: 4,
    model: { name: "ssd", uri: "s3://models/ssd_mobilenet_v2/", version: 1 },
    batching: { maxBatchSize: 8, batchTimeoutMicros: 5000, numBatchThreads: 4, maxEnqueuedBatches: 16 },
    worker: {
        jobQueueUrl: pulumi.output("https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs"),
        deadLetterQueueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs-dlq",
        resultsBucket: "video-results",
        resultsPrefix: "detections/",
        inputBucket: "video-uploads",
        inputPrefix: "uploads/",
        batchSize: 8,
        frameWidth: 300,
        frameHeight: 300,
        sampleFps: 5,
        scoreThreshold: 0.5,
        visibilityTimeoutSeconds: 600,
        metricsNamespace: "EksInference/Video",
        region: "us-west-2",
    },
});

describe("Kubernetes workloads (Pulumi mocks)", function () {
    this.timeout(30_000);
    let bertDns: string;
    let bertGrpcUrl: string;

    before(async () => {
        await setComponentMocks("workloads-test", recorded);
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        // Providers travel in resource options only (as in pulumi-eks), never in a component's args.
        const onK8s = { providers: { kubernetes: provider } };
        const videoInf2 = new VideoInferenceDaemonSet("video-inf2", videoArgs("inf2"), onK8s);
        const videoCpu = new VideoInferenceDaemonSet("video-cpu", videoArgs("cpu"), onK8s);
        // The stack default (videoSampleFps "0" = every frame), read through the real config parser.
        const defaults = parseConfig({ values: {}, secretKeys: [], region: "us-west-2", stack: "workloads-test" });
        const cpuArgs = videoArgs("cpu");
        const videoDefaultFps = new VideoInferenceDaemonSet(
            "video-default-fps",
            { ...cpuArgs, worker: { ...cpuArgs.worker, sampleFps: defaults.video.sampleFps } },
            onK8s,
        );
        const videoUnsetFps = new VideoInferenceDaemonSet(
            "video-unset-fps",
            { ...cpuArgs, worker: { ...cpuArgs.worker, sampleFps: undefined } },
            onK8s,
        );
        const bertArgs = {
            modelServerImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/tf-serving-neuronx:1",
            modelFetchImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/worker:1",
            scheduling: { nodeSelector: nodeSelector("bert", "inf2"), tolerations: tolerations("bert", "inf2") },
            accelerator: { resourceName: "aws.amazon.com/neuron" as const, count: 1 },
            model: { name: "bert", uri: "s3://models/bert-neuron/" },
            region: "us-west-2",
        };
        const bert = new BertInferenceService("bert-pod-identity", { ...bertArgs, replicas: 2 }, onK8s);
        const bertSingle = new BertInferenceService("bert-single", { ...bertArgs, replicas: 1 }, onK8s);
        new NeuronDevicePlugin("neuron-plugin", {}, onK8s);
        new NvidiaDevicePlugin("nvidia-plugin", {}, onK8s);
        new NvidiaDevicePlugin("nvidia-sliced", { timeSlicingReplicas: 4 }, onK8s);

        bertDns = await resolved(bert.dnsName);
        bertGrpcUrl = await resolved(bert.grpcUrl);
        await Promise.all([
            resolved(videoInf2.daemonSetName),
            resolved(videoCpu.daemonSetName),
            resolved(videoDefaultFps.daemonSetName),
            resolved(videoUnsetFps.daemonSetName),
            resolved(bertSingle.serviceName),
        ]);
        // Resources whose outputs nothing awaits (PDBs, releases) register shortly after; wait for them.
        for (
            let i = 0;
            i < 100 &&
            recorded.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget" || r.type === "kubernetes:helm.sh/v3:Release")
                .length < 5;
            i++
        ) {
            await new Promise((r) => setTimeout(r, 10));
        }
    });

    it("every Kubernetes object validates against the Kubernetes schema; only Helm releases and the provider are skipped", () => {
        const objects = recorded.filter((r) => isKubernetesObjectType(r.type));
        assert.ok(objects.length >= 15, `expected many objects, got ${objects.length}`);
        for (const r of objects) validateKubernetesObject(r.type, r.inputs);
        const components = (r: Recorded): boolean => r.type.startsWith("eks-inference:workloads:");
        const skipped = new Set(recorded.filter((r) => !isKubernetesObjectType(r.type) && !components(r)).map((r) => r.type));
        assert.deepEqual([...skipped].sort(), ["kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"]);
    });

    it("every object and chart goes to the cluster's provider, given through resource options only", () => {
        const onCluster = recorded.filter((r) => r.type.startsWith("kubernetes:"));
        assert.ok(onCluster.length >= 15);
        for (const r of onCluster) assert.match(r.provider ?? "", /::pulumi:providers:kubernetes::k8s::/, `${r.type} ${r.name}`);
    });

    describe("video DaemonSet", () => {
        it("creates the namespace and service account the pod identity is bound to, without IRSA annotations", () => {
            assert.equal((one("video-inf2", "kubernetes:core/v1:Namespace").inputs.metadata as Obj).name, "video");
            const sa = one("video-inf2", "kubernetes:core/v1:ServiceAccount").inputs.metadata as Obj;
            assert.equal(sa.name, "video-worker");
            assert.equal(sa.namespace, "video");
            assert.equal(sa.annotations, undefined);
            assert.equal(podSpec(videoDaemonSet("video-inf2")).serviceAccountName, "video-worker");
        });

        it("lands only on the accelerated video nodes it was given, and selects its own pods", () => {
            const ds = videoDaemonSet("video-inf2");
            const spec = podSpec(ds);
            assert.deepEqual(spec.nodeSelector, nodeSelector("video", "inf2"));
            assert.deepEqual(spec.tolerations, tolerations("video", "inf2"));
            const matchLabels = ((ds.inputs.spec as Obj).selector as Obj).matchLabels as Record<string, string>;
            assert.ok(selects(matchLabels, podLabels(ds)), "the DaemonSet selects its pod template");
            assert.notEqual(spec.hostNetwork, true);
            // A quarter of the nodes at a time (infra/video/rollout.ts; the stack test checks the await covers it).
            assert.deepEqual((ds.inputs.spec as Obj).updateStrategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } });
            assert.equal(spec.terminationGracePeriodSeconds, 120);
            assert.deepEqual(podSpec(videoDaemonSet("video-cpu")).nodeSelector, nodeSelector("video", "cpu"));
        });

        it("requests the Neuron device on TF Serving for inf2 and no accelerator for cpu", () => {
            const inf2 = containerOf(podSpec(videoDaemonSet("video-inf2")), "tf-serving");
            assert.equal(inf2.resources?.requests?.["aws.amazon.com/neuron"], "1");
            assert.equal(inf2.resources?.limits?.["aws.amazon.com/neuron"], "1");
            const cpuSpec = podSpec(videoDaemonSet("video-cpu"));
            for (const c of [...(cpuSpec.initContainers ?? []), ...cpuSpec.containers]) {
                const keys = [...Object.keys(c.resources?.requests ?? {}), ...Object.keys(c.resources?.limits ?? {})];
                assert.deepEqual(
                    keys.filter((k) => k.includes("/")),
                    [],
                    `${c.name} requests no extended resource`,
                );
                assert.ok(
                    c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
                    `${c.name} has requests and a memory limit`,
                );
            }
        });

        it("fetches the model into an emptyDir that TF Serving reads, before TF Serving starts", () => {
            const spec = podSpec(videoDaemonSet("video-inf2"));
            assert.deepEqual(
                (spec.initContainers ?? []).map((c) => c.name),
                ["model-fetch", "tf-serving"],
            );
            const fetch = containerOf(spec, "model-fetch");
            assert.equal(fetch.image, "123456789012.dkr.ecr.us-west-2.amazonaws.com/worker@sha256:aaaa");
            assert.deepEqual(fetch.command, ["node", "/app/model-fetch/index.js"]);
            assert.deepEqual(envOf(fetch), {
                MODEL_URI: "s3://models/ssd_mobilenet_v2/",
                MODEL_DIR: "/models/ssd",
                MODEL_VERSION: "1",
                AWS_REGION: "us-west-2",
            });
            assert.equal(fetch.envFrom, undefined);
            const modelsVolume = spec.volumes?.find((v) => v.name === "models");
            assert.ok(modelsVolume?.emptyDir, "models is an emptyDir");
            assert.deepEqual(fetch.volumeMounts, [{ name: "models", mountPath: "/models" }]);
            const server = containerOf(spec, "tf-serving");
            assert.deepEqual(
                server.volumeMounts?.find((m) => m.name === "models"),
                { name: "models", mountPath: "/models", readOnly: true },
            );
            assert.ok(server.args?.includes("--model_base_path=/models/ssd"));
            // TF Serving is a native sidecar: it outlives the worker at shutdown.
            assert.equal(server.restartPolicy, "Always");
        });

        it("runs TF Serving on 8500 gRPC / 8501 REST with batching from the ConfigMap and probes on the model being AVAILABLE", () => {
            const spec = podSpec(videoDaemonSet("video-inf2"));
            const server = containerOf(spec, "tf-serving");
            assert.deepEqual(
                server.ports?.map((p) => [p.name, p.containerPort]),
                [
                    ["grpc", 8500],
                    ["http", 8501],
                ],
            );
            for (const flag of [
                "--port=8500",
                "--rest_api_port=8501",
                "--model_name=ssd",
                "--enable_batching=true",
                "--batching_parameters_file=/etc/tf-serving/batching.config",
            ]) {
                assert.ok(server.args?.includes(flag), `missing ${flag}`);
            }
            const configMap = one("video-inf2", "kubernetes:core/v1:ConfigMap");
            const text = (configMap.inputs.data as Record<string, string>)["batching.config"];
            assert.match(text, /max_batch_size \{ value: 8 \}/);
            assert.match(text, /batch_timeout_micros \{ value: 5000 \}/);
            assert.match(text, /num_batch_threads \{ value: 4 \}/);
            assert.match(text, /max_enqueued_batches \{ value: 16 \}/);
            const batchingVolume = spec.volumes?.find((v) => v.name === "batching-config");
            assert.equal(batchingVolume?.configMap?.name, "video-inf2-batching-generated");
            assert.deepEqual(
                server.volumeMounts?.find((m) => m.name === "batching-config"),
                { name: "batching-config", mountPath: "/etc/tf-serving", readOnly: true },
            );
            assert.deepEqual(server.readinessProbe?.httpGet, { path: "/v1/models/ssd/metadata", port: "http" });
            assert.deepEqual(server.startupProbe?.httpGet, { path: "/v1/models/ssd/metadata", port: "http" });
            assert.ok(
                Number(server.startupProbe?.failureThreshold) * Number(server.startupProbe?.periodSeconds) >= 600,
                "startup budget covers a model load",
            );
            assert.deepEqual(server.livenessProbe?.tcpSocket, { port: "grpc" });
        });

        it("probes TF Serving's startup every 2 s, so the worker starts about a second after the model is AVAILABLE", () => {
            const server = containerOf(podSpec(videoDaemonSet("video-inf2")), "tf-serving");
            assert.equal(server.startupProbe?.periodSeconds, STARTUP_PROBE_PERIOD_SECONDS);
            assert.equal(STARTUP_PROBE_PERIOD_SECONDS, 2);
            assert.equal(server.readinessProbe?.periodSeconds, 10, "readiness keeps its period");
        });

        it("pulls the model-server image on every video node as soon as it is Ready, in a pod with no accelerator and no credentials", () => {
            const found = of("video-inf2").filter(
                (r) => r.type === "kubernetes:apps/v1:DaemonSet" && (r.inputs.metadata as Obj).name === PREPULL_DAEMONSET_NAME,
            );
            assert.equal(found.length, 1);
            const prePull = found[0];
            const spec = podSpec(prePull);
            const video = podSpec(videoDaemonSet("video-inf2"));
            assert.deepEqual(spec.nodeSelector, video.nodeSelector);
            assert.deepEqual(spec.tolerations, video.tolerations);
            assert.equal(spec.initContainers, undefined);
            assert.equal(spec.containers.length, 1);
            const [hold] = spec.containers;
            assert.equal(hold.image, containerOf(video, "tf-serving").image, "the very image the video pod's TF Serving runs");
            assert.deepEqual(hold.command, ["sleep", "infinity"]);
            assert.deepEqual(hold.resources, { requests: { cpu: "1m", memory: "8Mi" }, limits: { memory: "16Mi" } });
            assert.equal(
                Object.keys(hold.resources?.limits ?? {}).some((k) => k.includes("neuron") || k.includes("gpu")),
                false,
            );
            assert.equal(
                (prePull.inputs.spec as { template: { spec: { automountServiceAccountToken?: boolean } } }).template.spec
                    .automountServiceAccountToken,
                false,
            );
            assert.equal(spec.serviceAccountName, undefined, "the namespace's default service account: no Pod Identity role");
            assert.equal(hold.securityContext?.readOnlyRootFilesystem, true);
            assert.equal(hold.securityContext?.runAsNonRoot, true);
            const matchLabels = ((prePull.inputs.spec as Obj).selector as Obj).matchLabels as Record<string, string>;
            assert.ok(selects(matchLabels, podLabels(prePull)));
            const videoSelector = ((videoDaemonSet("video-inf2").inputs.spec as Obj).selector as Obj).matchLabels as Record<string, string>;
            assert.ok(!selects(videoSelector, podLabels(prePull)), "the video DaemonSet does not select the pre-pull pods");
        });

        it("the pre-pull pod asks the NVIDIA runtime for no GPU (the CUDA base image's NVIDIA_VISIBLE_DEVICES=all would give it all)", () => {
            // nodeadm makes nvidia the default runtime on NVIDIA AMIs (internal/containerd/runtime_config_nvidia.go), and
            // the runtime reads NVIDIA_VISIBLE_DEVICES from the image when the pod does not set it.
            const prePull = of("video-inf2").find(
                (r) => r.type === "kubernetes:apps/v1:DaemonSet" && (r.inputs.metadata as Obj).name === PREPULL_DAEMONSET_NAME,
            );
            assert.ok(prePull);
            const [hold] = podSpec(prePull).containers;
            assert.equal(envOf(hold).NVIDIA_VISIBLE_DEVICES, "void");
        });

        it("configures the worker: queue, results, local TF Serving, protection, metrics port and probes, scratch space", () => {
            const ds = videoDaemonSet("video-inf2");
            const worker = containerOf(podSpec(ds), "worker");
            const env = envOf(worker);
            assert.deepEqual(
                {
                    JOB_QUEUE_URL: env.JOB_QUEUE_URL,
                    DEAD_LETTER_QUEUE_URL: env.DEAD_LETTER_QUEUE_URL,
                    RESULTS_BUCKET: env.RESULTS_BUCKET,
                    RESULTS_PREFIX: env.RESULTS_PREFIX,
                    INPUT_BUCKET: env.INPUT_BUCKET,
                    INPUT_PREFIX: env.INPUT_PREFIX,
                    MODEL_SERVER_URL: env.MODEL_SERVER_URL,
                    MODEL_NAME: env.MODEL_NAME,
                    BATCH_SIZE: env.BATCH_SIZE,
                    FRAME_WIDTH: env.FRAME_WIDTH,
                    FRAME_HEIGHT: env.FRAME_HEIGHT,
                    SAMPLE_FPS: env.SAMPLE_FPS,
                    SCORE_THRESHOLD: env.SCORE_THRESHOLD,
                    SCALE_IN_PROTECTION: env.SCALE_IN_PROTECTION,
                    VISIBILITY_TIMEOUT_SECONDS: env.VISIBILITY_TIMEOUT_SECONDS,
                    METRICS_NAMESPACE: env.METRICS_NAMESPACE,
                    METRICS_PORT: env.METRICS_PORT,
                    AWS_REGION: env.AWS_REGION,
                },
                {
                    JOB_QUEUE_URL: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs",
                    DEAD_LETTER_QUEUE_URL: "https://sqs.us-west-2.amazonaws.com/123456789012/video-jobs-dlq",
                    RESULTS_BUCKET: "video-results",
                    RESULTS_PREFIX: "detections/",
                    INPUT_BUCKET: "video-uploads",
                    INPUT_PREFIX: "uploads/",
                    MODEL_SERVER_URL: "grpc://127.0.0.1:8500",
                    MODEL_NAME: "ssd",
                    BATCH_SIZE: "8",
                    FRAME_WIDTH: "300",
                    FRAME_HEIGHT: "300",
                    SAMPLE_FPS: "5",
                    SCORE_THRESHOLD: "0.5",
                    SCALE_IN_PROTECTION: "on",
                    VISIBILITY_TIMEOUT_SECONDS: "600",
                    METRICS_NAMESPACE: "EksInference/Video",
                    METRICS_PORT: "9102",
                    AWS_REGION: "us-west-2",
                },
            );
            assert.deepEqual(
                worker.ports?.map((p) => [p.name, p.containerPort]),
                [["metrics", 9102]],
            );
            assert.deepEqual(worker.livenessProbe?.httpGet, { path: "/healthz", port: "metrics" });
            assert.deepEqual(worker.readinessProbe?.httpGet, { path: "/readyz", port: "metrics" });
            const annotations = (((ds.inputs.spec as Obj).template as Obj).metadata as Obj).annotations as Record<string, string>;
            assert.deepEqual(annotations, {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9102",
                "prometheus.io/path": "/metrics",
            });
            const scratch = podSpec(ds).volumes?.find((v) => v.name === "scratch");
            assert.ok(scratch?.emptyDir?.sizeLimit, "scratch emptyDir is sized");
            assert.deepEqual(worker.volumeMounts, [{ name: "scratch", mountPath: "/scratch" }]);
            assert.equal(env.WORK_DIR, "/scratch");
        });

        it("gives the worker its node's name from the downward API (its instance is found through EC2, never IMDS)", () => {
            for (const component of ["video-inf2", "video-cpu"]) {
                const worker = containerOf(podSpec(videoDaemonSet(component)), "worker");
                const nodeName = (worker.env ?? []).filter((e) => e.name === "NODE_NAME");
                assert.deepEqual(nodeName, [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }], component);
                const names = (worker.env ?? []).map((e) => e.name);
                for (const unwanted of ["INSTANCE_ID", "AWS_EC2_METADATA_SERVICE_ENDPOINT"])
                    assert.ok(
                        !names.includes(unwanted),
                        `${component}: ${unwanted} is not set (the worker looks its instance up by NODE_NAME)`,
                    );
            }
        });

        it("leaves SAMPLE_FPS unset (every frame, which the worker requires) for the default config, 0 or no sampleFps", () => {
            const defaults = parseConfig({ values: {}, secretKeys: [], region: "us-west-2", stack: "workloads-test" });
            assert.equal(defaults.video.sampleFps, 0, "the default videoSampleFps means every frame");
            for (const component of ["video-default-fps", "video-unset-fps"]) {
                const worker = containerOf(podSpec(videoDaemonSet(component)), "worker");
                const names = (worker.env ?? []).map((e) => e.name);
                assert.ok(!names.includes("SAMPLE_FPS"), `${component}: SAMPLE_FPS must be unset, env has ${names.join(", ")}`);
                assert.equal(envOf(worker).BATCH_SIZE, "8", `${component}: the rest of the worker env is still there`);
            }
            const sampled = containerOf(podSpec(videoDaemonSet("video-cpu")), "worker");
            assert.equal(envOf(sampled).SAMPLE_FPS, "5");
        });

        it("runs every container as the fixed non-root user with a restricted security context", () => {
            for (const component of ["video-inf2", "video-cpu"]) {
                const spec = podSpec(videoDaemonSet(component));
                assert.deepEqual(spec.securityContext, {
                    runAsNonRoot: true,
                    runAsUser: 10001,
                    runAsGroup: 10001,
                    fsGroup: 10001,
                    seccompProfile: { type: "RuntimeDefault" },
                });
                for (const c of [...(spec.initContainers ?? []), ...spec.containers]) assertRestricted(c);
            }
        });

        it("refuses settings TF Serving or the worker would reject at run time", () => {
            const bad = { providers: { kubernetes: new k8s.Provider("k8s-bad", { kubeconfig: "{}" }) } };
            const base = videoArgs("cpu");
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-batch", { ...base, worker: { ...base.worker, batchSize: 16 } }, bad),
                /batchSize \(16\) exceeds batching\.maxBatchSize \(8\)/,
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-name", { ...base, model: { ...base.model, name: "SSD_v2" } }, bad),
                /model\.name must be a DNS label/,
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-fps", { ...base, worker: { ...base.worker, sampleFps: -1 } }, bad),
                /sampleFps must be 0 \(every frame\) or a positive number.*got -1/,
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("nan-fps", { ...base, worker: { ...base.worker, sampleFps: Number.NaN } }, bad),
                /sampleFps must be 0 \(every frame\).*got NaN/,
            );
            // Argument errors are pulumi.InputPropertyError naming the property path (as in pulumi-eks).
            const propertyPath =
                (path: string) =>
                (e: unknown): boolean =>
                    pulumi.InputPropertyError.isInstance(e) && e.propertyPath === path;
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-batch-path", { ...base, worker: { ...base.worker, batchSize: 16 } }, bad),
                propertyPath("worker.batchSize"),
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-frame-path", { ...base, worker: { ...base.worker, frameWidth: 0 } }, bad),
                propertyPath("worker.frameWidth"),
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-nodes-path", { ...base, scheduling: { nodeSelector: {}, tolerations: [] } }, bad),
                propertyPath("scheduling.nodeSelector"),
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("bad-nodes", { ...base, scheduling: { nodeSelector: {}, tolerations: [] } }, bad),
                /bad-nodes \(VideoInferenceDaemonSet\): scheduling\.nodeSelector is empty/,
            );
            assert.throws(
                () => new VideoInferenceDaemonSet("no-nodes", { ...base, maxNodes: 0 }, bad),
                /maxNodes must be a positive integer \(the video node group's maximum size\), got 0/,
            );
        });
    });

    describe("BERT service (legacy TF Serving)", () => {
        it("serves from a Deployment on the Neuron BERT nodes, requesting one Neuron device, without holding up `pulumi up`", () => {
            const d = one("bert-pod-identity", "kubernetes:apps/v1:Deployment");
            assert.equal((d.inputs.spec as Obj).replicas, 2);
            assert.deepEqual((d.inputs.metadata as Obj).annotations, { "pulumi.com/skipAwait": "true" });
            const spec = podSpec(d);
            assert.deepEqual(spec.nodeSelector, nodeSelector("bert", "inf2"));
            assert.deepEqual(spec.tolerations, tolerations("bert", "inf2"));
            assert.equal(spec.serviceAccountName, "bert-serving");
            const server = containerOf(spec, "tf-serving");
            assert.deepEqual(server.resources?.limits?.["aws.amazon.com/neuron"], "1");
            assert.deepEqual(
                server.ports?.map((p) => [p.name, p.containerPort]),
                [
                    ["grpc", 8500],
                    ["http", 8501],
                ],
            );
            assert.deepEqual(server.readinessProbe?.httpGet, { path: "/v1/models/bert/metadata", port: "http" });
            assert.ok(!server.args?.some((a) => a.startsWith("--enable_batching")), "batching off unless asked for");
            // No neuron-rtd sidecar and no privileges: the Neuron runtime is a library since Neuron 2.x.
            assert.deepEqual(
                spec.containers.map((c) => c.name),
                ["tf-serving"],
            );
            for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
                assertRestricted(c);
                assert.ok(!Object.keys(c.resources?.requests ?? {}).some((k) => k.startsWith("hugepages")), "no hugepages");
            }
            assert.equal(one("bert-pod-identity", "kubernetes:core/v1:ServiceAccount").inputs.automountServiceAccountToken, false);
        });

        it("puts a ClusterIP and a headless Service in front with grpc -> 8500 and http -> 8501, selecting the pods", () => {
            const d = one("bert-pod-identity", "kubernetes:apps/v1:Deployment");
            const services = of("bert-pod-identity").filter((r) => r.type === "kubernetes:core/v1:Service");
            assert.deepEqual(services.map((r) => (r.inputs.metadata as Obj).name).sort(), ["bert-serving", "bert-serving-pods"]);
            for (const service of services) {
                const svc = service.inputs.spec as Obj;
                const headless = (service.inputs.metadata as Obj).name === "bert-serving-pods";
                assert.equal(headless ? svc.clusterIP : svc.type, headless ? "None" : "ClusterIP");
                // Not awaited (the provider would wait for ready endpoints, which come only once a model is there).
                assert.deepEqual((service.inputs.metadata as Obj).annotations, { "pulumi.com/skipAwait": "true" });
                assert.ok(selects(svc.selector as Record<string, string>, podLabels(d)));
                assert.deepEqual(svc.ports, [
                    { name: "grpc", port: 8500, targetPort: "grpc", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
                    { name: "http", port: 8501, targetPort: "http", protocol: "TCP", appProtocol: "http" },
                ]);
            }
            assert.equal(bertDns, "bert-serving.bert.svc.cluster.local");
            assert.equal(bertGrpcUrl, "grpc://bert-serving.bert.svc.cluster.local:8500");
        });

        it("has a PodDisruptionBudget that selects the pods: maxUnavailable 1 with replicas, minAvailable 1 with one", () => {
            const d = one("bert-pod-identity", "kubernetes:apps/v1:Deployment");
            const pdb = one("bert-pod-identity", "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec as Obj;
            assert.ok(selects((pdb.selector as Obj).matchLabels as Record<string, string>, podLabels(d)));
            assert.equal(pdb.maxUnavailable, 1);
            assert.equal(pdb.minAvailable, undefined);
            const single = one("bert-single", "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec as Obj;
            assert.equal(single.minAvailable, 1);
        });

        it("uses Pod Identity only: no Secret, no AWS keys in any container", () => {
            for (const component of ["bert-pod-identity", "bert-single"]) {
                assert.equal(of(component).filter((r) => r.type === "kubernetes:core/v1:Secret").length, 0);
                const spec = podSpec(one(component, "kubernetes:apps/v1:Deployment"));
                for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
                    assert.equal(c.envFrom, undefined, `${c.name} envFrom`);
                    assert.ok(
                        !(c.env ?? []).some((e) => e.name.startsWith("AWS_ACCESS") || e.name.startsWith("AWS_SECRET")),
                        `${c.name} env`,
                    );
                }
            }
            const fetch = containerOf(podSpec(one("bert-pod-identity", "kubernetes:apps/v1:Deployment")), "model-fetch");
            assert.equal(envOf(fetch).MODEL_URI, "s3://models/bert-neuron/");
        });
    });

    describe("device plugins", () => {
        const release = (component: string): Obj => one(component, "kubernetes:helm.sh/v3:Release").inputs;

        it("installs only the Neuron device plugin from the pinned OCI chart, on Neuron inference nodes", () => {
            const r = release("neuron-plugin");
            assert.equal(r.chart, "oci://public.ecr.aws/neuron/neuron-helm-chart");
            assert.equal(r.version, NEURON_HELM_CHART_VERSION);
            assert.match(String(r.version), /^1\.10\.\d+$/, "Neuron Helm chart 1.10.x (device plugin 2.32)");
            const values = r.values as Record<string, Obj>;
            assert.equal(values.devicePlugin.enabled, true);
            assert.equal(values.scheduler.enabled, false);
            assert.equal(values.npd.enabled, false);
            const tolerated = (values.devicePlugin.tolerations as { key: string }[]).map((t) => t.key);
            for (const taint of [...tolerations("bert", "inf2"), ...tolerations("video", "inf2")]) {
                assert.ok(tolerated.includes(taint.key), `tolerates ${taint.key}`);
            }
            assert.deepEqual(values.devicePlugin.nodeSelector, { "eks-inference/node-role": "inference" });
        });

        it("installs the NVIDIA device plugin from its pinned chart on GPU nodes, time-sliced only when asked", () => {
            const plain = release("nvidia-plugin");
            assert.equal(plain.chart, "nvidia-device-plugin");
            assert.equal(plain.version, NVIDIA_HELM_CHART_VERSION);
            assert.match(String(plain.version), /^0\.20\.\d+$/, "NVIDIA device plugin chart 0.20.x");
            assert.deepEqual(plain.repositoryOpts, { repo: "https://nvidia.github.io/k8s-device-plugin" });
            const values = plain.values as Obj;
            assert.deepEqual(values.nodeSelector, { "eks-inference/node-role": "inference", "eks-inference/accelerator": "nvidia" });
            const terms = (((values.affinity as Obj).nodeAffinity as Obj).requiredDuringSchedulingIgnoredDuringExecution as Obj)
                .nodeSelectorTerms;
            assert.deepEqual(terms, [
                {
                    matchExpressions: [
                        { key: "eks-inference/node-role", operator: "In", values: ["inference"] },
                        { key: "eks-inference/accelerator", operator: "In", values: ["nvidia"] },
                    ],
                },
            ]);
            const tolerated = (values.tolerations as { key: string }[]).map((t) => t.key);
            for (const taint of tolerations("video", "nvidia")) assert.ok(tolerated.includes(taint.key), `tolerates ${taint.key}`);
            assert.equal(values.config, undefined);
            const sliced = (release("nvidia-sliced").values as Obj).config as { map: { default: string } };
            assert.match(sliced.map.default, /timeSlicing:[\s\S]*name: nvidia\.com\/gpu[\s\S]*replicas: 4/);
        });
    });
});
