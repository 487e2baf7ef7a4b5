// The KServe v2 / Open Inference Protocol contract (package `inference`, service GRPCInferenceService),
// as this project's client, emulator and tests see it. Tensor data travels raw: row-major little-endian
// bytes, one buffer per tensor (raw_input_contents / raw_output_contents on the wire).

/** Tensor data types of the protocol (BYTES elements are each a 4-byte little-endian length and the bytes). */
export const DATATYPES = [
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
] as const;
export type Datatype = (typeof DATATYPES)[number];

/** Bytes per element of a fixed-size datatype; undefined for BYTES and unknown names. */
export function datatypeSize(datatype: string): number | undefined {
    switch (datatype) {
        case "BOOL":
        case "UINT8":
        case "INT8":
            return 1;
        case "UINT16":
        case "INT16":
        case "FP16":
            return 2;
        case "UINT32":
        case "INT32":
        case "FP32":
            return 4;
        case "UINT64":
        case "INT64":
        case "FP64":
            return 8;
        default:
            return undefined;
    }
}

/** A parameter value: InferParameter's bool_param, int64_param (integers), double_param (other numbers) or string_param. */
export type InferParameterValue = boolean | number | string;
export type InferParameters = Record<string, InferParameterValue>;

/** A tensor with its data as raw bytes. */
export interface InferTensor {
    name: string;
    /** One of DATATYPES; kept as a string so an unexpected type from a server still decodes and can be reported. */
    datatype: string;
    shape: number[];
    data: Buffer;
    parameters?: InferParameters;
}

export interface InferRequest {
    modelName: string;
    /** Absent: the server picks (Triton: the latest ready version). */
    modelVersion?: string;
    id?: string;
    parameters?: InferParameters;
    inputs: InferTensor[];
    /** Names of the outputs wanted; absent: all of them. */
    outputs?: string[];
}

export interface InferResponse {
    modelName: string;
    modelVersion: string;
    id: string;
    parameters?: InferParameters;
    outputs: InferTensor[];
}

export interface TensorMetadata {
    name: string;
    datatype: string;
    /** -1 marks a variable-size dimension (with dynamic batching, the first). */
    shape: number[];
}

export interface ModelMetadata {
    name: string;
    versions: string[];
    platform: string;
    inputs: TensorMetadata[];
    outputs: TensorMetadata[];
}

export interface ModelRef {
    name: string;
    version?: string;
}

export interface CallOptions {
    /** Per-call deadline in milliseconds. */
    timeoutMs?: number;
}
