// The model-fetch init container: the worker image running dist/model-fetch/index.js.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { containerSecurityContext, resources, type ModelSpec, type ResourceSpec } from "./common";
import { MODELS_MOUNT } from "./tf-serving";

/** Where images/worker/Dockerfile puts the bundles. */
export const MODEL_FETCH_ENTRYPOINT = ["node", "/app/model-fetch/index.js"];
export const WORKER_ENTRYPOINT = ["node", "/app/worker/index.js"];

export const DEFAULT_MODEL_FETCH_RESOURCES: ResourceSpec = {
    cpuRequest: "250m",
    memoryRequest: "256Mi",
    cpuLimit: "1",
    memoryLimit: "512Mi",
};

export interface ModelFetchContainerArgs {
    /** The image carrying dist/model-fetch (images/worker). */
    image: pulumi.Input<string>;
    /** The model: its s3:// (or file) URI, name and version. */
    model: ModelSpec;
    /** Volume the model is written into (shared with the model server). */
    modelsVolume: string;
    /** The AWS region of the model's bucket. */
    region: pulumi.Input<string>;
    /** A Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; without it the Pod Identity credentials apply. */
    credentialsSecretName?: pulumi.Input<string>;
    /** Requests and limits; default DEFAULT_MODEL_FETCH_RESOURCES. */
    resources?: ResourceSpec;
}

export function modelFetchInitContainer(args: ModelFetchContainerArgs): k8s.types.input.core.v1.Container {
    const version = args.model.version ?? 1;
    if (!Number.isInteger(version) || version < 1)
        throw new pulumi.InputPropertyError({
            propertyPath: "model.version",
            reason: `model.version must be a positive integer, got ${version}`,
        });
    const container: k8s.types.input.core.v1.Container = {
        name: "model-fetch",
        image: args.image,
        command: MODEL_FETCH_ENTRYPOINT,
        env: [
            { name: "MODEL_URI", value: args.model.uri },
            { name: "MODEL_DIR", value: `${MODELS_MOUNT}/${args.model.name}` },
            { name: "MODEL_VERSION", value: String(version) },
            { name: "AWS_REGION", value: args.region },
        ],
        resources: resources(args.resources ?? DEFAULT_MODEL_FETCH_RESOURCES),
        securityContext: containerSecurityContext(),
        volumeMounts: [{ name: args.modelsVolume, mountPath: MODELS_MOUNT }],
    };
    if (args.credentialsSecretName !== undefined) {
        container.envFrom = [{ secretRef: { name: args.credentialsSecretName } }];
    }
    return container;
}
