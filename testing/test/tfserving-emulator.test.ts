import { strict as assert } from "node:assert";
import { spawnTfServingEmulator } from "../spawn";
import { serviceDelay, startTfServingEmulator, type TfServingEmulator } from "../tfserving/emulator";
import { parseEmulatorArgs } from "../tfserving/emulator-main";
import { createModelClient, ModelState, tensorFromInt32, waitForModelAvailable } from "../../worker/model-client/tfserving";

describe("TF Serving emulator REST surface", () => {
    let emulator: TfServingEmulator;
    before(async () => {
        emulator = await startTfServingEmulator();
    });
    after(() => emulator.stop());

    it("answers errors the way TF Serving does: JSON {error} with 404 or 400", async () => {
        const missing = await fetch(`${emulator.restUrl}/v1/models/nope:predict`, {
            method: "POST",
            body: JSON.stringify({ inputs: { x: [1] } }),
        });
        assert.equal(missing.status, 404);
        assert.deepEqual(await missing.json(), { error: "Servable not found for request: Latest(nope)" });
        const bad = await fetch(`${emulator.restUrl}/v1/models/bert:predict`, {
            method: "POST",
            body: JSON.stringify({ inputs: { input_ids: [[1]], extra: [[1]] } }),
        });
        assert.equal(bad.status, 400);
        assert.match(((await bad.json()) as { error: string }).error, /input tensor alias not found in signature: extra/);
        const notJson = await fetch(`${emulator.restUrl}/v1/models/bert:predict`, { method: "POST", body: "{" });
        assert.equal(notJson.status, 400);
        const status = await fetch(`${emulator.restUrl}/v1/models/bert`);
        assert.deepEqual(await status.json(), {
            model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }],
        });
    });

    it("serves /v1/models/<name>/metadata (the pods' startup and readiness probe path) once the model is loaded, 404 before", async () => {
        const ready = await fetch(`${emulator.restUrl}/v1/models/object_detection/metadata`);
        assert.equal(ready.status, 200);
        const body = (await ready.json()) as {
            model_spec: { name: string; version: string };
            metadata: {
                signature_def: {
                    signature_def: Record<string, { inputs: Record<string, { dtype: string }>; outputs: Record<string, unknown> }>;
                };
            };
        };
        assert.deepEqual(body.model_spec, { name: "object_detection", signature_name: "", version: "1" });
        const signature = body.metadata.signature_def.signature_def.serving_default;
        assert.equal(signature.inputs.inputs.dtype, "DT_UINT8");
        assert.ok("detection_boxes" in signature.outputs);
        assert.equal((await fetch(`${emulator.restUrl}/v1/models/nope/metadata`)).status, 404);
        const loading = await startTfServingEmulator({ loadingForMs: 60_000 });
        try {
            const res = await fetch(`${loading.restUrl}/v1/models/object_detection/metadata`);
            assert.equal(res.status, 404);
            assert.match(((await res.json()) as { error: string }).error, /Servable not found for request: Latest\(object_detection\)/);
        } finally {
            await loading.stop();
        }
    });

    it("answers /metadata with TF Serving's JSON: model_spec with a string version, signature_def inside signature_def, int64 sizes as strings", async () => {
        const res = await fetch(`${emulator.restUrl}/v1/models/object_detection/metadata`);
        assert.equal(res.status, 200);
        const body = (await res.json()) as {
            model_spec: Record<string, unknown>;
            metadata: { signature_def: { signature_def: Record<string, { inputs: Record<string, unknown>; method_name: string }> } };
        };
        assert.deepEqual(body.model_spec, { name: "object_detection", signature_name: "", version: "1" });
        const sig = body.metadata.signature_def.signature_def.serving_default;
        assert.equal(sig.method_name, "tensorflow/serving/predict");
        assert.deepEqual(sig.inputs.inputs, {
            dtype: "DT_UINT8",
            tensor_shape: {
                dim: [
                    { size: "-1", name: "" },
                    { size: "-1", name: "" },
                    { size: "-1", name: "" },
                    { size: "3", name: "" },
                ],
                unknown_rank: false,
            },
            name: "image_tensor:0",
        });
        const missing = await fetch(`${emulator.restUrl}/v1/models/object_detection/versions/9/metadata`);
        assert.equal(missing.status, 404);
        assert.deepEqual(await missing.json(), { error: "Servable not found for request: Specific(object_detection, 9)" });
    });

    it("returns a lone output unnamed, which the REST client names after the requested output", async () => {
        const client = createModelClient(emulator.restUrl);
        const ids = tensorFromInt32(new Int32Array([1, 2]), [1, 2]);
        const response = await client.predict({
            model: { name: "bert" },
            inputs: { input_ids: ids, input_mask: ids, segment_ids: ids },
            outputFilter: ["logits"],
        });
        assert.deepEqual(Object.keys(response.outputs), ["logits"]);
        assert.deepEqual(response.outputs.logits.shape, [1, 2]);
    });

    it("rejects an unknown output filter", async () => {
        const client = createModelClient(emulator.grpcUrl);
        const ids = tensorFromInt32(new Int32Array([1, 2]), [1, 2]);
        await assert.rejects(
            client.predict({
                model: { name: "bert" },
                inputs: { input_ids: ids, input_mask: ids, segment_ids: ids },
                outputFilter: ["probabilities"],
            }),
            /output tensor alias not found in signature: probabilities/,
        );
        client.close();
    });

    it("stops waiting for a model when the signal aborts", async () => {
        const slow = await startTfServingEmulator({ loadingForMs: 60_000 });
        const client = createModelClient(slow.grpcUrl);
        try {
            const controller = new AbortController();
            setTimeout(() => controller.abort(new Error("shutting down")), 200);
            await assert.rejects(
                waitForModelAvailable(client, { name: "bert" }, { timeoutMs: 30_000, intervalMs: 50, signal: controller.signal }),
                /shutting down/,
            );
            const [status] = await client.getModelStatus({ name: "bert" });
            assert.equal(status.state, ModelState.LOADING);
        } finally {
            client.close();
            await slow.stop();
        }
    });
});

describe("emulator-main CLI", () => {
    it("parses its flags and rejects unknown ones", () => {
        assert.deepEqual(
            parseEmulatorArgs(["--grpc-port", "8500", "--rest-port", "8501", "--latency-ms", "3", "--output-encoding", "typed_fields"]),
            {
                grpcPort: 8500,
                restPort: 8501,
                latencyMs: 3,
                outputEncoding: "typed_fields",
            },
        );
        assert.throws(() => parseEmulatorArgs(["--latency-ms", "soon"]), /--latency-ms must be a number >= 0, got "soon"/);
        assert.throws(() => parseEmulatorArgs(["--port", "1"]), /unknown option "--port"/);
        assert.throws(() => parseEmulatorArgs(["--grpc-port", "1.5"]), /--grpc-port must be an integer >= 0, got "1.5"/);
        assert.deepEqual(parseEmulatorArgs(["--grpc-port=0", "--latency-ms=2.5"]), { grpcPort: 0, latencyMs: 2.5 }, "--flag=value works");
    });

    it("runs in a child process and prints its URLs when ready", async function () {
        this.timeout(40_000);
        const { grpcUrl, child } = await spawnTfServingEmulator(0);
        const client = createModelClient(grpcUrl);
        try {
            const [status] = await client.getModelStatus({ name: "bert" });
            assert.equal(status.state, ModelState.AVAILABLE);
        } finally {
            client.close();
            child.kill("SIGTERM");
        }
    });
});

describe("emulator request log", () => {
    it("keeps only the latest maxRecordedRequests Predict calls", async () => {
        const emulator = await startTfServingEmulator({ maxRecordedRequests: 3 });
        const client = createModelClient(emulator.grpcUrl);
        try {
            for (let batch = 1; batch <= 5; batch++) {
                const ids = tensorFromInt32(new Int32Array(batch * 4), [batch, 4]);
                await client.predict({ model: { name: "bert" }, inputs: { input_ids: ids, input_mask: ids, segment_ids: ids } });
            }
            assert.deepEqual(
                emulator.requests.map((r) => r.batchSize),
                [3, 4, 5],
            );
        } finally {
            client.close();
            await emulator.stop();
        }
    });

    it("rejects a negative log size", async () => {
        await assert.rejects(
            startTfServingEmulator({ maxRecordedRequests: -1 }),
            /maxRecordedRequests must be a whole number >= 0, got -1/,
        );
    });
});

describe("emulator service time", () => {
    it("waits at least the injected time, without spinning on the CPU the benchmarks share", async () => {
        // Counted, not timed: a delay finished by yielding in a loop (setImmediate until due) burns about a
        // millisecond of CPU per call on the cores ffmpeg and the worker share, and shows as many scheduled
        // callbacks; a sleeping delay arms one timer (a second one only if the first fires early).
        const scheduled = { immediate: 0, timeout: 0 };
        const realImmediate = globalThis.setImmediate;
        const realTimeout = globalThis.setTimeout;
        const countingImmediate = ((...args: Parameters<typeof setImmediate>) => {
            scheduled.immediate++;
            return realImmediate(...args);
        }) as typeof setImmediate;
        const countingTimeout = ((...args: Parameters<typeof setTimeout>) => {
            scheduled.timeout++;
            return realTimeout(...args);
        }) as typeof setTimeout;
        globalThis.setImmediate = countingImmediate;
        globalThis.setTimeout = countingTimeout;
        try {
            for (let i = 0; i < 10; i++) {
                const start = performance.now();
                await serviceDelay(5);
                const waited = performance.now() - start;
                assert.ok(waited >= 5, `waited ${waited.toFixed(3)} ms for a 5 ms service time`);
            }
        } finally {
            globalThis.setImmediate = realImmediate;
            globalThis.setTimeout = realTimeout;
        }
        assert.equal(scheduled.immediate, 0, "no setImmediate loop");
        assert.ok(scheduled.timeout >= 10 && scheduled.timeout <= 20, `${scheduled.timeout} timers for 10 delays`);
    });
});
