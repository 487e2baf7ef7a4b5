// Kubernetes namespaces and service accounts that carry AWS identities (EKS Pod Identity).
// The platform binds an IAM role to each; the workloads create the namespace and service account.

export interface WorkloadIdentity {
    namespace: string;
    serviceAccount: string;
}

/**
 * The video DaemonSet pod: the worker container and the model-fetch init container share this
 * service account, so its role carries both permission sets (a pod has one service account).
 */
export const VIDEO_WORKER_IDENTITY: WorkloadIdentity = { namespace: "video", serviceAccount: "video-worker" };

/** The BERT serving Deployment (Triton or TF Serving): its init container reads the model from S3. */
export const BERT_SERVING_IDENTITY: WorkloadIdentity = { namespace: "bert", serviceAccount: "bert-serving" };

/** The BERT model compile Job: writes the traced model to the stack's models bucket. */
export const BERT_MODEL_BUILDER_IDENTITY: WorkloadIdentity = { namespace: "bert", serviceAccount: "bert-model-builder" };
