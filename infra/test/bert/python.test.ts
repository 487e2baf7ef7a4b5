// The Python programs in the Triton images (images/bert-python), run for real with python3 and boto3
// against moto: the init container waits and says what for, assembles the Triton repository, and
// refuses a model that does not fit; the compile Job does nothing when the model already exists.
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { useProcessMoto, type MotoServer } from "../../../testing/moto";

const DIR = path.resolve(__dirname, "../../../images/bert-python");
const BUCKET = "eks-inference-test-models";
const PREFIX = "bert/google-bert/bert-base-cased-finetuned-mrpc/seq128-batch1-4/neuronx-2.32.0/";

interface Run {
    code: number | null;
    output: string;
}

function sha256(bytes: Buffer): string {
    return createHash("sha256").update(bytes).digest("hex");
}

describe("BERT image programs (python3 + boto3 against moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let s3: S3Client;
    let work: string;
    let bucketIndex = 0;

    before(async () => {
        moto = await useProcessMoto();
        s3 = new S3Client({
            endpoint: moto.endpoint,
            region: moto.env.AWS_REGION,
            forcePathStyle: true,
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        });
        work = mkdtempSync(path.join(tmpdir(), "bert-python-"));
    });
    after(async () => {
        s3?.destroy();
        await moto?.stop();
        rmSync(work, { recursive: true, force: true });
    });

    async function freshBucket(): Promise<string> {
        const bucket = `${BUCKET}-${++bucketIndex}`;
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        return bucket;
    }

    function env(bucket: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        return {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ...moto.env,
            MODEL_BUCKET: bucket,
            MODEL_PREFIX: PREFIX,
            SEQUENCE_LENGTH: "128",
            BATCH_SIZES: "1,4",
            TARGET: "neuronx",
            PYTHONDONTWRITEBYTECODE: "1",
            ...extra,
        };
    }

    /** Runs a script; resolves when it exits, calling onOutput on every chunk until then. */
    function run(script: string, environment: NodeJS.ProcessEnv, onOutput?: (all: string) => void): Promise<Run> {
        return new Promise((resolve, reject) => {
            const child = spawn("python3", [path.join(DIR, script)], { env: environment, stdio: ["ignore", "pipe", "pipe"] });
            let output = "";
            const take = (chunk: Buffer): void => {
                output += chunk.toString();
                onOutput?.(output);
            };
            child.stdout.on("data", take);
            child.stderr.on("data", take);
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output }));
        });
    }

    async function publish(bucket: string, manifest: Record<string, unknown>, files: Record<string, Buffer>): Promise<void> {
        for (const [name, bytes] of Object.entries(files))
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}${name}`, Body: bytes }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}manifest.json`, Body: JSON.stringify(manifest) }));
    }

    function manifestFor(files: Record<string, Buffer>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
        return {
            format: 1,
            modelId: "google-bert/bert-base-cased-finetuned-mrpc",
            target: "neuronx",
            sequenceLength: 128,
            batchSizes: [1, 4],
            files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, { sha256: sha256(bytes), bytes: bytes.length }])),
            ...overrides,
        };
    }

    it("fetch_model.py waits for a missing model, saying what and where, then assembles the Triton repository", async () => {
        const bucket = await freshBucket();
        const repository = path.join(work, "repo-ok");
        const config = path.join(work, "config.pbtxt");
        writeFileSync(config, 'name: "bert"\nbackend: "python"\n');
        const files = { "model-b1.pt": Buffer.from("traced batch 1"), "model-b4.pt": Buffer.from("traced batch 4 ".repeat(1000)) };
        let published: Promise<void> | undefined;
        const result = await run(
            "fetch_model.py",
            env(bucket, {
                MODEL_NAME: "bert",
                MODEL_REPOSITORY: repository,
                MODEL_CONFIG: config,
                WAITING_FOR: "the compile Job bert/bert-model-build-0123abcd",
                POLL_SECONDS: "0.2",
            }),
            (output) => {
                // Publish only after it has said twice that it is waiting.
                if (published === undefined && (output.match(/waiting for the model/g) ?? []).length >= 2)
                    published = publish(bucket, manifestFor(files), files);
            },
        );
        await published;
        assert.equal(result.code, 0, result.output);
        assert.match(
            result.output,
            new RegExp(
                `waiting for the model s3://${bucket}/${PREFIX.replace(/\./g, "\\.")}manifest\\.json \\(from the compile Job bert/bert-model-build-0123abcd\\); waited \\d+ s, next check in 0\\.2 s`,
            ),
        );
        assert.match(
            result.output,
            /model bert ready in .*repo-ok\/bert \(google-bert\/bert-base-cased-finetuned-mrpc, batch sizes \[1, 4\], sequence length 128, neuronx\)/,
        );
        assert.equal(readFileSync(path.join(repository, "bert", "config.pbtxt"), "utf8"), 'name: "bert"\nbackend: "python"\n');
        assert.equal(
            readFileSync(path.join(repository, "bert", "1", "model.py"), "utf8"),
            readFileSync(path.join(DIR, "model.py"), "utf8"),
        );
        assert.deepEqual(readFileSync(path.join(repository, "bert", "1", "model-b4.pt")), files["model-b4.pt"]);
    });

    it("fetch_model.py refuses a model compiled for other shapes, naming what differs", async () => {
        const bucket = await freshBucket();
        const files = { "model-b1.pt": Buffer.from("a"), "model-b2.pt": Buffer.from("b") };
        await publish(bucket, manifestFor(files, { batchSizes: [1, 2], sequenceLength: 64 }), files);
        const result = await run(
            "fetch_model.py",
            env(bucket, {
                MODEL_REPOSITORY: path.join(work, "repo-shape"),
                MODEL_CONFIG: path.join(work, "config.pbtxt"),
                POLL_SECONDS: "0.2",
            }),
        );
        assert.equal(result.code, 1, result.output);
        assert.match(
            result.output,
            new RegExp(
                `ERROR: the model at s3://${bucket}/.* does not match this server: sequenceLength is 64, the server needs 128; batchSizes is \\[1, 2\\], the server needs \\[1, 4\\]; files lacks model-b4\\.pt with its sha256`,
            ),
        );
    });

    it("fetch_model.py refuses a file whose checksum differs from the manifest", async () => {
        const bucket = await freshBucket();
        const files = { "model-b1.pt": Buffer.from("one"), "model-b4.pt": Buffer.from("four") };
        const manifest = manifestFor(files);
        await publish(bucket, manifest, { ...files, "model-b4.pt": Buffer.from("tampered") });
        const result = await run(
            "fetch_model.py",
            env(bucket, {
                MODEL_REPOSITORY: path.join(work, "repo-sha"),
                MODEL_CONFIG: path.join(work, "config.pbtxt"),
                POLL_SECONDS: "0.2",
            }),
        );
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, /model-b4\.pt has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    });

    it("compile.py exits at once when the model's manifest exists (no PyTorch needed for that)", async () => {
        const bucket = await freshBucket();
        const files = { "model-b1.pt": Buffer.from("one"), "model-b4.pt": Buffer.from("four") };
        await publish(bucket, manifestFor(files), files);
        const result = await run("compile.py", env(bucket, { MODEL_ID: "google-bert/bert-base-cased-finetuned-mrpc" }));
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, new RegExp(`s3://${bucket}/.*manifest\\.json exists: the model is already built, nothing to do`));
    });

    it("compile.py and fetch_model.py reject bad settings by name", async () => {
        const bucket = await freshBucket();
        const bad = await run("compile.py", env(bucket, { MODEL_ID: "x", BATCH_SIZES: "4,1" }));
        assert.equal(bad.code, 1);
        assert.match(bad.output, /ERROR: BATCH_SIZES must be increasing positive integers, got '4,1'/);
        const noPrefix = await run("fetch_model.py", env(bucket, { MODEL_PREFIX: "bert/no-slash" }));
        assert.equal(noPrefix.code, 1);
        assert.match(noPrefix.output, /ERROR: MODEL_PREFIX must end in '\/' and not start with '\/', got 'bert\/no-slash'/);
    });

    it("compile.py and fetch_model.py stop without AWS_DEFAULT_REGION, saying boto3 does not read AWS_REGION", async () => {
        const bucket = await freshBucket();
        const files = { "model-b1.pt": Buffer.from("one"), "model-b4.pt": Buffer.from("four") };
        await publish(bucket, manifestFor(files), files);
        const { AWS_DEFAULT_REGION: _dropped, ...withoutDefault } = env(bucket, {
            MODEL_ID: "google-bert/bert-base-cased-finetuned-mrpc",
            MODEL_REPOSITORY: path.join(work, "repo-region"),
            MODEL_CONFIG: path.join(work, "config.pbtxt"),
            AWS_REGION: "us-west-2",
        });
        for (const script of ["compile.py", "fetch_model.py"]) {
            const result = await run(script, withoutDefault);
            assert.equal(result.code, 1, `${script}: ${result.output}`);
            assert.match(
                result.output,
                /ERROR: no AWS region: set AWS_DEFAULT_REGION \(boto3 does not read AWS_REGION, which is 'us-west-2'\)/,
                script,
            );
        }
        const ok = await run(
            "compile.py",
            env(bucket, { MODEL_ID: "google-bert/bert-base-cased-finetuned-mrpc", AWS_DEFAULT_REGION: "us-west-2" }),
        );
        assert.equal(ok.code, 0, ok.output);
    });

    it("model.py plans batches over the compiled sizes and pins instance k to NeuronCore k", () => {
        const script = [
            "import sys, types",
            "sys.modules['triton_python_backend_utils'] = types.ModuleType('triton_python_backend_utils')",
            `sys.path.insert(0, ${JSON.stringify(DIR)})`,
            "import model",
            "print(model.plan_chunks(11, [1, 4, 8]), model.plan_chunks(1, [1, 4, 8]), model.plan_chunks(3, [2]), model.plan_chunks(16, [1, 4, 8]))",
            "print(model.instance_index('bert_0_1'), model.instance_index('bert_0_0'), model.instance_index('bert'))",
        ].join("\n");
        const result = spawnSync("python3", ["-c", script], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: "1" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, "[(8, 8), (3, 4)] [(1, 1)] [(2, 2), (1, 2)] [(8, 8), (8, 8)]\n1 0 0\n");
    });
});
