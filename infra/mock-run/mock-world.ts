// What the mocked AWS account looks like, shared by the mock program (which answers as the providers
// would) and the tests (which compute the names and zones they expect). Pure data and helpers.
import { createHash } from "crypto";
import { FAMILY_REGIONS, instanceFamily } from "../platform/accelerators";

export const MOCK_ACCOUNT = "123456789012";
/** How a recorded run writes a value the preview does not know yet (an output of a resource to be created). */
export const UNKNOWN_AT_PREVIEW = "<unknown until apply>";
/** The deploying principal: an assumed-role session, as in CI and most SSO set-ups. */
export const MOCK_CALLER_ARN = `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/Deployer/session`;

/**
 * What sts:GetCallerIdentity answers for a caller ARN, as AWS shapes it: the account is the ARN's, and UserId is
 * `<role id>:<session name>` for an assumed-role session (the ARN names the role without its path), the user's
 * id for an IAM user (AROA/AIDA + 17 characters, derived from the ARN here).
 */
export function mockCallerIdentity(arn: string): { accountId: string; arn: string; userId: string; id: string } {
    const uniqueId = (prefix: string, of: string) => prefix + createHash("sha256").update(of).digest("hex").slice(0, 17).toUpperCase();
    const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/.exec(arn);
    if (session) {
        const [, account, role, name] = session as unknown as [string, string, string, string];
        return { accountId: account, arn, userId: `${uniqueId("AROA", `${account}:${role}`)}:${name}`, id: account };
    }
    const user = /^arn:aws[a-z-]*:iam::(\d{12}):user\/(?:[^/]+\/)*([^/]+)$/.exec(arn);
    if (user) {
        const [, account, name] = user as unknown as [string, string, string];
        return { accountId: account, arn, userId: uniqueId("AIDA", `${account}:${name}`), id: account };
    }
    throw new Error(`mock caller ${arn}: expected an assumed-role session or an IAM user ARN (what GetCallerIdentity returns)`);
}

/**
 * The property that holds each resource type's AWS name. A resource given that input gets exactly
 * that name; without it the provider auto-names it `<resource name>-<7 random hex>`.
 */
export const NAME_PROPERTY: Readonly<Record<string, string>> = {
    "aws:sqs/queue:Queue": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/rolePolicy:RolePolicy": "name",
    "aws:lambda/function:Function": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:sns/topic:Topic": "name",
    "aws:autoscaling/policy:Policy": "name",
    "aws:ec2/launchTemplate:LaunchTemplate": "name",
    "aws:ec2/securityGroup:SecurityGroup": "name",
    "aws:eks/nodeGroup:NodeGroup": "nodeGroupName",
    "aws:ecr/repository:Repository": "name",
    "aws:kms/alias:Alias": "name",
    "aws:scheduler/schedule:Schedule": "name",
    // The @pulumi/eks component names its aws.eks.Cluster `<name>-eksCluster-<hex>` unless given `name`.
    "eks:index:Cluster": "name",
};

/** The 7 hex characters the provider would append (deterministic here, random in AWS). */
export function autoNameSuffix(type: string, name: string): string {
    return createHash("sha256").update(`${type}::${name}`).digest("hex").slice(0, 7);
}

/** The name AWS will show for a resource, or undefined for types that have no name (subnets, routes). */
export function physicalName(type: string, name: string, inputs: Record<string, unknown>): string | undefined {
    const prop = NAME_PROPERTY[type];
    if (prop === undefined) {
        // Other AWS types: an explicit `name` still wins (the provider never renames a given name).
        return typeof inputs.name === "string" ? inputs.name : undefined;
    }
    const given = inputs[prop];
    if (typeof given === "string" && given !== "") return given;
    const base = type === "eks:index:Cluster" ? `${name}-eksCluster` : name;
    const auto = `${base}-${autoNameSuffix(type, name)}`;
    return type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2" ? auto.toLowerCase() : auto;
}

/** Is this physical name one the provider generated (so AWS shows another random suffix)? */
export function isAutoNamed(type: string, inputs: Record<string, unknown>): boolean {
    const prop = NAME_PROPERTY[type];
    return prop !== undefined && !(typeof inputs[prop] === "string" && inputs[prop] !== "");
}

/** One zone of a region as EC2 DescribeAvailabilityZones reports it for this (mock) account. */
export interface MockZone {
    name: string;
    zoneId: string;
}

/**
 * Zone names map to zone IDs per account. These mappings are deliberately NOT in name order, and
 * each region lists the zone IDs EKS refuses (use1-az3, usw1-az2, cac1-az3) where it has them.
 */
export const MOCK_ZONES: Readonly<Record<string, readonly MockZone[]>> = {
    "us-east-1": [
        { name: "us-east-1a", zoneId: "use1-az3" },
        { name: "us-east-1b", zoneId: "use1-az6" },
        { name: "us-east-1c", zoneId: "use1-az1" },
        { name: "us-east-1d", zoneId: "use1-az2" },
        { name: "us-east-1e", zoneId: "use1-az5" },
        { name: "us-east-1f", zoneId: "use1-az4" },
    ],
    "us-west-2": [
        { name: "us-west-2a", zoneId: "usw2-az2" },
        { name: "us-west-2b", zoneId: "usw2-az1" },
        { name: "us-west-2c", zoneId: "usw2-az3" },
        { name: "us-west-2d", zoneId: "usw2-az4" },
    ],
    "us-west-1": [
        { name: "us-west-1a", zoneId: "usw1-az2" },
        { name: "us-west-1c", zoneId: "usw1-az1" },
        { name: "us-west-1b", zoneId: "usw1-az3" },
    ],
    "ca-central-1": [
        { name: "ca-central-1a", zoneId: "cac1-az3" },
        { name: "ca-central-1b", zoneId: "cac1-az1" },
        { name: "ca-central-1d", zoneId: "cac1-az2" },
        { name: "ca-central-1c", zoneId: "cac1-az4" },
    ],
};

/** Zones of a region the mock has no table for: <region>a..d mapped to shuffled IDs. */
export function mockZones(region: string): readonly MockZone[] {
    const known = MOCK_ZONES[region];
    if (known !== undefined) return known;
    const prefix = region
        .split("-")
        .map((p, i) => (i === region.split("-").length - 1 ? p : p.slice(0, i === 0 ? 2 : 1)))
        .join("");
    return ["a", "b", "c", "d"].map((s, i) => ({ name: `${region}${s}`, zoneId: `${prefix}-az${[3, 1, 4, 2][i]}` }));
}

/**
 * Instance types offered per zone ID (EC2 DescribeInstanceTypeOfferings, location type
 * availability-zone-id). Offline, derived from the hand-kept region table (FAMILY_REGIONS); the
 * lowest-numbered zone of each region offers no accelerated instances, as a few real zones do not.
 */
export function mockOfferedInZone(region: string, zoneId: string, instanceType: string): boolean {
    const family = instanceFamily(instanceType);
    const regions = FAMILY_REGIONS[family];
    if (regions === undefined || !regions.includes(region)) return false;
    const accelerated = /^(g\d|gr\d|inf\d|p\d|trn\d)/.test(family);
    return !(accelerated && /-az1$/.test(zoneId));
}

/** Live state of a node group that already exists (for the desired-size read at deploy time). */
export interface MockLiveNodeGroup {
    /** AWS name of the node group (the provider's auto-name). */
    nodeGroupName: string;
    minSize: number;
    maxSize: number;
    desiredSize: number;
    /** The Auto Scaling group's desired capacity (what the scaling policies set); default desiredSize. */
    asgDesiredCapacity?: number;
    /** The subnets EKS launches the group's nodes in (fixed when the group was created); default none. */
    subnetIds?: string[];
    /** The group's instance types, AMI type and capacity type as EKS reports them; default empty. */
    instanceTypes?: string[];
    amiType?: string;
    capacityType?: string;
}

/** An EC2 subnet as DescribeSubnets reports it (the fields the program filters on). */
export interface MockSubnet {
    id: string;
    vpcId: string;
    tags: Record<string, string>;
}

/** Everything a test may change about the mocked account. */
export interface MockWorld {
    callerArn?: string;
    /** Subnets that exist (worldAfter fills them from a run). Default: none. */
    subnets?: MockSubnet[];
    /** Zones per region; default MOCK_ZONES / mockZones. */
    zones?: Record<string, MockZone[]>;
    /** Instance types offered per zone ID; default mockOfferedInZone. */
    offerings?: Record<string, string[]>;
    /** Clusters that exist, by name, with their node groups. Default: none (a fresh account). */
    clusters?: Record<string, MockLiveNodeGroup[]>;
    /**
     * Access entries of existing clusters (by cluster name): principal ARN and every tag AWS holds on it.
     * The data source returns them as `tags` (its `tagsAll` stays empty), as the AWS provider does.
     */
    accessEntries?: Record<string, { principalArn: string; tags: Record<string, string> }[]>;
    /** Principals whose DescribeAccessEntry the caller may not call (the provider's AccessDeniedException). */
    accessEntryDenied?: string[];
    /**
     * EC2 Service Quotas by quota code: the account's applied value (`value`; absent when never changed, and
     * then AWS's default applies) and AWS's default. Default: MOCK_EC2_QUOTAS, an account whose quotas fit
     * every checked-in stack. A code missing here does not exist (NoSuchResourceException).
     */
    serviceQuotas?: Record<string, { value?: number; defaultValue: number; name: string }>;
    /** The caller may not read Service Quotas (AccessDeniedException on GetAWSDefaultServiceQuota). */
    serviceQuotasDenied?: boolean;
}

/** The mocked account's EC2 vCPU quotas: applied values that fit the checked-in stacks (defaults are stand-ins). */
export const MOCK_EC2_QUOTAS: Readonly<Record<string, { value?: number; defaultValue: number; name: string }>> = {
    "L-1216C47A": { value: 640, defaultValue: 5, name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" },
    "L-34B43A08": { value: 640, defaultValue: 5, name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" },
    "L-DB2E81BA": { value: 64, defaultValue: 0, name: "Running On-Demand G and VT instances" },
    "L-3819A6DF": { value: 64, defaultValue: 0, name: "All G and VT Spot Instance Requests" },
    "L-1945791B": { value: 64, defaultValue: 0, name: "Running On-Demand Inf instances" },
    "L-B5D1601B": { value: 64, defaultValue: 0, name: "All Inf Spot Instance Requests" },
    "L-417A185B": { value: 0, defaultValue: 0, name: "Running On-Demand P instances" },
};
