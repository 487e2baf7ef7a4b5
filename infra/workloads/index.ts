// Kubernetes workloads: device plugins, the video DaemonSet and the BERT service.
export * from "./common";
export { BertInferenceService, type BertInferenceArgs, type StaticCredentials } from "./bert";
export { devicePluginScheduling, NeuronDevicePlugin, NvidiaDevicePlugin, type NeuronDevicePluginArgs, type NvidiaDevicePluginArgs } from "./plugins";
export { batchingParametersText } from "./tf-serving";
export { VideoInferenceDaemonSet, type VideoInferenceArgs, type VideoWorkerSettings } from "./video";
