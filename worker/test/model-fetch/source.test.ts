import * as assert from "node:assert/strict";
import { readSettings } from "../../model-fetch/config";
import { describeS3Error, ModelFetchError } from "../../model-fetch/errors";
import { planVersions } from "../../model-fetch/layout";
import { localPathForKey } from "../../model-fetch/s3";
import { parseModelUri } from "../../model-fetch/source";

function kindOf(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof ModelFetchError, `expected ModelFetchError, got ${String(err)}`);
        return err.kind;
    }
    assert.fail("expected an error");
}

describe("model-fetch: MODEL_URI parsing", () => {
    it("treats an s3 URI ending in / as a prefix, and adds the / when the key is not an archive", () => {
        assert.deepEqual(parseModelUri("s3://models-bucket/bert/neuron/"), {
            kind: "s3-prefix",
            uri: "s3://models-bucket/bert/neuron/",
            bucket: "models-bucket",
            prefix: "bert/neuron/",
        });
        assert.deepEqual(parseModelUri("s3://models-bucket/bert"), {
            kind: "s3-prefix",
            uri: "s3://models-bucket/bert",
            bucket: "models-bucket",
            prefix: "bert/",
        });
        assert.deepEqual(parseModelUri("s3://models-bucket"), {
            kind: "s3-prefix",
            uri: "s3://models-bucket",
            bucket: "models-bucket",
            prefix: "",
        });
    });

    it("recognises archives by extension, in S3 and over https", () => {
        const s3 = parseModelUri("s3://models-bucket/zoo/ssd mobilenet.tar.gz");
        assert.equal(s3.kind, "s3-archive");
        assert.equal(s3.kind === "s3-archive" && s3.key, "zoo/ssd mobilenet.tar.gz");
        const https = parseModelUri("https://download.example.com/models/ssd.tgz");
        assert.equal(https.kind, "http-archive");
        assert.equal(https.kind === "http-archive" && https.compression, "gzip");
        assert.equal(
            parseModelUri("s3://models-bucket/m.tar").kind === "s3-archive" &&
                (parseModelUri("s3://models-bucket/m.tar") as { compression: string }).compression,
            "none",
        );
    });

    it("rejects plain http to remote hosts, unknown schemes, URLs that are not archives and empty buckets", () => {
        assert.equal(
            kindOf(() => parseModelUri("http://example.com/m.tar.gz")),
            "CONFIG",
        );
        assert.equal(
            kindOf(() => parseModelUri("gs://bucket/m/")),
            "CONFIG",
        );
        assert.equal(
            kindOf(() => parseModelUri("https://example.com/model/")),
            "CONFIG",
        );
        assert.equal(
            kindOf(() => parseModelUri("s3:///prefix/")),
            "CONFIG",
        );
        assert.equal(
            kindOf(() => parseModelUri("not a uri")),
            "CONFIG",
        );
        assert.equal(
            kindOf(() => parseModelUri("s3://Models_Bucket/m/")),
            "CONFIG",
        );
        assert.throws(
            () => parseModelUri("http://download.tensorflow.org/m.tar.gz"),
            /MODEL_URI "http:\/\/download\.tensorflow\.org\/m\.tar\.gz" uses plain http, which is refused outside localhost/,
        );
        assert.equal(parseModelUri("http://127.0.0.1:8080/m.tar.gz").kind, "http-archive");
    });
});

describe("model-fetch: settings", () => {
    it("reads MODEL_URI, MODEL_DIR and MODEL_VERSION (default 1)", () => {
        const s = readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "/models/ssd" });
        assert.equal(s.modelDir, "/models/ssd");
        assert.equal(s.version, 1);
        assert.equal(readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "/models/ssd", MODEL_VERSION: "7" }).version, 7);
    });

    it("names the setting that is wrong", () => {
        assert.throws(() => readSettings({ MODEL_DIR: "/models/x" }), /MODEL_URI is not set/);
        assert.throws(() => readSettings({ MODEL_URI: "s3://models-bucket/p/" }), /MODEL_DIR is not set/);
        assert.throws(
            () => readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "models/x" }),
            /MODEL_DIR must be an absolute path/,
        );
        assert.throws(() => readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "/" }), /root/);
        assert.throws(
            () => readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "/m", MODEL_VERSION: "0" }),
            /MODEL_VERSION must be a positive integer/,
        );
        assert.throws(() => readSettings({ MODEL_URI: "s3://models-bucket/p/", MODEL_DIR: "/m", MODEL_VERSION: "v2" }), /MODEL_VERSION/);
    });
});

describe("model-fetch: version planning", () => {
    it("keeps numbered version directories of one parent", () => {
        const plan = planVersions("/d", ["/d/bert/1", "/d/bert/10", "/d/bert/2"], 1, "src");
        assert.deepEqual(
            plan.map((p) => p.version),
            [1, 2, 10],
        );
        assert.equal(plan[2].from, "/d/bert/10");
    });

    it("puts a single unnumbered SavedModel at the default version", () => {
        assert.deepEqual(planVersions("/d", ["/d/ssd_mobilenet_v2_coco_2018_03_29/saved_model"], 3, "src"), [
            { from: "/d/ssd_mobilenet_v2_coco_2018_03_29/saved_model", version: 3 },
        ]);
    });

    it("fails clearly with none, or with several unnumbered ones", () => {
        assert.throws(
            () => planVersions("/d", [], 1, "s3://b/p/"),
            (err: unknown) =>
                err instanceof ModelFetchError &&
                err.kind === "NO_SAVED_MODEL" &&
                /no saved_model\.pb found in s3:\/\/b\/p\//.test(err.message),
        );
        assert.throws(
            () => planVersions("/d", ["/d/a", "/d/b"], 1, "src"),
            (err: unknown) => err instanceof ModelFetchError && err.kind === "AMBIGUOUS_MODEL" && /a, b/.test(err.message),
        );
    });
});

describe("model-fetch: S3 helpers", () => {
    it("maps S3 errors to not found / access denied with the object named", () => {
        const denied = describeS3Error(
            Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }),
            "s3://b/k",
        );
        assert.equal(denied.kind, "ACCESS_DENIED");
        assert.match(denied.message, /access denied reading s3:\/\/b\/k/);
        assert.equal(describeS3Error(Object.assign(new Error("x"), { name: "NoSuchBucket" }), "s3://b/").kind, "NOT_FOUND");
        assert.equal(describeS3Error(new Error("socket hang up"), "s3://b/k").kind, "TRANSFER_FAILED");
    });

    it("refuses keys that would escape the model directory", () => {
        assert.equal(localPathForKey("/tmp/dl", "p/", "p/1/saved_model.pb"), "/tmp/dl/1/saved_model.pb");
        assert.throws(() => localPathForKey("/tmp/dl", "p/", "p/../../etc/passwd"), /outside the model directory/);
    });
});
