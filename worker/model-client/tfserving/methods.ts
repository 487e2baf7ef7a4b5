// TF Serving's gRPC method paths (tensorflow_serving/apis/prediction_service.proto, model_service.proto).
export const PREDICT_METHOD = "/tensorflow.serving.PredictionService/Predict";
export const GET_MODEL_STATUS_METHOD = "/tensorflow.serving.ModelService/GetModelStatus";
export const GET_MODEL_METADATA_METHOD = "/tensorflow.serving.PredictionService/GetModelMetadata";
