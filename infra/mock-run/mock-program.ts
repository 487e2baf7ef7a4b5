// Child process of mock-run.ts: runs infra/index.ts under pulumi.runtime.setMocks with realistic
// resource outputs, then writes every recorded resource and the stack outputs as JSON.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import type { RecordedResource } from "./mock-run";
import {
    MOCK_ACCOUNT,
    MOCK_CALLER_ARN,
    mockCallerIdentity,
    MOCK_EC2_QUOTAS,
    MockSubnet,
    MockWorld,
    NAME_PROPERTY,
    UNKNOWN_AT_PREVIEW,
    isAutoNamed,
    mockOfferedInZone,
    mockZones,
    physicalName,
} from "./mock-world";

const ACCOUNT = MOCK_ACCOUNT;
const stack = process.env.MOCK_RUN_STACK ?? "test";
const resultFile = process.env.MOCK_RUN_RESULT;
const fullConfig = JSON.parse(process.env.PULUMI_CONFIG ?? "{}") as Record<string, string>;
const region = fullConfig["aws:region"] ?? "us-west-2";
/** `pulumi preview`: the providers know inputs and names, not what only exists after apply. */
const preview = process.env.MOCK_RUN_PREVIEW === "true";
const world = JSON.parse(process.env.MOCK_RUN_WORLD ?? "{}") as MockWorld;
/** The stack's state before this run, when the run stands for an update of a deployed stack. */
const prior: RecordedResource[] = process.env.MOCK_RUN_PRIOR
    ? (JSON.parse(fs.readFileSync(process.env.MOCK_RUN_PRIOR, "utf8")) as RecordedResource[])
    : [];
const priorByUrn = new Map(prior.map((r) => [r.urn, r]));

type State = Record<string, unknown>;

function service(type: string): string {
    return /^aws:([a-z0-9]+)\//.exec(type)?.[1] ?? "unknown";
}

/** Outputs the real providers would compute, for the resources whose outputs the program reads. */
function computedState(type: string, resourceName: string, inputs: State): State {
    // Explicit names win; otherwise the provider's auto-name (resource name + 7 hex).
    const name = physicalName(type, resourceName, inputs) ?? resourceName;
    const arn = `arn:aws:${service(type)}:${region}:${ACCOUNT}:${name}`;
    switch (type) {
        case "aws:sqs/queue:Queue":
            return { arn: `arn:aws:sqs:${region}:${ACCOUNT}:${name}`, url: `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${name}`, name };
        case "aws:s3/bucket:Bucket": {
            const bucket = name;
            return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` };
        }
        case "aws:iam/role:Role": {
            const path = typeof inputs.path === "string" ? inputs.path : "/";
            return { name, arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`, uniqueId: `AROA${resourceName.length}` };
        }
        case "aws:kms/key:Key":
            return { arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${name}`, keyId: `${name}-key-id` };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            // The version numbers are set in newResource (launchTemplateVersion): they depend on the state.
            return { arn };
        case "aws:eks/nodeGroup:NodeGroup":
            // EKS names the Auto Scaling group eks-<node group name>-<node group uuid>.
            return {
                nodeGroupName: name,
                arn: `arn:aws:eks:${region}:${ACCOUNT}:nodegroup/${String(inputs.clusterName)}/${name}/0123abcd-4567-89ab-cdef-0123456789ab`,
                resources: [
                    { autoscalingGroups: [{ name: `eks-${name}-0123abcd-4567-89ab-cdef-0123456789ab` }], remoteAccessSecurityGroupId: "" },
                ],
                status: "ACTIVE",
            };
        case "aws:ecr/repository:Repository":
            return {
                arn: `arn:aws:ecr:${region}:${ACCOUNT}:repository/${String(inputs.name)}`,
                registryId: ACCOUNT,
                repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${String(inputs.name)}`,
            };
        case "docker-build:index:Image": {
            // As the provider's Create: the digest exists only once the image is exported (push), and
            // `ref` is the first tag with that digest. The digest follows the (content-hash) tags.
            const tags = (inputs.tags as string[] | undefined) ?? [];
            if (inputs.push !== true) return { digest: "", ref: tags[0] ?? "" };
            const digest = `sha256:${createHash("sha256").update(JSON.stringify(tags)).digest("hex")}`;
            return { digest, ref: tags[0] === undefined ? "" : `${tags[0]}@${digest}` };
        }
        case "aws:lambda/function:Function":
            return {
                arn: `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`,
                invokeArn: `arn:aws:apigateway:${region}:lambda:path/${name}`,
                name,
            };
        case "aws:cloudwatch/logGroup:LogGroup":
            return { arn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:${name}`, name };
        case "aws:sns/topic:Topic":
            return { arn: `arn:aws:sns:${region}:${ACCOUNT}:${name}`, name };
        case "eks:index:Cluster": {
            const clusterName = name;
            const kubeconfig = {
                apiVersion: "v1",
                kind: "Config",
                clusters: [
                    { name: clusterName, cluster: { server: `https://${clusterName}.eks.example`, "certificate-authority-data": "Q0E=" } },
                ],
                contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
                "current-context": "aws",
                users: [
                    {
                        name: "aws",
                        user: {
                            exec: {
                                apiVersion: "client.authentication.k8s.io/v1beta1",
                                command: "aws",
                                args: ["eks", "get-token", "--cluster-name", clusterName],
                            },
                        },
                    },
                ],
            };
            const eksCluster = {
                name: clusterName,
                arn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${clusterName}`,
                endpoint: `https://${clusterName}.eks.example`,
                version: inputs.version,
                certificateAuthority: { data: "Q0E=" },
                vpcConfig: { clusterSecurityGroupId: "sg-cluster0123", vpcId: inputs.vpcId },
                identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/0123` }] }],
            };
            return {
                kubeconfig,
                kubeconfigJson: JSON.stringify(kubeconfig),
                eksCluster,
                clusterSecurityGroupId: "sg-cluster0123",
                core: {
                    cluster: eksCluster,
                    endpoint: eksCluster.endpoint,
                    vpcId: inputs.vpcId,
                    subnetIds: inputs.privateSubnetIds,
                    kubeconfig,
                },
            };
        }
        default:
            if (type.startsWith("kubernetes:") && typeof inputs.metadata === "object" && inputs.metadata !== null) {
                const metadata = inputs.metadata as State;
                return { metadata: { ...metadata, name: metadata.name ?? `${name}-0123abcd` } };
            }
            if (!type.startsWith("aws:")) return {};
            return physicalName(type, resourceName, inputs) === undefined ? { arn } : { arn, name };
    }
}

/** What a preview knows of a new resource: its inputs and its name (auto-names are chosen at preview). */
function previewState(type: string, resourceName: string, inputs: State): State {
    const prop = NAME_PROPERTY[type];
    const name = physicalName(type, resourceName, inputs);
    return prop !== undefined && name !== undefined && type.startsWith("aws:") ? { ...inputs, [prop]: name } : { ...inputs };
}

/** Inputs as recorded: values unknown at preview become the marker string UNKNOWN. */
function recordable(value: unknown): unknown {
    if (pulumi.isUnknown(value)) return UNKNOWN;
    if (Array.isArray(value)) return value.map(recordable);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, recordable(v)]));
    return value;
}

const UNKNOWN = UNKNOWN_AT_PREVIEW;
const resources: RecordedResource[] = [];
const unmockedCalls: string[] = [];
const calls = new Set<string>();
const parents = new Map<string, string>();
const ignoredChanges = new Map<string, string[]>();
const dependencies = new Map<string, string[]>();
const aliases = new Map<string, string[]>();

/** What the engine knows of a registration besides its inputs: URN, aliases, options (keyed by type::name). */
interface Registration {
    urn: string;
    custom: boolean;
    aliasUrns: string[];
    propertyDependencies: Record<string, string[]>;
    options: NonNullable<RecordedResource["options"]>;
}
const registrations = new Map<string, Registration>();
/** The mock monitor's URN of each registered resource -> the engine's URN (full chain of parent types). */
const engineUrns = new Map<string, string>();
/** Engine URN -> its resolved aliases (children inherit them, as the engine's step generator does). */
const engineAliases = new Map<string, string[]>();
const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";
const PROJECT = "eks-inference";

function urnParts(urn: string): { qualifiedType: string; name: string } {
    const [, , qualifiedType = "", ...rest] = urn.split("::");
    return { qualifiedType, name: rest.join("::") };
}

/** resource.NewURN: the parent's qualified type, `$`, the type; nothing in front for the root stack or no parent. */
function engineUrn(type: string, name: string, parentUrn: string | undefined): string {
    const prefix = `urn:pulumi:${stack}::${PROJECT}::`;
    if (parentUrn === undefined || parentUrn === "") return `${prefix}${type}::${name}`;
    const parentType = urnParts(parentUrn).qualifiedType;
    if (parentType === ROOT_STACK_TYPE) return `${prefix}${type}::${name}`;
    return `${prefix}${parentType}$${type}::${name}`;
}

/** A parent URN as the program passed it (a mock URN of a registered resource, or one built with createUrn). */
function asEngineUrn(urn: string): string {
    return engineUrns.get(urn) ?? urn;
}

interface AliasMessage {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}

/**
 * The engine's alias resolution (pkg/resource/deploy/step_generator.go, collapseAliasToUrn and
 * generateAliases): each spec becomes a URN (its name and type default to the resource's, its parent to the
 * resource's parent), and for every alias of the parent the child gets one under that alias, its name's
 * parent-name prefix swapped for the alias's name (inheritedChildAlias).
 */
function resolveAliases(type: string, name: string, parentUrn: string | undefined, list: AliasMessage[]): string[] {
    const out = new Set<string>();
    const explicit: { name: string; type: string }[] = [];
    for (const alias of list) {
        const spec = alias.getSpec();
        if (alias.getUrn() !== "" || spec === undefined) {
            out.add(alias.getUrn());
            const parts = urnParts(alias.getUrn());
            explicit.push({ name: parts.name, type: parts.qualifiedType.split("$").pop() ?? type });
            continue;
        }
        const aliasName = spec.getName() || name;
        const aliasType = spec.getType() || type;
        const aliasParent = spec.getNoparent() ? undefined : spec.getParenturn() ? asEngineUrn(spec.getParenturn()) : parentUrn;
        out.add(engineUrn(aliasType, aliasName, aliasParent));
        explicit.push({ name: aliasName, type: aliasType });
    }
    if (parentUrn !== undefined) {
        const parentName = urnParts(parentUrn).name;
        for (const parentAlias of engineAliases.get(parentUrn) ?? []) {
            const under = (childType: string, childName: string): string => {
                const aliasName = childName.startsWith(parentName)
                    ? urnParts(parentAlias).name + childName.slice(parentName.length)
                    : childName;
                return engineUrn(childType, aliasName, parentAlias);
            };
            out.add(under(type, name));
            for (const e of explicit) out.add(under(e.type, e.name));
        }
    }
    return [...out].filter((u) => u !== "");
}

/** The value at a property path (`a.b[0].c`), or undefined. */
function pathSegments(p: string): (string | number)[] {
    const segments: (string | number)[] = [];
    for (const part of p.split(".")) {
        const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
        if (m === null) {
            segments.push(part);
            continue;
        }
        if (m[1] !== "") segments.push(m[1] as string);
        for (const idx of (m[2] ?? "").match(/\d+/g) ?? []) segments.push(Number(idx));
    }
    return segments;
}
function getPath(value: unknown, segments: (string | number)[]): unknown {
    let cur = value;
    for (const s of segments) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
}
function setPath(target: State, segments: (string | number)[], value: unknown): void {
    let cur: Record<string | number, unknown> = target;
    segments.forEach((s, i) => {
        if (i === segments.length - 1) {
            if (value === undefined) delete cur[s];
            else cur[s] = value;
            return;
        }
        const next = cur[s];
        if (next === null || typeof next !== "object") cur[s] = typeof segments[i + 1] === "number" ? [] : {};
        cur = cur[s] as Record<string | number, unknown>;
    });
}

/** The state's copy of a resource: by its URN, else by the first of its aliases the state holds. */
function priorOf(registration: Registration | undefined): RecordedResource | undefined {
    if (registration === undefined) return undefined;
    return priorByUrn.get(registration.urn) ?? registration.aliasUrns.map((u) => priorByUrn.get(u)).find((r) => r !== undefined);
}

/**
 * processIgnoreChanges: for a resource the stack already has, every ignoreChanges path keeps its old value,
 * so the provider is given (and the program reads back) what the state holds, not what the program declared.
 */
function withIgnoredChangesKept(inputs: State, registration: Registration | undefined, ignore: string[] | undefined): State {
    if (ignore === undefined || ignore.length === 0) return inputs;
    const old = priorOf(registration);
    if (old === undefined) return inputs;
    const kept: State = structuredClone(inputs);
    for (const p of ignore) setPath(kept, pathSegments(p), structuredClone(getPath(old.inputs, pathSegments(p))));
    return kept;
}

/**
 * The launch template data attributes (Pulumi names) whose change makes the AWS provider's Update create a new
 * launch template version (terraform-provider-aws internal/service/ec2/ec2_launch_template.go,
 * resourceLaunchTemplateUpdate `updateKeys`); tags of the template itself are not among them.
 */
const LAUNCH_TEMPLATE_DATA = [
    "blockDeviceMappings",
    "capacityReservationSpecification",
    "cpuOptions",
    "creditSpecification",
    "description",
    "disableApiStop",
    "disableApiTermination",
    "ebsOptimized",
    "elasticGpuSpecifications",
    "elasticInferenceAccelerator",
    "enclaveOptions",
    "hibernationOptions",
    "iamInstanceProfile",
    "imageId",
    "instanceInitiatedShutdownBehavior",
    "instanceMarketOptions",
    "instanceRequirements",
    "instanceType",
    "kernelId",
    "keyName",
    "licenseSpecifications",
    "metadataOptions",
    "monitoring",
    "networkInterfaces",
    "placement",
    "privateDnsNameOptions",
    "ramDiskId",
    "securityGroupNames",
    "tagSpecifications",
    "userData",
    "vpcSecurityGroupIds",
] as const;

/**
 * A launch template's latest version as the provider reports it: 1 when created; on an update, the state's
 * version, plus one when the template's data changed (CreateLaunchTemplateVersion). What a node group takes
 * as its launchTemplate.version, so a data change rolls the group onto the new version (UpdateNodegroupVersion).
 */
function launchTemplateVersion(old: RecordedResource | undefined, recorded: State): number {
    if (old === undefined) return 1;
    const before = typeof old.outputs?.latestVersion === "number" ? old.outputs.latestVersion : 1;
    const changed = LAUNCH_TEMPLATE_DATA.some((k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(recorded[k]));
    return changed ? before + 1 : before;
}

/** Assets as the engine compares them: by content hash (a FileAsset's path is not part of its identity). */
async function assetsByContent(value: unknown): Promise<unknown> {
    if (pulumi.asset.Asset.isInstance(value)) {
        const file = value as pulumi.asset.FileAsset;
        if (file.path !== undefined) {
            const p = await file.path;
            return { fileAsset: fs.existsSync(p) ? createHash("sha256").update(fs.readFileSync(p)).digest("hex") : "(missing)" };
        }
        const text = value as pulumi.asset.StringAsset;
        if (text.text !== undefined)
            return {
                stringAsset: createHash("sha256")
                    .update(await text.text)
                    .digest("hex"),
            };
        return { asset: "(unsupported)" };
    }
    if (pulumi.asset.Archive.isInstance(value)) {
        const archive = value as pulumi.asset.AssetArchive;
        if (archive.assets !== undefined) {
            const assets = await archive.assets;
            const entries = await Promise.all(Object.entries(assets).map(async ([k, v]) => [k, await assetsByContent(v)] as const));
            return { archive: Object.fromEntries(entries) };
        }
        return { archive: "(unsupported)" };
    }
    const plain: unknown = value;
    if (Array.isArray(plain)) return Promise.all(plain.map(assetsByContent));
    if (plain !== null && typeof plain === "object") {
        const entries = await Promise.all(Object.entries(plain).map(async ([k, v]) => [k, await assetsByContent(v)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}

/**
 * A failed invoke as the engine reports it: a gRPC error whose `details` is the provider's message (the
 * SDK rethrows `new Error(err.details)`, so a plain Error would reach the program with an empty message).
 */
function providerError(message: string): Error {
    return Object.assign(new Error(message), { details: message });
}

const mocks: pulumi.runtime.Mocks = {
    async newResource(args) {
        const key = `${args.type}::${args.name}`;
        const parent = parents.get(key);
        const ignoreChanges = ignoredChanges.get(key);
        const dependsOn = dependencies.get(key);
        const aliasUrns = aliases.get(key);
        const registration = registrations.get(key);
        const inputs = withIgnoredChangesKept((args.inputs ?? {}) as State, registration, ignoreChanges);
        const awsName = physicalName(args.type, args.name, inputs);
        const id = args.type.startsWith("pulumi:providers:") ? `${args.name}-provider-id` : `${args.name}-id`;
        const recorded = recordable(await assetsByContent(inputs)) as State;
        const launchTemplate =
            args.type === "aws:ec2/launchTemplate:LaunchTemplate" && (!preview || priorOf(registration) !== undefined)
                ? { latestVersion: launchTemplateVersion(priorOf(registration), recorded) }
                : undefined;
        resources.push({
            type: args.type,
            name: args.name,
            inputs: recorded,
            ...(launchTemplate !== undefined ? { outputs: launchTemplate } : {}),
            ...(awsName !== undefined ? { physicalName: awsName, autoNamed: isAutoNamed(args.type, inputs) } : {}),
            ...(parent ? { parent } : {}),
            ...(ignoreChanges ? { ignoreChanges } : {}),
            ...(dependsOn ? { dependsOn } : {}),
            ...(aliasUrns ? { aliases: aliasUrns } : {}),
            urn: registration?.urn ?? engineUrn(args.type, args.name, undefined),
            custom: args.custom !== false,
            ...(args.custom !== false ? { id } : {}),
            ...(registration !== undefined && registration.aliasUrns.length > 0 ? { aliasUrns: registration.aliasUrns } : {}),
            ...(registration !== undefined && Object.keys(registration.propertyDependencies).length > 0
                ? { propertyDependencies: registration.propertyDependencies }
                : {}),
            ...(registration !== undefined && Object.keys(registration.options).length > 0 ? { options: registration.options } : {}),
        });
        if (args.type.startsWith("pulumi:providers:")) return { id, state: inputs };
        // A preview has no IDs, ARNs or other outputs of resources it would create; a resource the state already
        // has keeps its ID and outputs (the engine previews a same or an update step from the old outputs).
        if (preview && priorOf(registration) === undefined) return { id: undefined, state: previewState(args.type, args.name, inputs) };
        // updateDefaultVersion makes every new version the default (ModifyLaunchTemplate); otherwise it stays 1 here.
        const versions =
            launchTemplate === undefined
                ? {}
                : {
                      latestVersion: launchTemplate.latestVersion,
                      defaultVersion: inputs.updateDefaultVersion === true ? launchTemplate.latestVersion : 1,
                  };
        return { id, state: { ...inputs, ...computedState(args.type, args.name, inputs), ...versions } };
    },
    call(args) {
        calls.add(args.token);
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                // An assumed-role session by default, as in CI and SSO: the principal is the role that issued it.
                return mockCallerIdentity(world.callerArn ?? MOCK_CALLER_ARN);
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
            case "aws:index/getRegion:getRegion":
                return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const excludeIds = (args.inputs.excludeZoneIds ?? []) as string[];
                const excludeNames = (args.inputs.excludeNames ?? []) as string[];
                const zones = (world.zones?.[region] ?? mockZones(region)).filter(
                    (z) => !excludeIds.includes(z.zoneId) && !excludeNames.includes(z.name),
                );
                return {
                    names: zones.map((z) => z.name),
                    zoneIds: zones.map((z) => z.zoneId),
                    groupNames: zones.map(() => region),
                    id: region,
                };
            }
            case "aws:ec2/getSubnets:getSubnets":
                return subnetsMatching(args.inputs as State);
            case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
                return instanceTypeOfferings(args.inputs as State);
            case "aws:eks/getClusters:getClusters":
                return {
                    names: [...new Set([...Object.keys(world.clusters ?? {}), ...Object.keys(world.accessEntries ?? {})])],
                    id: region,
                };
            case "aws:eks/getAccessEntry:getAccessEntry": {
                const id = `${String(args.inputs.clusterName)}:${String(args.inputs.principalArn)}`;
                if (world.accessEntryDenied?.includes(String(args.inputs.principalArn))) {
                    throw providerError(
                        `reading EKS Access Entry (${id}): operation error EKS: DescribeAccessEntry, https response error StatusCode: 403, ` +
                            `api error AccessDeniedException: User: ${world.callerArn ?? MOCK_CALLER_ARN} is not authorized to perform: eks:DescribeAccessEntry`,
                    );
                }
                const entry = world.accessEntries?.[String(args.inputs.clusterName)]?.find(
                    (e) => e.principalArn === args.inputs.principalArn,
                );
                // The provider turns ResourceNotFoundException into a NotFoundError: "couldn't find resource".
                if (entry === undefined) throw providerError(`reading EKS Access Entry (${id}): couldn't find resource`);
                // access_entry_datasource.go sets `tags` from DescribeAccessEntry; `tags_all` is never filled.
                return {
                    clusterName: args.inputs.clusterName,
                    principalArn: entry.principalArn,
                    tags: entry.tags,
                    tagsAll: {},
                    type: "STANDARD",
                    id,
                };
            }
            case "aws:eks/getNodeGroups:getNodeGroups": {
                const name = String(args.inputs.clusterName);
                const exists = world.clusters?.[name] !== undefined || world.accessEntries?.[name] !== undefined;
                const groups = exists ? (world.clusters?.[name] ?? []) : undefined;
                if (groups === undefined)
                    throw providerError(`ResourceNotFoundException: No cluster found for name: ${String(args.inputs.clusterName)}`);
                return {
                    clusterName: args.inputs.clusterName,
                    names: groups.map((g) => g.nodeGroupName),
                    id: String(args.inputs.clusterName),
                };
            }
            case "aws:eks/getNodeGroup:getNodeGroup": {
                const group = world.clusters?.[String(args.inputs.clusterName)]?.find((g) => g.nodeGroupName === args.inputs.nodeGroupName);
                if (group === undefined)
                    throw providerError(`ResourceNotFoundException: No node group found for name: ${String(args.inputs.nodeGroupName)}`);
                return {
                    clusterName: args.inputs.clusterName,
                    nodeGroupName: group.nodeGroupName,
                    subnetIds: group.subnetIds ?? [],
                    instanceTypes: group.instanceTypes ?? [],
                    amiType: group.amiType ?? "",
                    capacityType: group.capacityType ?? "",
                    scalingConfigs: [{ minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize }],
                    resources: [{ autoscalingGroups: [{ name: `eks-${group.nodeGroupName}-live` }], remoteAccessSecurityGroupId: "" }],
                    id: `${String(args.inputs.clusterName)}:${group.nodeGroupName}`,
                };
            }
            case "aws:autoscaling/getGroup:getGroup": {
                const group = Object.values(world.clusters ?? {})
                    .flat()
                    .find((g) => `eks-${g.nodeGroupName}-live` === args.inputs.name);
                if (group === undefined) throw providerError(`couldn't find resource: Auto Scaling Group ${String(args.inputs.name)}`);
                return {
                    name: args.inputs.name,
                    desiredCapacity: group.asgDesiredCapacity ?? group.desiredSize,
                    minSize: group.minSize,
                    maxSize: group.maxSize,
                    id: args.inputs.name,
                };
            }
            case "aws:servicequotas/getServiceQuota:getServiceQuota":
                return serviceQuota(args.inputs as State);
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return {
                    userName: "AWS",
                    password: "mock-ecr-password",
                    authorizationToken: "QVdTOm1vY2s=",
                    proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${region}.amazonaws.com`,
                    id: region,
                };
            default:
                unmockedCalls.push(args.token);
                return {};
        }
    },
};

/**
 * aws.servicequotas.getServiceQuota as the provider answers it (service_quota_data_source.go): by code, it
 * first calls GetAWSDefaultServiceQuota (an unknown code or a refusal fails the read), then
 * GetServiceQuota, whose NoSuchResourceException (the account never changed the quota) leaves `value` at
 * the default.
 */
function serviceQuota(inputs: State): State {
    const serviceCode = String(inputs.serviceCode);
    const code = String(inputs.quotaCode);
    const label = `getting Default Service Quota for (${serviceCode}/${code})`;
    if (world.serviceQuotasDenied === true)
        throw providerError(
            `${label}: operation error Service Quotas: GetAWSDefaultServiceQuota, https response error StatusCode: 400, ` +
                `api error AccessDeniedException: User: ${world.callerArn ?? MOCK_CALLER_ARN} is not authorized to perform: servicequotas:GetAWSDefaultServiceQuota`,
        );
    const quota = serviceCode === "ec2" ? (world.serviceQuotas ?? MOCK_EC2_QUOTAS)[code] : undefined;
    if (quota === undefined)
        throw providerError(
            `${label}: operation error Service Quotas: GetAWSDefaultServiceQuota, https response error StatusCode: 400, ` +
                `api error NoSuchResourceException: The request failed because the specified service quota does not exist.`,
        );
    const arn = `arn:aws:servicequotas:${region}:${ACCOUNT}:${serviceCode}/${code}`;
    return {
        adjustable: true,
        arn,
        defaultValue: quota.defaultValue,
        globalQuota: false,
        quotaCode: code,
        quotaName: quota.name,
        serviceCode,
        serviceName: "Amazon Elastic Compute Cloud (Amazon EC2)",
        region,
        usageMetrics: [
            {
                metricName: "ResourceCount",
                metricNamespace: "AWS/Usage",
                metricStatisticRecommendation: "Maximum",
                metricDimensions: [{ class: "Standard/OnDemand", resource: "vCPU", service: "EC2", type: "Resource" }],
            },
        ],
        value: quota.value ?? quota.defaultValue,
        id: arn,
    };
}

/**
 * DescribeSubnets with the filters the program uses (subnet-id, vpc-id, tag:<key>): a subnet matches when, for
 * every filter, one of its values matches; no match is an empty list, not an error (aws_subnets data source).
 */
function subnetsMatching(inputs: State): State {
    const filters = (inputs.filters ?? []) as { name: string; values: string[] }[];
    const field = (s: MockSubnet, name: string): string | undefined => {
        if (name === "subnet-id") return s.id;
        if (name === "vpc-id") return s.vpcId;
        if (name.startsWith("tag:")) return s.tags[name.slice(4)];
        throw new Error(`mock getSubnets: filter ${name} is not modelled`);
    };
    const ids = (world.subnets ?? []).filter((s) => filters.every((f) => f.values.includes(field(s, f.name) ?? "\u0000"))).map((s) => s.id);
    return { ids, id: region };
}

/** DescribeInstanceTypeOfferings with the instance-type and location filters the program uses. */
function instanceTypeOfferings(inputs: State): State {
    if (inputs.locationType !== "availability-zone-id")
        throw new Error("the mock answers instance type offerings by availability-zone-id only");
    const filters = (inputs.filters ?? []) as { name: string; values: string[] }[];
    const types = filters.find((f) => f.name === "instance-type")?.values;
    const locations = filters.find((f) => f.name === "location")?.values;
    const zoneIds = (world.zones?.[region] ?? mockZones(region))
        .map((z) => z.zoneId)
        .filter((id) => locations === undefined || locations.includes(id));
    const out = { instanceTypes: [] as string[], locations: [] as string[], locationTypes: [] as string[] };
    for (const zoneId of zoneIds) {
        const offered = world.offerings?.[zoneId];
        for (const type of types ?? offered ?? []) {
            if (offered !== undefined ? offered.includes(type) : mockOfferedInZone(region, zoneId, type)) {
                out.instanceTypes.push(type);
                out.locations.push(zoneId);
                out.locationTypes.push("availability-zone-id");
            }
        }
    }
    return { ...out, id: region };
}

interface PatchableMonitor {
    registerResource(
        req: {
            getType(): string;
            getName(): string;
            getParent(): string;
            getCustom(): boolean;
            getIgnorechangesList(): string[];
            getDependenciesList(): string[];
            getAliasesList(): AliasMessage[];
            getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
            getDeletebeforereplace(): boolean;
            getProtect(): boolean | undefined;
            getRetainondelete(): boolean | undefined;
            getReplaceonchangesList(): string[];
            getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
        },
        callback: (error: unknown, response: { getUrn(): string } | undefined) => void,
    ): unknown;
}

let written = false;
function write(result: object): void {
    written = true;
    if (resultFile === undefined) process.stdout.write(JSON.stringify(result));
    else fs.writeFileSync(resultFile, JSON.stringify(result));
}

/** What the program logged with pulumi.log.warn (under mocks the SDK has no engine and writes `warning: [runtime] ...`). */
const warnings: string[] = [];
const consoleWarn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(" ");
    const logged = /^warning: \[runtime\] ([\s\S]*)$/.exec(text);
    if (logged !== null) warnings.push(logged[1]);
    consoleWarn(...args);
};

const asyncErrors: string[] = [];
process.on("unhandledRejection", (reason) => asyncErrors.push(reason instanceof Error ? reason.message : String(reason)));
process.on("uncaughtException", (error) => asyncErrors.push(error.message));
// An error thrown inside an apply leaves the outputs that depend on it pending forever: the event loop
// drains with main() unfinished. Report the program's error then (before the runtime's leak check exits).
process.on("beforeExit", () => {
    if (!written) write({ error: asyncErrors.length > 0 ? asyncErrors.join("\n") : "the program never finished (pending outputs)" });
});

/** The parts of the SDK's Output implementation that say whether a value is known (apply never runs on unknowns). */
interface OutputInternals<T> {
    isKnown: Promise<boolean>;
    promise(withUnknowns?: boolean): Promise<T>;
}

async function resolved<T>(o: pulumi.Output<T>): Promise<unknown> {
    const internals = o as unknown as OutputInternals<T>;
    const [known, value] = await Promise.all([internals.isKnown, internals.promise(true)]);
    return known ? recordable(value) : UNKNOWN;
}

async function main(): Promise<void> {
    await pulumi.runtime.setMocks(mocks, "eks-inference", stack, preview);
    // Record each resource's parent: the mock API does not pass it on, the monitor request has it.
    const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const key = `${req.getType()}::${req.getName()}`;
        if (req.getParent()) parents.set(key, req.getParent());
        if (req.getIgnorechangesList().length > 0) ignoredChanges.set(key, req.getIgnorechangesList());
        if (req.getDependenciesList().length > 0) dependencies.set(key, req.getDependenciesList());
        const aliasUrns = req
            .getAliasesList()
            .map((a) => a.getUrn())
            .filter((u) => u !== "");
        if (aliasUrns.length > 0) aliases.set(key, aliasUrns);

        const parentUrn = req.getParent() ? asEngineUrn(req.getParent()) : undefined;
        const urn = engineUrn(req.getType(), req.getName(), parentUrn);
        const resolvedAliases = resolveAliases(req.getType(), req.getName(), parentUrn, req.getAliasesList());
        engineAliases.set(urn, resolvedAliases);
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value, prop) => {
            const urns = value.getUrnsList().map(asEngineUrn);
            if (urns.length > 0) propertyDependencies[prop] = urns;
        });
        const options: Registration["options"] = {};
        if (req.getDeletebeforereplace()) options.deleteBeforeReplace = true;
        if (req.getProtect() === true) options.protect = true;
        if (req.getRetainondelete() === true) options.retainOnDelete = true;
        if (req.getReplaceonchangesList().length > 0) options.replaceOnChanges = req.getReplaceonchangesList();
        const timeouts = req.getCustomtimeouts();
        const givenTimeouts = Object.entries({
            create: timeouts?.getCreate(),
            update: timeouts?.getUpdate(),
            delete: timeouts?.getDelete(),
        }).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== "");
        if (givenTimeouts.length > 0) options.customTimeouts = Object.fromEntries(givenTimeouts);
        registrations.set(key, { urn, custom: req.getCustom(), aliasUrns: resolvedAliases, propertyDependencies, options });
        return register(req, (error, response) => {
            if (response !== undefined) engineUrns.set(response.getUrn(), urn);
            callback(error, response);
        });
    };

    let program: Record<string, unknown>;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after the mocks are set
        program = require("../index") as Record<string, unknown>;
    } catch (error) {
        write({ error: error instanceof Error ? error.message : String(error) });
        return;
    }
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, value] of Object.entries(program)) {
        const out = pulumi.output(value);
        outputs[name] = await resolved(out);
        if (await pulumi.isSecret(out)) secretOutputs.push(name);
    }
    await pulumi.runtime.disconnect();
    if (asyncErrors.length > 0) {
        write({ error: asyncErrors.join("\n") });
        return;
    }
    write({ stack, resources, outputs, secretOutputs, unmockedCalls, calls: [...calls].sort(), warnings });
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        write({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
    },
);
