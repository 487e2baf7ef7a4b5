// gRPC method paths of inference.GRPCInferenceService (KServe v2 / Open Inference Protocol; Triton's
// protobuf/grpc_service.proto in triton-inference-server/common).
const SERVICE = "/inference.GRPCInferenceService";
export const SERVER_LIVE_METHOD = `${SERVICE}/ServerLive`;
export const SERVER_READY_METHOD = `${SERVICE}/ServerReady`;
export const MODEL_READY_METHOD = `${SERVICE}/ModelReady`;
export const MODEL_METADATA_METHOD = `${SERVICE}/ModelMetadata`;
export const MODEL_INFER_METHOD = `${SERVICE}/ModelInfer`;
