// BERT on Triton under Pulumi mocks: the compile Job, the waiting serving pods, probes, Neuron
// resources, ports and Services, for inf2 and cpu, with the stack building the model or the user's own.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { GENERAL_NODE_LABELS, nodeSelector, tolerations } from "../../platform/accelerators";
import { compiledModelPrefix } from "../../bert/settings";
import { BertTritonService, buildJobName, type BertTritonArgs } from "../../bert/triton-service";
import { tritonModelConfig } from "../../bert/triton";
import { containerOf, envOf, podSpec, setComponentMocks, type Container, type Obj, type Recorded } from "../support/component-mocks";
import { isKubernetesObjectType, validateKubernetesObject } from "../support/k8s-schema";

const recorded: Recorded[] = [];
const IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/eks-inference/test/triton-neuronx@sha256:abcd";
const MODEL = { modelId: "google-bert/bert-base-cased-finetuned-mrpc", sequenceLength: 128, batchSizes: [1, 4, 8] };
const INF2_PREFIX = compiledModelPrefix({ ...MODEL, target: "neuronx" });
const CPU_PREFIX = compiledModelPrefix({ ...MODEL, target: "cpu" });
const GENERAL = { nodeSelector: { ...GENERAL_NODE_LABELS }, tolerations: [] };

function of(component: string, type?: string): Recorded[] {
    return recorded.filter((r) => r.name.startsWith(`${component}-`) && (type === undefined || r.type === type));
}
function one(component: string, type: string): Recorded {
    const found = of(component, type);
    assert.equal(found.length, 1, `${component}: expected one ${type}, found ${found.length}`);
    return found[0] as Recorded;
}
function extendedResources(c: Container): string[] {
    return [...Object.keys(c.resources?.requests ?? {}), ...Object.keys(c.resources?.limits ?? {})].filter((k) => k.includes("/"));
}

describe("BERT on Triton (Pulumi mocks)", function () {
    this.timeout(30_000);
    const outputs: Record<string, string> = {};

    before(async () => {
        await setComponentMocks("bert-triton-test", recorded);
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        const onK8s = { providers: { kubernetes: provider } };
        const base = (target: "neuronx" | "cpu", prefix: string): BertTritonArgs => ({
            image: IMAGE,
            replicas: target === "neuronx" ? 2 : 1,
            scheduling: {
                nodeSelector: nodeSelector("bert", target === "neuronx" ? "inf2" : "cpu"),
                tolerations: tolerations("bert", target === "neuronx" ? "inf2" : "cpu"),
            },
            accelerator: target === "neuronx" ? { resourceName: "aws.amazon.com/neuron", count: 1 } : undefined,
            instances: target === "neuronx" ? 2 : 1,
            model: {
                name: "bert",
                sequenceLength: 128,
                batchSizes: [1, 4, 8],
                target,
                bucket: pulumi.output("eks-inference-test-models-0123abcd"),
                prefix,
            },
            region: "us-west-2",
        });
        const inf2 = new BertTritonService(
            "inf2",
            { ...base("neuronx", INF2_PREFIX), build: { modelId: MODEL.modelId, scheduling: GENERAL } },
            onK8s,
        );
        const cpu = new BertTritonService(
            "cpu",
            { ...base("cpu", CPU_PREFIX), build: { modelId: MODEL.modelId, scheduling: GENERAL } },
            onK8s,
        );
        const own = new BertTritonService(
            "own",
            { ...base("neuronx", "teams/bert/v7/"), model: { ...base("neuronx", "teams/bert/v7/").model, bucket: "my-models" } },
            onK8s,
        );
        for (const [key, out] of Object.entries({
            dns: inf2.dnsName,
            headless: inf2.headlessDnsName,
            grpc: inf2.grpcUrl,
            location: inf2.modelLocation,
            ownLocation: own.modelLocation,
            cpuDns: cpu.dnsName,
        })) {
            outputs[key] = await new Promise<string>((resolve) => out.apply(resolve));
        }
        // Resources nothing awaits (PDBs, headless Services) register a little later.
        for (let i = 0; i < 200 && recorded.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget").length < 3; i++) {
            await new Promise((r) => setTimeout(r, 10));
        }
    });

    it("every object validates against the Kubernetes schema (kubernetes-models)", () => {
        const objects = recorded.filter((r) => isKubernetesObjectType(r.type));
        assert.ok(objects.length >= 25, `expected the objects of three services, got ${objects.length}`);
        for (const r of objects) validateKubernetesObject(r.type, r.inputs);
    });

    describe("the compile Job", () => {
        it("runs only when the stack builds the model, named after the model key", () => {
            assert.equal(of("own", "kubernetes:batch/v1:Job").length, 0, "no Job for the user's own model");
            const job = one("inf2", "kubernetes:batch/v1:Job");
            assert.equal((job.inputs.metadata as Obj).name, buildJobName(INF2_PREFIX));
            assert.match(buildJobName(INF2_PREFIX), /^bert-model-build-[0-9a-f]{8}$/);
            assert.notEqual(buildJobName(INF2_PREFIX), buildJobName(CPU_PREFIX), "another key is another Job");
        });

        it("compiles where it is told (index.ts picks the nodes) with the builder's Pod Identity service account and no accelerator", () => {
            for (const [component, target] of [
                ["inf2", "neuronx"],
                ["cpu", "cpu"],
            ] as const) {
                const job = one(component, "kubernetes:batch/v1:Job");
                const spec = podSpec(job);
                assert.deepEqual(spec.nodeSelector, GENERAL_NODE_LABELS);
                assert.deepEqual(spec.tolerations, []);
                assert.equal(spec.restartPolicy, "Never");
                assert.equal(spec.serviceAccountName, "bert-model-builder");
                assert.equal(spec.automountServiceAccountToken, false);
                const compile = containerOf(spec, "compile");
                assert.deepEqual(compile.command, ["python3", "/opt/bert/compile.py"]);
                assert.deepEqual(extendedResources(compile), []);
                assert.deepEqual(envOf(compile), {
                    MODEL_BUCKET: "eks-inference-test-models-0123abcd",
                    MODEL_PREFIX: target === "neuronx" ? INF2_PREFIX : CPU_PREFIX,
                    SEQUENCE_LENGTH: "128",
                    BATCH_SIZES: "1,4,8",
                    TARGET: target,
                    AWS_REGION: "us-west-2",
                    // boto3 reads only this one (boto/boto3#3620).
                    AWS_DEFAULT_REGION: "us-west-2",
                    MODEL_ID: "google-bert/bert-base-cased-finetuned-mrpc",
                    HF_HOME: "/work/hf",
                    TMPDIR: "/tmp",
                    HOME: "/work",
                });
                assert.ok(!(compile.env ?? []).some((e) => /^AWS_(ACCESS|SECRET|SESSION)/.test(e.name)), "no static keys");
                assert.equal(compile.securityContext?.readOnlyRootFilesystem, true);
                assert.deepEqual(compile.volumeMounts, [
                    { name: "work", mountPath: "/work" },
                    { name: "tmp", mountPath: "/tmp" },
                ]);
                // Scratch sized with the node the Job runs on: neuronx-cc on the BERT nodes, a CPU trace on general ones.
                assert.deepEqual(
                    spec.volumes?.map((v) => [v.name, v.emptyDir?.sizeLimit]),
                    target === "neuronx"
                        ? [
                              ["work", "20Gi"],
                              ["tmp", "10Gi"],
                          ]
                        : [
                              ["work", "6Gi"],
                              ["tmp", "2Gi"],
                          ],
                );
                const sa = of(component, "kubernetes:core/v1:ServiceAccount")
                    .map((r) => r.inputs.metadata as Obj)
                    .find((m) => m.name === "bert-model-builder");
                assert.equal(sa?.namespace, "bert");
            }
        });

        it("does not hold up `pulumi up`: skipAwait on the Job, bounded retries and run time", () => {
            const job = one("inf2", "kubernetes:batch/v1:Job");
            assert.deepEqual((job.inputs.metadata as Obj).annotations, { "pulumi.com/skipAwait": "true" });
            const spec = job.inputs.spec as Obj;
            assert.equal(spec.backoffLimit, 2);
            assert.equal(spec.activeDeadlineSeconds, 10800);
        });
    });

    describe("the serving Deployment", () => {
        it("lands on the BERT nodes: one Neuron device and two model instances on inf2, no accelerator on cpu", () => {
            const inf2 = podSpec(one("inf2", "kubernetes:apps/v1:Deployment"));
            assert.deepEqual(inf2.nodeSelector, nodeSelector("bert", "inf2"));
            assert.deepEqual(inf2.tolerations, tolerations("bert", "inf2"));
            const server = containerOf(inf2, "triton");
            assert.equal(server.resources?.requests?.["aws.amazon.com/neuron"], "1");
            assert.equal(server.resources?.limits?.["aws.amazon.com/neuron"], "1");
            assert.deepEqual(extendedResources(containerOf(inf2, "wait-for-model")), []);
            const cpu = podSpec(one("cpu", "kubernetes:apps/v1:Deployment"));
            assert.deepEqual(cpu.nodeSelector, nodeSelector("bert", "cpu"));
            for (const c of [...(cpu.initContainers ?? []), ...cpu.containers]) assert.deepEqual(extendedResources(c), [], c.name);
            const config = (component: string): string =>
                (one(component, "kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>)["config.pbtxt"] as string;
            assert.match(config("inf2"), /instance_group \{ count: 2 kind: KIND_MODEL \}/);
            assert.match(config("cpu"), /instance_group \{ count: 1 kind: KIND_CPU \}/);
        });

        it("serves KServe v2 on named ports, ready on ModelReady, live on the server's health", () => {
            const server = containerOf(podSpec(one("inf2", "kubernetes:apps/v1:Deployment")), "triton");
            assert.deepEqual(
                server.ports?.map((p) => [p.name, p.containerPort]),
                [
                    ["grpc", 8001],
                    ["http", 8000],
                    ["metrics", 8002],
                ],
            );
            assert.deepEqual(server.command, ["tritonserver"]);
            for (const flag of [
                "--model-repository=/models",
                "--http-port=8000",
                "--grpc-port=8001",
                "--metrics-port=8002",
                "--strict-readiness=true",
            ]) {
                assert.ok(server.args?.includes(flag), flag);
            }
            assert.deepEqual(server.readinessProbe?.httpGet, { path: "/v2/models/bert/ready", port: "http" });
            assert.deepEqual(server.startupProbe?.httpGet, { path: "/v2/models/bert/ready", port: "http" });
            assert.equal((server.startupProbe?.failureThreshold ?? 0) * (server.startupProbe?.periodSeconds ?? 0), 600);
            assert.deepEqual(server.livenessProbe?.httpGet, { path: "/v2/health/live", port: "http" });
            assert.deepEqual(
                server.volumeMounts?.find((m) => m.mountPath === "/models"),
                { name: "model-repository", mountPath: "/models", readOnly: true },
            );
            // Read-only root filesystem: home on /tmp; the CPU server uses both vCPUs of its node.
            assert.deepEqual(envOf(server), { HOME: "/tmp" });
            assert.deepEqual(envOf(containerOf(podSpec(one("cpu", "kubernetes:apps/v1:Deployment")), "triton")), {
                HOME: "/tmp",
                BERT_CPU_THREADS: "2",
            });
        });

        it("waits for the model in an init container that says what it waits for, without holding up `pulumi up`", () => {
            const deployment = one("inf2", "kubernetes:apps/v1:Deployment");
            assert.deepEqual((deployment.inputs.metadata as Obj).annotations, { "pulumi.com/skipAwait": "true" });
            const wait = containerOf(podSpec(deployment), "wait-for-model");
            assert.deepEqual(wait.command, ["python3", "/opt/bert/fetch_model.py"]);
            const env = envOf(wait);
            assert.equal(env.MODEL_PREFIX, INF2_PREFIX);
            assert.equal(env.MANIFEST, "manifest.json");
            assert.equal(
                env.WAITING_FOR,
                `the compile Job bert/${buildJobName(INF2_PREFIX)} (kubectl -n bert logs job/${buildJobName(INF2_PREFIX)})`,
            );
            assert.equal(
                envOf(containerOf(podSpec(one("own", "kubernetes:apps/v1:Deployment")), "wait-for-model")).WAITING_FOR,
                "your compiled model (eks-inference:bertModelUri)",
            );
            assert.equal(outputs.location, `s3://eks-inference-test-models-0123abcd/${INF2_PREFIX}`);
            assert.equal(outputs.ownLocation, "s3://my-models/teams/bert/v7/");
        });

        it("runs every container non-root with a read-only root filesystem, as the serving identity", () => {
            for (const component of ["inf2", "cpu", "own"]) {
                const spec = podSpec(one(component, "kubernetes:apps/v1:Deployment"));
                assert.equal(spec.serviceAccountName, "bert-serving");
                for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
                    assert.equal(c.securityContext?.runAsNonRoot, true, c.name);
                    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name);
                    assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
                    assert.ok(!(c.env ?? []).some((e) => /^AWS_(ACCESS|SECRET|SESSION)/.test(e.name)), `${c.name} has no static keys`);
                }
            }
        });
    });

    it("puts a ClusterIP Service and a headless Service in front, ports named for what they carry", () => {
        const services = of("inf2", "kubernetes:core/v1:Service");
        assert.deepEqual(services.map((s) => (s.inputs.metadata as Obj).name).sort(), ["bert-serving", "bert-serving-pods"]);
        const headless = services.find((s) => (s.inputs.metadata as Obj).name === "bert-serving-pods") as Recorded;
        assert.equal((headless.inputs.spec as Obj).clusterIP, "None");
        for (const s of services) {
            // Not awaited: endpoints have no ready pod until the compile Job has built the model.
            assert.deepEqual(
                (s.inputs.metadata as Obj).annotations,
                { "pulumi.com/skipAwait": "true" },
                String((s.inputs.metadata as Obj).name),
            );
            assert.deepEqual((s.inputs.spec as Obj).ports, [
                { name: "grpc", port: 8001, targetPort: "grpc", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
                { name: "http", port: 8000, targetPort: "http", protocol: "TCP", appProtocol: "http" },
                { name: "metrics", port: 8002, targetPort: "metrics", protocol: "TCP", appProtocol: "http" },
            ]);
        }
        assert.equal(outputs.dns, "bert-serving.bert.svc.cluster.local");
        assert.equal(outputs.headless, "bert-serving-pods.bert.svc.cluster.local");
        assert.equal(outputs.grpc, "grpc://bert-serving.bert.svc.cluster.local:8001");
        const pdb = one("inf2", "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec as Obj;
        assert.equal(pdb.maxUnavailable, 1);
        assert.equal((one("cpu", "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec as Obj).minAvailable, 1);
    });

    it("writes a Triton config with fixed-shape INT64 inputs, dynamic batching on the compiled sizes, and rejects bad specs", () => {
        const text = tritonModelConfig({
            name: "bert",
            sequenceLength: 128,
            batchSizes: [1, 4, 8],
            target: "neuronx",
            instances: 2,
            maxQueueDelayMicroseconds: 2000,
        });
        assert.equal(
            text,
            [
                'name: "bert"',
                'backend: "python"',
                "max_batch_size: 8",
                'input { name: "input_ids" data_type: TYPE_INT64 dims: [ 128 ] }',
                'input { name: "attention_mask" data_type: TYPE_INT64 dims: [ 128 ] }',
                'input { name: "token_type_ids" data_type: TYPE_INT64 dims: [ 128 ] }',
                'output { name: "logits" data_type: TYPE_FP32 dims: [ -1 ] }',
                "instance_group { count: 2 kind: KIND_MODEL }",
                "dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 2000 }",
                'parameters { key: "target" value: { string_value: "neuronx" } }',
                'parameters { key: "batch_sizes" value: { string_value: "1,4,8" } }',
                'parameters { key: "sequence_length" value: { string_value: "128" } }',
                "",
            ].join("\n"),
        );
        assert.match(
            tritonModelConfig({
                name: "b",
                sequenceLength: 64,
                batchSizes: [1],
                target: "cpu",
                instances: 1,
                maxQueueDelayMicroseconds: 0,
            }),
            /dynamic_batching \{ max_queue_delay_microseconds: 0 \}/,
        );
        assert.throws(
            () =>
                tritonModelConfig({
                    name: "b",
                    sequenceLength: 64,
                    batchSizes: [4, 2],
                    target: "cpu",
                    instances: 1,
                    maxQueueDelayMicroseconds: 0,
                }),
            /batchSizes must be increasing positive integers, got \[4, 2\]/,
        );
    });

    it("refuses a Neuron target without a Neuron device and a bad key prefix", () => {
        const provider = new k8s.Provider("k8s-bad", { kubeconfig: "{}" });
        const args: BertTritonArgs = {
            image: IMAGE,
            replicas: 1,
            instances: 1,
            region: "us-west-2",
            scheduling: { nodeSelector: nodeSelector("bert", "cpu"), tolerations: [] },
            model: { name: "bert", sequenceLength: 128, batchSizes: [1], target: "neuronx", bucket: "b", prefix: "p/" },
        };
        assert.throws(
            () => new BertTritonService("bad-target", args, { providers: { kubernetes: provider } }),
            /model target 'neuronx' needs a Neuron device/,
        );
        assert.throws(
            () =>
                new BertTritonService(
                    "bad-prefix",
                    { ...args, model: { ...args.model, target: "cpu", prefix: "p" } },
                    { providers: { kubernetes: provider } },
                ),
            /model.prefix must be a key prefix ending in '\/'/,
        );
    });
});
