// model-fetch end to end against moto S3 and a local HTTP server, with tarballs made by `tar` here.
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { useProcessMoto, useMotoInThisProcess, type MotoServer } from "../../../testing/moto";
import { readSettings } from "../../model-fetch/config";
import { ModelFetchError } from "../../model-fetch/errors";
import { fetchModel, MARKER_FILE } from "../../model-fetch/fetch-model";
import { createS3Client } from "../../model-fetch/s3";

const run = promisify(execFile);
const BUCKET = "model-artifacts";

/** A fake SavedModel export: saved_model.pb plus a variables/ directory, with content naming it. */
async function writeSavedModel(dir: string, label: string): Promise<void> {
    await mkdir(path.join(dir, "variables"), { recursive: true });
    await writeFile(path.join(dir, "saved_model.pb"), `graph ${label}`);
    await writeFile(path.join(dir, "variables", "variables.index"), `index ${label}`);
    await writeFile(path.join(dir, "variables", "variables.data-00000-of-00001"), Buffer.alloc(64 * 1024, 7));
}

describe("model-fetch against moto S3 and a local HTTP server", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let restoreEnv: () => void;
    let s3: S3Client;
    let work: string;
    let server: http.Server;
    let baseUrl: string;
    const served = new Map<string, string>(); // URL path -> file

    const deps = { s3: () => createS3Client() };
    const settingsFor = (uri: string, modelDir: string, version?: string) =>
        readSettings({ MODEL_URI: uri, MODEL_DIR: modelDir, ...(version ? { MODEL_VERSION: version } : {}) });

    async function putFile(key: string, file: string): Promise<void> {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(file) }));
    }

    async function putTree(prefix: string, dir: string): Promise<void> {
        for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
            if (!entry.isFile()) continue;
            const full = path.join(entry.parentPath, entry.name);
            await putFile(prefix + path.relative(dir, full), full);
        }
    }

    before(async () => {
        moto = await useProcessMoto();
        restoreEnv = useMotoInThisProcess(moto);
        s3 = createS3Client();
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
        work = await mkdtemp(path.join(os.tmpdir(), "model-fetch-"));

        // The TF1 model zoo layout: the SavedModel sits two levels down, beside other files.
        const zoo = path.join(work, "src", "zoo");
        await writeSavedModel(path.join(zoo, "ssd_mobilenet_v2_coco_2018_03_29", "saved_model"), "zoo");
        await writeFile(path.join(zoo, "ssd_mobilenet_v2_coco_2018_03_29", "frozen_inference_graph.pb"), "frozen");
        await run("tar", ["-czf", path.join(work, "zoo.tar.gz"), "-C", zoo, "."]);
        // An archive with no SavedModel in it.
        const notAModel = path.join(work, "src", "not-a-model");
        await mkdir(notAModel, { recursive: true });
        await writeFile(path.join(notAModel, "README.txt"), "weights only");
        await run("tar", ["-czf", path.join(work, "not-a-model.tar.gz"), "-C", notAModel, "."]);
        await writeFile(path.join(work, "garbage.tar.gz"), "this is not gzip");

        // S3: a flat SavedModel under a prefix, versioned directories under another, and the archives.
        await writeSavedModel(path.join(work, "src", "flat"), "flat");
        await putTree("bert/flat/", path.join(work, "src", "flat"));
        await writeSavedModel(path.join(work, "src", "versioned", "1"), "v1");
        await writeSavedModel(path.join(work, "src", "versioned", "2"), "v2");
        await putTree("bert/versioned/", path.join(work, "src", "versioned"));
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "bert/versioned/", Body: "" })); // a console "folder" marker
        await putFile("zoo/ssd.tar.gz", path.join(work, "zoo.tar.gz"));

        served.set("/models/ssd.tar.gz", path.join(work, "zoo.tar.gz"));
        served.set("/models/not-a-model.tar.gz", path.join(work, "not-a-model.tar.gz"));
        served.set("/models/garbage.tar.gz", path.join(work, "garbage.tar.gz"));
        server = http.createServer((req, res) => {
            const file = served.get(req.url ?? "");
            if (req.url === "/models/secret.tar.gz") {
                res.writeHead(403).end();
                return;
            }
            if (file === undefined) {
                res.writeHead(404).end();
                return;
            }
            res.writeHead(200, { "content-type": "application/gzip" });
            createReadStream(file).pipe(res);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
        await new Promise<void>((resolve) => server?.close(() => resolve()));
        restoreEnv?.();
        await moto?.stop();
        if (work) await rm(work, { recursive: true, force: true });
    });

    async function expectLayout(modelDir: string, versions: string[], label: (v: string) => string): Promise<void> {
        const entries = (await readdir(modelDir)).filter((n) => n !== MARKER_FILE).sort();
        assert.deepEqual(entries, versions);
        for (const v of versions) {
            assert.equal(await readFile(path.join(modelDir, v, "saved_model.pb"), "utf8"), `graph ${label(v)}`);
            assert.equal(await readFile(path.join(modelDir, v, "variables", "variables.index"), "utf8"), `index ${label(v)}`);
            assert.equal((await stat(path.join(modelDir, v, "variables", "variables.data-00000-of-00001"))).size, 64 * 1024);
        }
        // Nothing staged is left beside the model directory.
        assert.deepEqual(
            (await readdir(path.dirname(modelDir))).filter((n) => n.startsWith(".")),
            [],
        );
    }

    async function expectFailure(promise: Promise<unknown>, kind: string, message: RegExp): Promise<void> {
        await assert.rejects(promise, (err: unknown) => {
            assert.ok(err instanceof ModelFetchError, `expected ModelFetchError, got ${String(err)}`);
            assert.equal(err.kind, kind, err.message);
            assert.match(err.message, message);
            return true;
        });
    }

    it("syncs a flat SavedModel under an S3 prefix into <MODEL_DIR>/<MODEL_VERSION>/", async () => {
        const modelDir = path.join(work, "out-flat", "bert");
        const result = await fetchModel(settingsFor(`s3://${BUCKET}/bert/flat/`, modelDir, "3"), deps);
        assert.deepEqual(result, { reused: false, versions: [3], modelDir });
        await expectLayout(modelDir, ["3"], () => "flat");
    });

    it("keeps numbered version directories found under an S3 prefix", async () => {
        const modelDir = path.join(work, "out-versioned", "bert");
        const result = await fetchModel(settingsFor(`s3://${BUCKET}/bert/versioned`, modelDir), deps);
        assert.deepEqual(result.versions, [1, 2]);
        await expectLayout(modelDir, ["1", "2"], (v) => `v${v}`);
    });

    it("extracts a tarball from S3 and finds the SavedModel nested inside it", async () => {
        const modelDir = path.join(work, "out-s3-tar", "ssd");
        await fetchModel(settingsFor(`s3://${BUCKET}/zoo/ssd.tar.gz`, modelDir), deps);
        await expectLayout(modelDir, ["1"], () => "zoo");
    });

    it("downloads and extracts a tarball over HTTP, and a re-run reuses it", async () => {
        const modelDir = path.join(work, "out-http", "ssd");
        const uri = `${baseUrl}/models/ssd.tar.gz`;
        assert.equal((await fetchModel(settingsFor(uri, modelDir), deps)).reused, false);
        await expectLayout(modelDir, ["1"], () => "zoo");
        const again = await fetchModel(settingsFor(uri, modelDir), deps);
        assert.deepEqual(again, { reused: true, versions: [1], modelDir });
        await expectLayout(modelDir, ["1"], () => "zoo");
    });

    it("replaces a model directory that holds a different source's model", async () => {
        const modelDir = path.join(work, "out-replace", "bert");
        await fetchModel(settingsFor(`s3://${BUCKET}/bert/versioned/`, modelDir), deps);
        await writeFile(path.join(modelDir, "stray.txt"), "left over");
        const result = await fetchModel(settingsFor(`s3://${BUCKET}/bert/flat/`, modelDir), deps);
        assert.equal(result.reused, false);
        await expectLayout(modelDir, ["1"], () => "flat");
    });

    it("fails with NO_SAVED_MODEL for an archive without saved_model.pb, leaving nothing behind", async () => {
        const modelDir = path.join(work, "out-nomodel", "ssd");
        await expectFailure(
            fetchModel(settingsFor(`${baseUrl}/models/not-a-model.tar.gz`, modelDir), deps),
            "NO_SAVED_MODEL",
            /no saved_model\.pb found in http:\/\/127\.0\.0\.1:\d+\/models\/not-a-model\.tar\.gz/,
        );
        assert.deepEqual(await readdir(path.dirname(modelDir)), []);
    });

    it("fails with NOT_FOUND for a missing S3 key, an empty prefix and an HTTP 404", async () => {
        const modelDir = path.join(work, "out-missing", "m");
        await expectFailure(
            fetchModel(settingsFor(`s3://${BUCKET}/zoo/missing.tar.gz`, modelDir), deps),
            "NOT_FOUND",
            /not found: s3:\/\/model-artifacts\/zoo\/missing\.tar\.gz/,
        );
        await expectFailure(
            fetchModel(settingsFor(`s3://${BUCKET}/nothing/here/`, modelDir), deps),
            "NOT_FOUND",
            /no objects under s3:\/\/model-artifacts\/nothing\/here\//,
        );
        await expectFailure(
            fetchModel(settingsFor(`s3://no-such-bucket-anywhere/p/`, modelDir), deps),
            "NOT_FOUND",
            /no-such-bucket-anywhere/,
        );
        await expectFailure(fetchModel(settingsFor(`${baseUrl}/models/gone.tar.gz`, modelDir), deps), "NOT_FOUND", /HTTP 404/);
    });

    it("fails with ACCESS_DENIED on HTTP 403 and EXTRACT_FAILED on a corrupt archive", async () => {
        const modelDir = path.join(work, "out-bad", "m");
        await expectFailure(fetchModel(settingsFor(`${baseUrl}/models/secret.tar.gz`, modelDir), deps), "ACCESS_DENIED", /HTTP 403/);
        await expectFailure(
            fetchModel(settingsFor(`${baseUrl}/models/garbage.tar.gz`, modelDir), deps),
            "EXTRACT_FAILED",
            /could not extract .*garbage\.tar\.gz with tar/,
        );
        assert.deepEqual(await readdir(path.dirname(modelDir)), []);
    });

    it("the bundled command exits non-zero with the reason on stderr", async () => {
        const modelDir = path.join(work, "out-cli", "m");
        const env = { ...process.env, ...moto.env, MODEL_URI: `s3://${BUCKET}/zoo/missing.tar.gz`, MODEL_DIR: modelDir };
        await assert.rejects(
            run(process.execPath, ["--import", "tsx", path.join(__dirname, "../../model-fetch/main.ts")], { env }),
            (err: unknown) => {
                const failure = err as { code?: number; stderr?: string };
                assert.equal(failure.code, 1);
                const line = JSON.parse((failure.stderr ?? "").trim().split("\n").pop() ?? "{}") as {
                    level?: string;
                    kind?: string;
                    msg?: string;
                };
                assert.equal(line.level, "error");
                assert.equal(line.kind, "NOT_FOUND");
                assert.match(line.msg ?? "", /missing\.tar\.gz/);
                return true;
            },
        );
    });
});
