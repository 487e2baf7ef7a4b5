import { strict as assert } from "node:assert";
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { freePort } from "../../../../testing/moto";
import { startTfServingEmulator, type TfServingEmulator } from "../../../../testing/tfserving/emulator";
import { bertLogits, detectFrame, detectionModel, MAX_DETECTIONS } from "../../../../testing/tfserving/emulator-models";
import {
    createModelClient,
    DataType,
    ModelState,
    readFloat32,
    tensorFromInt32,
    tensorFromUint8,
    waitForModelAvailable,
    type ModelClient,
    type PredictRequest,
} from "../../../model-client/tfserving";
import { PREDICT_METHOD } from "../../../model-client/tfserving/grpc-client";
import { rejection } from "../../support/rejection";

const H = 6;
const W = 8;
const FRAME = H * W * 3;

/** A frame whose bytes follow `seed`, so different seeds give different detections. */
function frame(seed: number): Buffer {
    const f = Buffer.alloc(FRAME);
    for (let i = 0; i < FRAME; i++) f[i] = (seed * 31 + i * ((seed % 7) + 1)) % 256;
    return f;
}

/** Seeds picked so one frame has 5 detections (scores on both sides of 0.5) and one has none. */
function pickFrames(): Buffer[] {
    let many: Buffer | undefined;
    let none: Buffer | undefined;
    for (let seed = 0; seed < 500 && !(many && none); seed++) {
        const n = detectFrame(frame(seed)).numDetections;
        if (n === 5 && !many) many = frame(seed);
        if (n === 0 && !none) none = frame(seed);
    }
    assert.ok(many && none, "test frames with 5 and 0 detections exist");
    return [many, none];
}

function detectionRequest(frames: Buffer[]): PredictRequest {
    return { model: { name: "object_detection" }, inputs: { inputs: tensorFromUint8(Buffer.concat(frames), [frames.length, H, W, 3]) } };
}

function bertRequest(model = "bert"): { request: PredictRequest; ids: Int32Array; mask: Int32Array; segments: Int32Array } {
    const ids = Int32Array.from({ length: 2 * 5 }, (_, i) => 100 + i * 13);
    const mask = Int32Array.from({ length: 10 }, (_, i) => (i % 5 < 4 ? 1 : 0));
    const segments = Int32Array.from({ length: 10 }, (_, i) => (i % 5 >= 2 ? 1 : 0));
    const request = {
        model: { name: model, signatureName: "serving_default" },
        inputs: {
            input_ids: tensorFromInt32(ids, [2, 5]),
            input_mask: tensorFromInt32(mask, [2, 5]),
            segment_ids: tensorFromInt32(segments, [2, 5]),
        },
    };
    return { request, ids, mask, segments };
}

describe("TF Serving clients against the emulator", function () {
    let emulator: TfServingEmulator;

    before(async () => {
        emulator = await startTfServingEmulator();
    });
    after(() => emulator.stop());

    for (const transport of ["grpc", "rest"] as const) {
        describe(`${transport} client`, () => {
            let client: ModelClient;
            before(() => {
                client = createModelClient(transport === "grpc" ? emulator.grpcUrl : emulator.restUrl);
            });
            after(() => client.close());

            it("runs the detection model and returns the detections the frames determine", async () => {
                const frames = pickFrames();
                const before = emulator.requests.length;
                const response = await client.predict(detectionRequest(frames));
                const num = readFloat32(response.outputs.num_detections);
                const scores = readFloat32(response.outputs.detection_scores);
                const classes = readFloat32(response.outputs.detection_classes);
                const boxes = readFloat32(response.outputs.detection_boxes);
                assert.deepEqual(response.outputs.detection_boxes.shape, [2, MAX_DETECTIONS, 4]);
                assert.deepEqual(response.outputs.detection_scores.shape, [2, MAX_DETECTIONS]);
                assert.equal(response.outputs.detection_classes.dtype, DataType.DT_FLOAT);
                frames.forEach((f, i) => {
                    const expected = detectFrame(f);
                    assert.equal(num[i], expected.numDetections);
                    assert.deepEqual(
                        Array.from(scores.subarray(i * MAX_DETECTIONS, i * MAX_DETECTIONS + expected.numDetections)),
                        expected.scores,
                    );
                    assert.deepEqual(
                        Array.from(classes.subarray(i * MAX_DETECTIONS, i * MAX_DETECTIONS + expected.numDetections)),
                        expected.classes,
                    );
                    assert.deepEqual(
                        Array.from(boxes.subarray(i * MAX_DETECTIONS * 4, i * MAX_DETECTIONS * 4 + 4 * expected.numDetections)),
                        expected.boxes.flat(),
                    );
                    assert.equal(scores[i * MAX_DETECTIONS + expected.numDetections], 0, "padding rows are zero");
                });
                assert.ok(Array.from(scores).some((s) => s > 0.5) && Array.from(scores).some((s) => s > 0 && s < 0.5));
                const recorded = emulator.requests.slice(before);
                assert.equal(recorded.length, 1);
                assert.equal(recorded[0].transport, transport);
                assert.equal(recorded[0].batchSize, 2);
                assert.deepEqual(recorded[0].inputs, [{ name: "inputs", dtype: DataType.DT_UINT8, shape: [2, H, W, 3] }]);
            });

            it("runs the BERT model", async () => {
                const { request, ids, mask, segments } = bertRequest();
                const response = await client.predict(request);
                const logits = Object.values(response.outputs)[0];
                assert.deepEqual(logits.shape, [2, 2]);
                assert.deepEqual(Array.from(readFloat32(logits)), Array.from(bertLogits(ids, mask, segments, 2, 5)));
            });

            it("reports model status", async () => {
                assert.deepEqual(await client.getModelStatus({ name: "bert" }), [
                    { version: 1, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" },
                ]);
            });

            it("reads the serving signatures (GetModelMetadata; REST /metadata), issue 17 item 6", async () => {
                const metadata = await client.getModelMetadata({ name: "object_detection" });
                assert.deepEqual(metadata.model, { name: "object_detection", version: 1 });
                assert.deepEqual(metadata.signatures.serving_default, detectionModel("x").signature);
                const bert = await client.getModelMetadata({ name: "bert", version: 1 });
                assert.deepEqual(Object.keys(bert.signatures.serving_default.inputs), ["input_ids", "input_mask", "segment_ids"]);
                const err = await rejection(client.getModelMetadata({ name: "bret" }));
                assert.equal(err.code, "NOT_FOUND");
            });

            it("says clearly when the server has no model of that name (permanent)", async () => {
                const err = await rejection(client.predict(bertRequest("bret").request));
                assert.equal(err.code, "NOT_FOUND");
                assert.equal(err.transient, false);
                assert.match(err.message, /has no model named "bret"/);
                assert.match(err.message, /Servable not found for request: Latest\(bret\)/);
            });

            it("rejects a wrong signature or input dtype as INVALID_ARGUMENT (permanent)", async () => {
                const wrongSignature = bertRequest().request;
                wrongSignature.model.signatureName = "predict_images";
                const sigErr = await rejection(client.predict(wrongSignature));
                assert.equal(sigErr.code, "INVALID_ARGUMENT");
                assert.equal(sigErr.transient, false);
                assert.match(sigErr.message, /signature name: "predict_images" not found/);
                // JSON carries no dtype (the server reads numbers by its signature), so over REST the
                // mismatch shows as a value that is not a uint8.
                const wrongDtype = {
                    model: { name: "object_detection" },
                    inputs: { inputs: tensorFromInt32(new Int32Array(FRAME).fill(300), [1, H, W, 3]) },
                };
                const dtypeErr = await rejection(client.predict(wrongDtype));
                assert.equal(dtypeErr.code, "INVALID_ARGUMENT");
                assert.match(
                    dtypeErr.message,
                    transport === "grpc"
                        ? /"inputs" must be DT_UINT8 \[N,H,W,3\] but DT_INT32 was provided/
                        : /input "inputs": element 0 = 300 is not a valid DT_UINT8/,
                );
                const wrongShape = {
                    model: { name: "object_detection" },
                    inputs: { inputs: tensorFromUint8(Buffer.alloc(FRAME), [1, H * W, 3]) },
                };
                const shapeErr = await rejection(client.predict(wrongShape));
                assert.equal(shapeErr.code, "INVALID_ARGUMENT");
                assert.match(shapeErr.message, /must have shape \[N,H,W,3\]/);
            });

            it("classifies injected failures as transient or permanent, then recovers", async () => {
                const cases = [
                    ["UNAVAILABLE", true],
                    ["INTERNAL", true],
                    ["RESOURCE_EXHAUSTED", true],
                    ["DEADLINE_EXCEEDED", true],
                    ["INVALID_ARGUMENT", false],
                ] as const;
                for (const [code, transient] of cases) {
                    emulator.failNext(1, code, `injected ${code}`);
                    const err = await rejection(client.predict(bertRequest().request));
                    assert.equal(err.code, code);
                    assert.equal(err.transient, transient, code);
                    assert.match(err.message, new RegExp(`injected ${code}`));
                }
                const ok = await client.predict(bertRequest().request);
                assert.ok(Object.keys(ok.outputs).length > 0);
            });

            it("treats connection refused as transient UNAVAILABLE", async () => {
                const port = await freePort();
                const dead = createModelClient(transport === "grpc" ? `grpc://127.0.0.1:${port}` : `http://127.0.0.1:${port}`);
                try {
                    const err = await rejection(dead.getModelStatus({ name: "bert" }, { timeoutMs: 5000 }));
                    assert.equal(err.code, "UNAVAILABLE");
                    assert.equal(err.transient, true);
                    assert.match(err.message, /is unavailable/);
                } finally {
                    dead.close();
                }
            });
        });
    }

    it("gRPC decodes numeric outputs sent as typed repeated fields", async () => {
        const typed = await startTfServingEmulator({ outputEncoding: "typed_fields" });
        const client = createModelClient(typed.grpcUrl);
        try {
            const frames = pickFrames();
            const response = await client.predict(detectionRequest(frames));
            assert.equal(readFloat32(response.outputs.num_detections)[0], detectFrame(frames[0]).numDetections);
            assert.deepEqual(Array.from(readFloat32(response.outputs.detection_scores).subarray(0, 5)), detectFrame(frames[0]).scores);
        } finally {
            client.close();
            await typed.stop();
        }
    });
});

describe("model status polling", () => {
    it("waits through LOADING until AVAILABLE; Predict answers NOT_FOUND while loading", async () => {
        const emulator = await startTfServingEmulator({ loadingForMs: 700 });
        const client = createModelClient(emulator.grpcUrl);
        try {
            const [first] = await client.getModelStatus({ name: "object_detection" });
            assert.equal(first.state, ModelState.LOADING);
            const err = await rejection(client.predict(detectionRequest([frame(1)])));
            assert.equal(err.code, "NOT_FOUND");
            const available = await waitForModelAvailable(client, { name: "object_detection" }, { timeoutMs: 10_000, intervalMs: 100 });
            assert.equal(available.state, ModelState.AVAILABLE);
            assert.equal(available.version, 1);
            await client.predict(detectionRequest([frame(1)]));
        } finally {
            client.close();
            await emulator.stop();
        }
    });

    for (const transport of ["grpc", "rest"] as const) {
        it(`${transport}: waits for a model server that is down at start and comes up later on its port`, async () => {
            const [grpcPort, restPort] = [await freePort(), await freePort()];
            const client = createModelClient(transport === "grpc" ? `grpc://127.0.0.1:${grpcPort}` : `http://127.0.0.1:${restPort}`);
            let emulator: TfServingEmulator | undefined;
            // Down long enough for several failed polls before it comes up.
            const starting = new Promise<void>((resolve) =>
                setTimeout(() => {
                    void startTfServingEmulator({ grpcPort, restPort }).then((e) => {
                        emulator = e;
                        resolve();
                    });
                }, 1500),
            );
            try {
                const err = await rejection(client.getModelStatus({ name: "bert" }));
                assert.equal(err.transient, true);
                const available = await waitForModelAvailable(client, { name: "bert" }, { timeoutMs: 15_000, intervalMs: 100 });
                assert.equal(available.state, ModelState.AVAILABLE);
                await starting;
                assert.equal(emulator?.grpcUrl, `grpc://127.0.0.1:${grpcPort}`);
                assert.equal(emulator?.restUrl, `http://127.0.0.1:${restPort}`);
            } finally {
                await starting;
                client.close();
                await emulator?.stop();
            }
        });
    }

    it("gives a clear error naming the model on timeout", async () => {
        const emulator = await startTfServingEmulator();
        const client = createModelClient(emulator.grpcUrl);
        try {
            const err = await rejection(waitForModelAvailable(client, { name: "missing" }, { timeoutMs: 300, intervalMs: 100 }));
            assert.equal(err.code, "MODEL_NOT_AVAILABLE");
            assert.match(
                err.message,
                /model "missing" on grpc:\/\/.* was not AVAILABLE within 300 ms; last status: .*Could not find any versions of model missing/,
            );
        } finally {
            client.close();
            await emulator.stop();
        }
    });
});

describe("createModelClient and bad responses", () => {
    it("rejects unknown schemes and malformed URLs clearly", () => {
        assert.throws(() => createModelClient("ftp://x:1"), /unsupported scheme "ftp:"/);
        assert.throws(() => createModelClient("localhost:8500"), /unsupported scheme|not a URL/);
        assert.throws(() => createModelClient("grpc://host"), /needs a host and a port/);
    });

    it("an undecodable gRPC response is a permanent DECODE_ERROR", async () => {
        const server = new Server();
        const identity = (b: Buffer): Buffer => b;
        server.addService(
            {
                Predict: {
                    path: PREDICT_METHOD,
                    requestStream: false,
                    responseStream: false,
                    requestSerialize: identity,
                    requestDeserialize: identity,
                    responseSerialize: identity,
                    responseDeserialize: identity,
                },
            },
            { Predict: (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, Buffer.from([0x0a, 0x7f, 0x01])) },
        );
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
        );
        const client = createModelClient(`grpc://127.0.0.1:${port}`);
        try {
            const err = await rejection(client.predict(bertRequest().request));
            assert.equal(err.code, "DECODE_ERROR");
            assert.equal(err.transient, false);
            assert.match(err.message, /PredictResponse that does not decode/);
        } finally {
            client.close();
            server.forceShutdown();
        }
    });
});
