// Legacy BERT on TF Serving Neuron (bertServer: tf-serving; inf2 or inf1 on a node group pinned to an AMI
// whose driver the final TF build runs on): a Deployment behind the BERT Services, the user's
// Neuron-compiled SavedModel synced from S3 by an init container at pod start. Credentials come only
// from the pod's EKS Pod Identity role.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BERT_SERVING_IDENTITY } from "../platform/identities";
import {
    appLabels,
    requireDnsLabel,
    requireScheduling,
    TF_SERVING_GRPC_PORT,
    TF_SERVING_REST_PORT,
    type AcceleratorRequest,
    type BatchingSpec,
    type ModelSpec,
    type ResourceSpec,
    type Scheduling,
    workloadNamespace,
} from "../kube/common";
import { BERT_SERVICE_NAME, bertFront } from "./front";
import { bertNetworkPolicies, NO_BERT_ACCESS, type BertAccess } from "./access";
import { bertDeploymentArgs } from "./deployment";
import { BERT_SERVER_COMPONENT_TYPES, serverChildOptions } from "./server-switch";
import { modelFetchInitContainer } from "../kube/model-fetch";
import { BATCHING_FILE, batchingParametersText, tfServingContainer } from "../kube/tf-serving";

export interface BertInferenceArgs {
    /** The TF Serving Neuron image (images/tf-serving-neuron for inf1, -neuronx for inf2). */
    modelServerImage: pulumi.Input<string>;
    /** The worker image, whose model-fetch bundle runs as the init container. */
    modelFetchImage: pulumi.Input<string>;
    /** Deployment replicas; at least 1. */
    replicas: number;
    /** The BERT node group's nodeSelector and tolerations. */
    scheduling: Scheduling;
    /** e.g. { resourceName: "aws.amazon.com/neuron", count: 1 }; undefined for cpu. */
    accelerator?: AcceleratorRequest;
    /** The (Neuron-compiled, for inf1/inf2) SavedModel. */
    model: ModelSpec;
    /** Server-side batching; off when undefined (the latency client sends one request at a time). */
    batching?: BatchingSpec;
    /** The AWS region the model-fetch init container reads S3 in. */
    region: pulumi.Input<string>;
    /** Requests and limits; default DEFAULT_BERT_MODEL_SERVER_RESOURCES for the server and the model-fetch defaults for the init container. */
    resources?: { modelServer?: ResourceSpec; modelFetch?: ResourceSpec };
    /** Seconds TF Serving may take to load the model before the pod is restarted; default 900. */
    modelLoadBudgetSeconds?: number;
    /** Pod priority class; default none (the cluster's default priority). */
    priorityClassName?: pulumi.Input<string>;
    /** Defaults to the fixed identity the platform binds an IAM role to (infra/platform/identities.ts). */
    namespace?: string;
    /** Defaults to the fixed identity the platform binds an IAM role to (BERT_SERVING_IDENTITY). */
    serviceAccountName?: string;
    /** Who may call the server besides labelled pods in its namespace (infra/bert/access.ts); default nobody else. */
    access?: BertAccess;
}

export const DEFAULT_BERT_MODEL_SERVER_RESOURCES: ResourceSpec = { cpuRequest: "2", memoryRequest: "6Gi", memoryLimit: "8Gi" };

const SERVICE_NAME = BERT_SERVICE_NAME;
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
    /** One A record per ready pod. */
    readonly headlessDnsName: pulumi.Output<string>;

    constructor(name: string, args: BertInferenceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BERT_SERVER_COMPONENT_TYPES["tf-serving"], name, {}, opts);
        const namespaceName = args.namespace ?? BERT_SERVING_IDENTITY.namespace;
        const serviceAccountName = args.serviceAccountName ?? BERT_SERVING_IDENTITY.serviceAccount;
        requireDnsLabel("namespace", namespaceName);
        requireDnsLabel("model.name", args.model.name);
        requireScheduling(`${name} (BertInferenceService)`, args.scheduling);
        if (!Number.isInteger(args.replicas) || args.replicas < 1)
            throw new pulumi.InputPropertyError({
                propertyPath: "replicas",
                reason: `replicas must be a positive integer, got ${args.replicas}`,
            });
        const labels = appLabels("bert-serving", "model-server");
        // The objects both servers declare stay the same objects when bertServer switches (server-switch.ts).
        const childOpts = serverChildOptions(this, name, "tf-serving", opts);

        const {
            namespace: ns,
            serviceAccount: sa,
            inNamespace,
        } = workloadNamespace(name, namespaceName, serviceAccountName, labels.all, childOpts);

        let batchingConfigName: pulumi.Output<string> | undefined;
        if (args.batching !== undefined) {
            const batching = new k8s.core.v1.ConfigMap(
                `${name}-batching`,
                {
                    metadata: { namespace: namespaceName, labels: labels.all },
                    data: { [BATCHING_FILE]: batchingParametersText(args.batching) },
                },
                inNamespace,
            );
            batchingConfigName = batching.metadata.name;
        }

        const volumes: k8s.types.input.core.v1.Volume[] = [
            { name: VOLUMES.models, emptyDir: { sizeLimit: "8Gi" } },
            { name: VOLUMES.serverTmp, emptyDir: { sizeLimit: "1Gi" } },
        ];
        if (batchingConfigName !== undefined) volumes.push({ name: VOLUMES.batching, configMap: { name: batchingConfigName } });

        // TF Serving has no separate metrics port.
        const networkPolicies = bertNetworkPolicies(
            name,
            {
                namespace: namespaceName,
                labels,
                apiPorts: [TF_SERVING_GRPC_PORT, TF_SERVING_REST_PORT],
                metricsPorts: [],
                access: args.access ?? NO_BERT_ACCESS,
            },
            inNamespace,
        );

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            bertDeploymentArgs({
                name: SERVICE_NAME,
                namespace: namespaceName,
                labels,
                replicas: args.replicas,
                serviceAccountName: sa.metadata.name,
                scheduling: args.scheduling,
                priorityClassName: args.priorityClassName,
                initContainers: [
                    modelFetchInitContainer({
                        image: args.modelFetchImage,
                        model: args.model,
                        modelsVolume: VOLUMES.models,
                        region: args.region,
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
            }),
            // The pods start once their way out (model-fetch's S3 read) is open.
            { ...inNamespace, dependsOn: [ns, ...networkPolicies] },
        );

        const front = bertFront(name, {
            namespace: namespaceName,
            labels,
            ports: [
                { name: "grpc", port: TF_SERVING_GRPC_PORT },
                { name: "http", port: TF_SERVING_REST_PORT },
            ],
            replicas: args.replicas,
            deployment,
            opts: inNamespace,
            warnOn: this,
        });

        this.namespace = ns.metadata.name;
        this.serviceName = front.service.metadata.name;
        this.dnsName = front.dnsName;
        this.headlessDnsName = front.headlessDnsName;
        this.grpcUrl = pulumi.interpolate`grpc://${this.dnsName}:${TF_SERVING_GRPC_PORT}`;
        this.registerOutputs({ namespace: this.namespace, serviceName: this.serviceName, dnsName: this.dnsName, grpcUrl: this.grpcUrl });
    }
}
