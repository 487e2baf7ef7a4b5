// Kubernetes workloads: device plugins, the video DaemonSet and the BERT services (Triton, legacy TF Serving).
export * from "./common";
export { BertInferenceService, type BertInferenceArgs } from "./bert";
export { BertTritonService, buildJobName, type BertTritonArgs } from "./bert-triton";
export { devicePluginScheduling, NeuronDevicePlugin, NvidiaDevicePlugin, type NeuronDevicePluginArgs, type NvidiaDevicePluginArgs } from "./plugins";
export { batchingParametersText } from "./tf-serving";
export { VideoInferenceDaemonSet, type VideoInferenceArgs, type VideoWorkerSettings } from "./video";
