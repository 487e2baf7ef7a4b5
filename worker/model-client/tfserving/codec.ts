// Encoders and decoders for the few TF Serving messages this project uses, written against the field
// numbers of the public .proto files (checked in tensorflow/serving and generated descriptors):
//   tensorflow/core/framework/tensor.proto        TensorProto
//   tensorflow/core/framework/tensor_shape.proto  TensorShapeProto, TensorShapeProto.Dim
//   tensorflow_serving/apis/model.proto           ModelSpec (version is google.protobuf.Int64Value)
//   tensorflow_serving/apis/predict.proto         PredictRequest, PredictResponse
//   tensorflow_serving/apis/get_model_status.proto GetModelStatusRequest/Response, ModelVersionStatus
//   tensorflow_serving/util/status.proto          StatusProto
// Used by the gRPC client and by the emulator's gRPC server; the *Segments encoders feed vectored writes.
import { bytesPerElement, contentFromValues, dtypeName, elementCount, tensorValues } from "./tensors";
import {
    DataType,
    ModelState,
    type ModelSpec,
    type ModelVersionStatus,
    type PredictRequest,
    type PredictResponse,
    type Tensor,
} from "./types";
import { ChunkWriter, WireFormatError, WireReader, WireType } from "../grpc/wire";

/** Field numbers, one table per message, so tests can check them against hand-assembled bytes. */
export const Fields = {
    TensorProto: {
        dtype: 1,
        tensorShape: 2,
        versionNumber: 3,
        tensorContent: 4,
        floatVal: 5,
        doubleVal: 6,
        intVal: 7,
        stringVal: 8,
        int64Val: 10,
        boolVal: 11,
        halfVal: 13,
    },
    TensorShapeProto: { dim: 2, unknownRank: 3 },
    TensorShapeDim: { size: 1, name: 2 },
    ModelSpec: { name: 1, version: 2, signatureName: 3, versionLabel: 4 },
    Int64Value: { value: 1 },
    PredictRequest: { modelSpec: 1, inputs: 2, outputFilter: 3 },
    PredictResponse: { outputs: 1, modelSpec: 2 },
    MapEntry: { key: 1, value: 2 },
    GetModelStatusRequest: { modelSpec: 1 },
    GetModelStatusResponse: { modelVersionStatus: 1 },
    ModelVersionStatus: { version: 1, state: 2, status: 3 },
    StatusProto: { errorCode: 1, errorMessage: 2 },
} as const;

const F = Fields;

/** How numeric tensors are written: raw bytes (what clients send) or typed repeated fields. */
export type NumericEncoding = "tensor_content" | "typed_fields";

// ---------------------------------------------------------------- encoding

export function encodeModelSpec(spec: ModelSpec): ChunkWriter {
    const w = new ChunkWriter();
    w.stringField(F.ModelSpec.name, spec.name);
    if (spec.version !== undefined) {
        const version = new ChunkWriter();
        if (spec.version !== 0) version.tag(F.Int64Value.value, WireType.Varint).varint(spec.version);
        w.messageField(F.ModelSpec.version, version);
    }
    if (spec.signatureName) w.stringField(F.ModelSpec.signatureName, spec.signatureName);
    return w;
}

/** A TensorShapeProto; undefined = unknown rank (TensorInfo in model metadata can say so, a tensor cannot). */
export function encodeShape(shape: readonly number[] | undefined): ChunkWriter {
    const w = new ChunkWriter();
    if (shape === undefined) return w.tag(F.TensorShapeProto.unknownRank, WireType.Varint).varint(1);
    for (const size of shape) {
        const dim = new ChunkWriter();
        if (size !== 0) dim.tag(F.TensorShapeDim.size, WireType.Varint).varint(size);
        w.messageField(F.TensorShapeProto.dim, dim);
    }
    return w;
}

export function encodeTensor(tensor: Tensor, encoding: NumericEncoding = "tensor_content"): ChunkWriter {
    const w = new ChunkWriter();
    if (tensor.dtype !== DataType.DT_INVALID) w.tag(F.TensorProto.dtype, WireType.Varint).varint(tensor.dtype);
    w.messageField(F.TensorProto.tensorShape, encodeShape(tensor.shape));
    if (tensor.strings !== undefined) {
        for (const s of tensor.strings) w.bytesField(F.TensorProto.stringVal, s);
    } else if (tensor.content !== undefined && tensor.content.length > 0) {
        if (encoding === "tensor_content") w.bytesField(F.TensorProto.tensorContent, tensor.content);
        else writeTypedValues(w, tensor);
    }
    return w;
}

/** Packed repeated fields in the dtype's own field, as TF Serving's tensor_util does for outputs. */
function writeTypedValues(w: ChunkWriter, tensor: Tensor): void {
    const values = tensorValues(tensor);
    const packed = new ChunkWriter();
    switch (tensor.dtype) {
        case DataType.DT_FLOAT: {
            const bytes = contentFromValues(DataType.DT_FLOAT, values);
            w.bytesField(F.TensorProto.floatVal, bytes);
            return;
        }
        case DataType.DT_DOUBLE:
            w.bytesField(F.TensorProto.doubleVal, contentFromValues(DataType.DT_DOUBLE, values));
            return;
        case DataType.DT_INT32:
        case DataType.DT_UINT8:
        case DataType.DT_INT8:
        case DataType.DT_INT16:
            for (let i = 0; i < values.length; i++) packed.varint(values[i]);
            w.messageField(F.TensorProto.intVal, packed);
            return;
        case DataType.DT_INT64:
            for (let i = 0; i < values.length; i++) packed.varint(values[i]);
            w.messageField(F.TensorProto.int64Val, packed);
            return;
        case DataType.DT_BOOL:
            for (let i = 0; i < values.length; i++) packed.varint(values[i] ? 1 : 0);
            w.messageField(F.TensorProto.boolVal, packed);
            return;
        case DataType.DT_HALF:
            for (let i = 0; i < values.length; i++) packed.varint(values[i]);
            w.messageField(F.TensorProto.halfVal, packed);
            return;
        default:
            throw new RangeError(`cannot encode ${dtypeName(tensor.dtype)} as typed fields`);
    }
}

function encodeTensorMap(w: ChunkWriter, field: number, tensors: Record<string, Tensor>, encoding: NumericEncoding): void {
    for (const [name, tensor] of Object.entries(tensors)) {
        const entry = new ChunkWriter();
        entry.stringField(F.MapEntry.key, name);
        entry.messageField(F.MapEntry.value, encodeTensor(tensor, encoding));
        w.messageField(field, entry);
    }
}

function predictRequestWriter(request: PredictRequest): ChunkWriter {
    const w = new ChunkWriter();
    w.messageField(F.PredictRequest.modelSpec, encodeModelSpec(request.model));
    encodeTensorMap(w, F.PredictRequest.inputs, request.inputs, "tensor_content");
    for (const name of request.outputFilter ?? []) w.stringField(F.PredictRequest.outputFilter, name);
    return w;
}

/** One allocation and one copy of each tensor's content into the final message. */
export function encodePredictRequest(request: PredictRequest): Buffer {
    return predictRequestWriter(request).finish();
}

/** The same bytes as encodePredictRequest, as a gather list that references big tensor contents instead of copying them. */
export function encodePredictRequestSegments(request: PredictRequest): Buffer[] {
    return predictRequestWriter(request).segments();
}

function predictResponseWriter(response: PredictResponse, encoding: NumericEncoding): ChunkWriter {
    const w = new ChunkWriter();
    encodeTensorMap(w, F.PredictResponse.outputs, response.outputs, encoding);
    if (response.model) w.messageField(F.PredictResponse.modelSpec, encodeModelSpec(response.model));
    return w;
}

export function encodePredictResponse(response: PredictResponse, encoding: NumericEncoding = "tensor_content"): Buffer {
    return predictResponseWriter(response, encoding).finish();
}

/** encodePredictResponse as a gather list (see encodePredictRequestSegments). */
export function encodePredictResponseSegments(response: PredictResponse, encoding: NumericEncoding = "tensor_content"): Buffer[] {
    return predictResponseWriter(response, encoding).segments();
}

export function encodeGetModelStatusRequest(spec: ModelSpec): Buffer {
    return new ChunkWriter().messageField(F.GetModelStatusRequest.modelSpec, encodeModelSpec(spec)).finish();
}

export function encodeGetModelStatusResponse(statuses: ModelVersionStatus[]): Buffer {
    const w = new ChunkWriter();
    for (const s of statuses) {
        const entry = new ChunkWriter();
        if (s.version !== 0) entry.tag(F.ModelVersionStatus.version, WireType.Varint).varint(s.version);
        if (s.state !== 0) entry.tag(F.ModelVersionStatus.state, WireType.Varint).varint(s.state);
        const status = new ChunkWriter();
        if (s.errorCode !== 0) status.tag(F.StatusProto.errorCode, WireType.Varint).varint(s.errorCode);
        if (s.errorMessage) status.stringField(F.StatusProto.errorMessage, s.errorMessage);
        entry.messageField(F.ModelVersionStatus.status, status);
        w.messageField(F.GetModelStatusResponse.modelVersionStatus, entry);
    }
    return w.finish();
}

// ---------------------------------------------------------------- decoding

export function decodeModelSpec(r: WireReader): ModelSpec {
    const spec: ModelSpec = { name: "" };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.ModelSpec.name && wireType === WireType.LengthDelimited) spec.name = r.string();
        else if (field === F.ModelSpec.version && wireType === WireType.LengthDelimited) spec.version = decodeInt64Value(r.message());
        else if (field === F.ModelSpec.signatureName && wireType === WireType.LengthDelimited) spec.signatureName = r.string();
        else r.skip(wireType);
    }
    return spec;
}

function decodeInt64Value(r: WireReader): number {
    let value = 0;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.Int64Value.value && wireType === WireType.Varint) value = r.varint();
        else r.skip(wireType);
    }
    return value;
}

/** A TensorShapeProto's dimensions (unset sizes are 0), or undefined when it says the rank is unknown. */
export function decodeShapeOrUnknownRank(r: WireReader): number[] | undefined {
    const shape: number[] = [];
    let unknownRank = false;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.TensorShapeProto.dim && wireType === WireType.LengthDelimited) {
            const dim = r.message();
            let size = 0;
            while (!dim.done) {
                const h = dim.header();
                if (h.field === F.TensorShapeDim.size && h.wireType === WireType.Varint) size = dim.varint();
                else dim.skip(h.wireType);
            }
            shape.push(size);
        } else if (field === F.TensorShapeProto.unknownRank && wireType === WireType.Varint) unknownRank = r.varint() !== 0;
        else r.skip(wireType);
    }
    return unknownRank ? undefined : shape;
}

/** A tensor's shape: every tensor has a known rank. */
function decodeShape(r: WireReader): number[] {
    const shape = decodeShapeOrUnknownRank(r);
    if (shape === undefined) throw new WireFormatError("tensor has unknown rank");
    return shape;
}

type ValueKind = "float" | "double" | "varint";

/** Reads a repeated numeric field in either packed (length-delimited) or unpacked form. */
function readRepeated(r: WireReader, wireType: WireType, kind: ValueKind, into: number[]): void {
    const readOne = (reader: WireReader): number =>
        kind === "float" ? reader.fixed32Float() : kind === "double" ? reader.fixed64Double() : reader.varint();
    const unpackedType = kind === "float" ? WireType.Fixed32 : kind === "double" ? WireType.Fixed64 : WireType.Varint;
    if (wireType === WireType.LengthDelimited) {
        const packed = r.message();
        while (!packed.done) into.push(readOne(packed));
    } else if (wireType === unpackedType) {
        into.push(readOne(r));
    } else {
        throw new WireFormatError(`repeated ${kind} field has wire type ${wireType}`);
    }
}

export function decodeTensor(r: WireReader): Tensor {
    let dtype = DataType.DT_INVALID;
    let shape: number[] = [];
    let content: Buffer | undefined;
    const strings: Buffer[] = [];
    const typed: number[] = [];
    let typedField = 0;
    while (!r.done) {
        const { field, wireType } = r.header();
        switch (field) {
            case F.TensorProto.dtype:
                dtype = r.int32();
                break;
            case F.TensorProto.tensorShape:
                shape = decodeShape(r.message());
                break;
            case F.TensorProto.tensorContent:
                content = r.bytes();
                break;
            case F.TensorProto.stringVal:
                strings.push(r.bytes());
                break;
            case F.TensorProto.floatVal:
                typedField = field;
                readRepeated(r, wireType, "float", typed);
                break;
            case F.TensorProto.doubleVal:
                typedField = field;
                readRepeated(r, wireType, "double", typed);
                break;
            case F.TensorProto.intVal:
            case F.TensorProto.int64Val:
            case F.TensorProto.boolVal:
            case F.TensorProto.halfVal:
                typedField = field;
                readRepeated(r, wireType, "varint", typed);
                break;
            default:
                r.skip(wireType);
        }
    }
    if (dtype === DataType.DT_STRING) return { dtype, shape, strings };
    if (bytesPerElement(dtype) === undefined) throw new WireFormatError(`unsupported tensor dtype ${dtypeName(dtype)}`);
    if (content !== undefined) return { dtype, shape, content };
    const count = elementCount(shape);
    if (typedField === 0 || typed.length === 0) {
        if (count !== 0) throw new WireFormatError(`${dtypeName(dtype)} tensor of shape [${shape.join(",")}] carries no values`);
        return { dtype, shape, content: Buffer.alloc(0) };
    }
    // TensorProto allows a single typed value to stand for "fill the whole shape with it".
    const values = typed.length === 1 && count > 1 ? new Array<number>(count).fill(typed[0]) : typed;
    if (values.length !== count) {
        throw new WireFormatError(
            `${dtypeName(dtype)} tensor of shape [${shape.join(",")}] has ${values.length} values, expected ${count}`,
        );
    }
    return { dtype, shape, content: contentFromValues(dtype, values) };
}

function decodeTensorMapEntry(r: WireReader): [string, Tensor] {
    let key = "";
    let value: Tensor | undefined;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.MapEntry.key && wireType === WireType.LengthDelimited) key = r.string();
        else if (field === F.MapEntry.value && wireType === WireType.LengthDelimited) value = decodeTensor(r.message());
        else r.skip(wireType);
    }
    return [key, value ?? { dtype: DataType.DT_INVALID, shape: [], content: Buffer.alloc(0) }];
}

export function decodePredictRequest(buf: Buffer): PredictRequest {
    const r = new WireReader(buf);
    const request: PredictRequest = { model: { name: "" }, inputs: {} };
    const filter: string[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.PredictRequest.modelSpec && wireType === WireType.LengthDelimited) request.model = decodeModelSpec(r.message());
        else if (field === F.PredictRequest.inputs && wireType === WireType.LengthDelimited) {
            const [name, tensor] = decodeTensorMapEntry(r.message());
            request.inputs[name] = tensor;
        } else if (field === F.PredictRequest.outputFilter && wireType === WireType.LengthDelimited) filter.push(r.string());
        else r.skip(wireType);
    }
    if (filter.length > 0) request.outputFilter = filter;
    return request;
}

export function decodePredictResponse(buf: Buffer): PredictResponse {
    const r = new WireReader(buf);
    const response: PredictResponse = { outputs: {} };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.PredictResponse.outputs && wireType === WireType.LengthDelimited) {
            const [name, tensor] = decodeTensorMapEntry(r.message());
            response.outputs[name] = tensor;
        } else if (field === F.PredictResponse.modelSpec && wireType === WireType.LengthDelimited)
            response.model = decodeModelSpec(r.message());
        else r.skip(wireType);
    }
    return response;
}

export function decodeGetModelStatusRequest(buf: Buffer): ModelSpec {
    const r = new WireReader(buf);
    let spec: ModelSpec = { name: "" };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.GetModelStatusRequest.modelSpec && wireType === WireType.LengthDelimited) spec = decodeModelSpec(r.message());
        else r.skip(wireType);
    }
    return spec;
}

export function decodeGetModelStatusResponse(buf: Buffer): ModelVersionStatus[] {
    const r = new WireReader(buf);
    const statuses: ModelVersionStatus[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field !== F.GetModelStatusResponse.modelVersionStatus || wireType !== WireType.LengthDelimited) {
            r.skip(wireType);
            continue;
        }
        const entry = r.message();
        const status: ModelVersionStatus = { version: 0, state: ModelState.UNKNOWN, errorCode: 0, errorMessage: "" };
        while (!entry.done) {
            const h = entry.header();
            if (h.field === F.ModelVersionStatus.version && h.wireType === WireType.Varint) status.version = entry.varint();
            else if (h.field === F.ModelVersionStatus.state && h.wireType === WireType.Varint) status.state = entry.int32();
            else if (h.field === F.ModelVersionStatus.status && h.wireType === WireType.LengthDelimited) {
                const inner = entry.message();
                while (!inner.done) {
                    const s = inner.header();
                    if (s.field === F.StatusProto.errorCode && s.wireType === WireType.Varint) status.errorCode = inner.int32();
                    else if (s.field === F.StatusProto.errorMessage && s.wireType === WireType.LengthDelimited)
                        status.errorMessage = inner.string();
                    else inner.skip(s.wireType);
                }
            } else entry.skip(h.wireType);
        }
        statuses.push(status);
    }
    return statuses;
}
