// eks-inference: the architecture. Config -> platform (network, cluster, node groups, add-ons, images)
// -> the video pipeline and the BERT service (each one component, each behind its feature switch) -> outputs.
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { bertTarget, BertService } from "./bert/service";
import { readConfig } from "./config/config";
import { GENERAL_NODE_LABELS, PROFILES, Workload, nodeSelector, tolerations } from "./platform/accelerators";
import { Addons } from "./platform/addons";
import { Cluster } from "./platform/cluster";
import { devicePluginsFor } from "./platform/device-plugins";
import { BERT_TRITON_IMAGE, ImageName, Images, SERVING_IMAGE } from "./platform/images";
import { Network } from "./platform/network";
import { nodePools } from "./platform/node-pools";
import { PreviewAccess } from "./platform/preview-access";
import { checkVcpuQuotas } from "./platform/quotas";
import { stackImages } from "./platform/stack-images";
import { VideoPipeline } from "./video/pipeline";

const config = readConfig();
const baseName = `${config.project}-${config.stack}`;

// Every AWS resource gets project/stack tags through the provider.
const stackTags = { project: config.project, stack: config.stack, "managed-by": "pulumi" };
const awsProvider = new aws.Provider("aws", {
    region: config.region as aws.Region,
    defaultTags: { tags: stackTags },
});
const withAws: pulumi.ComponentResourceOptions = { providers: { aws: awsProvider } };

// EC2 vCPU quotas against the node groups' maximum sizes: a warning per quota that cannot fit (or cannot be read).
const vcpuQuotaCheck = checkVcpuQuotas(
    [
        { group: "general", instanceTypes: [config.general.instanceType], capacityType: "ON_DEMAND", ...config.general.sizing },
        ...(["video", "bert"] as const)
            .filter((w) => config[w].enabled)
            .map((w) => ({
                group: w,
                instanceTypes: config[w].nodes.instanceTypes,
                capacityType: config[w].nodes.capacityType,
                ...config[w].nodes.sizing,
            })),
    ],
    config.region,
    { provider: awsProvider },
);

const network = new Network(
    baseName,
    {
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
    },
    withAws,
);

const cluster = new Cluster(
    baseName,
    {
        clusterName: baseName,
        kubernetesVersion: config.kubernetesVersion,
        supportType: config.supportType,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        adminPrincipalArns: config.cluster.adminPrincipalArns,
        ...(config.cluster.previewRoleArn !== undefined ? { previewRoleArn: config.cluster.previewRoleArn } : {}),
        stackTags,
        logTypes: config.cluster.logTypes,
        publicAccessCidrs: config.cluster.publicAccessCidrs,
        logRetentionDays: config.cluster.logRetentionDays,
    },
    withAws,
);
network.allowHttpsFrom(`${baseName}-endpoints-from-nodes`, cluster.clusterSecurityGroupId);

// The CNI and the Pod Identity agent come before any node: nodes need the CNI to become Ready, and the
// CNI gets its credentials through the agent (its role is not on the nodes).
const addons = new Addons(baseName, { clusterName: cluster.name, clusterComponentName: baseName }, withAws);

const {
    nodeRole,
    general: generalNodes,
    video: videoNodes,
    bert: bertNodes,
} = nodePools(
    baseName,
    {
        config,
        clusterName: cluster.name,
        network,
        liveLookupClusterName: baseName,
        dependsOn: [addons.vpcCni, addons.podIdentityAgent],
    },
    withAws,
);
addons.addCoreDns([generalNodes]);

const images = new Images(
    baseName,
    {
        repositoryPrefix: `${config.project}/${config.stack}`,
        images: stackImages(config),
        tagPrefix: config.images.tag,
        keepImages: config.images.keepImages,
    },
    withAws,
);

// ---- Kubernetes: device plugins, then the two workloads ----------------------------------------
const k8sProvider = new k8s.Provider("k8s", { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true });
const onK8s: pulumi.ComponentResourceOptions = { providers: { aws: awsProvider, kubernetes: k8sProvider } };
// Pods need nodes and DNS (and their own Pod Identity roles, which each workload adds) before they start.
const clusterReady: pulumi.Resource[] = [generalNodes, addons, ...(videoNodes ? [videoNodes] : []), ...(bertNodes ? [bertNodes] : [])];
const workloadBase = { clusterName: cluster.name, podIdentityDependsOn: [addons.podIdentityAgent], clusterReady };
const devicePlugins = devicePluginsFor(baseName, config, { ...onK8s, dependsOn: clusterReady });
// The PR preview's role reads what a refresh reads (previewRoleArn; README, "Review and deploy").
if (config.cluster.previewRoleArn !== undefined)
    new PreviewAccess(
        `${baseName}-preview-access`,
        {
            clusterName: cluster.name,
            principalArn: config.cluster.previewRoleArn,
            // Both device-plugin charts install into kube-system, where Helm keeps their release records.
            helmReleaseNamespaces: devicePlugins.length > 0 ? ["kube-system"] : [],
            objectPrefix: baseName,
        },
        onK8s,
    );

// Each workload is one component: a feature switch is one `if`.
let video: VideoPipeline | undefined;
if (videoNodes !== undefined)
    video = new VideoPipeline(
        baseName,
        {
            ...workloadBase,
            config,
            bertEnabled: config.bert.enabled,
            asgName: videoNodes.asgName,
            workerImage: imageRef("worker"),
            modelServerImage: imageRef(SERVING_IMAGE[config.video.nodes.profile.name]),
            ...scheduling("video"),
        },
        onK8s,
    );

let bert: BertService | undefined;
if (bertNodes !== undefined)
    bert = new BertService(
        baseName,
        {
            ...workloadBase,
            config,
            serverImage: imageRef(
                config.bert.server === "triton"
                    ? BERT_TRITON_IMAGE[bertTarget(config.bert)]
                    : SERVING_IMAGE[config.bert.nodes.profile.name],
            ),
            modelFetchImage: config.bert.server === "triton" ? undefined : imageRef("worker"),
            ...scheduling("bert"),
            buildScheduling: compileJobScheduling(),
        },
        onK8s,
    );

/**
 * Where the compile Job runs. On inf2: on the BERT nodes (it requests no Neuron device). Its image is the
 * serving image, Triton + torch-neuronx + neuronx-cc (~17-20 GB unpacked), which those nodes pull anyway,
 * on a root volume sized for it (acceleratedVolumeGiB, default 100, at least 60 with a compile, see
 * config.ts), with room for the Job's 30 GiB of scratch (20 work + 10 tmp). On the general nodes (40 GiB
 * root) image plus scratch would exceed the disk and the kubelet would evict on DiskPressure.
 * On cpu: the BERT node (c7i.large, 4 GiB) cannot hold the Job's 4 GiB memory request beside the server,
 * so it stays on the general nodes with scratch sized for a TorchScript trace (triton-service.ts).
 */
function compileJobScheduling() {
    if (bertTarget(config.bert) === "neuronx") return scheduling("bert").scheduling;
    return { nodeSelector: { ...GENERAL_NODE_LABELS }, tolerations: [] };
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

// ---- Stack outputs ------------------------------------------------------------------------------
export const region = config.region;
export const clusterName = cluster.name;
export const kubeconfig = cluster.kubeconfigJson;
/** Per EC2 vCPU quota the node groups use: the vCPUs they need at min and max size, and the quota as read (null: unreadable). */
export const vcpuQuotas = pulumi.output(vcpuQuotaCheck);
export const vpcId = network.vpcId;
export const privateSubnetIds = network.privateSubnetIds;
export const nodeRoleArn = nodeRole.role.arn;
export const generalAsgName = generalNodes.asgName;
export const videoAsgName = videoNodes?.asgName;
export const bertAsgName = bertNodes?.asgName;
export const imageRefs = images.refs;
export const bucketName = video?.jobs.bucket.bucket;
export const inputPrefix = video?.jobs.inputPrefix;
export const resultsPrefix = video?.jobs.resultsPrefix;
export const jobQueueUrl = video?.jobs.queue.url;
export const deadLetterQueueUrl = video?.jobs.deadLetterQueue.url;
export const videoWorkerRoleArn = video?.workerRole.arn;
export const alarmTopicArn = video?.alarms.topicArn;
export const scalerFunctionName = video?.scaling.functionName;
export const scalingPolicyNames = video?.scaling.policyNames;
export const dashboardName = video?.dashboard.dashboardName;
export const videoDaemonSetName = video?.daemonSet.daemonSetName;
export const bertServingRoleArn = bert?.servingRole.arn;
export const bertServiceDns = bert?.dnsName;
export const bertHeadlessDns = bert?.headlessDnsName;
export const bertGrpcUrl = bert?.grpcUrl;
export const modelsBucketName = bert?.modelsBucket.bucket.bucket;
/**
 * Where the BERT pods get the model: s3://bucket/prefix/ (the compile Job writes there when the stack builds the model),
 * or with legacy tf-serving the one archive bertModelUri names (s3:// object or https:// URL).
 */
export const bertModelLocation =
    bert === undefined
        ? undefined
        : bert.model.objectKey !== undefined
          ? pulumi.interpolate`s3://${bert.model.bucket}/${bert.model.objectKey}`
          : config.bert.modelUri !== undefined && config.bert.modelS3 === undefined
            ? config.bert.modelUri
            : pulumi.interpolate`s3://${bert.model.bucket}/${bert.model.prefix}`;
export const bertModelBuildJob = bert?.buildJobName;
export const bertModelBuilderRoleArn = bert?.modelBuilderRole?.arn;
