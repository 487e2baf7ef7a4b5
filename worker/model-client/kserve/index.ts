// Public entry point of the KServe v2 / Open Inference Protocol gRPC client (Triton, KServe, ...).
export * from "./types";
export { InferenceClient, createInferenceClient, DEFAULT_V2_GRPC_PORT, type InferenceClientOptions } from "./client";
export { decodeInferResponse, encodeInferRequest, encodeInferRequestSegments, elementCount, expectedByteSize } from "./codec";
export { MODEL_INFER_METHOD, MODEL_METADATA_METHOD, MODEL_READY_METHOD, SERVER_LIVE_METHOD, SERVER_READY_METHOD } from "./methods";
export { ModelServerError } from "../model-server-error";
