// The TF Serving codec against protobufjs (an independent implementation) loading our own .proto text
// written from the published field numbers: our bytes decoded by protobufjs and protobufjs's bytes decoded
// by us, for Predict and GetModelStatus requests and responses, in both numeric encodings.
import { strict as assert } from "node:assert";
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
import { readFloat32, tensorFromFloat32, tensorFromInt32, tensorFromUint8 } from "../../../model-client/tfserving/tensors";
import { DataType, ModelState, type PredictRequest, type PredictResponse } from "../../../model-client/tfserving/types";
import {
    decodeGetModelMetadataRequest,
    decodeGetModelMetadataResponse,
    encodeGetModelMetadataRequest,
    encodeGetModelMetadataResponse,
    SIGNATURE_DEF_MAP_TYPE_URL,
    type ModelMetadata,
} from "../../../model-client/tfserving/metadata";
import { encode, loadProto, plain } from "../../support/protobufjs";

const root = loadProto("tfserving_subset.proto");
const T = (name: string) => root.lookupType(`tfs_subset.${name}`);

type Obj = Record<string, unknown>;
const dims = (t: Obj): number[] => ((t.tensor_shape as { dim?: { size?: number }[] }).dim ?? []).map((d) => d.size ?? 0);
const bytes = (b: unknown): Buffer => Buffer.from(b as Uint8Array);

function sampleRequest(): PredictRequest {
    const frames = Buffer.alloc(2 * 3 * 4 * 3);
    for (let i = 0; i < frames.length; i++) frames[i] = (i * 37) & 0xff;
    return {
        model: { name: "object_detection", version: 12, signatureName: "serving_default" },
        inputs: {
            inputs: tensorFromUint8(frames, [2, 3, 4, 3]),
            input_ids: tensorFromInt32(new Int32Array([101, -7, 2 ** 31 - 1, 102]), [1, 4]),
            words: { dtype: DataType.DT_STRING, shape: [2], strings: [Buffer.from("héllo"), Buffer.alloc(0)] },
        },
        outputFilter: ["detection_boxes", "num_detections"],
    };
}

describe("TF Serving codec vs protobufjs", () => {
    it("our PredictRequest decodes in protobufjs: model spec (version wrapper), every input, output_filter", () => {
        const request = sampleRequest();
        const m = plain(T("PredictRequest"), encodePredictRequest(request));
        assert.deepEqual(m.model_spec, { name: "object_detection", version: { value: 12 }, signature_name: "serving_default" });
        assert.deepEqual(m.output_filter, ["detection_boxes", "num_detections"]);
        const inputs = m.inputs as Record<string, Obj>;
        assert.deepEqual(Object.keys(inputs).sort(), ["input_ids", "inputs", "words"]);
        assert.equal(inputs.inputs.dtype, DataType.DT_UINT8);
        assert.deepEqual(dims(inputs.inputs), [2, 3, 4, 3]);
        assert.deepEqual(bytes(inputs.inputs.tensor_content), request.inputs.inputs.content);
        assert.equal(inputs.input_ids.dtype, DataType.DT_INT32);
        assert.deepEqual(bytes(inputs.input_ids.tensor_content), request.inputs.input_ids.content);
        assert.equal(inputs.words.dtype, DataType.DT_STRING);
        assert.deepEqual(
            (inputs.words.string_val as Uint8Array[]).map((b) => bytes(b).toString()),
            ["héllo", ""],
        );
    });

    it("version 0 is sent as an empty wrapper (present, value 0), and no version as no wrapper", () => {
        const zero = plain(T("PredictRequest"), encodePredictRequest({ model: { name: "m", version: 0 }, inputs: {} }));
        assert.deepEqual(zero.model_spec, { name: "m", version: {} });
        const none = plain(T("PredictRequest"), encodePredictRequest({ model: { name: "m" }, inputs: {} }));
        assert.deepEqual(none.model_spec, { name: "m" });
    });

    it("decodes protobufjs's PredictRequest", () => {
        const buf = encode(T("PredictRequest"), {
            model_spec: { name: "bert", version: { value: 3 }, signature_name: "serving_default" },
            inputs: {
                input_ids: {
                    dtype: DataType.DT_INT32,
                    tensor_shape: { dim: [{ size: 1 }, { size: 2 }] },
                    tensor_content: Buffer.from(new Int32Array([101, 102]).buffer),
                },
                mask: { dtype: DataType.DT_INT32, tensor_shape: { dim: [{ size: 2 }] }, int_val: [1, -1] },
            },
            output_filter: ["logits"],
        });
        const r = decodePredictRequest(buf);
        assert.deepEqual(r.model, { name: "bert", version: 3, signatureName: "serving_default" });
        assert.deepEqual(r.outputFilter, ["logits"]);
        assert.deepEqual(r.inputs.input_ids.shape, [1, 2]);
        assert.deepEqual(r.inputs.input_ids.content, Buffer.from(new Int32Array([101, 102]).buffer));
        assert.deepEqual(r.inputs.mask.content, Buffer.from(new Int32Array([1, -1]).buffer));
    });

    const response: PredictResponse = {
        model: { name: "bert", version: 1, signatureName: "serving_default" },
        outputs: {
            logits: tensorFromFloat32(new Float32Array([0.25, -0.75, Number.NaN, Number.NEGATIVE_INFINITY]), [2, 2]),
            label: tensorFromInt32(new Int32Array([1, -2]), [2]),
        },
    };

    it("our PredictResponse decodes in protobufjs, as tensor_content and as typed fields", () => {
        for (const encoding of ["tensor_content", "typed_fields"] as const) {
            const m = plain(T("PredictResponse"), encodePredictResponse(response, encoding));
            assert.deepEqual(m.model_spec, { name: "bert", version: { value: 1 }, signature_name: "serving_default" }, encoding);
            const outputs = m.outputs as Record<string, Obj>;
            assert.deepEqual(dims(outputs.logits), [2, 2]);
            assert.equal(outputs.logits.dtype, DataType.DT_FLOAT);
            if (encoding === "tensor_content") {
                assert.deepEqual(bytes(outputs.logits.tensor_content), response.outputs.logits.content);
                assert.deepEqual(bytes(outputs.label.tensor_content), response.outputs.label.content);
            } else {
                assert.deepEqual(outputs.logits.float_val, [0.25, -0.75, Number.NaN, Number.NEGATIVE_INFINITY]);
                assert.deepEqual(outputs.label.int_val, [1, -2]);
            }
        }
    });

    it("decodes protobufjs's PredictResponse whichever way the values travel", () => {
        const logits = [0.5, -1.25, 3, 1e-3];
        const buf = encode(T("PredictResponse"), {
            model_spec: { name: "bert", version: { value: 1 } },
            outputs: {
                packed: { dtype: DataType.DT_FLOAT, tensor_shape: { dim: [{ size: 2 }, { size: 2 }] }, float_val: logits },
                raw: {
                    dtype: DataType.DT_FLOAT,
                    tensor_shape: { dim: [{ size: 4 }] },
                    tensor_content: Buffer.from(new Float32Array(logits).buffer),
                },
                doubles: { dtype: DataType.DT_DOUBLE, tensor_shape: { dim: [{ size: 2 }] }, double_val: [Math.PI, -0.5] },
                ids: { dtype: DataType.DT_INT64, tensor_shape: { dim: [{ size: 3 }] }, int64_val: [1, -1, 2 ** 40] },
                filled: { dtype: DataType.DT_FLOAT, tensor_shape: { dim: [{ size: 3 }] }, float_val: [7] },
            },
        });
        const r = decodePredictResponse(buf);
        assert.deepEqual(r.model, { name: "bert", version: 1 });
        assert.deepEqual(Array.from(readFloat32(r.outputs.packed)), logits.map(Math.fround));
        assert.deepEqual(r.outputs.packed.shape, [2, 2]);
        assert.deepEqual(r.outputs.raw.content, Buffer.from(new Float32Array(logits).buffer));
        assert.deepEqual(r.outputs.doubles.content, Buffer.from(new Float64Array([Math.PI, -0.5]).buffer));
        assert.deepEqual(r.outputs.ids.content, Buffer.from(new BigInt64Array([1n, -1n, 2n ** 40n]).buffer));
        assert.deepEqual(Array.from(readFloat32(r.outputs.filled)), [7, 7, 7], "a single value fills the shape");
    });

    it("GetModelStatus request and response both ways", () => {
        assert.deepEqual(plain(T("GetModelStatusRequest"), encodeGetModelStatusRequest({ name: "bert", version: 2 })), {
            model_spec: { name: "bert", version: { value: 2 } },
        });
        assert.deepEqual(
            decodeGetModelStatusRequest(encode(T("GetModelStatusRequest"), { model_spec: { name: "bert", signature_name: "s" } })),
            { name: "bert", signatureName: "s" },
        );
        const statuses = [
            { version: 1, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" },
            { version: 2, state: ModelState.LOADING, errorCode: 5, errorMessage: "not yet" },
        ];
        assert.deepEqual(plain(T("GetModelStatusResponse"), encodeGetModelStatusResponse(statuses)), {
            model_version_status: [
                { version: 1, state: 30, status: {} },
                { version: 2, state: 20, status: { error_code: 5, error_message: "not yet" } },
            ],
        });
        const theirs = encode(T("GetModelStatusResponse"), {
            model_version_status: statuses.map((s) => ({
                version: s.version,
                state: s.state,
                status: { error_code: s.errorCode, error_message: s.errorMessage },
            })),
        });
        assert.deepEqual(decodeGetModelStatusResponse(theirs), statuses);
    });
    it("GetModelMetadata (issue 17 item 6): request, and a response whose Any holds a SignatureDefMap, both ways", () => {
        assert.deepEqual(plain(T("GetModelMetadataRequest"), encodeGetModelMetadataRequest({ name: "object_detection", version: 3 })), {
            model_spec: { name: "object_detection", version: { value: 3 } },
            metadata_field: ["signature_def"],
        });
        assert.deepEqual(
            decodeGetModelMetadataRequest(
                encode(T("GetModelMetadataRequest"), { model_spec: { name: "m" }, metadata_field: ["signature_def"] }),
            ),
            { model: { name: "m" }, fields: ["signature_def"] },
        );
        const metadata: ModelMetadata = {
            model: { name: "object_detection", version: 7 },
            signatures: {
                serving_default: {
                    inputs: { inputs: { name: "image_tensor:0", dtype: DataType.DT_UINT8, shape: [-1, -1, -1, 3] } },
                    outputs: {
                        num_detections: { name: "num_detections:0", dtype: DataType.DT_FLOAT, shape: [-1] },
                        anything: { name: "StatefulPartitionedCall:0", dtype: DataType.DT_STRING, shape: undefined },
                    },
                    methodName: "tensorflow/serving/predict",
                },
                __saved_model_init_op: { inputs: {}, outputs: {}, methodName: "" },
            },
        };
        // Ours, read by protobufjs: the Any's value is a SignatureDefMap.
        const ours = plain(T("GetModelMetadataResponse"), encodeGetModelMetadataResponse(metadata));
        assert.deepEqual(ours.model_spec, { name: "object_detection", version: { value: 7 } });
        const any = (ours.metadata as Record<string, { type_url: string; value: Uint8Array }>).signature_def;
        assert.equal(any.type_url, SIGNATURE_DEF_MAP_TYPE_URL);
        const map = plain(T("SignatureDefMap"), bytes(any.value)) as { signature_def: Record<string, Obj> };
        const sig = map.signature_def.serving_default as { inputs: Record<string, Obj>; outputs: Record<string, Obj>; method_name: string };
        assert.equal(sig.method_name, "tensorflow/serving/predict");
        assert.equal(sig.inputs.inputs.dtype, DataType.DT_UINT8);
        assert.deepEqual(dims(sig.inputs.inputs), [-1, -1, -1, 3], "-1 (unknown size) as a 10-byte int64");
        assert.equal((sig.outputs.anything.tensor_shape as Obj).unknown_rank, true);
        // protobufjs's, read by us.
        const signatureMap = encode(T("SignatureDefMap"), {
            signature_def: {
                serving_default: {
                    inputs: {
                        inputs: {
                            name: "image_tensor:0",
                            dtype: 4,
                            tensor_shape: { dim: [{ size: -1 }, { size: 300 }, { size: 300 }, { size: 3 }] },
                        },
                    },
                    outputs: {
                        detection_boxes: { name: "b:0", dtype: 1, tensor_shape: { dim: [{ size: -1 }, { size: 100 }, { size: 4 }] } },
                    },
                    method_name: "tensorflow/serving/predict",
                },
            },
        });
        const theirs = encode(T("GetModelMetadataResponse"), {
            model_spec: { name: "object_detection", version: { value: 2 } },
            metadata: { signature_def: { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: signatureMap } },
        });
        assert.deepEqual(decodeGetModelMetadataResponse(theirs), {
            model: { name: "object_detection", version: 2 },
            signatures: {
                serving_default: {
                    inputs: { inputs: { name: "image_tensor:0", dtype: DataType.DT_UINT8, shape: [-1, 300, 300, 3] } },
                    outputs: { detection_boxes: { name: "b:0", dtype: DataType.DT_FLOAT, shape: [-1, 100, 4] } },
                    methodName: "tensorflow/serving/predict",
                },
            },
        });
        const wrongType = encode(T("GetModelMetadataResponse"), {
            model_spec: { name: "m" },
            metadata: { signature_def: { type_url: "type.googleapis.com/tensorflow.MetaGraphDef", value: signatureMap } },
        });
        assert.throws(() => decodeGetModelMetadataResponse(wrongType), /not tensorflow.serving.SignatureDefMap/);
    });
});
