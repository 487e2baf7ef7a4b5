import { strict as assert } from "node:assert";
import {
    decodeGetModelStatusResponse,
    decodePredictRequest,
    decodePredictResponse,
    encodeGetModelStatusRequest,
    encodeGetModelStatusResponse,
    encodeModelSpec,
    encodePredictRequest,
    encodePredictResponse,
} from "../../../model-client/tfserving/codec";
import { readFloat32, tensorFromFloat32, tensorFromInt32, tensorFromUint8 } from "../../../model-client/tfserving/tensors";
import { DataType, ModelState, type Tensor } from "../../../model-client/tfserving/types";
import { ChunkWriter, WireFormatError, WireReader } from "../../../model-client/grpc/wire";
import { jsonToTensor, tensorToJsonText } from "../../../model-client/tfserving/json-tensors";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const ascii = (s: string): string => Buffer.from(s, "ascii").toString("hex");
const floatsHex = (...v: number[]): string => Buffer.from(new Float32Array(v).buffer).toString("hex");
const floats = (t: Tensor): number[] => Array.from(readFloat32(t));

describe("tfserving wire format", () => {
    it("round-trips varints including 64-bit and negative values", () => {
        for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER, -1, -300]) {
            const buf = new ChunkWriter().varint(v).finish();
            assert.equal(new WireReader(buf).varint(), v, `value ${v}`);
        }
        assert.deepEqual(new ChunkWriter().varint(300).finish(), hex("ac02"));
        assert.deepEqual(new ChunkWriter().varint(-1).finish(), hex("ffffffffffffffffff01"));
    });

    it("rejects truncated input with a WireFormatError", () => {
        assert.throws(() => new WireReader(hex("80")).varint(), WireFormatError);
        assert.throws(() => new WireReader(hex("0a05 6162")).bytes(), WireFormatError);
    });
});

describe("tfserving codec: field numbers against hand-assembled bytes", () => {
    it("ModelSpec: name=1, version=2 (Int64Value.value=1), signature_name=3", () => {
        const bytes = encodeModelSpec({ name: "m", version: 7, signatureName: "s" }).finish();
        assert.deepEqual(bytes, hex(`0a01${ascii("m")} 12020807 1a01${ascii("s")}`));
    });

    it("PredictRequest: model_spec=1, inputs=2 (map entry key=1 value=2), output_filter=3; TensorProto dtype=1 shape=2 content=4", () => {
        const content = floatsHex(1.5, -2);
        const tensor = `0801 1204 12020802 2208${content}`; // dtype FLOAT, shape {dim {size 2}}, tensor_content
        const entry = `0a01${ascii("x")} 1212${tensor}`;
        const expected = hex(`0a03 0a01${ascii("m")} 1217${entry} 1a01${ascii("y")}`);
        const request = { model: { name: "m" }, inputs: { x: tensorFromFloat32(new Float32Array([1.5, -2]), [2]) }, outputFilter: ["y"] };
        assert.deepEqual(encodePredictRequest(request), expected);
        const decoded = decodePredictRequest(expected);
        assert.equal(decoded.model.name, "m");
        assert.deepEqual(decoded.outputFilter, ["y"]);
        assert.deepEqual(decoded.inputs.x.shape, [2]);
        assert.deepEqual(floats(decoded.inputs.x), [1.5, -2]);
    });

    it("GetModelStatusRequest: model_spec=1", () => {
        assert.deepEqual(encodeGetModelStatusRequest({ name: "b" }), hex(`0a03 0a01${ascii("b")}`));
    });

    it("GetModelStatusResponse: model_version_status=1 {version=1, state=2, status=3 {error_code=1, error_message=2}}", () => {
        const bytes = hex(`0a0e 0803 101e 1a08 0805 1204${ascii("oops")}`);
        assert.deepEqual(decodeGetModelStatusResponse(bytes), [
            { version: 3, state: ModelState.AVAILABLE, errorCode: 5, errorMessage: "oops" },
        ]);
        assert.deepEqual(
            encodeGetModelStatusResponse([{ version: 3, state: ModelState.AVAILABLE, errorCode: 5, errorMessage: "oops" }]),
            bytes,
        );
    });

    it("GetModelStatusResponse keeps int64 versions above 2^32", () => {
        const statuses = [{ version: 2 ** 40 + 5, state: ModelState.LOADING, errorCode: 0, errorMessage: "" }];
        assert.deepEqual(decodeGetModelStatusResponse(encodeGetModelStatusResponse(statuses)), statuses);
    });

    it("PredictResponse: outputs=1, model_spec=2; float_val=5 packed and unpacked", () => {
        const shape = "1204 12020802";
        const packed = `0801 ${shape} 2a08${floatsHex(0.25, 3)}`;
        const unpacked = `0801 ${shape} 2d${floatsHex(0.25)} 2d${floatsHex(3)}`;
        const entry = (name: string, t: string): string => {
            const body = `0a01${ascii(name)} 12${(t.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")}${t}`;
            return `0a${(body.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")}${body}`;
        };
        const bytes = hex(`${entry("p", packed)} ${entry("u", unpacked)} 1203 0a01${ascii("m")}`);
        const response = decodePredictResponse(bytes);
        assert.equal(response.model?.name, "m");
        assert.equal(response.outputs.p.dtype, DataType.DT_FLOAT);
        assert.deepEqual(floats(response.outputs.p), [0.25, 3]);
        assert.deepEqual(floats(response.outputs.u), [0.25, 3]);
    });

    it("int_val=7, int64_val=10, bool_val=11, half_val=13, double_val=6 decode into content", () => {
        const one = (tensorHex: string): Tensor =>
            decodePredictResponse(
                hex(
                    `0a${(3 + 2 + tensorHex.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")} 0a01${ascii("o")} 12${(tensorHex.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0")}${tensorHex}`,
                ),
            ).outputs.o;
        const shape2 = "1204 12020802";
        const int32Unpacked = one(`0803 ${shape2} 3805 38ffffffffffffffffff01`);
        assert.equal(int32Unpacked.dtype, DataType.DT_INT32);
        assert.deepEqual(floats(int32Unpacked), [5, -1]);
        const int32Packed = one(`0803 ${shape2} 3a02 0507`);
        assert.deepEqual(floats(int32Packed), [5, 7]);
        const int64 = one(`0809 ${shape2} 5202 0a0b`);
        assert.deepEqual(floats(int64), [10, 11]);
        const int64Negative = one(`0809 ${shape2} 50ffffffffffffffffff01 5002`);
        assert.deepEqual(floats(int64Negative), [-1, 2]);
        const bools = one(`080a ${shape2} 5a02 0100`);
        assert.deepEqual(floats(bools), [1, 0]);
        const halves = one(`0813 ${shape2} 6a05 8078 808001`); // varints of 0x3c00 = 1.0 and 0x4000 = 2.0
        assert.deepEqual(floats(halves), [1, 2]);
        const doubles = one(`0802 ${shape2} 3210 ${Buffer.from(new Float64Array([0.5, 8]).buffer).toString("hex")}`);
        assert.deepEqual(floats(doubles), [0.5, 8]);
    });

    it("a single typed value fills the whole shape", () => {
        const t = decodePredictResponse(hex(`0a12 0a01${ascii("o")} 120d 0801 1204 12020803 2d${floatsHex(2)}`)).outputs.o;
        assert.deepEqual(floats(t), [2, 2, 2]);
    });

    it("a typed value count that does not match the shape is a decode error", () => {
        assert.throws(
            () => decodePredictResponse(hex(`0a17 0a01${ascii("o")} 1212 0801 1204 12020803 2a08${floatsHex(1, 2)}`)),
            /has 2 values, expected 3/,
        );
    });
});

describe("tfserving codec round trips", () => {
    it("PredictRequest with uint8, int32 and string tensors and a version", () => {
        const frames = Buffer.from([1, 2, 3, 4, 5, 6]);
        const request = {
            model: { name: "det", version: 2 ** 33, signatureName: "serving_default" },
            inputs: {
                inputs: tensorFromUint8(frames, [1, 1, 2, 3]),
                ids: tensorFromInt32(new Int32Array([1, -2, 3]), [1, 3]),
                text: { dtype: DataType.DT_STRING, shape: [2], strings: [Buffer.from("a"), Buffer.from("")] },
            },
        };
        const decoded = decodePredictRequest(encodePredictRequest(request));
        assert.deepEqual(decoded.model, request.model);
        assert.deepEqual(decoded.inputs.inputs.content, frames);
        assert.deepEqual(decoded.inputs.inputs.shape, [1, 1, 2, 3]);
        assert.deepEqual(floats(decoded.inputs.ids), [1, -2, 3]);
        assert.deepEqual(decoded.inputs.text.strings, [Buffer.from("a"), Buffer.from("")]);
    });

    it("empty tensors and zero-sized dimensions survive", () => {
        const empty = tensorFromFloat32(new Float32Array(0), [0, 4]);
        const decoded = decodePredictResponse(encodePredictResponse({ outputs: { e: empty } }));
        assert.deepEqual(decoded.outputs.e.shape, [0, 4]);
        assert.equal(decoded.outputs.e.content?.length, 0);
        const typed = decodePredictResponse(encodePredictResponse({ outputs: { e: empty } }, "typed_fields"));
        assert.deepEqual(typed.outputs.e.shape, [0, 4]);
    });

    it("typed_fields and tensor_content encodings decode to the same tensors", () => {
        const outputs = {
            f: tensorFromFloat32(new Float32Array([0.5, -1.25, 3]), [3]),
            i: tensorFromInt32(new Int32Array([-7, 0, 9]), [1, 3]),
            b: tensorFromUint8(Buffer.from([0, 255]), [2]),
        };
        const viaContent = decodePredictResponse(encodePredictResponse({ outputs }, "tensor_content"));
        const viaTyped = decodePredictResponse(encodePredictResponse({ outputs }, "typed_fields"));
        for (const name of Object.keys(outputs)) {
            assert.equal(viaTyped.outputs[name].dtype, viaContent.outputs[name].dtype);
            assert.deepEqual(viaTyped.outputs[name].shape, viaContent.outputs[name].shape);
            assert.deepEqual(viaTyped.outputs[name].content, viaContent.outputs[name].content, name);
        }
        assert.deepEqual(floats(viaTyped.outputs.i), [-7, 0, 9]);
    });

    it("does not copy the tensor content when decoding", () => {
        const bytes = encodePredictResponse({ outputs: { f: tensorFromFloat32(new Float32Array([1, 2]), [2]) } });
        const content = decodePredictResponse(bytes).outputs.f.content!;
        assert.equal(content.buffer, bytes.buffer);
    });
});

describe("tfserving JSON tensors", () => {
    it("round-trips nested arrays with shapes, including empty ones", () => {
        const t = tensorFromUint8(Buffer.from([1, 2, 3, 4, 5, 6]), [1, 2, 3]);
        assert.equal(tensorToJsonText(t), "[[[1,2,3],[4,5,6]]]");
        const back = jsonToTensor(JSON.parse(tensorToJsonText(t)), "t", DataType.DT_UINT8);
        assert.deepEqual(back.shape, [1, 2, 3]);
        assert.deepEqual(back.content, t.content);
        const empty = tensorFromFloat32(new Float32Array(0), [2, 0]);
        assert.equal(tensorToJsonText(empty), "[[],[]]");
        assert.deepEqual(jsonToTensor([[], []], "e").shape, [2, 0]);
    });

    it("handles scalars, booleans and base64 strings", () => {
        const scalar = jsonToTensor(3.5, "s");
        assert.deepEqual(scalar.shape, []);
        assert.deepEqual(floats(scalar), [3.5]);
        assert.equal(tensorToJsonText(scalar), "3.5");
        assert.equal(jsonToTensor([true, false], "b").dtype, DataType.DT_BOOL);
        const strings = jsonToTensor([{ b64: Buffer.from("hi").toString("base64") }], "t");
        assert.deepEqual(strings.strings, [Buffer.from("hi")]);
        assert.equal(tensorToJsonText(strings), '[{"b64":"aGk="}]');
    });

    it("rejects ragged arrays and out-of-range integers with the input named", () => {
        assert.throws(() => jsonToTensor([[1, 2], [3]], 'input "x"'), /input "x": ragged/);
        assert.throws(
            () =>
                jsonToTensor(
                    [
                        [1, 2],
                        [3, [4]],
                    ],
                    'input "x"',
                ),
            /input "x": ragged/,
        );
        assert.throws(
            () =>
                jsonToTensor(
                    [
                        [1, 2],
                        [3, 4.5],
                    ],
                    'input "x"',
                    DataType.DT_UINT8,
                ),
            /element 3 = 4.5 is not a valid DT_UINT8/,
        );
        assert.throws(() => jsonToTensor([256], 'input "x"', DataType.DT_UINT8), /256 is not a valid DT_UINT8/);
    });
});
