// What each provider does with a changed resource, per resource type the program declares: which input
// properties force a replacement, whether the provider itself asks for delete-before-replace, what
// physical identity two live copies of the resource would fight over, and what data a delete must get rid of.
// The engine model (change-plan.ts) reads this table; a test fails when the program declares a type it lacks.
//
// Sources (property names below are the Pulumi names of these attributes):
// - AWS: terraform-provider-aws, the schema of each resource (ForceNew attributes, or RequiresReplace plan
//   modifiers for Plugin Framework resources), in internal/service/<service>/<file>.go as named per entry.
//   Read for this table: eks/node_group.go, eks/pod_identity_association.go, eks/addon.go, eks/cluster.go,
//   ecr/repository.go, ecr/lifecycle_policy.go, sqs/queue.go, s3/bucket.go. The others are the attributes
//   those files mark ForceNew as of the v6 provider behind @pulumi/aws 7.x.
//   pulumi-terraform-bridge pkg/tfbridge/provider.go Diff + schema.go nameRequiresDeleteBeforeReplace: a
//   replacement is delete-before-replace when the resource's auto-named property (its name) was set by the
//   program; otherwise create-before-delete, the new copy under a fresh random suffix.
// - Kubernetes: pulumi-kubernetes provider/pkg/provider/diff.go (forceNew per group/version/kind, plus
//   .metadata.name and .metadata.namespace for every kind) and provider.go Diff (delete-before-replace when
//   the object is named and keeps its name and namespace); ConfigMap data is immutable unless the provider
//   sets enableConfigMapMutable (ours does not). helm_release.go: a Release is replaced on name or namespace,
//   never delete-before-replace. provider.go DiffConfig: the provider is replaced when the kubeconfig's active
//   cluster changes (and then every object on it).
// - docker-build Image: pulumi-docker-build provider/internal/image.go Diff reports every change as an update
//   (a rebuild and push under the new tags); Delete removes only the digest it pushed.
// - @pulumi/eks Cluster (a remote component: one resource under mocks): nodejs/eks/cluster/cluster.ts passes
//   name, the service role, encryptionConfigKeyArn (encryption_config: ForceNew when removed) and the
//   network config to aws.eks.Cluster, whose name and role_arn are ForceNew (subnet_ids are updatable).
import type { RecordedResource } from "./mock-run";

type Inputs = Record<string, unknown>;

export interface ResourceRule {
    /** Input paths (dot-separated, array indices dropped) whose change makes the provider replace the resource. */
    replaceOn: readonly string[];
    /** Decides replacement itself instead of replaceOn (provider resources). */
    replaceWhen?: (before: Inputs, after: Inputs) => boolean;
    /**
     * The physical identity two copies would share (an AWS name, a Kubernetes namespace/kind/name, the one
     * policy a bucket can have), or undefined for resources AWS identifies by a generated id only.
     */
    identity?: (r: RecordedResource, inputs: Inputs) => string | undefined;
    /** The identity is a fresh random name on every create or replacement (the provider's auto-name). */
    autoNamed?: (r: RecordedResource, inputs: Inputs) => boolean;
    /** The provider asks for delete-before-replace (given the old and new inputs). */
    deleteBeforeReplace?: (before: Inputs, after: Inputs, r: RecordedResource) => boolean;
    /** The provider-assigned id is the name: a replacement under the same name keeps id and ARN. */
    idIsName?: boolean;
    /** What a delete must empty first, and the input that lets the provider do it. */
    holds?: { what: string; force: string };
    /** The file the rule comes from (documentation). */
    source: string;
}

const str = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** A bridged AWS resource: explicit name => the provider deletes before replacing and keeps the name. */
function aws(file: string, replaceOn: string[], extra: Partial<ResourceRule> & { identity?: ResourceRule["identity"] } = {}): ResourceRule {
    return {
        replaceOn,
        deleteBeforeReplace: (_b, _a, r) => r.physicalName !== undefined && r.autoNamed === false,
        autoNamed: (r) => r.autoNamed === true,
        ...extra,
        source: `terraform-provider-aws internal/service/${file}`,
    };
}
/** Identity from the resource's AWS name (explicit or auto). */
const byName =
    (kind: string) =>
    (r: RecordedResource): string | undefined =>
        r.physicalName === undefined ? undefined : `${kind}:${r.physicalName}`;
/** Identity from input properties (a singleton per parent, or a unique combination). */
const byInputs =
    (kind: string, ...props: string[]) =>
    (_r: RecordedResource, inputs: Inputs): string =>
        `${kind}:${props.map((p) => str(inputs[p])).join("/")}`;

/** Kubernetes: the forceNew paths of each kind (diff.go), beyond metadata.name/namespace. */
const K8S_FORCE_NEW: Readonly<Record<string, readonly string[]>> = {
    "apps/v1:Deployment": ["spec.selector"],
    "apps/v1:DaemonSet": ["spec.selector"],
    "batch/v1:Job": ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
    "core/v1:ConfigMap": ["data", "binaryData"],
    "core/v1:Secret": ["type", "data", "stringData"],
    "core/v1:Service": ["spec.clusterIP"],
    "core/v1:Namespace": [],
    "rbac.authorization.k8s.io/v1:ClusterRole": [],
    "rbac.authorization.k8s.io/v1:Role": [],
    "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ["roleRef"],
    "rbac.authorization.k8s.io/v1:RoleBinding": ["roleRef"],
    "core/v1:ServiceAccount": [],
    // policy/v1 has no entry in diff.go (only v1beta1 replaced on .spec).
    "policy/v1:PodDisruptionBudget": [],
    // networking.k8s.io has no entry in diff.go: a NetworkPolicy is updated in place.
    "networking.k8s.io/v1:NetworkPolicy": [],
};

function metadataOf(inputs: Inputs): { name?: string; namespace?: string } {
    const m = (inputs.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    return { name: typeof m.name === "string" ? m.name : undefined, namespace: typeof m.namespace === "string" ? m.namespace : undefined };
}

function kubernetes(kindKey: string): ResourceRule {
    const [groupVersion = "", kind = ""] = kindKey.split(":");
    const group = groupVersion.includes("/") ? groupVersion.split("/")[0] : "core";
    const clusterScoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(kind);
    return {
        replaceOn: ["metadata.name", "metadata.namespace", ...(K8S_FORCE_NEW[kindKey] ?? [])],
        // The Kubernetes API's identity: group, kind, namespace, name (apps/v1 and extensions/v1beta1 name the same object).
        identity: (_r, inputs) => {
            const m = metadataOf(inputs);
            return m.name === undefined ? undefined : `k8s:${group}/${kind}/${clusterScoped ? "" : (m.namespace ?? "default")}/${m.name}`;
        },
        autoNamed: (_r, inputs) => metadataOf(inputs).name === undefined,
        deleteBeforeReplace: (before, after) => {
            const a = metadataOf(after);
            const b = metadataOf(before);
            return a.name !== undefined && a.name === b.name && a.namespace === b.namespace;
        },
        source: "pulumi-kubernetes provider/pkg/provider/diff.go, provider.go Diff",
    };
}

/** The active cluster of a kubeconfig (server and CA), as DiffConfig's getActiveClusterFromConfig compares it. */
function activeCluster(kubeconfig: unknown): string {
    const text =
        typeof kubeconfig === "string"
            ? kubeconfig
            : kubeconfig !== null && typeof kubeconfig === "object" && "value" in kubeconfig
              ? String((kubeconfig as { value: unknown }).value)
              : "";
    try {
        const doc = JSON.parse(text) as {
            "current-context"?: string;
            contexts?: { name: string; context: { cluster: string } }[];
            clusters?: { name: string; cluster: unknown }[];
        };
        const context = doc.contexts?.find((c) => c.name === doc["current-context"]);
        return JSON.stringify(doc.clusters?.find((c) => c.name === context?.context.cluster) ?? null);
    } catch {
        return text;
    }
}

export const RESOURCE_RULES: Readonly<Record<string, ResourceRule>> = {
    // ---- Pulumi providers and components of other packages
    "pulumi:providers:aws": {
        // A stack lives in one region: a region change would move every resource (treated as a replacement).
        replaceOn: ["region"],
        source: "pulumi-aws provider configuration (one stack per region)",
    },
    "pulumi:providers:kubernetes": {
        replaceOn: [],
        replaceWhen: (b, a) => activeCluster(b.kubeconfig) !== activeCluster(a.kubeconfig),
        source: "pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig",
    },
    "docker-build:index:Image": { replaceOn: [], source: "pulumi-docker-build provider/internal/image.go Diff (updates only)" },
    "eks:index:Cluster": {
        replaceOn: ["name", "serviceRole", "roleArn", "kubernetesServiceIpAddressRange", "ipFamily", "bootstrapSelfManagedAddons"],
        // encryption_config: ForceNewIfChange when it is removed.
        replaceWhen: (b, a) => b.encryptionConfigKeyArn !== undefined && a.encryptionConfigKeyArn === undefined,
        identity: (_r, inputs) => `eks-cluster:${str(inputs.name)}`,
        deleteBeforeReplace: () => true,
        idIsName: true,
        source: "pulumi-eks nodejs/eks/cluster/cluster.ts -> terraform-provider-aws internal/service/eks/cluster.go",
    },

    // ---- AWS (the bucket's configuration resources are one per bucket: a second copy overwrites the first,
    // and deleting the old copy afterwards removes the configuration)
    "aws:autoscaling/policy:Policy": aws("autoscaling/policy.go", ["name", "autoscalingGroupName"], {
        identity: (r, i) => `asg-policy:${str(i.autoscalingGroupName)}/${r.physicalName ?? ""}`,
        idIsName: true,
    }),
    "aws:cloudwatch/dashboard:Dashboard": aws("cloudwatch/dashboard.go", ["dashboardName"], {
        identity: byName("dashboard"),
        idIsName: true,
    }),
    "aws:cloudwatch/eventRule:EventRule": aws("events/rule.go", ["name", "namePrefix", "eventBusName"], {
        identity: byName("event-rule"),
        idIsName: true,
    }),
    "aws:cloudwatch/eventTarget:EventTarget": aws("events/target.go", ["rule", "targetId", "eventBusName"], {
        // targetId is auto-named when not given (pulumi-aws resource overrides).
        identity: (_r, i) => (typeof i.targetId === "string" ? `event-target:${str(i.rule)}/${i.targetId}` : undefined),
    }),
    "aws:cloudwatch/logGroup:LogGroup": aws("logs/group.go", ["name", "namePrefix", "logGroupClass"], {
        identity: byName("log-group"),
        idIsName: true,
    }),
    "aws:cloudwatch/metricAlarm:MetricAlarm": aws("cloudwatch/metric_alarm.go", ["name"], { identity: byName("alarm"), idIsName: true }),
    "aws:ec2/eip:Eip": aws("ec2/ec2_eip.go", ["domain", "networkBorderGroup", "publicIpv4Pool", "address", "customerOwnedIpv4Pool"]),
    "aws:ec2/internetGateway:InternetGateway": aws("ec2/vpc_internet_gateway.go", [], {
        // A VPC takes one internet gateway (Resource.AlreadyAssociated for a second).
        identity: byInputs("vpc-internet-gateway", "vpcId"),
    }),
    "aws:ec2/launchTemplate:LaunchTemplate": aws("ec2/ec2_launch_template.go", ["name", "namePrefix"], {
        identity: byName("launch-template"),
    }),
    "aws:ec2/natGateway:NatGateway": aws("ec2/vpc_nat_gateway.go", ["allocationId", "subnetId", "connectivityType", "privateIp"], {
        // An Elastic IP is associated with one NAT gateway at a time.
        identity: byInputs("nat-elastic-ip", "allocationId"),
    }),
    "aws:ec2/routeTable:RouteTable": aws("ec2/vpc_route_table.go", ["vpcId"]),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": aws("ec2/vpc_route_table_association.go", ["subnetId", "gatewayId"], {
        // A subnet has one route table association.
        identity: byInputs("route-table-association", "subnetId"),
    }),
    "aws:ec2/securityGroup:SecurityGroup": aws("ec2/vpc_security_group.go", ["name", "namePrefix", "description", "vpcId"], {
        identity: (r, i) => (r.physicalName === undefined ? undefined : `security-group:${str(i.vpcId)}/${r.physicalName}`),
    }),
    "aws:ec2/subnet:Subnet": aws(
        "ec2/vpc_subnet.go",
        ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv6Native", "outpostArn", "ipv4IpamPoolId"],
        // Two subnets of one VPC cannot share a CIDR (InvalidSubnet.Conflict).
        { identity: byInputs("subnet", "vpcId", "cidrBlock") },
    ),
    "aws:ec2/vpc:Vpc": aws("ec2/vpc_.go", ["cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"]),
    "aws:ec2/vpcEndpoint:VpcEndpoint": aws("ec2/vpc_endpoint.go", ["vpcId", "serviceName", "vpcEndpointType", "serviceRegion"], {
        // One endpoint per service and VPC owns the service's private DNS name (and a gateway's routes).
        identity: byInputs("vpc-endpoint", "vpcId", "serviceName"),
    }),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": aws("ecr/lifecycle_policy.go", ["repository", "policy"], {
        // One policy per repository: a second PutLifecyclePolicy overwrites, the old copy's delete removes it.
        identity: byInputs("ecr-lifecycle-policy", "repository"),
    }),
    "aws:ecr/repository:Repository": aws("ecr/repository.go", ["name", "encryptionConfigurations"], {
        identity: byName("ecr-repository"),
        idIsName: true,
        holds: { what: "images (every pushed tag, and the buildcache tag no Image deletes)", force: "forceDelete" },
    }),
    // EKS keeps one access entry per principal (ResourceInUseException for a second).
    "aws:eks/accessEntry:AccessEntry": aws("eks/access_entry.go", ["clusterName", "principalArn", "type"], {
        identity: byInputs("eks-access-entry", "clusterName", "principalArn"),
    }),
    "aws:eks/addon:Addon": aws("eks/addon.go", ["addonName", "clusterName"], {
        identity: byInputs("eks-addon", "clusterName", "addonName"),
    }),
    "aws:eks/nodeGroup:NodeGroup": aws(
        "eks/node_group.go",
        [
            "amiType",
            "capacityType",
            "clusterName",
            "diskSize",
            "instanceTypes",
            "launchTemplate.id",
            "launchTemplate.name",
            "nodeGroupName",
            "nodeGroupNamePrefix",
            "nodeRoleArn",
            "remoteAccess",
            "subnetIds",
        ],
        { identity: (r, i) => (r.physicalName === undefined ? undefined : `eks-node-group:${str(i.clusterName)}/${r.physicalName}`) },
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": aws(
        "eks/pod_identity_association.go",
        ["clusterName", "namespace", "serviceAccount"],
        {
            // EKS keeps one association per service account.
            identity: byInputs("pod-identity-association", "clusterName", "namespace", "serviceAccount"),
        },
    ),
    "aws:iam/role:Role": aws("iam/role.go", ["name", "namePrefix", "path"], { identity: byName("iam-role"), idIsName: true }),
    "aws:iam/rolePolicy:RolePolicy": aws("iam/role_policy.go", ["name", "namePrefix", "role"], {
        identity: (r, i) => `iam-role-policy:${str(i.role)}/${r.physicalName ?? ""}`,
        idIsName: true,
    }),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": aws("iam/role_policy_attachment.go", ["role", "policyArn"], {
        // Attaching twice is one attachment: deleting the old copy detaches the policy from under the new one.
        identity: byInputs("iam-policy-attachment", "role", "policyArn"),
    }),
    "aws:kms/alias:Alias": aws("kms/alias.go", ["name", "namePrefix"], { identity: byName("kms-alias"), idIsName: true }),
    "aws:kms/key:Key": aws("kms/key.go", ["customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"]),
    "aws:lambda/function:Function": aws("lambda/function.go", ["name", "packageType"], { identity: byName("lambda"), idIsName: true }),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": aws(
        "lambda/function_event_invoke_config.go",
        ["functionName", "qualifier"],
        {
            identity: byInputs("lambda-event-invoke-config", "functionName", "qualifier"),
        },
    ),
    // No Update: every argument forces a new permission; statementId is generated when not given.
    "aws:lambda/permission:Permission": aws("lambda/permission.go", [
        "action",
        "eventSourceToken",
        "function",
        "functionUrlAuthType",
        "principal",
        "principalOrgId",
        "qualifier",
        "sourceAccount",
        "sourceArn",
        "statementId",
        "statementIdPrefix",
    ]),
    "aws:s3/bucket:Bucket": aws("s3/bucket.go", ["bucket", "bucketPrefix", "objectLockEnabled"], {
        identity: byName("s3-bucket"),
        idIsName: true,
        holds: { what: "objects", force: "forceDestroy" },
    }),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": aws(
        "s3/bucket_lifecycle_configuration.go",
        ["bucket", "expectedBucketOwner"],
        { identity: byInputs("s3-lifecycle-configuration", "bucket") },
    ),
    "aws:s3/bucketNotification:BucketNotification": aws("s3/bucket_notification.go", ["bucket"], {
        identity: byInputs("s3-notification", "bucket"),
    }),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": aws("s3/bucket_ownership_controls.go", ["bucket"], {
        identity: byInputs("s3-ownership-controls", "bucket"),
    }),
    "aws:s3/bucketPolicy:BucketPolicy": aws("s3/bucket_policy.go", ["bucket"], { identity: byInputs("s3-bucket-policy", "bucket") }),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": aws("s3/bucket_public_access_block.go", ["bucket"], {
        identity: byInputs("s3-public-access-block", "bucket"),
    }),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": aws(
        "s3/bucket_server_side_encryption_configuration.go",
        ["bucket", "expectedBucketOwner"],
        { identity: byInputs("s3-encryption-configuration", "bucket") },
    ),
    "aws:sns/topic:Topic": aws("sns/topic.go", ["name", "namePrefix", "fifoTopic"], { identity: byName("sns-topic") }),
    "aws:sns/topicPolicy:TopicPolicy": aws("sns/topic_policy.go", ["arn"], { identity: byInputs("sns-topic-policy", "arn") }),
    "aws:sns/topicSubscription:TopicSubscription": aws("sns/topic_subscription.go", ["topic", "protocol", "endpoint"], {
        identity: byInputs("sns-subscription", "topic", "protocol", "endpoint"),
    }),
    "aws:sqs/queue:Queue": aws("sqs/queue.go", ["name", "namePrefix", "fifoQueue"], { identity: byName("sqs-queue"), idIsName: true }),
    "aws:sqs/queuePolicy:QueuePolicy": aws("sqs/queue_policy.go", ["queueUrl"], { identity: byInputs("sqs-queue-policy", "queueUrl") }),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": aws("ec2/vpc_security_group_ingress_rule.go", ["securityGroupId"], {
        // The same rule twice is InvalidPermission.Duplicate.
        identity: byInputs(
            "security-group-rule",
            "securityGroupId",
            "ipProtocol",
            "fromPort",
            "toPort",
            "cidrIpv4",
            "referencedSecurityGroupId",
        ),
    }),

    // ---- Kubernetes
    "kubernetes:apps/v1:DaemonSet": kubernetes("apps/v1:DaemonSet"),
    "kubernetes:apps/v1:Deployment": kubernetes("apps/v1:Deployment"),
    "kubernetes:batch/v1:Job": kubernetes("batch/v1:Job"),
    "kubernetes:core/v1:ConfigMap": kubernetes("core/v1:ConfigMap"),
    "kubernetes:core/v1:Namespace": kubernetes("core/v1:Namespace"),
    "kubernetes:core/v1:Service": kubernetes("core/v1:Service"),
    "kubernetes:core/v1:ServiceAccount": kubernetes("core/v1:ServiceAccount"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": kubernetes("rbac.authorization.k8s.io/v1:ClusterRole"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": kubernetes("rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": kubernetes("rbac.authorization.k8s.io/v1:Role"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": kubernetes("rbac.authorization.k8s.io/v1:RoleBinding"),
    "kubernetes:policy/v1:PodDisruptionBudget": kubernetes("policy/v1:PodDisruptionBudget"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": kubernetes("networking.k8s.io/v1:NetworkPolicy"),
    "kubernetes:helm.sh/v3:Release": {
        replaceOn: ["name", "namespace"],
        identity: (_r, i) => (typeof i.name === "string" ? `helm-release:${str(i.namespace ?? "default")}/${i.name}` : undefined),
        autoNamed: (_r, i) => typeof i.name !== "string",
        source: "pulumi-kubernetes provider/pkg/provider/helm_release.go Diff",
    },
};

/** Component resources (this project's and the SDK's) exist only in the state: nothing to replace or collide. */
export function isComponent(r: RecordedResource): boolean {
    return !r.custom;
}

export function ruleFor(type: string): ResourceRule | undefined {
    return RESOURCE_RULES[type];
}
