// BERT on TF Serving (Neuron, NVIDIA or CPU): a Deployment behind a ClusterIP Service, the model synced
// from S3 by an init container at pod start.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BERT_SERVING_IDENTITY } from "../identities";
import {
    appLabels,
    podSecurityContext,
    requireDnsLabel,
    requireScheduling,
    TF_SERVING_GRPC_PORT,
    TF_SERVING_REST_PORT,
    type AcceleratorRequest,
    type BatchingSpec,
    type ModelSpec,
    type ResourceSpec,
    type Scheduling, workloadNamespace } from "./common";
import { modelFetchInitContainer } from "./model-fetch";
import { BATCHING_FILE, batchingParametersText, tfServingContainer } from "./tf-serving";

/** Static AWS keys, only when the user set them as Pulumi secrets; otherwise EKS Pod Identity is used. */
export interface StaticCredentials {
    accessKeyId: pulumi.Output<string>;
    secretAccessKey: pulumi.Output<string>;
}

export interface BertInferenceArgs {
    provider: k8s.Provider;
    /** The TF Serving image for the profile (images/tf-serving-neuron / -neuronx / -nvidia / -cpu). */
    modelServerImage: pulumi.Input<string>;
    /** The worker image, whose model-fetch bundle runs as the init container. */
    modelFetchImage: pulumi.Input<string>;
    replicas: number;
    /** The BERT node group's nodeSelector and tolerations. */
    scheduling: Scheduling;
    /** e.g. { resourceName: "aws.amazon.com/neuron", count: 1 }; undefined for cpu. */
    accelerator?: AcceleratorRequest;
    /** The (Neuron-compiled, for inf1/inf2) SavedModel. */
    model: ModelSpec;
    /** Server-side batching; off when undefined (the latency client sends one request at a time). */
    batching?: BatchingSpec;
    region: pulumi.Input<string>;
    staticCredentials?: StaticCredentials;
    resources?: { modelServer?: ResourceSpec; modelFetch?: ResourceSpec };
    /** Seconds TF Serving may take to load the model before the pod is restarted; default 900. */
    modelLoadBudgetSeconds?: number;
    priorityClassName?: pulumi.Input<string>;
    /** Defaults to the fixed identity the platform binds an IAM role to (infra/identities.ts). */
    namespace?: string;
    serviceAccountName?: string;
}

export const DEFAULT_BERT_MODEL_SERVER_RESOURCES: ResourceSpec = { cpuRequest: "2", memoryRequest: "6Gi", memoryLimit: "8Gi" };

const SERVICE_NAME = "bert-serving";
const VOLUMES = { models: "models", batching: "batching-config", serverTmp: "tf-serving-tmp" } as const;

export class BertInferenceService extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    /** `<service>.<namespace>.svc.cluster.local` */
    readonly dnsName: pulumi.Output<string>;
    readonly grpcPort = TF_SERVING_GRPC_PORT;
    readonly httpPort = TF_SERVING_REST_PORT;
    /** e.g. for the latency client: grpc://bert-serving.bert.svc.cluster.local:8500 */
    readonly grpcUrl: pulumi.Output<string>;
    /** Only when staticCredentials were given. */
    readonly credentialsSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: BertInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:workloads:BertInferenceService", name, {}, opts);
        const namespaceName = args.namespace ?? BERT_SERVING_IDENTITY.namespace;
        const serviceAccountName = args.serviceAccountName ?? BERT_SERVING_IDENTITY.serviceAccount;
        requireDnsLabel("namespace", namespaceName);
        requireDnsLabel("model.name", args.model.name);
        requireScheduling(`${name} (BertInferenceService)`, args.scheduling);
        if (!Number.isInteger(args.replicas) || args.replicas < 1) throw new Error(`replicas must be a positive integer, got ${args.replicas}`);
        const labels = appLabels("bert-serving", "model-server");
        const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };

        const { namespace: ns, serviceAccount: sa, inNamespace } =
            workloadNamespace(name, namespaceName, serviceAccountName, labels.all, childOpts);

        let credentialsSecretName: pulumi.Output<string> | undefined;
        if (args.staticCredentials !== undefined) {
            const secret = new k8s.core.v1.Secret(
                `${name}-aws-credentials`,
                {
                    metadata: { namespace: namespaceName, labels: labels.all },
                    type: "Opaque",
                    stringData: {
                        AWS_ACCESS_KEY_ID: pulumi.secret(args.staticCredentials.accessKeyId),
                        AWS_SECRET_ACCESS_KEY: pulumi.secret(args.staticCredentials.secretAccessKey),
                    },
                },
                { ...inNamespace, additionalSecretOutputs: ["data", "stringData"] },
            );
            credentialsSecretName = secret.metadata.name;
            this.credentialsSecret = secret;
        }

        let batchingConfigName: pulumi.Output<string> | undefined;
        if (args.batching !== undefined) {
            const batching = new k8s.core.v1.ConfigMap(
                `${name}-batching`,
                { metadata: { namespace: namespaceName, labels: labels.all }, data: { [BATCHING_FILE]: batchingParametersText(args.batching) } },
                inNamespace,
            );
            batchingConfigName = batching.metadata.name;
        }

        const volumes: k8s.types.input.core.v1.Volume[] = [
            { name: VOLUMES.models, emptyDir: { sizeLimit: "8Gi" } },
            { name: VOLUMES.serverTmp, emptyDir: { sizeLimit: "1Gi" } },
        ];
        if (batchingConfigName !== undefined) volumes.push({ name: VOLUMES.batching, configMap: { name: batchingConfigName } });

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: SERVICE_NAME, namespace: namespaceName, labels: labels.all },
                spec: {
                    replicas: args.replicas,
                    selector: { matchLabels: labels.selector },
                    // Accelerators are scarce: replace one pod at a time rather than needing a spare device
                    // for a surge pod (with one replica that means a short gap during a rollout).
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
                    template: {
                        metadata: { labels: labels.all },
                        spec: {
                            serviceAccountName: sa.metadata.name,
                            automountServiceAccountToken: false,
                            nodeSelector: args.scheduling.nodeSelector,
                            tolerations: args.scheduling.tolerations,
                            priorityClassName: args.priorityClassName,
                            securityContext: podSecurityContext(),
                            terminationGracePeriodSeconds: 30,
                            // Spread replicas over nodes so one node's loss keeps the service up.
                            topologySpreadConstraints: [
                                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels.selector } },
                            ],
                            initContainers: [
                                modelFetchInitContainer({
                                    image: args.modelFetchImage,
                                    model: args.model,
                                    modelsVolume: VOLUMES.models,
                                    region: args.region,
                                    credentialsSecretName,
                                    resources: args.resources?.modelFetch,
                                }),
                            ],
                            containers: [
                                tfServingContainer({
                                    image: args.modelServerImage,
                                    modelName: args.model.name,
                                    batchingVolume: batchingConfigName !== undefined ? VOLUMES.batching : undefined,
                                    modelsVolume: VOLUMES.models,
                                    tmpVolume: VOLUMES.serverTmp,
                                    resources: args.resources?.modelServer ?? DEFAULT_BERT_MODEL_SERVER_RESOURCES,
                                    accelerator: args.accelerator,
                                    modelLoadBudgetSeconds: args.modelLoadBudgetSeconds ?? 900,
                                }),
                            ],
                            volumes,
                        },
                    },
                },
            },
            inNamespace,
        );

        // With one replica, minAvailable 1 keeps the only server up during voluntary evictions: a node
        // drain then waits until the budget is lifted or replicas are raised (say so at preview).
        if (args.replicas === 1) {
            pulumi.log.warn(
                "BERT runs 1 replica: its PodDisruptionBudget (minAvailable 1) blocks draining that node until replicas > 1.",
                this,
            );
        }
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            {
                metadata: { name: SERVICE_NAME, namespace: namespaceName, labels: labels.all },
                spec: { selector: { matchLabels: labels.selector }, ...(args.replicas > 1 ? { maxUnavailable: 1 } : { minAvailable: 1 }) },
            },
            { ...inNamespace, dependsOn: [ns, deployment] },
        );

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: SERVICE_NAME, namespace: namespaceName, labels: labels.all },
                spec: {
                    type: "ClusterIP",
                    selector: labels.selector,
                    ports: [
                        // gRPC is HTTP/2 over cleartext: kubernetes.io/h2c is the standard appProtocol for it.
                        { name: "grpc", port: TF_SERVING_GRPC_PORT, targetPort: "grpc", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
                        { name: "http", port: TF_SERVING_REST_PORT, targetPort: "http", protocol: "TCP", appProtocol: "http" },
                    ],
                },
            },
            inNamespace,
        );

        this.namespace = ns.metadata.name;
        this.serviceName = service.metadata.name;
        this.dnsName = pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
        this.grpcUrl = pulumi.interpolate`grpc://${this.dnsName}:${TF_SERVING_GRPC_PORT}`;
        this.registerOutputs({ namespace: this.namespace, serviceName: this.serviceName, dnsName: this.dnsName, grpcUrl: this.grpcUrl });
    }
}
