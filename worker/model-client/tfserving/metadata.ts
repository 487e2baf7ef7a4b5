// TF Serving model metadata (the serving signatures): GetModelMetadata over gRPC and
// GET /v1/models/<name>[/versions/<v>]/metadata over REST, written against the published field numbers:
//   tensorflow_serving/apis/get_model_metadata.proto  GetModelMetadataRequest {model_spec = 1, metadata_field = 2},
//                                                     GetModelMetadataResponse {model_spec = 1, metadata = 2 (map<string, Any>)},
//                                                     SignatureDefMap {signature_def = 1 (map<string, SignatureDef>)}
//   tensorflow/core/protobuf/meta_graph.proto         SignatureDef {inputs = 1, outputs = 2, method_name = 3},
//                                                     TensorInfo {name = 1, dtype = 2, tensor_shape = 3, coo_sparse = 4, composite_tensor = 5}
//   google/protobuf/any.proto                         Any {type_url = 1, value = 2}
// The REST form is TF Serving's JSON of the same response: {"model_spec": {...}, "metadata": {"signature_def":
// {"signature_def": {"<name>": {"inputs": {"<alias>": {"dtype": "DT_UINT8", "tensor_shape": {"dim": [{"size": "-1"}],
// "unknown_rank": false}, "name": "image_tensor:0"}}, "outputs": {...}, "method_name": "..."}}}}}.
import { Fields as F, decodeModelSpec, decodeShapeOrUnknownRank, encodeModelSpec, encodeShape } from "./codec";
import { DataType, ModelServerError, type ModelSpec } from "./types";
import { ChunkWriter, WireFormatError, WireReader, WireType } from "../grpc/wire";

/** One input or output of a signature. */
export interface TensorInfo {
    /** The tensor's name in the graph (empty for sparse or composite tensors). */
    name: string;
    dtype: DataType;
    /** Dimensions, -1 where unknown; undefined when even the rank is unknown. */
    shape?: number[];
}

export interface SignatureDef {
    inputs: Record<string, TensorInfo>;
    outputs: Record<string, TensorInfo>;
    methodName: string;
}

export interface ModelMetadata {
    /** The model and version the server answered for. */
    model: ModelSpec;
    signatures: Record<string, SignatureDef>;
    /**
     * Free text saying which model answers (a google.protobuf.StringValue entry; the REST answer carries a
     * string). TF Serving sends none; the local test servers say what they are. Clients do not read it.
     */
    description?: string;
}

export const MetadataFields = {
    GetModelMetadataRequest: { modelSpec: 1, metadataField: 2 },
    GetModelMetadataResponse: { modelSpec: 1, metadata: 2 },
    Any: { typeUrl: 1, value: 2 },
    SignatureDefMap: { signatureDef: 1 },
    SignatureDef: { inputs: 1, outputs: 2, methodName: 3 },
    TensorInfo: { name: 1, dtype: 2, tensorShape: 3 },
} as const;
const M = MetadataFields;

/** The only metadata field TF Serving serves. */
export const SIGNATURE_DEF_FIELD = "signature_def";
export const SIGNATURE_DEF_MAP_TYPE_URL = "type.googleapis.com/tensorflow.serving.SignatureDefMap";
/** The test servers' extra metadata entry (see ModelMetadata.description). */
export const DESCRIPTION_FIELD = "description";
export const STRING_VALUE_TYPE_URL = "type.googleapis.com/google.protobuf.StringValue";

// ---------------------------------------------------------------- gRPC encoding

export function encodeGetModelMetadataRequest(spec: ModelSpec, fields: readonly string[] = [SIGNATURE_DEF_FIELD]): Buffer {
    const w = new ChunkWriter().messageField(M.GetModelMetadataRequest.modelSpec, encodeModelSpec(spec));
    for (const field of fields) w.stringField(M.GetModelMetadataRequest.metadataField, field);
    return w.finish();
}

export function decodeGetModelMetadataRequest(buf: Buffer): { model: ModelSpec; fields: string[] } {
    const r = new WireReader(buf);
    const out: { model: ModelSpec; fields: string[] } = { model: { name: "" }, fields: [] };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.GetModelMetadataRequest.modelSpec && wireType === WireType.LengthDelimited)
            out.model = decodeModelSpec(r.message());
        else if (field === M.GetModelMetadataRequest.metadataField && wireType === WireType.LengthDelimited) out.fields.push(r.string());
        else r.skip(wireType);
    }
    return out;
}

function encodeTensorInfo(info: TensorInfo): ChunkWriter {
    const w = new ChunkWriter();
    if (info.name) w.stringField(M.TensorInfo.name, info.name);
    if (info.dtype !== DataType.DT_INVALID) w.tag(M.TensorInfo.dtype, WireType.Varint).varint(info.dtype);
    w.messageField(M.TensorInfo.tensorShape, encodeShape(info.shape));
    return w;
}

function encodeInfoMap(w: ChunkWriter, field: number, map: Record<string, TensorInfo>): void {
    for (const [key, info] of Object.entries(map)) {
        w.messageField(field, new ChunkWriter().stringField(F.MapEntry.key, key).messageField(F.MapEntry.value, encodeTensorInfo(info)));
    }
}

function encodeSignatureDefMap(signatures: Record<string, SignatureDef>): ChunkWriter {
    const w = new ChunkWriter();
    for (const [key, sig] of Object.entries(signatures)) {
        const def = new ChunkWriter();
        encodeInfoMap(def, M.SignatureDef.inputs, sig.inputs);
        encodeInfoMap(def, M.SignatureDef.outputs, sig.outputs);
        if (sig.methodName) def.stringField(M.SignatureDef.methodName, sig.methodName);
        w.messageField(
            M.SignatureDefMap.signatureDef,
            new ChunkWriter().stringField(F.MapEntry.key, key).messageField(F.MapEntry.value, def),
        );
    }
    return w;
}

function metadataEntry(key: string, typeUrl: string, value: ChunkWriter): ChunkWriter {
    const any = new ChunkWriter().stringField(M.Any.typeUrl, typeUrl).bytesField(M.Any.value, value.finish());
    return new ChunkWriter().stringField(F.MapEntry.key, key).messageField(F.MapEntry.value, any);
}

export function encodeGetModelMetadataResponse(metadata: ModelMetadata): Buffer {
    const w = new ChunkWriter()
        .messageField(M.GetModelMetadataResponse.modelSpec, encodeModelSpec(metadata.model))
        .messageField(
            M.GetModelMetadataResponse.metadata,
            metadataEntry(SIGNATURE_DEF_FIELD, SIGNATURE_DEF_MAP_TYPE_URL, encodeSignatureDefMap(metadata.signatures)),
        );
    if (metadata.description !== undefined) {
        // google.protobuf.StringValue { string value = 1; }
        const text = new ChunkWriter().stringField(1, metadata.description);
        w.messageField(M.GetModelMetadataResponse.metadata, metadataEntry(DESCRIPTION_FIELD, STRING_VALUE_TYPE_URL, text));
    }
    return w.finish();
}

// ---------------------------------------------------------------- gRPC decoding

function decodeTensorInfo(r: WireReader): TensorInfo {
    const info: TensorInfo = { name: "", dtype: DataType.DT_INVALID, shape: undefined };
    let sawShape = false;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.TensorInfo.name && wireType === WireType.LengthDelimited) info.name = r.string();
        else if (field === M.TensorInfo.dtype && wireType === WireType.Varint) info.dtype = r.int32();
        else if (field === M.TensorInfo.tensorShape && wireType === WireType.LengthDelimited) {
            info.shape = decodeShapeOrUnknownRank(r.message());
            sawShape = true;
        } else r.skip(wireType);
    }
    // An absent TensorShapeProto is an empty one: a scalar (rank 0).
    if (!sawShape) info.shape = [];
    return info;
}

function decodeMapEntry<T>(r: WireReader, value: (r: WireReader) => T, empty: () => T): [string, T] {
    let key = "";
    let v: T | undefined;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.MapEntry.key && wireType === WireType.LengthDelimited) key = r.string();
        else if (field === F.MapEntry.value && wireType === WireType.LengthDelimited) v = value(r.message());
        else r.skip(wireType);
    }
    return [key, v ?? empty()];
}

const emptyInfo = (): TensorInfo => ({ name: "", dtype: DataType.DT_INVALID, shape: [] });

function decodeSignatureDef(r: WireReader): SignatureDef {
    const sig: SignatureDef = { inputs: {}, outputs: {}, methodName: "" };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.SignatureDef.inputs && wireType === WireType.LengthDelimited) {
            const [k, v] = decodeMapEntry(r.message(), decodeTensorInfo, emptyInfo);
            sig.inputs[k] = v;
        } else if (field === M.SignatureDef.outputs && wireType === WireType.LengthDelimited) {
            const [k, v] = decodeMapEntry(r.message(), decodeTensorInfo, emptyInfo);
            sig.outputs[k] = v;
        } else if (field === M.SignatureDef.methodName && wireType === WireType.LengthDelimited) sig.methodName = r.string();
        else r.skip(wireType);
    }
    return sig;
}

function decodeSignatureDefMap(r: WireReader): Record<string, SignatureDef> {
    const out: Record<string, SignatureDef> = {};
    const empty = (): SignatureDef => ({ inputs: {}, outputs: {}, methodName: "" });
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.SignatureDefMap.signatureDef && wireType === WireType.LengthDelimited) {
            const [k, v] = decodeMapEntry(r.message(), decodeSignatureDef, empty);
            out[k] = v;
        } else r.skip(wireType);
    }
    return out;
}

function decodeAny(r: WireReader): { typeUrl: string; value: Buffer } {
    const any: { typeUrl: string; value: Buffer } = { typeUrl: "", value: Buffer.alloc(0) };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.Any.typeUrl && wireType === WireType.LengthDelimited) any.typeUrl = r.string();
        else if (field === M.Any.value && wireType === WireType.LengthDelimited) any.value = r.bytes();
        else r.skip(wireType);
    }
    return any;
}

export function decodeGetModelMetadataResponse(buf: Buffer): ModelMetadata {
    const r = new WireReader(buf);
    const out: ModelMetadata = { model: { name: "" }, signatures: {} };
    let found = false;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === M.GetModelMetadataResponse.modelSpec && wireType === WireType.LengthDelimited)
            out.model = decodeModelSpec(r.message());
        else if (field === M.GetModelMetadataResponse.metadata && wireType === WireType.LengthDelimited) {
            const [key, any] = decodeMapEntry(r.message(), decodeAny, () => ({ typeUrl: "", value: Buffer.alloc(0) }));
            if (key !== SIGNATURE_DEF_FIELD) continue;
            if (!any.typeUrl.endsWith("/tensorflow.serving.SignatureDefMap"))
                throw new WireFormatError(
                    `metadata "${SIGNATURE_DEF_FIELD}" holds ${any.typeUrl || "an untyped Any"}, not tensorflow.serving.SignatureDefMap`,
                );
            out.signatures = decodeSignatureDefMap(new WireReader(any.value));
            found = true;
        } else r.skip(wireType);
    }
    if (!found) throw new WireFormatError(`the response has no "${SIGNATURE_DEF_FIELD}" metadata`);
    return out;
}

// ---------------------------------------------------------------- REST (JSON)

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** int64 fields arrive as strings in TF Serving's JSON ("-1"); accept numbers too. */
function int64(v: unknown, what: string): number {
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new Error(`${what} is ${JSON.stringify(v)}, not an integer`);
    return n;
}

/** tensorflow/core/framework/types.proto DataType values by name (REST writes names, gRPC numbers). */
const TF_DTYPES: readonly string[] = [
    "DT_INVALID",
    "DT_FLOAT",
    "DT_DOUBLE",
    "DT_INT32",
    "DT_UINT8",
    "DT_INT16",
    "DT_INT8",
    "DT_STRING",
    "DT_COMPLEX64",
    "DT_INT64",
    "DT_BOOL",
    "DT_QINT8",
    "DT_QUINT8",
    "DT_QINT32",
    "DT_BFLOAT16",
    "DT_QINT16",
    "DT_QUINT16",
    "DT_UINT16",
    "DT_COMPLEX128",
    "DT_HALF",
    "DT_RESOURCE",
    "DT_VARIANT",
    "DT_UINT32",
    "DT_UINT64",
];

/** The TF name of any DataType number, for messages (DT_<n> beyond the table). */
export function tfDtypeName(dtype: number): string {
    return TF_DTYPES[dtype] ?? `DT_${dtype}`;
}

function jsonDtype(v: unknown, what: string): DataType {
    if (typeof v === "number" && Number.isInteger(v)) return v as DataType;
    const index = typeof v === "string" ? TF_DTYPES.indexOf(v) : -1;
    if (index < 0) throw new Error(`${what} has dtype ${JSON.stringify(v)}, not a TensorFlow DataType name`);
    return index as DataType;
}

function jsonTensorInfo(v: unknown, what: string): TensorInfo {
    if (!isObject(v)) throw new Error(`${what} is not an object`);
    const shapeJson = v.tensor_shape;
    let shape: number[] | undefined = [];
    if (isObject(shapeJson)) {
        if (shapeJson.unknown_rank === true) shape = undefined;
        else {
            const dims = shapeJson.dim ?? [];
            if (!Array.isArray(dims)) throw new Error(`${what}.tensor_shape.dim is not a list`);
            shape = dims.map((d: unknown, i) => (isObject(d) ? int64(d.size ?? 0, `${what} dimension ${i}`) : 0));
        }
    }
    return {
        name: typeof v.name === "string" ? v.name : "",
        dtype: v.dtype === undefined ? DataType.DT_INVALID : jsonDtype(v.dtype, what),
        shape,
    };
}

function jsonInfoMap(v: unknown, what: string): Record<string, TensorInfo> {
    if (v === undefined) return {};
    if (!isObject(v)) throw new Error(`${what} is not an object`);
    return Object.fromEntries(Object.entries(v).map(([k, info]) => [k, jsonTensorInfo(info, `${what}."${k}"`)]));
}

/** TF Serving's REST metadata answer -> ModelMetadata (throws a plain Error naming what does not fit). */
export function parseRestModelMetadata(json: unknown): ModelMetadata {
    if (!isObject(json)) throw new Error("the answer is not a JSON object");
    const spec = isObject(json.model_spec) ? json.model_spec : {};
    const model: ModelSpec = { name: typeof spec.name === "string" ? spec.name : "" };
    if (spec.version !== undefined && spec.version !== null && spec.version !== "")
        model.version = int64(spec.version, "model_spec.version");
    if (typeof spec.signature_name === "string" && spec.signature_name !== "") model.signatureName = spec.signature_name;
    const wrapper = isObject(json.metadata) ? json.metadata[SIGNATURE_DEF_FIELD] : undefined;
    const map = isObject(wrapper) ? wrapper.signature_def : undefined;
    if (!isObject(map)) throw new Error(`no "metadata"."${SIGNATURE_DEF_FIELD}"."signature_def" object`);
    const signatures: Record<string, SignatureDef> = {};
    for (const [name, sig] of Object.entries(map)) {
        if (!isObject(sig)) throw new Error(`signature "${name}" is not an object`);
        signatures[name] = {
            inputs: jsonInfoMap(sig.inputs, `signature "${name}" inputs`),
            outputs: jsonInfoMap(sig.outputs, `signature "${name}" outputs`),
            methodName: typeof sig.method_name === "string" ? sig.method_name : "",
        };
    }
    return { model, signatures };
}

/** ModelMetadata as TF Serving's REST API writes it (the emulator serves this). */
export function restModelMetadataJson(metadata: ModelMetadata): string {
    const info = (i: TensorInfo): Json => ({
        dtype: tfDtypeName(i.dtype),
        tensor_shape:
            i.shape === undefined
                ? { dim: [], unknown_rank: true }
                : { dim: i.shape.map((s) => ({ size: String(s), name: "" })), unknown_rank: false },
        name: i.name,
    });
    const infoMap = (m: Record<string, TensorInfo>): Json => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, info(v)]));
    return JSON.stringify({
        model_spec: {
            name: metadata.model.name,
            signature_name: metadata.model.signatureName ?? "",
            version: String(metadata.model.version ?? ""),
        },
        metadata: {
            [SIGNATURE_DEF_FIELD]: {
                signature_def: Object.fromEntries(
                    Object.entries(metadata.signatures).map(([k, s]) => [
                        k,
                        { inputs: infoMap(s.inputs), outputs: infoMap(s.outputs), method_name: s.methodName },
                    ]),
                ),
            },
            ...(metadata.description === undefined ? {} : { [DESCRIPTION_FIELD]: metadata.description }),
        },
    });
}

/** A metadata answer that cannot be read. */
export function metadataDecodeError(serverUrl: string, spec: ModelSpec, cause: unknown): ModelServerError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ModelServerError(
        `model server ${serverUrl} sent model metadata for "${spec.name}" that cannot be read: ${reason}`,
        "DECODE_ERROR",
        false,
    );
}
