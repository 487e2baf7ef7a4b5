// eks-inference: config -> network -> cluster -> node groups -> job plumbing -> identities -> images -> outputs.
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GENERAL_NODE_LABELS, PROFILES, Workload, nodeLabels, nodeSelector, nodeTaints, tolerations } from "./platform/accelerators";
import { Addons } from "./platform/addons";
import { VideoQueueAlarms } from "./video/alarms";
import { Cluster } from "./platform/cluster";
import { readConfig } from "./config/config";
import { OperationsDashboard } from "./video/dashboard";
import { WorkloadRoles } from "./platform/iam";
import { compiledModelPrefix } from "./bert/settings";
import { BERT_TRITON_IMAGE, ImageName, Images, SERVING_IMAGE } from "./platform/images";
import { ModelsBucket } from "./bert/models-bucket";
import { VideoJobs } from "./video/jobs";
import { Network } from "./platform/network";
import { NodeGroup, NodeRole } from "./platform/nodegroups";
import { VideoQueueScaling } from "./video/scaling";
import { NeuronDevicePlugin, NvidiaDevicePlugin } from "./platform/device-plugins";
import { BertInferenceService } from "./bert/tf-serving-service";
import { BertTritonService } from "./bert/triton-service";
import { VideoInferenceDaemonSet } from "./video/daemonset";

const config = readConfig();
const baseName = `${config.project}-${config.stack}`;

// Every AWS resource gets project/stack tags through the provider.
const stackTags = { project: config.project, stack: config.stack, "managed-by": "pulumi" };
const awsProvider = new aws.Provider("aws", {
    region: config.region as aws.Region,
    defaultTags: { tags: stackTags },
});
const withAws: pulumi.ComponentResourceOptions = { providers: { aws: awsProvider } };

const network = new Network(baseName, {
    vpcCidr: config.network.vpcCidr,
    azCount: config.network.azCount,
    natGateways: config.network.natGateways,
    interfaceEndpoints: config.network.interfaceEndpoints,
    region: config.region,
    clusterName: baseName,
    nodeGroups: [
        { group: "general", configKey: "generalInstanceType", instanceTypes: [config.general.instanceType] },
        ...(["video", "bert"] as const)
            .filter((w) => config[w].enabled)
            .map((w) => ({ group: w, configKey: `${w}InstanceTypes`, instanceTypes: config[w].nodes.instanceTypes })),
    ],
}, withAws);

const cluster = new Cluster(baseName, {
    clusterName: baseName,
    kubernetesVersion: config.kubernetesVersion,
    supportType: config.supportType,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    publicSubnetIds: network.publicSubnetIds,
    adminPrincipalArns: config.cluster.adminPrincipalArns,
    stackTags,
    logTypes: config.cluster.logTypes,
    publicAccessCidrs: config.cluster.publicAccessCidrs,
    logRetentionDays: config.cluster.logRetentionDays,
}, withAws);
network.allowHttpsFrom(`${baseName}-endpoints-from-nodes`, cluster.clusterSecurityGroupId);

// The CNI and the Pod Identity agent come before any node: nodes need the CNI to become Ready, and the
// CNI gets its credentials through the agent (its role is not on the nodes).
const addons = new Addons(baseName, { clusterName: cluster.name, clusterComponentName: baseName }, withAws);
const nodePrerequisites = [addons.vpcCni, addons.podIdentityAgent];

const nodeRole = new NodeRole(`${baseName}-node`, withAws);
const generalNodes = new NodeGroup(`${baseName}-general`, {
    clusterName: cluster.name,
    kubernetesVersion: config.kubernetesVersion,
    nodeRole,
    subnetIds: network.privateSubnetIdsFor("general", [config.general.instanceType]),
    instanceTypes: [config.general.instanceType],
    amiType: "AL2023_x86_64_STANDARD",
    capacityType: "ON_DEMAND",
    sizing: config.general.sizing,
    labels: { ...GENERAL_NODE_LABELS },
    taints: [],
    volumeGiB: config.general.volumeGiB,
    imdsHopLimit: 1,
    liveLookupClusterName: baseName,
    dependsOn: nodePrerequisites,
}, withAws);

function acceleratedGroup(workload: "video" | "bert"): NodeGroup {
    const group = config[workload].nodes;
    return new NodeGroup(`${baseName}-${workload}`, {
        clusterName: cluster.name,
        kubernetesVersion: config.kubernetesVersion,
        nodeRole,
        subnetIds: network.privateSubnetIdsFor(workload, group.instanceTypes),
        instanceTypes: group.instanceTypes,
        amiType: group.profile.amiType,
        capacityType: group.capacityType,
        sizing: group.sizing,
        labels: nodeLabels(workload, group.profile.name),
        taints: nodeTaints(workload, group.profile.name),
        volumeGiB: config.acceleratedVolumeGiB,
        // The video worker reads its own instance id from IMDSv2 inside a pod: one extra hop.
        imdsHopLimit: workload === "video" ? 2 : 1,
        // Legacy TF Serving Neuron needs the driver of an older AMI release (infra/bert/settings.ts).
        releaseVersion: workload === "bert" ? config.bert.nodeReleaseVersion : undefined,
        liveLookupClusterName: baseName,
        dependsOn: nodePrerequisites,
    }, withAws);
}
const videoNodes = config.video.enabled ? acceleratedGroup("video") : undefined;
const bertNodes = config.bert.enabled ? acceleratedGroup("bert") : undefined;

addons.addCoreDns([generalNodes]);

const jobs = config.video.enabled
    ? new VideoJobs(`${baseName}-video`, {
        inputPrefix: config.jobs.inputPrefix,
        resultsPrefix: config.jobs.resultsPrefix,
        resultsExpiryDays: config.jobs.resultsExpiryDays,
        visibilityTimeoutSeconds: config.jobs.visibilityTimeoutSeconds,
        maxReceiveCount: config.jobs.maxReceiveCount,
    }, withAws)
    : undefined;

// ---- BERT: the models bucket and where the model lives ------------------------------------------
// Triton without bertModelUri: the stack compiles the model into its own bucket, under a key that names
// the model, its shapes and the toolchain. With bertModelUri (required for tf-serving): the user's model.
const bertTarget = config.bert.accelerator === "cpu" ? "cpu" as const : "neuronx" as const;
const modelsBucket = config.bert.enabled ? new ModelsBucket(`${baseName}-models`, withAws) : undefined;
const bertBuildsModel = modelsBucket !== undefined && config.bert.server === "triton" && config.bert.modelS3 === undefined;
const bertModel: { bucket: pulumi.Input<string>; prefix: string } | undefined = !config.bert.enabled
    ? undefined
    : config.bert.modelS3 !== undefined
        ? { bucket: config.bert.modelS3.bucket, prefix: config.bert.modelS3.prefix === "" || config.bert.modelS3.prefix.endsWith("/") ? config.bert.modelS3.prefix : `${config.bert.modelS3.prefix}/` }
        : {
            bucket: (modelsBucket as ModelsBucket).bucket.bucket,
            prefix: compiledModelPrefix({ modelId: config.bert.modelId, sequenceLength: config.bert.sequenceLength, batchSizes: config.bert.batchSizes, target: bertTarget }),
        };

const roles = new WorkloadRoles(baseName, {
    clusterName: cluster.name,
    region: config.region,
    video: jobs !== undefined && videoNodes !== undefined
        ? {
            queueArn: jobs.queue.arn,
            deadLetterQueueArn: jobs.deadLetterQueue.arn,
            bucketArn: jobs.bucket.arn,
            inputPrefix: config.jobs.inputPrefix,
            resultsPrefix: config.jobs.resultsPrefix,
            asgName: videoNodes.asgName,
            metricNamespace: config.scaling.metricNamespace,
            modelS3: config.video.modelS3,
        }
        : undefined,
    bert: bertModel !== undefined ? { model: bertModel, build: bertBuildsModel ? bertModel : undefined } : undefined,
    dependsOn: [addons.podIdentityAgent],
}, withAws);

// Queue health alarms, backlog-per-instance scaling of the video group, and the operations dashboard.
const alarms = jobs !== undefined
    ? new VideoQueueAlarms(`${baseName}-video`, {
        queueName: jobs.queue.name,
        deadLetterQueueName: jobs.deadLetterQueue.name,
        oldestMessageAgeThresholdSeconds: config.scaling.oldestMessageAlarmSeconds,
        alarmEmail: config.scaling.alarmEmail,
    }, withAws)
    : undefined;
const scaling = jobs !== undefined && videoNodes !== undefined
    ? new VideoQueueScaling(baseName, {
        queueUrl: jobs.queue.url,
        queueArn: jobs.queue.arn,
        queueName: jobs.queue.name,
        asgName: videoNodes.asgName,
        metricNamespace: config.scaling.metricNamespace,
        targetBacklogPerInstance: config.scaling.targetBacklogPerInstance,
        scheduleExpression: config.scaling.scheduleExpression,
        logRetentionDays: config.cluster.logRetentionDays,
        alarmTopicArn: alarms?.topicArn,
    }, withAws)
    : undefined;
const dashboard = jobs !== undefined
    ? new OperationsDashboard(baseName, {
        region: config.region,
        queueName: jobs.queue.name,
        deadLetterQueueName: jobs.deadLetterQueue.name,
        backlogMetricNamespace: config.scaling.metricNamespace,
        workerMetricNamespace: config.scaling.metricNamespace,
        bertEnabled: config.bert.enabled,
    }, withAws)
    : undefined;

const neededImages: ImageName[] = [];
if (config.video.enabled) neededImages.push("worker", SERVING_IMAGE[config.video.nodes.profile.name]);
if (config.bert.enabled) {
    if (config.bert.server === "triton") neededImages.push(BERT_TRITON_IMAGE[bertTarget]);
    else neededImages.push("worker", SERVING_IMAGE[config.bert.nodes.profile.name]);
}
const images = new Images(baseName, {
    repositoryPrefix: `${config.project}/${config.stack}`,
    images: [...new Set(neededImages)],
    tagPrefix: config.images.tag,
    keepImages: config.images.keepImages,
}, withAws);

// ---- Kubernetes: device plugins and the inference workloads ------------------------------------
const k8sProvider = new k8s.Provider("k8s", { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true });
// Pods need nodes, DNS and their Pod Identity roles before they can start.
const clusterReady: pulumi.Resource[] = [generalNodes, addons, roles, ...(videoNodes ? [videoNodes] : []), ...(bertNodes ? [bertNodes] : [])];
const onCluster: pulumi.ComponentResourceOptions = { providers: { kubernetes: k8sProvider }, dependsOn: clusterReady };

const enabledWorkloads: Workload[] = [...(config.video.enabled ? ["video" as const] : []), ...(config.bert.enabled ? ["bert" as const] : [])];
const enabledProfiles = enabledWorkloads.map((w) => config[w].nodes.profile);
if (enabledProfiles.some((p) => p.devicePlugin === "neuron")) {
    new NeuronDevicePlugin(`${baseName}-neuron`, { provider: k8sProvider }, onCluster);
}
if (enabledProfiles.some((p) => p.devicePlugin === "nvidia")) {
    new NvidiaDevicePlugin(`${baseName}-nvidia`, {
        provider: k8sProvider,
        timeSlicingReplicas: config.video.nodes.profile.name === "nvidia" ? config.video.nvidiaTimeSlicingReplicas : 1,
    }, onCluster);
}

function scheduling(workload: Workload) {
    const profile = config[workload].nodes.profile;
    const resourceName = PROFILES[profile.name].resourceName;
    return {
        scheduling: { nodeSelector: nodeSelector(workload, profile.name), tolerations: tolerations(workload, profile.name) },
        accelerator: resourceName === undefined ? undefined : { resourceName, count: 1 },
    };
}

function imageRef(name: ImageName): pulumi.Output<string> {
    const ref = images.refs[name];
    if (ref === undefined) throw new Error(`image ${name} was not built for this stack`);
    return ref;
}

const video = jobs !== undefined
    ? new VideoInferenceDaemonSet(`${baseName}-video`, {
        provider: k8sProvider,
        workerImage: imageRef("worker"),
        modelServerImage: imageRef(SERVING_IMAGE[config.video.nodes.profile.name]),
        ...scheduling("video"),
        model: { name: config.video.modelName, uri: config.video.modelUri },
        batching: { maxBatchSize: config.video.batchSize, batchTimeoutMicros: 5000, numBatchThreads: 4, maxEnqueuedBatches: 16 },
        worker: {
            jobQueueUrl: jobs.queue.url,
            deadLetterQueueUrl: jobs.deadLetterQueue.url,
            resultsBucket: jobs.bucket.bucket,
            resultsPrefix: config.jobs.resultsPrefix,
            batchSize: config.video.batchSize,
            frameWidth: config.video.frameWidth,
            frameHeight: config.video.frameHeight,
            sampleFps: config.video.sampleFps,
            scoreThreshold: config.video.scoreThreshold,
            visibilityTimeoutSeconds: config.jobs.visibilityTimeoutSeconds,
            metricsNamespace: config.scaling.metricNamespace,
            region: config.region,
            extraEnv: { MAX_VIDEO_BYTES: String(config.video.maxVideoBytes), MAX_VIDEO_SECONDS: String(config.video.maxVideoSeconds) },
        },
    }, onCluster)
    : undefined;

/** Inf2: each Neuron device has 2 NeuronCores; Triton runs one model instance per core. */
const NEURON_CORES_PER_INF2_DEVICE = 2;
const bertScheduling = config.bert.enabled ? scheduling("bert") : undefined;
const bert = bertModel === undefined || bertScheduling === undefined
    ? undefined
    : config.bert.server === "triton"
        ? new BertTritonService(`${baseName}-bert`, {
            provider: k8sProvider,
            image: imageRef(BERT_TRITON_IMAGE[bertTarget]),
            replicas: config.bert.replicas,
            ...bertScheduling,
            instances: bertScheduling.accelerator === undefined ? 1 : bertScheduling.accelerator.count * NEURON_CORES_PER_INF2_DEVICE,
            model: { name: config.bert.modelName, sequenceLength: config.bert.sequenceLength, batchSizes: config.bert.batchSizes, target: bertTarget, ...bertModel },
            build: bertBuildsModel ? { modelId: config.bert.modelId, scheduling: { nodeSelector: { ...GENERAL_NODE_LABELS }, tolerations: [] } } : undefined,
            region: config.region,
        }, onCluster)
        : new BertInferenceService(`${baseName}-bert`, {
            provider: k8sProvider,
            modelServerImage: imageRef(SERVING_IMAGE[config.bert.nodes.profile.name]),
            modelFetchImage: imageRef("worker"),
            replicas: config.bert.replicas,
            ...bertScheduling,
            model: { name: config.bert.modelName, uri: config.bert.modelUri as string },
            region: config.region,
        }, onCluster);

// ---- Stack outputs ------------------------------------------------------------------------------
export const region = config.region;
export const clusterName = cluster.name;
export const kubeconfig = cluster.kubeconfigJson;
export const vpcId = network.vpcId;
export const privateSubnetIds = network.privateSubnetIds;
export const nodeRoleArn = nodeRole.role.arn;
export const generalAsgName = generalNodes.asgName;
export const videoAsgName = videoNodes?.asgName;
export const bertAsgName = bertNodes?.asgName;
export const bucketName = jobs?.bucket.bucket;
export const inputPrefix = jobs?.inputPrefix;
export const resultsPrefix = jobs?.resultsPrefix;
export const jobQueueUrl = jobs?.queue.url;
export const deadLetterQueueUrl = jobs?.deadLetterQueue.url;
export const videoWorkerRoleArn = roles.videoWorkerRole?.arn;
export const bertServingRoleArn = roles.bertServingRole?.arn;
export const imageRefs = images.refs;
export const alarmTopicArn = alarms?.topicArn;
export const scalerFunctionName = scaling?.functionName;
export const scalingPolicyNames = scaling?.policyNames;
export const dashboardName = dashboard?.dashboardName;
export const videoDaemonSetName = video?.daemonSetName;
export const bertServiceDns = bert?.dnsName;
export const bertHeadlessDns = bert?.headlessDnsName;
export const bertGrpcUrl = bert?.grpcUrl;
export const modelsBucketName = modelsBucket?.bucket.bucket;
/** s3://bucket/prefix/ the BERT pods serve from (the compile Job writes there when the stack builds the model). */
export const bertModelLocation = bertModel === undefined ? undefined : pulumi.interpolate`s3://${bertModel.bucket}/${bertModel.prefix}`;
export const bertModelBuildJob = bert instanceof BertTritonService ? bert.buildJobName : undefined;
export const bertModelBuilderRoleArn = roles.bertModelBuilderRole?.arn;
