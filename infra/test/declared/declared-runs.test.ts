// What the stack declares runs. For every checked-in stack file, and the dev stack on each accelerator
// profile no stack file uses, the mock plan's pods and scaler Lambda are run on this machine: every
// container that runs one of this project's programs starts from dist/ (or images/bert-python) with
// exactly its declared command, args and env. It must reach the state a pod reaches: the model in place
// where the model server reads it, the worker ready, an uploaded video turned into a result, the
// scaler's metrics published, the BERT model where Triton reads it.
//
// Test equivalents of what Kubernetes, EKS and AWS give a pod (nothing comes from the test's own env):
// - AWS: moto (AWS_ENDPOINT_URL), holding the plan's queues, buckets, S3 notification and the video
//   node group's Auto Scaling group with one instance (aws-world.ts);
// - EKS Pod Identity: a local agent (testing/pod-identity.ts) injecting AWS_CONTAINER_CREDENTIALS_FULL_URI
//   and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE for service accounts the plan associates with a role;
// - the downward API: spec.nodeName is the video group's moto instance's private DNS name, as EKS names a
//   node; the worker resolves it through EC2 to protect its instance (no instance metadata: the nodes keep
//   IMDS at hop limit 1, so a pod cannot reach it, and none is offered here either);
// - the internet: testing/internet.ts serves the model archive at the exact URL of videoModelUri, over
//   TLS with a certificate for the real host (HTTPS_PROXY, NODE_USE_ENV_PROXY, NODE_EXTRA_CA_CERTS);
// - volumes: temp directories (a ConfigMap volume holds the plan's ConfigMap data); container paths map
//   through the volume mounts, else through the image's COPYs (read from its Dockerfile);
// - ports: every containerPort gets a free local port, and env values naming it follow;
// - the model servers: the TF Serving emulator on the ports TF Serving's flags name; Triton is not run.
// Not emulated: the read-only root filesystem, uid 10001, resource limits.
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { IContainer } from "kubernetes-models/v1";
import { makeTestVideo } from "../../../testing/ffmpeg";
import { startFakeInternet, type FakeInternet } from "../../../testing/internet";
import { useProcessMoto, type MotoServer } from "../../../testing/moto";
import { startPodIdentityAgent, type PodIdentityAgent } from "../../../testing/pod-identity";
import { startTfServingEmulator, type TfServingEmulator } from "../../../testing/tfserving/emulator";
import { REPO_ROOT, type MockRunResult, type RecordedResource } from "../../mock-run/mock-run";
import { awsClients, createStackWorld, protectedFromScaleIn, queueCounts, type AwsClients, type StackWorld } from "./aws-world";
import { declaredCases, OUTSIDE_MODELS_BUCKET, planOf, profileCoverage, type DeclaredCase } from "./cases";
import { imageLayout, repoPathOf } from "./image";
import { invokeLambda, unpackCode } from "./lambda";
import { flags, probe, standInForTfServing, tfServingModel } from "./model-server";
import { allContainers, dockerfileOf, envValue, plannedPods, PodSandbox, type PlannedPod } from "./pod";

const run = promisify(execFile);

/** The programs of this repository the pods run (repository paths). */
const MODEL_FETCH = "dist/model-fetch/index.js";
const WORKER = "dist/worker/index.js";
const PYTHON_PROGRAMS = ["images/bert-python/compile.py", "images/bert-python/fetch_model.py"];

type Role = "model-fetch" | "worker" | "python" | "tf-serving" | "triton" | "image-holder";

/** What a container is, from its image's Dockerfile and its command mapped into the checkout. */
function roleOf(plan: MockRunResult, container: IContainer): Role | string {
    const dockerfile = dockerfileOf(plan, container.image ?? "");
    if (dockerfile === undefined) return `image ${container.image} is not built by this stack`;
    if (/^images\/tf-serving-[a-z]+\/Dockerfile$/.test(dockerfile) && container.command === undefined) return "tf-serving";
    if (container.command?.[0] === "tritonserver") return "triton";
    // Keeps an image on the node (the model server pre-pull DaemonSet): runs none of this project's programs.
    if (JSON.stringify(container.command) === JSON.stringify(["sleep", "infinity"])) return "image-holder";
    const layout = imageLayout(REPO_ROOT, dockerfile);
    const program = container.command?.[1] === undefined ? undefined : repoPathOf(layout, container.command[1]);
    if (container.command?.[0] === "node" && program === MODEL_FETCH) return "model-fetch";
    if (container.command?.[0] === "node" && program === WORKER) return "worker";
    if (container.command?.[0] === "python3" && program !== undefined && PYTHON_PROGRAMS.includes(program)) return "python";
    return `${dockerfile} running ${JSON.stringify(container.command)}`;
}

function byRole(plan: MockRunResult, pod: PlannedPod, role: Role): IContainer[] {
    return allContainers(pod.spec).filter((c) => roleOf(plan, c) === role);
}

function ofType(plan: MockRunResult, type: string): RecordedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

async function waitFor<T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined>,
    detail: () => string = () => "",
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** A SavedModel directory as TF1 exports lay it out (tiny placeholder contents). */
function writeSavedModel(dir: string): void {
    mkdirSync(path.join(dir, "variables"), { recursive: true });
    writeFileSync(path.join(dir, "saved_model.pb"), Buffer.from("placeholder SavedModel proto"));
}

describe("what the stack declares runs (plan -> containers on moto and the model server emulator)", function () {
    this.timeout(120_000);
    const cases = declaredCases();
    const covered = profileCoverage();
    let moto: MotoServer;
    let emulators: Map<string, Promise<TfServingEmulator>>;
    let work: string;
    let video: Buffer;
    /** The default model's archive, laid out as the TF1 detection model zoo's ssd_mobilenet_v2_coco_2018_03_29.tar.gz. */
    let zooArchive: Buffer;

    before(async () => {
        for (const c of cases) void planOf(c);
        work = mkdtempSync(path.join(tmpdir(), "declared-runs-"));
        const zoo = path.join(work, "zoo", "ssd_mobilenet_v2_coco_2018_03_29");
        writeSavedModel(path.join(zoo, "saved_model"));
        for (const f of ["checkpoint", "frozen_inference_graph.pb", "model.ckpt.index", "model.ckpt.meta", "pipeline.config"]) {
            writeFileSync(path.join(zoo, f), f);
        }
        await run("tar", ["-czf", path.join(work, "zoo.tar.gz"), "-C", path.join(work, "zoo"), "ssd_mobilenet_v2_coco_2018_03_29"]);
        zooArchive = readFileSync(path.join(work, "zoo.tar.gz"));
        const videoFile = path.join(work, "clip.mp4");
        await makeTestVideo({ path: videoFile, seconds: 1, fps: 5, width: 160, height: 120 });
        video = readFileSync(videoFile);
        moto = await useProcessMoto();
        emulators = new Map();
    });

    after(async () => {
        for (const e of emulators?.values() ?? []) await (await e).stop();
        await moto?.stop();
        if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    /** One emulator per model name, shared by the cases (it is stateless apart from its request log). */
    function emulatorFor(modelName: string): Promise<TfServingEmulator> {
        let e = emulators.get(modelName);
        if (e === undefined) {
            e = startTfServingEmulator({ detectionModelName: modelName });
            emulators.set(modelName, e);
        }
        return e;
    }

    it("covers every accelerator profile: each runs in a stack file or as a profile case", () => {
        const titles = cases.map((c) => c.title);
        for (const [profile, stackFile] of Object.entries(covered)) assert.ok(titles.includes(stackFile), `${profile}: ${stackFile}`);
        for (const title of titles.filter((t) => t.startsWith("profile "))) assert.ok(!(title.split(" ")[1] in covered), title);
        assert.ok(titles.length >= 4, titles.join(", "));
    });

    for (const c of cases) describeCase(c);

    function describeCase(c: DeclaredCase): void {
        describe(c.title, () => {
            let plan: MockRunResult;
            let region: string;
            let aws: AwsClients;
            let world: StackWorld;
            let agent: PodIdentityAgent;
            let internet: FakeInternet;
            let caseDir: string;
            let videoPod: PlannedPod | undefined;
            let videoSandbox: PodSandbox | undefined;
            const uploadKey = (prefix: string): string => `${prefix}declared run/clip 1.mp4`;

            before(async () => {
                plan = await planOf(c);
                region = plan.config["aws:region"];
                await moto.reset();
                aws = awsClients(moto.endpoint, region);
                world = await createStackWorld(plan, aws, region);
                await publishOutsideModels(aws, region);
                agent = await startPodIdentityAgent(
                    ofType(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((a) => ({
                        namespace: String(a.inputs.namespace),
                        serviceAccount: String(a.inputs.serviceAccount),
                        roleArn: String(a.inputs.roleArn),
                    })),
                );
                // The internet has the model zoo archive at the URL the stack declares (and at its http twin).
                const declaredUri = String(plan.config["eks-inference:videoModelUri"]);
                const sites: Record<string, Buffer> = {};
                if (/^https?:\/\//.test(declaredUri)) {
                    sites[declaredUri] = zooArchive;
                    sites[declaredUri.replace(/^https:/, "http:")] = zooArchive;
                }
                internet = await startFakeInternet(sites);
                caseDir = mkdtempSync(path.join(work, "case-"));
                videoPod = plannedPods(plan).find((p) => p.kind === "DaemonSet" && byRole(plan, p, "worker").length > 0);
            });

            after(async () => {
                await internet?.stop();
                await agent?.stop();
                aws?.destroy();
            });

            /** Models outside the stack that the profile cases point videoModelUri / bertModelUri at. */
            async function publishOutsideModels(clients: AwsClients, where: string): Promise<void> {
                const uris = [plan.config["eks-inference:videoModelUri"], plan.config["eks-inference:bertModelUri"]].filter((u) =>
                    u?.startsWith(`s3://${OUTSIDE_MODELS_BUCKET}/`),
                );
                if (uris.length === 0) return;
                await clients.s3.send(
                    new CreateBucketCommand({
                        Bucket: OUTSIDE_MODELS_BUCKET,
                        ...(where === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: where as never } }),
                    }),
                );
                for (const uri of uris) {
                    const key = uri.slice(`s3://${OUTSIDE_MODELS_BUCKET}/`.length);
                    const objects: Record<string, Buffer> = key.endsWith(".tar.gz")
                        ? { [key]: zooArchive }
                        : {
                              [`${key}1/saved_model.pb`]: Buffer.from("placeholder SavedModel proto"),
                              [`${key}1/variables/variables.index`]: Buffer.from("i"),
                          };
                    for (const [k, body] of Object.entries(objects)) {
                        await clients.s3.send(new PutObjectCommand({ Bucket: OUTSIDE_MODELS_BUCKET, Key: k, Body: body }));
                    }
                }
            }

            function sandboxFor(pod: PlannedPod, name: string): PodSandbox {
                const root = path.join(caseDir, name);
                mkdirSync(root, { recursive: true });
                return new PodSandbox(plan, pod, {
                    root,
                    nodeName: world.videoGroup?.nodeName ?? `ip-10-0-1-23.${region}.compute.internal`,
                    podIdentity: agent,
                    extraEnv: {
                        AWS_ENDPOINT_URL: moto.endpoint,
                    },
                });
            }

            it("declares only containers of this project's images that this test runs or stands in for", () => {
                const unknown: string[] = [];
                for (const pod of plannedPods(plan)) {
                    for (const container of allContainers(pod.spec)) {
                        const role = roleOf(plan, container);
                        if (!["model-fetch", "worker", "python", "tf-serving", "triton", "image-holder"].includes(role)) {
                            unknown.push(`${pod.kind} ${pod.namespace}/${pod.name} ${container.name}: ${role}`);
                        }
                    }
                }
                assert.deepEqual(unknown, []);
                for (const fn of ofType(plan, "aws:lambda/function:Function")) {
                    assert.deepEqual(
                        unpackCode(fn, mkdtempSync(path.join(caseDir, "code-"))),
                        { "index.js": "dist/scaler/index.js" },
                        `${fn.name} ships the scaler bundle`,
                    );
                }
            });

            it("gives every container that runs Python (boto3) AWS_DEFAULT_REGION, the stack's region", () => {
                for (const pod of plannedPods(plan)) {
                    for (const container of byRole(plan, pod, "python")) {
                        assert.equal(envValue(container, "AWS_DEFAULT_REGION"), region, `${pod.namespace}/${pod.name} ${container.name}`);
                        assert.equal(envValue(container, "AWS_REGION"), region, `${pod.namespace}/${pod.name} ${container.name}`);
                    }
                }
            });

            it("video pod: model-fetch puts the model where TF Serving's flags load it from", async function () {
                if (videoPod === undefined) {
                    assert.equal(plan.config["eks-inference:videoEnabled"], "false", "only a stack without video has no worker DaemonSet");
                    return;
                }
                videoSandbox = sandboxFor(videoPod, "video");
                const [fetch] = byRole(plan, videoPod, "model-fetch");
                assert.ok(fetch, "the video pod fetches its model");
                const output = await videoSandbox.runToCompletion(fetch, 60_000, internet.env);
                const [server] = byRole(plan, videoPod, "tf-serving");
                const model = tfServingModel(videoSandbox, server);
                assert.deepEqual(
                    model.versions,
                    [Number(envValue(fetch, "MODEL_VERSION") ?? 1)],
                    `a SavedModel under ${model.basePath}\n${output}`,
                );
                assert.ok((model.maxBatchSize ?? Infinity) >= Number(envValue(byRole(plan, videoPod, "worker")[0], "BATCH_SIZE")));
                // It came from where the stack said, as the pod's own identity.
                const uri = String(envValue(fetch, "MODEL_URI"));
                if (uri.startsWith("https://")) assert.deepEqual(internet.requests, [`GET ${uri}`]);
                assert.ok(
                    agent.requests.some((r) => r.namespace === videoPod?.namespace) || !uri.startsWith("s3://"),
                    "s3 read with Pod Identity",
                );
            });

            it("video upload -> job; the scaler Lambda publishes the backlog for the stack's queue and group", async () => {
                const fn = ofType(plan, "aws:lambda/function:Function")[0];
                if (videoPod === undefined || fn === undefined) {
                    assert.equal(fn, undefined, "a scaler without a video pipeline");
                    return;
                }
                const notification = ofType(plan, "aws:s3/bucketNotification:BucketNotification")[0];
                const prefix = String((notification.inputs.queues as { filterPrefix?: string }[])[0]?.filterPrefix ?? "");
                const worker = byRole(plan, videoPod, "worker")[0];
                const bucket = String(envValue(worker, "RESULTS_BUCKET"));
                await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: uploadKey(prefix), Body: video, ContentType: "video/mp4" }));
                const queueUrl = String(envValue(worker, "JOB_QUEUE_URL"));
                const queued = await waitFor("the S3 notification's job", 10_000, async () => {
                    const n = await queueCounts(aws, queueUrl);
                    return n.visible + n.inFlight > 0 ? n.visible + n.inFlight : undefined;
                });
                // The Lambda runtime's credentials come from the execution role: session keys in its environment.
                const invocation = await invokeLambda(fn, region, mkdtempSync(path.join(caseDir, "task-")), scheduledEvent(plan, region), {
                    AWS_ENDPOINT_URL: moto.endpoint,
                    AWS_ACCESS_KEY_ID: "ASIALAMBDAEXECUTION",
                    AWS_SECRET_ACCESS_KEY: "lambda-execution-role-secret",
                    AWS_SESSION_TOKEN: "lambda-execution-role-session",
                });
                assert.equal(invocation.error, undefined, invocation.output);
                const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
                const published = await latestMetrics(region, variables.METRIC_NAMESPACE, queueUrl.split("/").pop() as string);
                assert.deepEqual(published, {
                    QueueBacklog: queued,
                    BacklogPerInstance: queued,
                    InServiceInstances: 1,
                    DesiredCapacity: 1,
                });
            });

            it("video pod: the worker becomes ready, turns the upload into a result and stops on SIGTERM", async () => {
                if (videoPod === undefined) return;
                const sandbox = videoSandbox;
                assert.ok(sandbox, "model-fetch ran first");
                const [server] = byRole(plan, videoPod, "tf-serving");
                const [worker] = byRole(plan, videoPod, "worker");
                // TF Serving would load the model model-fetch left; the emulator serves it under --model_name.
                const model = tfServingModel(sandbox, server);
                assert.ok(model.versions.length > 0, `no model under ${model.basePath} for TF Serving to load`);
                await standInForTfServing(sandbox, server, await emulatorFor(model.modelName));
                assert.equal(await probe(sandbox, server, "startupProbe"), 200, "TF Serving's startup probe");
                const running = await sandbox.start(worker);
                try {
                    await waitFor(
                        "the worker's readiness probe",
                        30_000,
                        async () => ((await probe(sandbox, worker, "readinessProbe")) === 200 ? true : undefined),
                        running.output,
                    );
                    const notification = ofType(plan, "aws:s3/bucketNotification:BucketNotification")[0];
                    const prefix = String((notification.inputs.queues as { filterPrefix?: string }[])[0]?.filterPrefix ?? "");
                    const bucket = String(envValue(worker, "RESULTS_BUCKET"));
                    const resultKey = `${String(envValue(worker, "RESULTS_PREFIX"))}${uploadKey(prefix)}.json`;
                    const text = await waitFor(
                        `s3://${bucket}/${resultKey}`,
                        60_000,
                        async () => {
                            try {
                                const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: resultKey }));
                                return await out.Body?.transformToString();
                            } catch {
                                return undefined;
                            }
                        },
                        running.output,
                    );
                    const result = JSON.parse(text) as { model: { name: string }; frameCount: number; source: { key: string } };
                    assert.equal(result.model.name, envValue(worker, "MODEL_NAME"));
                    assert.equal(result.source.key, uploadKey(prefix));
                    assert.equal(result.frameCount, 5);
                    // Every message accounted for, the node's scale-in protection set and cleared again.
                    const queues = [String(envValue(worker, "JOB_QUEUE_URL")), String(envValue(worker, "DEAD_LETTER_QUEUE_URL"))];
                    await waitFor("the job's deletion", 10_000, async () =>
                        (await queueCounts(aws, queues[0])).inFlight === 0 ? true : undefined,
                    );
                    assert.deepEqual(await queueCounts(aws, queues[0]), { visible: 0, inFlight: 0 });
                    assert.deepEqual(await queueCounts(aws, queues[1]), { visible: 0, inFlight: 0 });
                    assert.ok(world.videoGroup);
                    assert.match(
                        running.output(),
                        new RegExp(`"msg":"scale-in protection enabled".*"autoScalingGroup":"${world.videoGroup.name}"`),
                    );
                    assert.equal(await protectedFromScaleIn(aws, world.videoGroup.instanceId), false);
                    assert.ok(
                        agent.requests.some(
                            (r) => r.namespace === videoPod?.namespace && r.serviceAccount === videoPod.spec.serviceAccountName,
                        ),
                    );
                } finally {
                    running.child.kill("SIGTERM");
                }
                const grace = (videoPod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
                const code = await Promise.race([running.exited, new Promise((r) => setTimeout(() => r("still running"), grace))]);
                assert.equal(code, 0, `exit after SIGTERM within the ${grace} ms grace period\n${running.output()}`);
            });

            it("BERT pods: the model lands where the model server reads it", async () => {
                const pods = plannedPods(plan).filter((p) => p.namespace === "bert" && p.kind !== "DaemonSet");
                if (plan.config["eks-inference:bertEnabled"] !== "true") {
                    assert.deepEqual(pods, [], "no BERT pods when BERT is off");
                    return;
                }
                const serving = pods.find((p) => p.kind === "Deployment");
                assert.ok(serving, "a BERT serving Deployment");
                const sandbox = sandboxFor(serving, "bert");
                const [triton] = byRole(plan, serving, "triton");
                if (triton !== undefined) {
                    const [wait] = byRole(plan, serving, "python");
                    const bucket = String(envValue(wait, "MODEL_BUCKET"));
                    const prefix = String(envValue(wait, "MODEL_PREFIX"));
                    // What the compile Job leaves when it has built the model (it needs PyTorch; here it is published directly).
                    const sizes = String(envValue(wait, "BATCH_SIZES")).split(",").map(Number);
                    const files = Object.fromEntries(sizes.map((b) => [`model-b${b}.pt`, Buffer.from(`traced batch ${b}`)]));
                    for (const [name, body] of Object.entries(files))
                        await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: body }));
                    const manifest = {
                        format: 1,
                        modelId: plan.config["eks-inference:bertModelId"],
                        target: envValue(wait, "TARGET"),
                        sequenceLength: Number(envValue(wait, "SEQUENCE_LENGTH")),
                        batchSizes: sizes,
                        files: Object.fromEntries(
                            Object.entries(files).map(([n, b]) => [
                                n,
                                { sha256: createHash("sha256").update(b).digest("hex"), bytes: b.length },
                            ]),
                        ),
                    };
                    await aws.s3.send(
                        new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: JSON.stringify(manifest) }),
                    );
                    const job = pods.find((p) => p.kind === "Job");
                    if (job !== undefined) {
                        const [compile] = byRole(plan, job, "python");
                        const out = await sandboxFor(job, "compile").runToCompletion(compile, 30_000);
                        assert.match(out, /manifest\.json exists: the model is already built, nothing to do/);
                    }
                    await sandbox.runToCompletion(wait, 30_000);
                    const repository = sandbox.mapPath(triton, undefined, String(flags(triton).get("model-repository")));
                    const name = String(envValue(wait, "MODEL_NAME"));
                    for (const file of ["config.pbtxt", "1/model.py", ...Object.keys(files).map((f) => `1/${f}`)]) {
                        assert.ok(existsSync(path.join(repository, name, file)), `${name}/${file} in Triton's --model-repository`);
                    }
                } else {
                    const [fetch] = byRole(plan, serving, "model-fetch");
                    const [server] = byRole(plan, serving, "tf-serving");
                    assert.ok(fetch && server, "legacy TF Serving: model-fetch and TF Serving");
                    await sandbox.runToCompletion(fetch, 60_000, internet.env);
                    assert.deepEqual(tfServingModel(sandbox, server).versions, [1]);
                }
            });
        });
    }

    function scheduledEvent(plan: MockRunResult, region: string): unknown {
        const rule = ofType(plan, "aws:cloudwatch/eventRule:EventRule")[0];
        return {
            version: "0",
            id: "declared-run",
            "detail-type": "Scheduled Event",
            source: "aws.events",
            account: "123456789012",
            time: new Date().toISOString(),
            region,
            resources: [`arn:aws:events:${region}:123456789012:rule/${rule?.physicalName ?? "scaler"}`],
            detail: {},
        };
    }

    /** The latest value of each scaler metric for the queue, read back in the stack's region (undefined: nothing published). */
    async function latestMetrics(region: string, namespace: string, queueName: string): Promise<Record<string, number | undefined>> {
        const cloudwatch = new CloudWatchClient({
            endpoint: moto.endpoint,
            region,
            credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        });
        try {
            const names = ["QueueBacklog", "BacklogPerInstance", "InServiceInstances", "DesiredCapacity"];
            const end = new Date(Date.now() + 60_000);
            const out = await cloudwatch.send(
                new GetMetricDataCommand({
                    StartTime: new Date(end.getTime() - 3_600_000),
                    EndTime: end,
                    MetricDataQueries: names.map((MetricName, i) => ({
                        Id: `m${i}`,
                        MetricStat: {
                            Metric: { Namespace: namespace, MetricName, Dimensions: [{ Name: "QueueName", Value: queueName }] },
                            Period: 60,
                            Stat: "Average",
                        },
                    })),
                }),
            );
            return Object.fromEntries(names.map((n, i) => [n, out.MetricDataResults?.find((r) => r.Id === `m${i}`)?.Values?.[0]]));
        } finally {
            cloudwatch.destroy();
        }
    }
});
