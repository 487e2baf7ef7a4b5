// The BERT service as one component: where the model lives (the stack's models bucket and compile Job,
// or the user's bertModelUri), the serving and compile Pod Identity roles, and the server behind its
// Services: Triton (default) or the pinned legacy TF Serving Neuron.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BertConfig, PlatformConfig } from "../config/config";
import type { AcceleratorRequest, Scheduling } from "../kube/common";
import { monitoringScrapers } from "../kube/network-policies";
import { BERT_MODEL_BUILDER_IDENTITY, BERT_SERVING_IDENTITY } from "../platform/identities";
import { formerWorkloadRolesParent, podIdentityRole } from "../platform/pod-identity";
import type { BertAccess } from "./access";
import { bertModelBuilderPolicy, bertServingPolicy } from "./iam";
import { ModelsBucket } from "./models-bucket";
import { compiledModelPrefix } from "./settings";
import { BertInferenceService } from "./tf-serving-service";
import { BertTritonService } from "./triton-service";

/** Inf2: each Neuron device has 2 NeuronCores; Triton runs one model instance per core. */
const NEURON_CORES_PER_INF2_DEVICE = 2;

/** The Triton build target of a BERT accelerator. */
export function bertTarget(bert: Pick<BertConfig, "accelerator">): "cpu" | "neuronx" {
    return bert.accelerator === "cpu" ? "cpu" : "neuronx";
}

/**
 * Where the serving pods read the model: the user's prefix (as a key prefix) or archive (legacy tf-serving, one
 * object), or the stack's own key. An https archive (legacy tf-serving) needs no S3 read; the serving role then
 * keeps read access to the stack's own models bucket key only (a role policy needs a statement).
 */
function modelLocation(bert: BertConfig, modelsBucket: ModelsBucket): { bucket: pulumi.Input<string>; prefix: string; objectKey?: string } {
    if (bert.modelS3 !== undefined) {
        const { bucket, prefix, objectKey } = bert.modelS3;
        return {
            bucket,
            prefix: prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`,
            ...(objectKey !== undefined ? { objectKey } : {}),
        };
    }
    return {
        bucket: modelsBucket.bucket.bucket,
        prefix: compiledModelPrefix({
            modelId: bert.modelId,
            sequenceLength: bert.sequenceLength,
            batchSizes: bert.batchSizes,
            target: bertTarget(bert),
        }),
    };
}

export interface BertServiceArgs {
    /** The stack's validated configuration (bert, region, protectData and who may call it; no defaults here). */
    config: Pick<PlatformConfig, "region" | "bert" | "protectData" | "access">;
    /** The EKS cluster the Pod Identity associations are made in. Required. */
    clusterName: pulumi.Input<string>;
    /** Triton: the triton image of the target. TF Serving: the tf-serving image of the profile. Required. */
    serverImage: pulumi.Input<string>;
    /** TF Serving only: the image whose model-fetch program fills the model volume (images/worker). Required with bertServer 'tf-serving'; unused (default undefined) with Triton. */
    modelFetchImage?: pulumi.Input<string>;
    /** The BERT node group's nodeSelector and tolerations. Required. */
    scheduling: Scheduling;
    /** Neuron devices per pod; undefined (the default) for cpu. */
    accelerator?: AcceleratorRequest;
    /** Where the compile Job runs (the general nodes); required when the stack compiles the model. */
    buildScheduling: Scheduling;
    /** What the Pod Identity associations wait for (the Pod Identity agent add-on); default none. */
    podIdentityDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** What the pods wait for besides their own roles (nodes, add-ons); default none. */
    clusterReady?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Needs the `aws` and `kubernetes` providers in `opts.providers`. Named after the stack (`<project>-<stack>`):
 * its parts keep the names they had as top-level resources (`<name>-models`, `<name>-bert`), and aliases let
 * a stack deployed before this component existed adopt them instead of replacing them.
 */
export class BertService extends pulumi.ComponentResource {
    readonly modelsBucket: ModelsBucket;
    /** Where the pods serve from (and the compile Job writes, when the stack builds the model). */
    readonly model: { bucket: pulumi.Input<string>; prefix: string; objectKey?: string };
    readonly servingRole: aws.iam.Role;
    readonly modelBuilderRole?: aws.iam.Role;
    readonly server: BertTritonService | BertInferenceService;
    readonly dnsName: pulumi.Output<string>;
    readonly headlessDnsName: pulumi.Output<string>;
    readonly grpcUrl: pulumi.Output<string>;
    /** The compile Job, when the stack builds the model. */
    readonly buildJobName?: string;

    constructor(name: string, args: BertServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:bert:BertService", name, {}, opts);
        const bert = args.config.bert;
        // Before this component these were top-level resources.
        const child = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
        const formerRole = { parent: this, aliases: [formerWorkloadRolesParent(name)] };

        // Triton without bertModelUri: the stack compiles the model into its own bucket, under a key that
        // names the model, its shapes and the toolchain. With bertModelUri (required for tf-serving): the user's.
        this.modelsBucket = new ModelsBucket(`${name}-models`, { protectData: args.config.protectData }, child);
        const model = modelLocation(bert, this.modelsBucket);
        this.model = model;
        const buildsModel = bert.server === "triton" && bert.modelUri === undefined;

        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const serving = podIdentityRole(
            `${name}-bert-serving`,
            {
                clusterName: args.clusterName,
                identity: BERT_SERVING_IDENTITY,
                policy: pulumi
                    .all([partition, model.bucket])
                    .apply(([part, bucket]) => JSON.stringify(bertServingPolicy(part, { ...model, bucket }))),
                dependsOn: args.podIdentityDependsOn,
            },
            formerRole,
        );
        this.servingRole = serving.role;
        const ready = [...(args.clusterReady ?? []), ...serving.ready];
        if (buildsModel) {
            const builder = podIdentityRole(
                `${name}-bert-model-builder`,
                {
                    clusterName: args.clusterName,
                    identity: BERT_MODEL_BUILDER_IDENTITY,
                    policy: pulumi
                        .all([partition, model.bucket])
                        .apply(([part, bucket]) => JSON.stringify(bertModelBuilderPolicy(part, { bucket, prefix: model.prefix }))),
                    dependsOn: args.podIdentityDependsOn,
                },
                formerRole,
            );
            this.modelBuilderRole = builder.role;
            ready.push(...builder.ready);
        }

        const onCluster = { ...child, dependsOn: ready };
        // Who may call the server: labelled pods in its namespace, the configured clients, the monitoring namespace (access.ts).
        const access: BertAccess = {
            clients: args.config.access.bertClients,
            metricsScrapers: monitoringScrapers(args.config.access.monitoringNamespace),
        };
        if (bert.server === "triton") {
            const triton = new BertTritonService(
                `${name}-bert`,
                {
                    image: args.serverImage,
                    replicas: bert.replicas,
                    scheduling: args.scheduling,
                    accelerator: args.accelerator,
                    instances: args.accelerator === undefined ? 1 : args.accelerator.count * NEURON_CORES_PER_INF2_DEVICE,
                    model: {
                        name: bert.modelName,
                        sequenceLength: bert.sequenceLength,
                        batchSizes: bert.batchSizes,
                        target: bertTarget(bert),
                        ...model,
                    },
                    build: buildsModel ? { modelId: bert.modelId, scheduling: args.buildScheduling } : undefined,
                    region: args.config.region,
                    access,
                },
                onCluster,
            );
            this.buildJobName = triton.buildJobName;
            this.server = triton;
        } else {
            if (args.modelFetchImage === undefined) {
                throw new pulumi.InputPropertyError({
                    propertyPath: "modelFetchImage",
                    reason: "bertServer 'tf-serving' needs the worker image for its model-fetch init container",
                });
            }
            this.server = new BertInferenceService(
                `${name}-bert`,
                {
                    modelServerImage: args.serverImage,
                    modelFetchImage: args.modelFetchImage,
                    replicas: bert.replicas,
                    scheduling: args.scheduling,
                    accelerator: args.accelerator,
                    model: { name: bert.modelName, uri: bert.modelUri as string },
                    region: args.config.region,
                    access,
                },
                onCluster,
            );
        }
        this.dnsName = this.server.dnsName;
        this.headlessDnsName = this.server.headlessDnsName;
        this.grpcUrl = this.server.grpcUrl;

        this.registerOutputs({
            modelsBucketName: this.modelsBucket.bucket.bucket,
            servingRoleArn: this.servingRole.arn,
            grpcUrl: this.grpcUrl,
        });
    }
}
