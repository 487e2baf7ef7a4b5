// Protocol fidelity of our node:http2 gRPC transport, checked against the reference implementation:
// our client against a @grpc/grpc-js server, and a @grpc/grpc-js client against our emulator's server.
import { strict as assert } from "node:assert";
import {
    Client,
    credentials,
    Metadata,
    Server,
    ServerCredentials,
    status as GrpcStatus,
    type ServerUnaryCall,
    type sendUnaryData,
    type ServiceError,
} from "@grpc/grpc-js";
import {
    decodeGetModelStatusRequest,
    decodeGetModelStatusResponse,
    decodePredictRequest,
    decodePredictResponse,
    encodeGetModelStatusRequest,
    encodeGetModelStatusResponse,
    encodePredictRequest,
    encodePredictResponse,
} from "../../../model-client/tfserving/codec";
import { startTfServingEmulator, type TfServingEmulator } from "../../../../testing/tfserving/emulator";
import { bertLogits, detectFrame, MAX_DETECTIONS } from "../../../../testing/tfserving/emulator-models";
import { GET_MODEL_STATUS_METHOD, PREDICT_METHOD } from "../../../model-client/tfserving/methods";
import {
    createModelClient,
    DataType,
    ModelState,
    readFloat32,
    tensorFromInt32,
    tensorFromUint8,
    type ModelClient,
    type PredictRequest,
} from "../../../model-client/tfserving";
import { rejection } from "../../support/rejection";

const identity = (b: Buffer): Buffer => b;
const unary = (path: string) => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
});

/** Messages a gRPC implementation must carry byte-exactly through percent-encoding. */
const AWKWARD_MESSAGE = "naïve 100% «échec» — 失败 %41 tab\there";

/** 2.16 MB: one video batch of 8 300x300 RGB frames, with bytes that differ per frame. */
function bigFrames(frames = 8, size = 300): Buffer {
    const content = Buffer.allocUnsafe(frames * size * size * 3);
    for (let i = 0; i < content.length; i++) content[i] = (i * 2654435761) >>> 24;
    return content;
}

function sum(buf: Buffer): number {
    let s = 0;
    for (let i = 0; i < buf.length; i++) s += buf[i];
    return s;
}

describe("gRPC interop: our h2 client against a grpc-js server", () => {
    let server: Server;
    let client: ModelClient;
    let lastDeadlineMs = 0;

    before(async () => {
        server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.max_send_message_length": 64 * 1024 * 1024 });
        server.addService(
            { Predict: unary(PREDICT_METHOD), GetModelStatus: unary(GET_MODEL_STATUS_METHOD) },
            {
                // Echoes each input back as an output named "<name>_echo", plus "byte_sum" of all uint8 content;
                // model "fail:<code>" answers that status with AWKWARD_MESSAGE; "slow:<ms>" waits first.
                Predict: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
                    const deadline = call.getDeadline();
                    lastDeadlineMs = (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now();
                    const request = decodePredictRequest(call.request);
                    const [kind, arg] = request.model.name.split(":");
                    if (kind === "fail") {
                        cb({ code: Number(arg), details: AWKWARD_MESSAGE });
                        return;
                    }
                    const outputs = Object.fromEntries(Object.entries(request.inputs).map(([name, t]) => [`${name}_echo`, t]));
                    let total = 0;
                    for (const t of Object.values(request.inputs)) if (t.dtype === DataType.DT_UINT8 && t.content) total += sum(t.content);
                    outputs.byte_sum = tensorFromInt32(new Int32Array([total]), [1]);
                    const reply = (): void => cb(null, encodePredictResponse({ model: { ...request.model, version: 7 }, outputs }));
                    if (kind === "slow") setTimeout(reply, Number(arg));
                    else reply();
                },
                GetModelStatus: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
                    const spec = decodeGetModelStatusRequest(call.request);
                    cb(
                        null,
                        encodeGetModelStatusResponse([
                            {
                                version: spec.version ?? 3,
                                state: ModelState.AVAILABLE,
                                errorCode: 0,
                                errorMessage: `status of ${spec.name}`,
                            },
                        ]),
                    );
                },
            },
        );
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
        );
        client = createModelClient(`grpc://127.0.0.1:${port}`);
    });
    after(() => {
        client.close();
        server.forceShutdown();
    });

    it("Predict round-trips tensors and the model spec", async () => {
        const ids = tensorFromInt32(new Int32Array([101, 2023, 102, -5]), [1, 4]);
        const pixels = tensorFromUint8(Buffer.from([1, 2, 3, 250]), [1, 2, 2, 1]);
        const response = await client.predict({ model: { name: "echo", signatureName: "serving_default" }, inputs: { ids, pixels } });
        assert.deepEqual(response.model, { name: "echo", version: 7, signatureName: "serving_default" });
        assert.deepEqual(response.outputs.ids_echo, ids);
        assert.deepEqual(response.outputs.pixels_echo, pixels);
        assert.equal(response.outputs.byte_sum.content!.readInt32LE(0), 256);
    });

    it("GetModelStatus round-trips", async () => {
        assert.deepEqual(await client.getModelStatus({ name: "bert", version: 12 }), [
            { version: 12, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "status of bert" },
        ]);
    });

    it("sends grpc-timeout so the server sees the caller's deadline", async () => {
        await client.getModelStatus({ name: "bert" }, { timeoutMs: 4000 });
        await client.predict({ model: { name: "echo" }, inputs: {} }, { timeoutMs: 4000 });
        assert.ok(lastDeadlineMs > 3000 && lastDeadlineMs <= 4000, `server-side deadline ${lastDeadlineMs} ms`);
    });

    it("reads error statuses with non-ASCII and percent characters exactly, with the usual retry decision", async () => {
        for (const [code, name, transient] of [
            [GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT", false],
            [GrpcStatus.NOT_FOUND, "NOT_FOUND", false],
            [GrpcStatus.UNAVAILABLE, "UNAVAILABLE", true],
            [GrpcStatus.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", true],
            [GrpcStatus.UNKNOWN, "UNKNOWN", false],
        ] as const) {
            const err = await rejection(client.predict({ model: { name: `fail:${code}` }, inputs: {} }));
            assert.equal(err.code, name);
            assert.equal(err.transient, transient, name);
            assert.ok(err.message.endsWith(AWKWARD_MESSAGE), err.message);
        }
    });

    it("gives up at the deadline with DEADLINE_EXCEEDED (transient), and the session stays usable", async () => {
        const err = await rejection(client.predict({ model: { name: "slow:800" }, inputs: {} }, { timeoutMs: 100 }));
        assert.equal(err.code, "DEADLINE_EXCEEDED");
        assert.equal(err.transient, true);
        const ok = await client.predict({ model: { name: "echo" }, inputs: {} });
        assert.ok(ok.outputs.byte_sum);
    });

    it("carries a 2.16 MB request and a 2.16 MB response intact", async () => {
        const content = bigFrames();
        const response = await client.predict({ model: { name: "echo" }, inputs: { inputs: tensorFromUint8(content, [8, 300, 300, 3]) } });
        assert.deepEqual(response.outputs.inputs_echo.shape, [8, 300, 300, 3]);
        assert.ok(response.outputs.inputs_echo.content!.equals(content));
        assert.equal(response.outputs.byte_sum.content!.readInt32LE(0), sum(content) | 0);
    });

    it("runs many calls in flight at once, each getting its own answer", async () => {
        const calls = Array.from({ length: 40 }, (_, i) => {
            const content = Buffer.alloc(i % 4 === 0 ? 300_000 : 64, i);
            return client
                .predict({ model: { name: i % 5 === 0 ? "slow:30" : "echo" }, inputs: { x: tensorFromUint8(content, [content.length]) } })
                .then((r) => ({ i, r, content }));
        });
        for (const { i, r, content } of await Promise.all(calls)) {
            assert.ok(r.outputs.x_echo.content!.equals(content), `call ${i}`);
        }
    });
});

describe("gRPC interop: a grpc-js client against our emulator's server", () => {
    let emulator: TfServingEmulator;
    let client: Client;

    const call = (method: string, body: Buffer, timeoutMs = 10_000): Promise<Buffer> =>
        new Promise((resolve, reject) => {
            client.makeUnaryRequest(
                method,
                identity,
                identity,
                body,
                new Metadata(),
                { deadline: Date.now() + timeoutMs },
                (err: ServiceError | null, value?: Buffer) => {
                    if (err) reject(err);
                    else resolve(value!);
                },
            );
        });
    const failure = async (promise: Promise<unknown>): Promise<ServiceError> => {
        try {
            await promise;
        } catch (err) {
            return err as ServiceError;
        }
        assert.fail("expected the call to fail");
    };
    const bert = (model = "bert"): PredictRequest => {
        const ids = Int32Array.from({ length: 6 }, (_, i) => 100 + i);
        const mask = Int32Array.from({ length: 6 }, () => 1);
        const segments = Int32Array.from({ length: 6 }, (_, i) => i % 2);
        return {
            model: { name: model },
            inputs: {
                input_ids: tensorFromInt32(ids, [1, 6]),
                input_mask: tensorFromInt32(mask, [1, 6]),
                segment_ids: tensorFromInt32(segments, [1, 6]),
            },
        };
    };

    before(async () => {
        emulator = await startTfServingEmulator();
        client = new Client(emulator.grpcUrl.replace("grpc://", ""), credentials.createInsecure(), {
            "grpc.max_receive_message_length": 64 * 1024 * 1024,
            "grpc.max_send_message_length": 64 * 1024 * 1024,
        });
    });
    after(async () => {
        client.close();
        await emulator.stop();
    });

    it("answers Predict for BERT", async () => {
        const response = decodePredictResponse(await call(PREDICT_METHOD, encodePredictRequest(bert())));
        const logits = Object.values(response.outputs)[0];
        const request = bert();
        const raw = (name: string): Int32Array => new Int32Array(Uint8Array.from(request.inputs[name].content!).buffer);
        assert.deepEqual(
            Array.from(readFloat32(logits)),
            Array.from(bertLogits(raw("input_ids"), raw("input_mask"), raw("segment_ids"), 1, 6)),
        );
        assert.deepEqual(response.model, { name: "bert", version: 1, signatureName: "serving_default" });
    });

    it("answers GetModelStatus", async () => {
        const statuses = decodeGetModelStatusResponse(
            await call(GET_MODEL_STATUS_METHOD, encodeGetModelStatusRequest({ name: "object_detection" })),
        );
        assert.deepEqual(statuses, [{ version: 1, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" }]);
    });

    it("takes a 2.16 MB video batch and returns its detections", async () => {
        const content = bigFrames();
        const body = encodePredictRequest({
            model: { name: "object_detection" },
            inputs: { inputs: tensorFromUint8(content, [8, 300, 300, 3]) },
        });
        const response = decodePredictResponse(await call(PREDICT_METHOD, body));
        const num = readFloat32(response.outputs.num_detections);
        const scores = readFloat32(response.outputs.detection_scores);
        for (let f = 0; f < 8; f++) {
            const expected = detectFrame(content.subarray(f * 270_000, (f + 1) * 270_000));
            assert.equal(num[f], expected.numDetections);
            assert.deepEqual(Array.from(scores.subarray(f * MAX_DETECTIONS, f * MAX_DETECTIONS + expected.numDetections)), expected.scores);
        }
        assert.equal(emulator.requests.at(-1)?.batchSize, 8);
    });

    it("sends status codes and percent-encoded non-ASCII messages that grpc-js decodes exactly", async () => {
        const missing = await failure(call(PREDICT_METHOD, encodePredictRequest(bert("bret"))));
        assert.equal(missing.code, GrpcStatus.NOT_FOUND);
        assert.equal(missing.details, "Servable not found for request: Latest(bret)");
        emulator.failNext(1, "UNAVAILABLE", AWKWARD_MESSAGE);
        const injected = await failure(call(PREDICT_METHOD, encodePredictRequest(bert())));
        assert.equal(injected.code, GrpcStatus.UNAVAILABLE);
        assert.equal(injected.details, AWKWARD_MESSAGE);
        const garbage = await failure(call(PREDICT_METHOD, Buffer.from([0x0a, 0x7f, 0x01])));
        assert.equal(garbage.code, GrpcStatus.INVALID_ARGUMENT);
        assert.match(garbage.details, /PredictRequest does not decode/);
        const unknown = await failure(call("/tensorflow.serving.PredictionService/Classify", Buffer.alloc(0)));
        assert.equal(unknown.code, GrpcStatus.UNIMPLEMENTED);
    });

    it("lets the client's deadline end a slow call, and keeps serving", async () => {
        emulator.setLatency(600);
        try {
            const slow = await failure(call(PREDICT_METHOD, encodePredictRequest(bert()), 100));
            assert.equal(slow.code, GrpcStatus.DEADLINE_EXCEEDED);
        } finally {
            emulator.setLatency(0);
        }
        const ok = decodePredictResponse(await call(PREDICT_METHOD, encodePredictRequest(bert())));
        assert.equal(Object.keys(ok.outputs).length, 1);
    });

    it("serves many concurrent calls from one grpc-js channel", async () => {
        const results = await Promise.all(
            Array.from({ length: 32 }, async (_, i) => {
                const content = Buffer.alloc(4 * 4 * 3, i * 7);
                const body = encodePredictRequest({
                    model: { name: "object_detection" },
                    inputs: { inputs: tensorFromUint8(content, [1, 4, 4, 3]) },
                });
                const response = decodePredictResponse(await call(PREDICT_METHOD, body));
                return { content, num: readFloat32(response.outputs.num_detections)[0] };
            }),
        );
        for (const { content, num } of results) assert.equal(num, detectFrame(content).numDetections);
    });
});
