// TF Serving's model metadata (PredictionService/GetModelMetadata over gRPC, GET /v1/models/<name>/metadata
// over REST): the serving signature, plus a "description" entry (a google.protobuf.StringValue; the REST
// answer carries it as a string) that says which model answers. Real TF Serving sends only
// "signature_def"; clients skip map entries they do not know. Field numbers from tensorflow/serving
// apis/get_model_metadata.proto and tensorflow/core/protobuf/meta_graph.proto (SignatureDef, TensorInfo).
import { ChunkWriter, WireReader, WireType } from "../../worker/model-client/grpc/wire";
import { decodeModelSpec, encodeModelSpec } from "../../worker/model-client/tfserving/codec";
import { DataType, type ModelSpec } from "../../worker/model-client/tfserving/types";

export { GET_MODEL_METADATA_METHOD } from "../../worker/model-client/tfserving/methods";

export const MetadataFields = {
    GetModelMetadataRequest: { modelSpec: 1, metadataField: 2 },
    GetModelMetadataResponse: { modelSpec: 1, metadata: 2 },
    Any: { typeUrl: 1, value: 2 },
    SignatureDefMap: { signatureDef: 1 },
    SignatureDef: { inputs: 1, outputs: 2, methodName: 3 },
    TensorInfo: { name: 1, dtype: 2, tensorShape: 3 },
    TensorShapeProto: { dim: 2 },
    Dim: { size: 1 },
    StringValue: { value: 1 },
    MapEntry: { key: 1, value: 2 },
} as const;
const F = MetadataFields;

export const SIGNATURE_DEF_MAP_TYPE = "type.googleapis.com/tensorflow.serving.SignatureDefMap";
export const STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue";
export const PREDICT_METHOD_NAME = "tensorflow/serving/predict";

export interface TensorInfo {
    name: string;
    dtype: DataType;
    /** -1 for a dimension of any size. */
    shape: number[];
}

export interface ModelMetadata {
    spec: ModelSpec;
    signatureName: string;
    inputs: Record<string, TensorInfo>;
    outputs: Record<string, TensorInfo>;
    description?: string;
}

export const METADATA_FIELDS = ["signature_def", "description"] as const;

export function decodeGetModelMetadataRequest(buf: Buffer): { spec: ModelSpec; fields: string[] } {
    const r = new WireReader(buf);
    let spec: ModelSpec = { name: "" };
    const fields: string[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.GetModelMetadataRequest.modelSpec && wireType === WireType.LengthDelimited) spec = decodeModelSpec(r.message());
        else if (field === F.GetModelMetadataRequest.metadataField && wireType === WireType.LengthDelimited) fields.push(r.string());
        else r.skip(wireType);
    }
    return { spec, fields };
}

function mapEntry(key: string, value: ChunkWriter): ChunkWriter {
    return new ChunkWriter().stringField(F.MapEntry.key, key).messageField(F.MapEntry.value, value);
}

function tensorInfo(info: TensorInfo): ChunkWriter {
    const shape = new ChunkWriter();
    for (const size of info.shape)
        shape.messageField(F.TensorShapeProto.dim, new ChunkWriter().tag(F.Dim.size, WireType.Varint).varint(size));
    return new ChunkWriter()
        .stringField(F.TensorInfo.name, info.name)
        .tag(F.TensorInfo.dtype, WireType.Varint)
        .varint(info.dtype)
        .messageField(F.TensorInfo.tensorShape, shape);
}

function any(typeUrl: string, value: ChunkWriter): ChunkWriter {
    return new ChunkWriter().stringField(F.Any.typeUrl, typeUrl).bytesField(F.Any.value, value.finish());
}

export function encodeGetModelMetadataResponse(metadata: ModelMetadata): Buffer {
    const signature = new ChunkWriter();
    for (const [key, info] of Object.entries(metadata.inputs))
        signature.messageField(F.SignatureDef.inputs, mapEntry(key, tensorInfo(info)));
    for (const [key, info] of Object.entries(metadata.outputs))
        signature.messageField(F.SignatureDef.outputs, mapEntry(key, tensorInfo(info)));
    signature.stringField(F.SignatureDef.methodName, PREDICT_METHOD_NAME);
    const defs = new ChunkWriter().messageField(F.SignatureDefMap.signatureDef, mapEntry(metadata.signatureName, signature));
    const w = new ChunkWriter().messageField(F.GetModelMetadataResponse.modelSpec, encodeModelSpec(metadata.spec));
    w.messageField(F.GetModelMetadataResponse.metadata, mapEntry("signature_def", any(SIGNATURE_DEF_MAP_TYPE, defs)));
    if (metadata.description !== undefined) {
        const text = new ChunkWriter().stringField(F.StringValue.value, metadata.description);
        w.messageField(F.GetModelMetadataResponse.metadata, mapEntry("description", any(STRING_VALUE_TYPE, text)));
    }
    return w.finish();
}

/** The REST answer, in TF Serving's JSON mapping (int64 sizes as strings). */
export function restMetadataJson(metadata: ModelMetadata): string {
    const info = (t: TensorInfo): object => ({
        dtype: DataType[t.dtype],
        tensor_shape: { dim: t.shape.map((size) => ({ size: String(size), name: "" })), unknown_rank: false },
        name: t.name,
    });
    const map = (m: Record<string, TensorInfo>): object => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, info(t)]));
    return JSON.stringify({
        model_spec: { name: metadata.spec.name, signature_name: "", version: String(metadata.spec.version ?? "") },
        metadata: {
            signature_def: {
                signature_def: {
                    [metadata.signatureName]: {
                        inputs: map(metadata.inputs),
                        outputs: map(metadata.outputs),
                        method_name: PREDICT_METHOD_NAME,
                    },
                },
            },
            ...(metadata.description === undefined ? {} : { description: metadata.description }),
        },
    });
}
