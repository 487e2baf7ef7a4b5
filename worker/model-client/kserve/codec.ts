// Encoders and decoders for the KServe v2 / Open Inference Protocol gRPC messages this project uses,
// written against the field numbers of inference.GRPCInferenceService's grpc_service.proto
// (triton-inference-server/common protobuf/grpc_service.proto; kserve's open_inference_grpc.proto has
// the same numbers). Both directions: the client encodes requests and decodes responses, the emulator the
// other way round, and tests check both against a generated protobuf library.
import { ChunkWriter, WireFormatError, WireReader, WireType } from "../grpc/wire";
import {
    datatypeSize,
    type InferParameters,
    type InferParameterValue,
    type InferRequest,
    type InferResponse,
    type InferTensor,
    type ModelMetadata,
    type ModelRef,
    type TensorMetadata,
} from "./types";

/** Field numbers, one table per message. */
export const Fields = {
    ServerLiveResponse: { live: 1 },
    ServerReadyResponse: { ready: 1 },
    ModelReadyRequest: { name: 1, version: 2 },
    ModelReadyResponse: { ready: 1 },
    ModelMetadataRequest: { name: 1, version: 2 },
    ModelMetadataResponse: { name: 1, versions: 2, platform: 3, inputs: 4, outputs: 5 },
    TensorMetadata: { name: 1, datatype: 2, shape: 3 },
    InferParameter: { boolParam: 1, int64Param: 2, stringParam: 3, doubleParam: 4, uint64Param: 5 },
    InferTensorContents: {
        boolContents: 1,
        intContents: 2,
        int64Contents: 3,
        uintContents: 4,
        uint64Contents: 5,
        fp32Contents: 6,
        fp64Contents: 7,
        bytesContents: 8,
    },
    ModelInferRequest: { modelName: 1, modelVersion: 2, id: 3, parameters: 4, inputs: 5, outputs: 6, rawInputContents: 7 },
    InferInputTensor: { name: 1, datatype: 2, shape: 3, parameters: 4, contents: 5 },
    InferRequestedOutputTensor: { name: 1, parameters: 2 },
    ModelInferResponse: { modelName: 1, modelVersion: 2, id: 3, parameters: 4, outputs: 5, rawOutputContents: 6 },
    InferOutputTensor: { name: 1, datatype: 2, shape: 3, parameters: 4, contents: 5 },
    MapEntry: { key: 1, value: 2 },
} as const;

const F = Fields;

/** How tensor data is written: raw_*_contents (what Triton and our client send) or typed InferTensorContents. */
export type TensorEncoding = "raw" | "contents";

// ---------------------------------------------------------------- shared pieces

export function elementCount(shape: readonly number[]): number {
    let n = 1;
    for (const d of shape) n *= d;
    return n;
}

/** Bytes the data of a fixed-size tensor must have; undefined for BYTES (variable) and unknown types. */
export function expectedByteSize(datatype: string, shape: readonly number[]): number | undefined {
    const size = datatypeSize(datatype);
    return size === undefined ? undefined : size * elementCount(shape);
}

function writeShape(w: ChunkWriter, field: number, shape: readonly number[]): void {
    if (shape.length === 0) return;
    const packed = new ChunkWriter();
    for (const d of shape) {
        if (!Number.isSafeInteger(d) || d < -1) throw new RangeError(`shape [${shape.join(",")}] has an invalid dimension ${d}`);
        packed.varint(d);
    }
    w.messageField(field, packed);
}

function readShape(r: WireReader, wireType: WireType, into: number[]): void {
    if (wireType === WireType.LengthDelimited) {
        const packed = r.message();
        while (!packed.done) into.push(packed.varint());
    } else if (wireType === WireType.Varint) into.push(r.varint());
    else throw new WireFormatError(`shape has wire type ${wireType}`);
}

function writeParameter(value: InferParameterValue): ChunkWriter {
    const w = new ChunkWriter();
    const P = F.InferParameter;
    if (typeof value === "boolean") w.tag(P.boolParam, WireType.Varint).varint(value ? 1 : 0);
    else if (typeof value === "string") w.stringField(P.stringParam, value);
    else if (Number.isSafeInteger(value)) w.tag(P.int64Param, WireType.Varint).varint(value);
    else {
        const bytes = Buffer.allocUnsafe(8);
        bytes.writeDoubleLE(value);
        w.tag(P.doubleParam, WireType.Fixed64).raw(bytes);
    }
    return w;
}

function writeParameters(w: ChunkWriter, field: number, parameters: InferParameters | undefined): void {
    for (const [key, value] of Object.entries(parameters ?? {})) {
        const entry = new ChunkWriter().stringField(F.MapEntry.key, key);
        entry.messageField(F.MapEntry.value, writeParameter(value));
        w.messageField(field, entry);
    }
}

function readParameterEntry(r: WireReader, into: InferParameters): void {
    let key = "";
    let value: InferParameterValue = "";
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.MapEntry.key && wireType === WireType.LengthDelimited) key = r.string();
        else if (field === F.MapEntry.value && wireType === WireType.LengthDelimited) {
            const p = r.message();
            while (!p.done) {
                const h = p.header();
                const P = F.InferParameter;
                if (h.field === P.boolParam && h.wireType === WireType.Varint) value = p.varint() !== 0;
                else if ((h.field === P.int64Param || h.field === P.uint64Param) && h.wireType === WireType.Varint) value = p.varint();
                else if (h.field === P.stringParam && h.wireType === WireType.LengthDelimited) value = p.string();
                else if (h.field === P.doubleParam && h.wireType === WireType.Fixed64) value = p.fixed64Double();
                else p.skip(h.wireType);
            }
        } else r.skip(wireType);
    }
    into[key] = value;
}

// ---------------------------------------------------------------- typed contents <-> raw bytes

type ContentsField = keyof typeof F.InferTensorContents;

function contentsFieldFor(datatype: string): ContentsField {
    switch (datatype) {
        case "BOOL":
            return "boolContents";
        case "INT8":
        case "INT16":
        case "INT32":
            return "intContents";
        case "INT64":
            return "int64Contents";
        case "UINT8":
        case "UINT16":
        case "UINT32":
            return "uintContents";
        case "UINT64":
            return "uint64Contents";
        case "FP32":
            return "fp32Contents";
        case "FP64":
            return "fp64Contents";
        case "BYTES":
            return "bytesContents";
        default:
            // FP16 has no typed field: the protocol says it must travel raw.
            throw new RangeError(`datatype ${datatype} cannot travel as typed contents`);
    }
}

function readElement(data: Buffer, datatype: string, i: number): number {
    switch (datatype) {
        case "BOOL":
        case "UINT8":
            return data[i];
        case "INT8":
            return data.readInt8(i);
        case "INT16":
            return data.readInt16LE(i * 2);
        case "UINT16":
            return data.readUInt16LE(i * 2);
        case "INT32":
            return data.readInt32LE(i * 4);
        case "UINT32":
            return data.readUInt32LE(i * 4);
        case "INT64":
            return Number(data.readBigInt64LE(i * 8));
        case "UINT64":
            return Number(data.readBigUInt64LE(i * 8));
        case "FP32":
            return data.readFloatLE(i * 4);
        case "FP64":
            return data.readDoubleLE(i * 8);
        default:
            throw new RangeError(`datatype ${datatype} has no numeric elements`);
    }
}

function writeElement(data: Buffer, datatype: string, i: number, v: number): void {
    switch (datatype) {
        case "BOOL":
            data[i] = v ? 1 : 0;
            return;
        case "UINT8":
            data.writeUInt8(v, i);
            return;
        case "INT8":
            data.writeInt8(v, i);
            return;
        case "INT16":
            data.writeInt16LE(v, i * 2);
            return;
        case "UINT16":
            data.writeUInt16LE(v, i * 2);
            return;
        case "INT32":
            data.writeInt32LE(v, i * 4);
            return;
        case "UINT32":
            data.writeUInt32LE(v, i * 4);
            return;
        case "INT64":
            data.writeBigInt64LE(BigInt(v), i * 8);
            return;
        case "UINT64":
            data.writeBigUInt64LE(BigInt(v), i * 8);
            return;
        case "FP32":
            data.writeFloatLE(v, i * 4);
            return;
        case "FP64":
            data.writeDoubleLE(v, i * 8);
            return;
        default:
            throw new RangeError(`datatype ${datatype} has no numeric elements`);
    }
}

/** BYTES data (4-byte little-endian length, then the bytes, per element) as its elements. */
export function splitBytesElements(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
        if (pos + 4 > data.length) throw new WireFormatError("BYTES tensor data ends inside a length prefix");
        const n = data.readUInt32LE(pos);
        if (pos + 4 + n > data.length) throw new WireFormatError(`BYTES element of ${n} bytes runs past the end of the data`);
        out.push(data.subarray(pos + 4, pos + 4 + n));
        pos += 4 + n;
    }
    return out;
}

export function joinBytesElements(elements: readonly Buffer[]): Buffer {
    const parts: Buffer[] = [];
    for (const e of elements) {
        const length = Buffer.allocUnsafe(4);
        length.writeUInt32LE(e.length);
        parts.push(length, e);
    }
    return Buffer.concat(parts);
}

/** A tensor's data as InferTensorContents (values in the datatype's typed field). */
function writeContents(tensor: InferTensor): ChunkWriter {
    const w = new ChunkWriter();
    const field = contentsFieldFor(tensor.datatype);
    const number = F.InferTensorContents[field];
    if (field === "bytesContents") {
        for (const e of splitBytesElements(tensor.data)) w.bytesField(number, e);
        return w;
    }
    const count = elementCount(tensor.shape);
    checkDataSize(tensor, "tensor");
    if (field === "fp32Contents" || field === "fp64Contents") {
        // Already the little-endian IEEE bytes the packed field wants (FP32 data is FP32, FP64 is FP64).
        w.bytesField(number, tensor.data);
        return w;
    }
    const packed = new ChunkWriter();
    for (let i = 0; i < count; i++) packed.varint(readElement(tensor.data, tensor.datatype, i));
    w.messageField(number, packed);
    return w;
}

/** Reads InferTensorContents into raw bytes for `datatype` and `shape`. */
function readContents(r: WireReader, datatype: string, shape: readonly number[], what: string): Buffer {
    const wanted = contentsFieldFor(datatype);
    const wantedNumber = F.InferTensorContents[wanted];
    const values: number[] = [];
    const bytes: Buffer[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field !== wantedNumber) {
            if (field >= 1 && field <= 8) throw new WireFormatError(`${what} is ${datatype} but carries contents field ${field}`);
            r.skip(wireType);
            continue;
        }
        if (wanted === "bytesContents") {
            bytes.push(r.bytes());
            continue;
        }
        const one = (reader: WireReader): number =>
            wanted === "fp32Contents"
                ? reader.fixed32Float()
                : wanted === "fp64Contents"
                  ? reader.fixed64Double()
                  : wanted === "intContents"
                    ? reader.int32()
                    : reader.varint();
        const unpacked = wanted === "fp32Contents" ? WireType.Fixed32 : wanted === "fp64Contents" ? WireType.Fixed64 : WireType.Varint;
        if (wireType === WireType.LengthDelimited) {
            const packed = r.message();
            while (!packed.done) values.push(one(packed));
        } else if (wireType === unpacked) values.push(one(r));
        else throw new WireFormatError(`${what}: contents field ${field} has wire type ${wireType}`);
    }
    if (wanted === "bytesContents") {
        if (bytes.length !== elementCount(shape))
            throw new WireFormatError(`${what} of shape [${shape.join(",")}] has ${bytes.length} BYTES elements`);
        return joinBytesElements(bytes);
    }
    const count = elementCount(shape);
    if (values.length !== count)
        throw new WireFormatError(`${what} ${datatype} [${shape.join(",")}] has ${values.length} values, expected ${count}`);
    const data = Buffer.alloc(count * datatypeSize(datatype)!);
    for (let i = 0; i < count; i++) writeElement(data, datatype, i, values[i]);
    return data;
}

function checkDataSize(tensor: InferTensor, what: string): void {
    const expected = expectedByteSize(tensor.datatype, tensor.shape);
    if (expected !== undefined && tensor.data.length !== expected) {
        throw new RangeError(
            `${what} "${tensor.name}" ${tensor.datatype} [${tensor.shape.join(",")}] needs ${expected} bytes of data, has ${tensor.data.length}`,
        );
    }
}

// ---------------------------------------------------------------- tensors in requests and responses

/** InferInputTensor / InferOutputTensor (same field numbers); `contents` only when not sent raw. */
function writeTensorHeader(tensor: InferTensor, withContents: boolean): ChunkWriter {
    const T = F.InferInputTensor;
    const w = new ChunkWriter();
    w.stringField(T.name, tensor.name);
    w.stringField(T.datatype, tensor.datatype);
    writeShape(w, T.shape, tensor.shape);
    writeParameters(w, T.parameters, tensor.parameters);
    if (withContents) w.messageField(T.contents, writeContents(tensor));
    return w;
}

interface TensorHeader {
    tensor: InferTensor;
    /** Typed contents, still encoded (decoded once the datatype and shape are known). */
    contents?: WireReader;
}

function readTensorHeader(r: WireReader): TensorHeader {
    const T = F.InferInputTensor;
    const tensor: InferTensor = { name: "", datatype: "", shape: [], data: Buffer.alloc(0) };
    let contents: WireReader | undefined;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === T.name && wireType === WireType.LengthDelimited) tensor.name = r.string();
        else if (field === T.datatype && wireType === WireType.LengthDelimited) tensor.datatype = r.string();
        else if (field === T.shape) readShape(r, wireType, tensor.shape);
        else if (field === T.parameters && wireType === WireType.LengthDelimited)
            readParameterEntry(r.message(), (tensor.parameters ??= {}));
        else if (field === T.contents && wireType === WireType.LengthDelimited) contents = r.message();
        else r.skip(wireType);
    }
    return { tensor, contents };
}

/** Attaches data to each tensor from the raw list (when present) or its typed contents, checking sizes. */
function attachData(headers: TensorHeader[], raw: Buffer[], side: "input" | "output"): InferTensor[] {
    if (raw.length > 0 && raw.length !== headers.length) {
        throw new WireFormatError(
            `${raw.length} raw_${side}_contents for ${headers.length} ${side}s; there must be one per ${side}, in order`,
        );
    }
    return headers.map(({ tensor, contents }, i) => {
        const what = `${side} "${tensor.name}"`;
        for (const d of tensor.shape)
            if (d < 0) throw new WireFormatError(`${what} has shape [${tensor.shape.join(",")}] with a negative dimension`);
        if (raw.length > 0) {
            if (contents !== undefined) throw new WireFormatError(`${what} has typed contents although raw_${side}_contents are used`);
            tensor.data = raw[i];
        } else if (contents !== undefined) {
            tensor.data = readContents(contents, tensor.datatype, tensor.shape, what);
        } else if (elementCount(tensor.shape) !== 0) {
            throw new WireFormatError(`${what} ${tensor.datatype} [${tensor.shape.join(",")}] carries no data`);
        }
        const expected = expectedByteSize(tensor.datatype, tensor.shape);
        if (expected !== undefined && tensor.data.length !== expected) {
            throw new WireFormatError(
                `${what} ${tensor.datatype} [${tensor.shape.join(",")}] needs ${expected} bytes of data, got ${tensor.data.length}`,
            );
        }
        return tensor;
    });
}

// ---------------------------------------------------------------- ModelInfer

function inferRequestWriter(request: InferRequest, encoding: TensorEncoding): ChunkWriter {
    const M = F.ModelInferRequest;
    const w = new ChunkWriter();
    w.stringField(M.modelName, request.modelName);
    if (request.modelVersion) w.stringField(M.modelVersion, request.modelVersion);
    if (request.id) w.stringField(M.id, request.id);
    writeParameters(w, M.parameters, request.parameters);
    for (const input of request.inputs) {
        checkDataSize(input, "input");
        w.messageField(M.inputs, writeTensorHeader(input, encoding === "contents"));
    }
    for (const name of request.outputs ?? [])
        w.messageField(M.outputs, new ChunkWriter().stringField(F.InferRequestedOutputTensor.name, name));
    // raw_input_contents: one entry per input, in order; the data buffers are referenced, not copied.
    if (encoding === "raw") for (const input of request.inputs) w.bytesField(M.rawInputContents, input.data);
    return w;
}

export function encodeInferRequest(request: InferRequest, encoding: TensorEncoding = "raw"): Buffer {
    return inferRequestWriter(request, encoding).finish();
}

/** The same bytes as encodeInferRequest, as a gather list that references tensor data instead of copying it. */
export function encodeInferRequestSegments(request: InferRequest, encoding: TensorEncoding = "raw"): Buffer[] {
    return inferRequestWriter(request, encoding).segments();
}

export function decodeInferRequest(buf: Buffer): InferRequest {
    const M = F.ModelInferRequest;
    const r = new WireReader(buf);
    const request: InferRequest = { modelName: "", inputs: [] };
    const headers: TensorHeader[] = [];
    const raw: Buffer[] = [];
    const outputs: string[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (wireType !== WireType.LengthDelimited) {
            r.skip(wireType);
            continue;
        }
        switch (field) {
            case M.modelName:
                request.modelName = r.string();
                break;
            case M.modelVersion:
                request.modelVersion = r.string();
                break;
            case M.id:
                request.id = r.string();
                break;
            case M.parameters:
                readParameterEntry(r.message(), (request.parameters ??= {}));
                break;
            case M.inputs:
                headers.push(readTensorHeader(r.message()));
                break;
            case M.outputs: {
                const o = r.message();
                let name = "";
                while (!o.done) {
                    const h = o.header();
                    if (h.field === F.InferRequestedOutputTensor.name && h.wireType === WireType.LengthDelimited) name = o.string();
                    else o.skip(h.wireType);
                }
                outputs.push(name);
                break;
            }
            case M.rawInputContents:
                raw.push(r.bytes());
                break;
            default:
                r.skip(wireType);
        }
    }
    request.inputs = attachData(headers, raw, "input");
    if (outputs.length > 0) request.outputs = outputs;
    return request;
}

function inferResponseWriter(response: InferResponse, encoding: TensorEncoding): ChunkWriter {
    const M = F.ModelInferResponse;
    const w = new ChunkWriter();
    w.stringField(M.modelName, response.modelName);
    if (response.modelVersion) w.stringField(M.modelVersion, response.modelVersion);
    if (response.id) w.stringField(M.id, response.id);
    writeParameters(w, M.parameters, response.parameters);
    for (const output of response.outputs) {
        checkDataSize(output, "output");
        w.messageField(M.outputs, writeTensorHeader(output, encoding === "contents"));
    }
    if (encoding === "raw") for (const output of response.outputs) w.bytesField(M.rawOutputContents, output.data);
    return w;
}

export function encodeInferResponse(response: InferResponse, encoding: TensorEncoding = "raw"): Buffer {
    return inferResponseWriter(response, encoding).finish();
}

export function encodeInferResponseSegments(response: InferResponse, encoding: TensorEncoding = "raw"): Buffer[] {
    return inferResponseWriter(response, encoding).segments();
}

/** Output data are views into `buf` (no copy) when sent raw. */
export function decodeInferResponse(buf: Buffer): InferResponse {
    const M = F.ModelInferResponse;
    const r = new WireReader(buf);
    const response: InferResponse = { modelName: "", modelVersion: "", id: "", outputs: [] };
    const headers: TensorHeader[] = [];
    const raw: Buffer[] = [];
    while (!r.done) {
        const { field, wireType } = r.header();
        if (wireType !== WireType.LengthDelimited) r.skip(wireType);
        else if (field === M.modelName) response.modelName = r.string();
        else if (field === M.modelVersion) response.modelVersion = r.string();
        else if (field === M.id) response.id = r.string();
        else if (field === M.parameters) readParameterEntry(r.message(), (response.parameters ??= {}));
        else if (field === M.outputs) headers.push(readTensorHeader(r.message()));
        else if (field === M.rawOutputContents) raw.push(r.bytes());
        else r.skip(wireType);
    }
    response.outputs = attachData(headers, raw, "output");
    return response;
}

// ---------------------------------------------------------------- health and metadata

/** ServerLiveRequest and ServerReadyRequest have no fields. */
export const EMPTY_MESSAGE = Buffer.alloc(0);

function encodeBool(field: number, value: boolean): Buffer {
    return value ? new ChunkWriter().tag(field, WireType.Varint).varint(1).finish() : Buffer.alloc(0);
}

function decodeBool(buf: Buffer, wanted: number): boolean {
    const r = new WireReader(buf);
    let value = false;
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === wanted && wireType === WireType.Varint) value = r.varint() !== 0;
        else r.skip(wireType);
    }
    return value;
}

export const encodeServerLiveResponse = (live: boolean): Buffer => encodeBool(F.ServerLiveResponse.live, live);
export const decodeServerLiveResponse = (buf: Buffer): boolean => decodeBool(buf, F.ServerLiveResponse.live);
export const encodeServerReadyResponse = (ready: boolean): Buffer => encodeBool(F.ServerReadyResponse.ready, ready);
export const decodeServerReadyResponse = (buf: Buffer): boolean => decodeBool(buf, F.ServerReadyResponse.ready);
export const encodeModelReadyResponse = (ready: boolean): Buffer => encodeBool(F.ModelReadyResponse.ready, ready);
export const decodeModelReadyResponse = (buf: Buffer): boolean => decodeBool(buf, F.ModelReadyResponse.ready);

/** ModelReadyRequest and ModelMetadataRequest share their layout (name 1, version 2). */
export function encodeModelRef(model: ModelRef): Buffer {
    const w = new ChunkWriter().stringField(F.ModelReadyRequest.name, model.name);
    if (model.version) w.stringField(F.ModelReadyRequest.version, model.version);
    return w.finish();
}

export function decodeModelRef(buf: Buffer): ModelRef {
    const r = new WireReader(buf);
    const ref: ModelRef = { name: "" };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.ModelReadyRequest.name && wireType === WireType.LengthDelimited) ref.name = r.string();
        else if (field === F.ModelReadyRequest.version && wireType === WireType.LengthDelimited) ref.version = r.string();
        else r.skip(wireType);
    }
    return ref;
}

function writeTensorMetadata(t: TensorMetadata): ChunkWriter {
    const w = new ChunkWriter().stringField(F.TensorMetadata.name, t.name).stringField(F.TensorMetadata.datatype, t.datatype);
    writeShape(w, F.TensorMetadata.shape, t.shape);
    return w;
}

function readTensorMetadata(r: WireReader): TensorMetadata {
    const t: TensorMetadata = { name: "", datatype: "", shape: [] };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (field === F.TensorMetadata.name && wireType === WireType.LengthDelimited) t.name = r.string();
        else if (field === F.TensorMetadata.datatype && wireType === WireType.LengthDelimited) t.datatype = r.string();
        else if (field === F.TensorMetadata.shape) readShape(r, wireType, t.shape);
        else r.skip(wireType);
    }
    return t;
}

export function encodeModelMetadataResponse(m: ModelMetadata): Buffer {
    const M = F.ModelMetadataResponse;
    const w = new ChunkWriter().stringField(M.name, m.name);
    for (const v of m.versions) w.stringField(M.versions, v);
    if (m.platform) w.stringField(M.platform, m.platform);
    for (const t of m.inputs) w.messageField(M.inputs, writeTensorMetadata(t));
    for (const t of m.outputs) w.messageField(M.outputs, writeTensorMetadata(t));
    return w.finish();
}

export function decodeModelMetadataResponse(buf: Buffer): ModelMetadata {
    const M = F.ModelMetadataResponse;
    const r = new WireReader(buf);
    const m: ModelMetadata = { name: "", versions: [], platform: "", inputs: [], outputs: [] };
    while (!r.done) {
        const { field, wireType } = r.header();
        if (wireType !== WireType.LengthDelimited) r.skip(wireType);
        else if (field === M.name) m.name = r.string();
        else if (field === M.versions) m.versions.push(r.string());
        else if (field === M.platform) m.platform = r.string();
        else if (field === M.inputs) m.inputs.push(readTensorMetadata(r.message()));
        else if (field === M.outputs) m.outputs.push(readTensorMetadata(r.message()));
        else r.skip(wireType);
    }
    return m;
}
