// The model-server contract shared by the video worker, the BERT latency client and the
// TF Serving protocol emulator. Transport-neutral: gRPC and REST clients both implement ModelClient.

/** TensorFlow DataType enum values (tensorflow/core/framework/types.proto). */
export enum DataType {
    DT_INVALID = 0,
    DT_FLOAT = 1,
    DT_DOUBLE = 2,
    DT_INT32 = 3,
    DT_UINT8 = 4,
    DT_INT16 = 5,
    DT_INT8 = 6,
    DT_STRING = 7,
    DT_INT64 = 9,
    DT_BOOL = 10,
    /** IEEE 754 half precision; TF Serving may return it in half_val. */
    DT_HALF = 19,
}

/**
 * A dense tensor. Numeric tensors carry raw little-endian bytes in `content` (what TF Serving calls
 * tensor_content); string tensors carry `strings`. Exactly one of the two is set.
 */
export interface Tensor {
    dtype: DataType;
    shape: number[];
    content?: Buffer;
    strings?: Buffer[];
}

export interface ModelSpec {
    name: string;
    /** Absent: the server's latest available version. */
    version?: number;
    /** Absent: serving_default. */
    signatureName?: string;
}

export interface PredictRequest {
    model: ModelSpec;
    inputs: Record<string, Tensor>;
    /** Only these outputs (all when absent). */
    outputFilter?: string[];
}

export interface PredictResponse {
    model?: ModelSpec;
    outputs: Record<string, Tensor>;
}

/** tensorflow.serving.ModelVersionStatus.State */
export enum ModelState {
    UNKNOWN = 0,
    START = 10,
    LOADING = 20,
    AVAILABLE = 30,
    UNLOADING = 40,
    END = 50,
}

export interface ModelVersionStatus {
    version: number;
    state: ModelState;
    errorCode: number;
    errorMessage: string;
}

export interface CallOptions {
    /** Per-call deadline in milliseconds. */
    timeoutMs?: number;
}

/** A TF Serving client over one transport. */
export interface ModelClient {
    /** The model's serving signatures (TF Serving GetModelMetadata, field "signature_def"). */
    getModelMetadata(model: ModelSpec, options?: CallOptions): Promise<ModelMetadata>;
    readonly url: string;
    /** Tensor buffers are sent by reference: do not modify or reuse them until the call settles. */
    predict(request: PredictRequest, options?: CallOptions): Promise<PredictResponse>;
    getModelStatus(model: ModelSpec, options?: CallOptions): Promise<ModelVersionStatus[]>;
    close(): void;
}

export { ModelServerError } from "../model-server-error";
import type { ModelMetadata } from "./metadata";
export type { ModelMetadata, SignatureDef, TensorInfo } from "./metadata";
