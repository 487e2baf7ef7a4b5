// The KServe v2 client against the v2 emulator over real gRPC: health, metadata, inference, and the
// failures a caller must be able to tell apart (unknown model, model not ready, bad shape, server down).
import { strict as assert } from "node:assert";
import { startV2Emulator, type V2Emulator } from "../../../../testing/kserve/emulator";
import { parseV2EmulatorArgs } from "../../../../testing/kserve/emulator-main";
import { bertLogits } from "../../../../testing/tfserving/emulator-models";
import { createInferenceClient, ModelServerError, type InferenceClient, type InferRequest } from "../../../model-client/kserve";

function int64(values: number[]): Buffer {
    return Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
}

function bertRequest(
    batch: number,
    seqLen: number,
    model = "bert",
): { request: InferRequest; ids: Int32Array; mask: Int32Array; types: Int32Array } {
    const n = batch * seqLen;
    const ids = new Int32Array(n).map((_, i) => 100 + ((i * 31) % 900));
    const mask = new Int32Array(n).map((_, i) => (i % seqLen < seqLen - 2 ? 1 : 0));
    const types = new Int32Array(n).map((_, i) => (i % seqLen >= seqLen / 2 ? 1 : 0));
    const tensor = (name: string, v: Int32Array) => ({ name, datatype: "INT64", shape: [batch, seqLen], data: int64(Array.from(v)) });
    return {
        request: {
            modelName: model,
            inputs: [tensor("input_ids", ids), tensor("attention_mask", mask), tensor("token_type_ids", types)],
            outputs: ["logits"],
        },
        ids,
        mask,
        types,
    };
}

function rejectsWith(promise: Promise<unknown>, code: string, transient: boolean, message: RegExp): Promise<void> {
    return assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof ModelServerError, `a ModelServerError, got ${String(err)}`);
        assert.equal(err.code, code, err.message);
        assert.equal(err.transient, transient, err.message);
        assert.match(err.message, message);
        return true;
    });
}

describe("KServe v2 client against the v2 emulator", () => {
    let emulator: V2Emulator;
    let client: InferenceClient;

    before(async () => {
        emulator = await startV2Emulator({ seqLen: 16, maxBatchSize: 4 });
        client = createInferenceClient(emulator.url, { connections: 2 });
    });
    after(async () => {
        client.close();
        await emulator.stop();
    });
    beforeEach(() => {
        emulator.setLatency(0);
        emulator.setModelReady(true);
        emulator.requests.length = 0;
    });

    it("answers the health and metadata calls", async () => {
        assert.equal(await client.serverLive(), true);
        assert.equal(await client.serverReady(), true);
        assert.equal(await client.modelReady({ name: "bert" }), true);
        assert.equal(await client.modelReady({ name: "bret" }), false, "Triton answers false (not an error) for a model it does not have");
        const metadata = await client.modelMetadata({ name: "bert" });
        assert.deepEqual(metadata, {
            name: "bert",
            versions: ["1"],
            platform: "python",
            inputs: ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, datatype: "INT64", shape: [-1, 16] })),
            outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
        });
    });

    it("runs BERT: three INT64 [batch, seq-len] inputs in, FP32 logits [batch, 2] out, computed from the inputs", async () => {
        const { request, ids, mask, types } = bertRequest(3, 16);
        request.id = "r1";
        const response = await client.modelInfer(request);
        assert.equal(response.modelName, "bert");
        assert.equal(response.modelVersion, "1");
        assert.equal(response.id, "r1");
        assert.equal(response.outputs.length, 1);
        const [logits] = response.outputs;
        assert.deepEqual([logits.name, logits.datatype, logits.shape], ["logits", "FP32", [3, 2]]);
        const values = new Float32Array(logits.data.buffer.slice(logits.data.byteOffset, logits.data.byteOffset + logits.data.length));
        assert.deepEqual(Array.from(values), Array.from(bertLogits(ids, mask, types, 3, 16)));
        assert.deepEqual(emulator.requests, [
            {
                model: { name: "bert" },
                inputs: ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, datatype: "INT64", shape: [3, 16] })),
                outputs: ["logits"],
                outcome: "OK",
            },
        ]);
    });

    it("reads outputs a server sends as typed contents the same as raw ones", async () => {
        const typed = await startV2Emulator({ seqLen: 16, outputEncoding: "contents" });
        const other = createInferenceClient(typed.url);
        try {
            const { request } = bertRequest(2, 16);
            const [a, b] = await Promise.all([client.modelInfer(request), other.modelInfer(request)]);
            assert.deepEqual(b.outputs, a.outputs);
        } finally {
            other.close();
            await typed.stop();
        }
    });

    it("carries many concurrent calls over its connections", async () => {
        emulator.setLatency(5);
        const results = await Promise.all(Array.from({ length: 24 }, (_, i) => client.modelInfer(bertRequest(1 + (i % 4), 16).request)));
        assert.deepEqual(
            results.map((r) => r.outputs[0].shape[0]),
            Array.from({ length: 24 }, (_, i) => 1 + (i % 4)),
        );
    });

    it("says a model name is unknown, naming the model and the server (permanent)", async () => {
        const target = emulator.url.replace(/[.]/g, "\\.");
        await rejectsWith(
            client.modelInfer(bertRequest(1, 16, "bret").request),
            "NOT_FOUND",
            false,
            new RegExp(`^model server ${target} has no model named "bret": Request for unknown model: 'bret' is not found$`),
        );
        await rejectsWith(client.modelMetadata({ name: "bret" }), "NOT_FOUND", false, /has no model named "bret"/);
    });

    it("says a model is not ready yet while it loads (transient), and serves once it is", async () => {
        emulator.setModelReady(false);
        assert.equal(await client.modelReady({ name: "bert" }), false);
        assert.equal(await client.serverReady(), false);
        await rejectsWith(
            client.modelInfer(bertRequest(1, 16).request),
            "MODEL_NOT_READY",
            true,
            new RegExp(`^model "bert" on ${emulator.url} is not ready yet: .*has no available versions`),
        );
        emulator.setModelReady(true);
        assert.equal((await client.modelInfer(bertRequest(1, 16).request)).outputs[0].shape[0], 1);
    });

    it("starts not ready for --loading-ms and becomes ready by itself", async () => {
        const loading = await startV2Emulator({ loadingForMs: 150 });
        const other = createInferenceClient(loading.url);
        try {
            assert.equal(await other.modelReady({ name: "bert" }), false);
            await new Promise((resolve) => setTimeout(resolve, 200));
            assert.equal(await other.modelReady({ name: "bert" }), true);
        } finally {
            other.close();
            await loading.stop();
        }
    });

    it("passes on the server's refusal of a shape the compiled model cannot take (permanent)", async () => {
        await rejectsWith(
            client.modelInfer(bertRequest(1, 8).request),
            "INVALID_ARGUMENT",
            false,
            /rejected the request for model "bert": unexpected shape for input 'input_ids' for model 'bert'\. Expected \[-1,16\], got \[1,8\]/,
        );
        await rejectsWith(
            client.modelInfer(bertRequest(5, 16).request),
            "INVALID_ARGUMENT",
            false,
            /inference request batch-size must be <= 4 for 'bert'/,
        );
        const { request } = bertRequest(1, 16);
        request.inputs[1] = { ...request.inputs[1], datatype: "INT32", data: request.inputs[1].data.subarray(0, 64) };
        await rejectsWith(
            client.modelInfer(request),
            "INVALID_ARGUMENT",
            false,
            /inference input 'attention_mask' data-type is 'INT32', but model 'bert' expects 'INT64'/,
        );
    });

    it("refuses to send a tensor whose data does not fill its shape", async () => {
        const { request } = bertRequest(1, 16);
        request.inputs[0] = { ...request.inputs[0], data: request.inputs[0].data.subarray(8) };
        await rejectsWith(
            client.modelInfer(request),
            "INVALID_ARGUMENT",
            false,
            /cannot encode the request for model "bert" on grpc:\/\/.*: input "input_ids" INT64 \[1,16\] needs 128 bytes of data, has 120/,
        );
        assert.equal(emulator.requests.length, 0, "nothing was sent");
    });

    it("reports a server that is down as unavailable (transient), naming the server and the model", async () => {
        const down = createInferenceClient("127.0.0.1:1");
        try {
            await rejectsWith(
                down.modelInfer(bertRequest(1, 16).request),
                "UNAVAILABLE",
                true,
                /^model server grpc:\/\/127\.0\.0\.1:1 is unavailable \(model "bert"\): connection failed: .*ECONNREFUSED/,
            );
            await rejectsWith(down.serverLive(), "UNAVAILABLE", true, /is unavailable/);
        } finally {
            down.close();
        }
    });

    it("passes injected server failures and deadlines on with their codes", async () => {
        emulator.failNext(1, "RESOURCE_EXHAUSTED", "queue full");
        await rejectsWith(
            client.modelInfer(bertRequest(1, 16).request),
            "RESOURCE_EXHAUSTED",
            true,
            /failed for model "bert" \(RESOURCE_EXHAUSTED\): queue full/,
        );
        emulator.setLatency(300);
        await rejectsWith(
            client.modelInfer(bertRequest(1, 16).request, { timeoutMs: 50 }),
            "DEADLINE_EXCEEDED",
            true,
            /did not answer for model "bert" in time/,
        );
    });

    it("turns targets into URLs with Triton's gRPC port by default, and refuses other schemes", () => {
        const a = createInferenceClient("bert.default.svc");
        const b = createInferenceClient("grpc://[::1]:9001");
        try {
            assert.equal(a.url, "grpc://bert.default.svc:8001");
            assert.equal(b.url, "grpc://[::1]:9001");
        } finally {
            a.close();
            b.close();
        }
        assert.throws(() => createInferenceClient("http://bert:8000"), /speaks gRPC only: use grpc:\/\/host:8001/);
    });
});

describe("KServe v2 emulator command line", () => {
    it("reads its flags and refuses bad values naming the flag", () => {
        assert.deepEqual(
            parseV2EmulatorArgs([
                "--port",
                "8001",
                "--seq-len",
                "64",
                "--max-batch-size",
                "2",
                "--latency-ms",
                "2.5",
                "--loading-ms",
                "10",
                "--model",
                "m",
                "--output-encoding",
                "contents",
            ]),
            {
                port: 8001,
                seqLen: 64,
                maxBatchSize: 2,
                latencyMs: 2.5,
                loadingForMs: 10,
                modelName: "m",
                outputEncoding: "contents",
            },
        );
        assert.throws(() => parseV2EmulatorArgs(["--seq-len", "0"]), /--seq-len must be an integer >= 1, got "0"/);
        assert.throws(
            () => parseV2EmulatorArgs(["--output-encoding", "json"]),
            /--output-encoding must be one of raw, contents, got "json"/,
        );
        assert.throws(() => parseV2EmulatorArgs(["--bogus", "1"]), /unknown option "--bogus"/);
        assert.deepEqual(parseV2EmulatorArgs(["--port=0", "--model=bert2"]), { port: 0, modelName: "bert2" }, "--flag=value works");
    });
});
