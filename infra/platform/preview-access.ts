// Read-only Kubernetes access for the role the pull-request preview assumes (README, "Review and deploy").
//
// What `pulumi preview --refresh` asks of the cluster, from pulumi-kubernetes (provider/pkg/provider/provider.go,
// helm_release.go and await/*.go, read at the 4.32/4.34 line):
// - Configure reads discovery and the OpenAPI schema. Every authenticated user may (system:discovery); an
//   IAM principal without an access entry is not authenticated at all (401), and the provider then marks the
//   cluster unreachable, which makes every Read fail ("failed to read resource state due to unreachable cluster").
// - Read (the refresh) GETs each object. For a Deployment it also LISTs the namespace's ReplicaSets, Pods and
//   PersistentVolumeClaims, for a DaemonSet and a Job their Pods, for a Service the Endpoints, to report
//   readiness. A helm.sh/v3 Release is read from Helm's own storage: a LIST of the Secrets labelled
//   owner=helm in the release's namespace (action.Get -> storage driver Query).
// - Diff is client-side (a merge patch of the pruned last live state against the new inputs). The previews of
//   Create and Update try a server-side apply dry run (PATCH with dryRun=All, which Kubernetes authorises with
//   the `patch` verb, as a real write) and, when that is Forbidden, fall back to the client-side result
//   (provider.go Create/Update: apierrors.IsForbidden). A Release's preview touches no cluster.
// So the preview role gets `get` and `list` on exactly those resources, and no write verb: pull-request code
// can read the objects this stack manages and change nothing. Secrets: only in the namespaces that hold a
// Release (Helm's records; RBAC cannot narrow a list by label, so it is every Secret of that namespace).
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Kubernetes group of the preview role's access entry (EKS refuses groups starting with system:, eks:, aws:, amazon:, iam:). */
export const PREVIEW_GROUP = "eks-inference-preview";

/** Read-only verbs: what Read uses (get, list); nothing that writes, not even a dry run. */
export const PREVIEW_VERBS = ["get", "list"] as const;

/**
 * What a refresh reads, cluster-wide: every kind this stack declares, plus what the provider lists to judge
 * readiness. A kind added to the program must be added here (infra/test/platform/preview-access.test.ts checks
 * every kind in every checked-in stack's plan).
 */
export const PREVIEW_READ_RULES: readonly { apiGroups: string[]; resources: string[] }[] = [
    {
        apiGroups: [""],
        resources: ["namespaces", "serviceaccounts", "configmaps", "services", "endpoints", "pods", "persistentvolumeclaims"],
    },
    { apiGroups: ["apps"], resources: ["deployments", "daemonsets", "replicasets"] },
    { apiGroups: ["batch"], resources: ["jobs"] },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"] },
    // This component's own objects, which the refresh reads too.
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles", "clusterrolebindings", "roles", "rolebindings"] },
];

export interface PreviewAccessArgs {
    /** The cluster the access entry is made in. */
    clusterName: pulumi.Input<string>;
    /** ARN of the IAM role the PR preview assumes (config previewRoleArn). */
    principalArn: string;
    /** Namespaces holding a helm.sh/v3 Release of this stack (their Secrets are Helm's release records). */
    helmReleaseNamespaces: string[];
    /** Physical name prefix of the RBAC objects (`<project>-<stack>`). */
    objectPrefix: string;
}

/**
 * An EKS access entry (type STANDARD, no access policy) putting the preview role in PREVIEW_GROUP, and
 * the RBAC objects that let that group read what a refresh reads. Needs the aws and kubernetes providers.
 */
export class PreviewAccess extends pulumi.ComponentResource {
    readonly accessEntry: aws.eks.AccessEntry;
    readonly clusterRoleName: string;

    constructor(name: string, args: PreviewAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:PreviewAccess", name, {}, opts);
        const child = { parent: this };
        this.accessEntry = new aws.eks.AccessEntry(
            `${name}-entry`,
            { clusterName: args.clusterName, principalArn: args.principalArn, type: "STANDARD", kubernetesGroups: [PREVIEW_GROUP] },
            child,
        );
        const subjects = [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: PREVIEW_GROUP }];
        const labels = { "app.kubernetes.io/part-of": "eks-inference", "app.kubernetes.io/component": "preview-access" };

        this.clusterRoleName = `${args.objectPrefix}-preview-read`;
        const clusterRole = new k8s.rbac.v1.ClusterRole(
            `${name}-read`,
            {
                metadata: { name: this.clusterRoleName, labels },
                rules: PREVIEW_READ_RULES.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: [...PREVIEW_VERBS] })),
            },
            child,
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-read`,
            {
                metadata: { name: this.clusterRoleName, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name },
                subjects,
            },
            child,
        );
        for (const namespace of [...new Set(args.helmReleaseNamespaces)].sort()) {
            const helmRecords = new k8s.rbac.v1.Role(
                `${name}-helm-records-${namespace}`,
                {
                    metadata: { name: `${args.objectPrefix}-preview-helm-records`, namespace, labels },
                    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: [...PREVIEW_VERBS] }],
                },
                child,
            );
            new k8s.rbac.v1.RoleBinding(
                `${name}-helm-records-${namespace}`,
                {
                    metadata: { name: `${args.objectPrefix}-preview-helm-records`, namespace, labels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: helmRecords.metadata.name },
                    subjects,
                },
                child,
            );
        }
        this.registerOutputs({ accessEntryPrincipal: args.principalArn, clusterRoleName: this.clusterRoleName });
    }
}
