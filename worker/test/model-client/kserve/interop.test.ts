// The KServe v2 client and emulator against fully independent implementations: a @grpc/grpc-js server
// whose messages are protobufjs's (from our .proto subset), and a grpc-js client with protobufjs messages
// against our emulator. Nothing of our codec is on the other side.
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
import { createInferenceClient, ModelServerError, type InferenceClient } from "../../../model-client/kserve";
import { startV2Emulator, type V2Emulator } from "../../../../testing/kserve/emulator";
import { MODEL_INFER_METHOD, MODEL_METADATA_METHOD, MODEL_READY_METHOD, SERVER_LIVE_METHOD } from "../../../model-client/kserve/methods";
import { bertLogits } from "../../../../testing/tfserving/emulator-models";
import { encode, loadProto, plain } from "../../support/protobufjs";

const root = loadProto("kserve_v2_subset.proto");
const T = (name: string) => root.lookupType(`inference.${name}`);
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
const int64 = (values: number[]): Buffer => Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);

type Obj = Record<string, unknown>;

describe("KServe v2 interop: our client against a grpc-js + protobufjs server", () => {
    let server: Server;
    let client: InferenceClient;
    let lastRequest: Obj = {};

    before(async () => {
        server = new Server();
        const reply = (type: string, value: Obj) => (cb: sendUnaryData<Buffer>) => cb(null, encode(T(type), value));
        server.addService(
            {
                ServerLive: unary(SERVER_LIVE_METHOD),
                ModelReady: unary(MODEL_READY_METHOD),
                ModelMetadata: unary(MODEL_METADATA_METHOD),
                ModelInfer: unary(MODEL_INFER_METHOD),
            },
            {
                ServerLive: (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
                    reply("ServerLiveResponse", { live: true })(cb),
                ModelReady: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
                    const r = plain(T("ModelReadyRequest"), call.request);
                    reply("ModelReadyResponse", { ready: r.name === "bert" })(cb);
                },
                ModelMetadata: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
                    const r = plain(T("ModelMetadataRequest"), call.request);
                    if (r.name !== "bert") {
                        cb({ code: GrpcStatus.NOT_FOUND, details: `Request for unknown model: '${String(r.name)}' is not found` });
                        return;
                    }
                    reply("ModelMetadataResponse", {
                        name: "bert",
                        versions: ["4"],
                        platform: "python",
                        inputs: [{ name: "input_ids", datatype: "INT64", shape: [-1, 3] }],
                        outputs: [{ name: "sum", datatype: "INT64", shape: [-1, 1] }],
                    })(cb);
                },
                // Sums each row of input_ids; answers in raw_output_contents.
                ModelInfer: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
                    lastRequest = plain(T("ModelInferRequest"), call.request);
                    const input = (lastRequest.inputs as Obj[])[0];
                    const [rows, cols] = input.shape as number[];
                    const raw = Buffer.from((lastRequest.raw_input_contents as Uint8Array[])[0]);
                    const sums: number[] = [];
                    for (let r = 0; r < rows; r++) {
                        let s = 0;
                        for (let c = 0; c < cols; c++) s += Number(raw.readBigInt64LE((r * cols + c) * 8));
                        sums.push(s);
                    }
                    reply("ModelInferResponse", {
                        model_name: lastRequest.model_name,
                        model_version: "4",
                        id: lastRequest.id,
                        outputs: [{ name: "sum", datatype: "INT64", shape: [rows, 1] }],
                        raw_output_contents: [int64(sums)],
                    })(cb);
                },
            },
        );
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
        );
        client = createInferenceClient(`127.0.0.1:${port}`);
    });
    after(() => {
        client.close();
        server.forceShutdown();
    });

    it("health, readiness and metadata", async () => {
        assert.equal(await client.serverLive(), true);
        assert.equal(await client.modelReady({ name: "bert" }), true);
        assert.equal(await client.modelReady({ name: "other" }), false);
        assert.deepEqual(await client.modelMetadata({ name: "bert" }), {
            name: "bert",
            versions: ["4"],
            platform: "python",
            inputs: [{ name: "input_ids", datatype: "INT64", shape: [-1, 3] }],
            outputs: [{ name: "sum", datatype: "INT64", shape: [-1, 1] }],
        });
        await assert.rejects(
            client.modelMetadata({ name: "bret" }),
            (err: unknown) =>
                err instanceof ModelServerError &&
                err.code === "NOT_FOUND" &&
                /has no model named "bret": Request for unknown model: 'bret' is not found/.test(err.message),
        );
    });

    it("ModelInfer: the server reads our raw_input_contents, we read its raw_output_contents", async () => {
        const response = await client.modelInfer({
            modelName: "bert",
            id: "abc",
            parameters: { priority: 1 },
            inputs: [{ name: "input_ids", datatype: "INT64", shape: [2, 3], data: int64([1, 2, 3, 10, -20, 30]) }],
            outputs: ["sum"],
        });
        assert.deepEqual(lastRequest.parameters, { priority: { int64_param: 1 } });
        assert.deepEqual(
            (lastRequest.outputs as Obj[]).map((o) => o.name),
            ["sum"],
        );
        assert.equal((lastRequest.inputs as Obj[])[0].contents, undefined, "no typed contents next to raw ones");
        assert.deepEqual(response, {
            modelName: "bert",
            modelVersion: "4",
            id: "abc",
            outputs: [{ name: "sum", datatype: "INT64", shape: [2, 1], data: int64([6, 20]) }],
        });
    });
});

describe("KServe v2 interop: a grpc-js client with protobufjs messages against our emulator", () => {
    let emulator: V2Emulator;
    let client: Client;

    const call = (method: string, body: Buffer): Promise<Buffer> =>
        new Promise((resolve, reject) => {
            client.makeUnaryRequest(
                method,
                identity,
                identity,
                body,
                new Metadata(),
                { deadline: Date.now() + 10_000 },
                (err: ServiceError | null, value?: Buffer) => (err ? reject(err) : resolve(value!)),
            );
        });

    before(async () => {
        emulator = await startV2Emulator({ seqLen: 4 });
        client = new Client(emulator.url.replace("grpc://", ""), credentials.createInsecure());
    });
    after(async () => {
        client.close();
        await emulator.stop();
    });

    it("answers ServerLive, ModelReady and ModelMetadata", async () => {
        assert.deepEqual(plain(T("ServerLiveResponse"), await call(SERVER_LIVE_METHOD, Buffer.alloc(0))), { live: true });
        assert.deepEqual(plain(T("ModelReadyResponse"), await call(MODEL_READY_METHOD, encode(T("ModelReadyRequest"), { name: "bert" }))), {
            ready: true,
        });
        const metadata = plain(
            T("ModelMetadataResponse"),
            await call(MODEL_METADATA_METHOD, encode(T("ModelMetadataRequest"), { name: "bert" })),
        );
        assert.deepEqual(
            (metadata.inputs as Obj[]).map((i) => [i.name, i.datatype, i.shape]),
            [
                ["input_ids", "INT64", [-1, 4]],
                ["attention_mask", "INT64", [-1, 4]],
                ["token_type_ids", "INT64", [-1, 4]],
            ],
        );
    });

    it("answers ModelInfer sent with raw contents, and with typed int64_contents, the same", async () => {
        const ids = [101, 2000, 3000, 102];
        const mask = [1, 1, 1, 1];
        const types = [0, 0, 1, 1];
        const header = ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, datatype: "INT64", shape: [1, 4] }));
        const raw = encode(T("ModelInferRequest"), {
            model_name: "bert",
            inputs: header,
            raw_input_contents: [int64(ids), int64(mask), int64(types)],
        });
        const typed = encode(T("ModelInferRequest"), {
            model_name: "bert",
            inputs: header.map((h, i) => ({ ...h, contents: { int64_contents: [ids, mask, types][i] } })),
        });
        const expected = Buffer.from(bertLogits(Int32Array.from(ids), Int32Array.from(mask), Int32Array.from(types), 1, 4).buffer);
        for (const body of [raw, typed]) {
            const response = plain(T("ModelInferResponse"), await call(MODEL_INFER_METHOD, body));
            assert.deepEqual(
                (response.outputs as Obj[]).map((o) => [o.name, o.datatype, o.shape]),
                [["logits", "FP32", [1, 2]]],
            );
            assert.deepEqual(Buffer.from((response.raw_output_contents as Uint8Array[])[0]), expected);
        }
    });

    it("answers an unknown model with NOT_FOUND in Triton's words", async () => {
        const body = encode(T("ModelInferRequest"), { model_name: "bret", inputs: [] });
        await assert.rejects(
            call(MODEL_INFER_METHOD, body),
            (err: ServiceError) => err.code === GrpcStatus.NOT_FOUND && err.details === "Request for unknown model: 'bret' is not found",
        );
    });
});
