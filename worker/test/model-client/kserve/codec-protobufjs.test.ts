// The KServe v2 codec against protobufjs (an independent implementation) loading our own .proto text
// written from the published field numbers: our bytes decoded by protobufjs, and protobufjs's bytes
// decoded by us, for requests and responses in both tensor encodings.
import { strict as assert } from "node:assert";
import {
    decodeInferRequest,
    decodeInferResponse,
    decodeModelMetadataResponse,
    decodeModelReadyResponse,
    decodeModelRef,
    decodeServerLiveResponse,
    encodeInferRequest,
    encodeInferRequestSegments,
    encodeInferResponse,
    encodeModelMetadataResponse,
    encodeModelReadyResponse,
    encodeModelRef,
    encodeServerLiveResponse,
    encodeServerReadyResponse,
    joinBytesElements,
} from "../../../model-client/kserve/codec";
import type { InferRequest, InferResponse, ModelMetadata } from "../../../model-client/kserve/types";
import { encode, loadProto, plain } from "../../support/protobufjs";

const root = loadProto("kserve_v2_subset.proto");
const T = (name: string) => root.lookupType(`inference.${name}`);

function int64Data(values: number[]): Buffer {
    return Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
}
function fp32Data(values: number[]): Buffer {
    return Buffer.from(new Float32Array(values).buffer);
}

/** A BERT-shaped request plus awkward extras: negative int64s, parameters of each kind, a BYTES and an FP16 input. */
function sampleRequest(): InferRequest {
    const batch = 2;
    const seq = 4;
    const ids = [101, 2023, 2003, 102, 101, 7592, 102, 0];
    return {
        modelName: "bert",
        modelVersion: "3",
        id: "req-42",
        parameters: { priority: 2, sequence_start: true, tag: "naïve", ratio: 0.25, offset: -7 },
        inputs: [
            { name: "input_ids", datatype: "INT64", shape: [batch, seq], data: int64Data(ids) },
            { name: "attention_mask", datatype: "INT64", shape: [batch, seq], data: int64Data([1, 1, 1, 1, 1, 1, 1, 0]) },
            {
                name: "token_type_ids",
                datatype: "INT64",
                shape: [batch, seq],
                data: int64Data([0, 0, -1, -9007199254740991, 0, 1, 1, 0]),
                parameters: { binary: false },
            },
            { name: "text", datatype: "BYTES", shape: [2], data: joinBytesElements([Buffer.from("héllo"), Buffer.alloc(0)]) },
            { name: "half", datatype: "FP16", shape: [3], data: Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]) },
        ],
        outputs: ["logits", "pooled"],
    };
}

describe("KServe v2 codec vs protobufjs", () => {
    describe("ModelInferRequest", () => {
        it("our raw encoding decodes in protobufjs: every field, raw_input_contents in input order, no per-tensor contents", () => {
            const request = sampleRequest();
            const bytes = encodeInferRequest(request);
            assert.deepEqual(Buffer.concat(encodeInferRequestSegments(request)), bytes, "segments are the same message");
            const m = plain(T("ModelInferRequest"), bytes);
            assert.equal(m.model_name, "bert");
            assert.equal(m.model_version, "3");
            assert.equal(m.id, "req-42");
            assert.deepEqual(m.parameters, {
                priority: { int64_param: 2 },
                sequence_start: { bool_param: true },
                tag: { string_param: "naïve" },
                ratio: { double_param: 0.25 },
                offset: { int64_param: -7 },
            });
            const inputs = m.inputs as Record<string, unknown>[];
            assert.deepEqual(
                inputs.map((i) => [i.name, i.datatype, i.shape, i.contents]),
                request.inputs.map((i) => [i.name, i.datatype, i.shape, undefined]),
            );
            assert.deepEqual(inputs[2].parameters, { binary: { bool_param: false } });
            assert.deepEqual(
                (m.outputs as { name: string }[]).map((o) => o.name),
                ["logits", "pooled"],
            );
            const raw = (m.raw_input_contents as Uint8Array[]).map((b) => Buffer.from(b));
            assert.deepEqual(
                raw,
                request.inputs.map((i) => i.data),
            );
        });

        it("our typed-contents encoding decodes in protobufjs as int64_contents and bytes_contents", () => {
            const request = sampleRequest();
            request.inputs = request.inputs.slice(0, 4);
            const m = plain(T("ModelInferRequest"), encodeInferRequest(request, "contents"));
            assert.deepEqual(m.raw_input_contents, []);
            const inputs = m.inputs as { contents: Record<string, unknown[]> }[];
            assert.deepEqual(inputs[0].contents.int64_contents, [101, 2023, 2003, 102, 101, 7592, 102, 0]);
            assert.deepEqual(inputs[2].contents.int64_contents, [0, 0, -1, -9007199254740991, 0, 1, 1, 0]);
            assert.deepEqual(
                inputs[3].contents.bytes_contents.map((b) => Buffer.from(b as Uint8Array).toString()),
                ["héllo", ""],
            );
        });

        it("decodes protobufjs's request with raw contents, and with typed contents of each kind", () => {
            const viaRaw = encode(T("ModelInferRequest"), {
                model_name: "bert",
                id: "x",
                parameters: { timeout: { int64_param: 5000 }, flag: { bool_param: true } },
                inputs: [
                    { name: "input_ids", datatype: "INT64", shape: [1, 3] },
                    { name: "scale", datatype: "FP32", shape: [2] },
                ],
                outputs: [{ name: "logits" }],
                raw_input_contents: [int64Data([101, -5, 102]), fp32Data([1.5, -0.25])],
            });
            const a = decodeInferRequest(viaRaw);
            assert.equal(a.modelName, "bert");
            assert.equal(a.modelVersion, undefined);
            assert.equal(a.id, "x");
            assert.deepEqual(a.parameters, { timeout: 5000, flag: true });
            assert.deepEqual(a.outputs, ["logits"]);
            assert.deepEqual(a.inputs[0].shape, [1, 3]);
            assert.deepEqual(a.inputs[0].data, int64Data([101, -5, 102]));
            assert.deepEqual(a.inputs[1].data, fp32Data([1.5, -0.25]));

            const viaContents = encode(T("ModelInferRequest"), {
                model_name: "m",
                inputs: [
                    { name: "i64", datatype: "INT64", shape: [3], contents: { int64_contents: [7, -1, 123456789012] } },
                    { name: "i32", datatype: "INT32", shape: [2], contents: { int_contents: [-3, 70000] } },
                    { name: "u8", datatype: "UINT8", shape: [2], contents: { uint_contents: [0, 255] } },
                    { name: "f32", datatype: "FP32", shape: [2], contents: { fp32_contents: [0.5, -2] } },
                    { name: "f64", datatype: "FP64", shape: [1], contents: { fp64_contents: [Math.PI] } },
                    { name: "b", datatype: "BOOL", shape: [2], contents: { bool_contents: [true, false] } },
                    { name: "s", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from("ok")] } },
                ],
            });
            const b = decodeInferRequest(viaContents);
            const data = Object.fromEntries(b.inputs.map((i) => [i.name, i.data]));
            assert.deepEqual(data.i64, int64Data([7, -1, 123456789012]));
            assert.deepEqual(data.i32, Buffer.from(new Int32Array([-3, 70000]).buffer));
            assert.deepEqual(data.u8, Buffer.from([0, 255]));
            assert.deepEqual(data.f32, fp32Data([0.5, -2]));
            assert.deepEqual(data.f64, Buffer.from(new Float64Array([Math.PI]).buffer));
            assert.deepEqual(data.b, Buffer.from([1, 0]));
            assert.deepEqual(data.s, joinBytesElements([Buffer.from("ok")]));
        });

        it("round-trips our own request through protobufjs re-encoding", () => {
            const request = sampleRequest();
            const type = T("ModelInferRequest");
            const reencoded = Buffer.from(type.encode(type.decode(encodeInferRequest(request))).finish());
            assert.deepEqual(decodeInferRequest(reencoded), request);
        });

        it("refuses raw contents that do not match the inputs, whoever encoded them", () => {
            const bad = encode(T("ModelInferRequest"), {
                model_name: "bert",
                inputs: [
                    { name: "a", datatype: "INT64", shape: [1, 2] },
                    { name: "b", datatype: "INT64", shape: [1, 2] },
                ],
                raw_input_contents: [int64Data([1, 2])],
            });
            assert.throws(() => decodeInferRequest(bad), /1 raw_input_contents for 2 inputs/);
            const short = encode(T("ModelInferRequest"), {
                model_name: "bert",
                inputs: [{ name: "a", datatype: "INT64", shape: [1, 2] }],
                raw_input_contents: [int64Data([1])],
            });
            assert.throws(() => decodeInferRequest(short), /input "a" INT64 \[1,2\] needs 16 bytes of data, got 8/);
        });
    });

    describe("ModelInferResponse", () => {
        const response: InferResponse = {
            modelName: "bert",
            modelVersion: "1",
            id: "req-42",
            parameters: { triton_final_response: true },
            outputs: [
                { name: "logits", datatype: "FP32", shape: [2, 2], data: fp32Data([0.25, 0.75, -1e30, Number.POSITIVE_INFINITY]) },
                { name: "label", datatype: "INT64", shape: [2], data: int64Data([1, 0]) },
            ],
        };

        it("our raw and typed encodings decode in protobufjs", () => {
            const raw = plain(T("ModelInferResponse"), encodeInferResponse(response));
            assert.equal(raw.model_name, "bert");
            assert.equal(raw.model_version, "1");
            assert.equal(raw.id, "req-42");
            assert.deepEqual(raw.parameters, { triton_final_response: { bool_param: true } });
            assert.deepEqual(
                (raw.outputs as Record<string, unknown>[]).map((o) => [o.name, o.datatype, o.shape, o.contents]),
                [
                    ["logits", "FP32", [2, 2], undefined],
                    ["label", "INT64", [2], undefined],
                ],
            );
            assert.deepEqual(
                (raw.raw_output_contents as Uint8Array[]).map((b) => Buffer.from(b)),
                response.outputs.map((o) => o.data),
            );

            const typed = plain(T("ModelInferResponse"), encodeInferResponse(response, "contents"));
            assert.deepEqual(typed.raw_output_contents, []);
            const outputs = typed.outputs as { contents: Record<string, number[]> }[];
            assert.deepEqual(outputs[0].contents.fp32_contents, [0.25, 0.75, Math.fround(-1e30), Number.POSITIVE_INFINITY]);
            assert.deepEqual(outputs[1].contents.int64_contents, [1, 0]);
        });

        it("decodes protobufjs's response with raw and with typed outputs to the same tensors", () => {
            const header = [
                { name: "logits", datatype: "FP32", shape: [2, 2] },
                { name: "label", datatype: "INT64", shape: [2] },
            ];
            const viaRaw = encode(T("ModelInferResponse"), {
                model_name: "bert",
                model_version: "1",
                id: "req-42",
                parameters: { triton_final_response: { bool_param: true } },
                outputs: header,
                raw_output_contents: response.outputs.map((o) => o.data),
            });
            assert.deepEqual(decodeInferResponse(viaRaw), response);
            const viaTyped = encode(T("ModelInferResponse"), {
                model_name: "bert",
                model_version: "1",
                id: "req-42",
                parameters: { triton_final_response: { bool_param: true } },
                outputs: [
                    { ...header[0], contents: { fp32_contents: [0.25, 0.75, -1e30, Number.POSITIVE_INFINITY] } },
                    { ...header[1], contents: { int64_contents: [1, 0] } },
                ],
            });
            const decoded = decodeInferResponse(viaTyped);
            assert.deepEqual(
                decoded.outputs.map((o) => [o.name, o.datatype, o.shape]),
                [
                    ["logits", "FP32", [2, 2]],
                    ["label", "INT64", [2]],
                ],
            );
            assert.deepEqual(decoded.outputs[0].data, fp32Data([0.25, 0.75, -1e30, Number.POSITIVE_INFINITY]));
            assert.deepEqual(decoded.outputs[1].data, int64Data([1, 0]));
        });

        it("refuses an output whose data does not fill its shape", () => {
            const bad = encode(T("ModelInferResponse"), {
                model_name: "bert",
                outputs: [{ name: "logits", datatype: "FP32", shape: [1, 2] }],
                raw_output_contents: [fp32Data([1, 2, 3])],
            });
            assert.throws(() => decodeInferResponse(bad), /output "logits" FP32 \[1,2\] needs 8 bytes of data, got 12/);
            const typed = encode(T("ModelInferResponse"), {
                model_name: "bert",
                outputs: [{ name: "logits", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1] } }],
            });
            assert.throws(() => decodeInferResponse(typed), /output "logits" FP32 \[1,2\] has 1 values, expected 2/);
        });
    });

    describe("health and metadata", () => {
        const metadata: ModelMetadata = {
            name: "bert",
            versions: ["1", "2"],
            platform: "python",
            inputs: ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, datatype: "INT64", shape: [-1, 128] })),
            outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
        };

        it("ModelMetadataResponse both ways, with -1 (variable) dimensions", () => {
            const m = plain(T("ModelMetadataResponse"), encodeModelMetadataResponse(metadata));
            assert.deepEqual(m, metadata);
            assert.deepEqual(
                decodeModelMetadataResponse(encode(T("ModelMetadataResponse"), metadata as unknown as Record<string, unknown>)),
                metadata,
            );
        });

        it("ModelReadyRequest / ModelMetadataRequest and the boolean replies both ways", () => {
            assert.deepEqual(plain(T("ModelReadyRequest"), encodeModelRef({ name: "bert", version: "7" })), { name: "bert", version: "7" });
            assert.deepEqual(plain(T("ModelMetadataRequest"), encodeModelRef({ name: "bert" })), { name: "bert" });
            assert.deepEqual(decodeModelRef(encode(T("ModelReadyRequest"), { name: "bert", version: "2" })), {
                name: "bert",
                version: "2",
            });
            assert.deepEqual(plain(T("ModelReadyResponse"), encodeModelReadyResponse(true)), { ready: true });
            assert.deepEqual(plain(T("ServerLiveResponse"), encodeServerLiveResponse(true)), { live: true });
            assert.deepEqual(plain(T("ServerReadyResponse"), encodeServerReadyResponse(true)), { ready: true });
            assert.equal(decodeModelReadyResponse(encode(T("ModelReadyResponse"), { ready: true })), true);
            assert.equal(decodeModelReadyResponse(encode(T("ModelReadyResponse"), { ready: false })), false);
            assert.equal(decodeServerLiveResponse(encode(T("ServerLiveResponse"), { live: true })), true);
        });
    });
});
