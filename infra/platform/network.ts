// VPC over N AZs: public subnets (NAT, load balancers), private subnets (nodes), NAT gateways, and
// VPC endpoints so nodes reach AWS APIs without leaving the VPC.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrSubnet } from "./cidr";
import { EKS_UNSUPPORTED_ZONE_IDS, GroupInstanceTypes, Offerings, chooseZones, subnetsForTypes, zoneForSubnet } from "./zones";

export interface NetworkArgs {
    /** The VPC's CIDR block. */
    vpcCidr: string;
    /** How many Availability Zones the subnets span. */
    azCount: number;
    /** One NAT gateway for the VPC, or one per zone. */
    natGateways: "single" | "onePerAz";
    /**
     * Create the interface endpoints (INTERFACE_ENDPOINT_SERVICES) and their security group. Without
     * them, nodes reach those APIs through the NAT gateway. Default true.
     */
    interfaceEndpoints?: boolean;
    /** The region (interface endpoint service names). */
    region: string;
    /** Name of the EKS cluster (subnet discovery tags). */
    clusterName: string;
    /** Every enabled node group's instance types: zones where they are offered are preferred. */
    nodeGroups: GroupInstanceTypes[];
}

/** Interface endpoints the nodes and pods use: images, queue, credentials, metrics/logs, scaling. */
export const INTERFACE_ENDPOINT_SERVICES = [
    "sqs",
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "monitoring",
    "ec2",
    "autoscaling",
    // The EKS Pod Identity agent exchanges service-account tokens for credentials here.
    "eks-auth",
] as const;

export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string>[];
    readonly privateSubnetIds: pulumi.Output<string>[];
    /** The zone IDs of the subnets as created (index i: public-i and private-i). */
    readonly zoneIds: pulumi.Output<string[]>;
    private readonly privateSubnets: aws.ec2.Subnet[] = [];
    /** Name tags of the private subnets this run declares (`<name>-private-<i>`, i < azCount). */
    private readonly privateSubnetNames: string[] = [];
    private readonly offerings: pulumi.Output<Offerings>;
    /** Security group of the interface endpoints; absent when interfaceEndpoints is false. */
    readonly endpointSecurityGroupId?: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:Network", name, {}, opts);
        const child = { parent: this };
        const region = args.region;
        // Zone IDs, not names: names map to different physical zones per account. The zones EKS refuses
        // are excluded here and again in chooseZones.
        const zones = aws.getAvailabilityZonesOutput(
            {
                state: "available",
                excludeZoneIds: [...EKS_UNSUPPORTED_ZONE_IDS],
                filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
            },
            child,
        );
        // Asked at preview too: which zones offer the node groups' instance types (g6/inf2 capacity is not everywhere).
        const allTypes = [...new Set(args.nodeGroups.flatMap((g) => g.instanceTypes))].sort();
        this.offerings = aws.ec2
            .getInstanceTypeOfferingsOutput(
                { locationType: "availability-zone-id", filters: [{ name: "instance-type", values: allTypes }] },
                child,
            )
            .apply((o) => ({ instanceTypes: o.instanceTypes, locations: o.locations }));
        const ranked = pulumi.all([zones.zoneIds, this.offerings]).apply(([ids, offerings]) => {
            const choice = chooseZones(region, ids, offerings, args.nodeGroups, args.azCount);
            for (const w of choice.warnings) pulumi.log.warn(w, this);
            return choice.ranked;
        });

        const vpc = new aws.ec2.Vpc(
            name,
            {
                cidrBlock: args.vpcCidr,
                enableDnsHostnames: true, // private DNS of interface endpoints needs both
                enableDnsSupport: true,
                tags: { Name: name },
            },
            child,
        );
        const igw = new aws.ec2.InternetGateway(name, { vpcId: vpc.id, tags: { Name: name } }, child);

        const publicRt = new aws.ec2.RouteTable(
            `${name}-public`,
            {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
                tags: { Name: `${name}-public` },
            },
            child,
        );

        // Public subnets take the first 2^4 blocks' low half, private ones start at block 8: a /16 gives /20s.
        const publicSubnets: aws.ec2.Subnet[] = [];
        const privateSubnets: aws.ec2.Subnet[] = [];
        const privateRts: aws.ec2.RouteTable[] = [];
        const natIds: pulumi.Output<string>[] = [];
        for (let i = 0; i < args.azCount; i++) {
            // The best zone no earlier subnet has (as created: their zones are kept below). On a new VPC, the
            // ranking's head; when azCount is raised later, the new subnets never share a zone with old ones.
            const zoneId = pulumi
                .all([ranked, pulumi.all(privateSubnets.map((s) => s.availabilityZoneId))])
                .apply(([order, taken]) => zoneForSubnet(order, taken));
            // A subnet's zone never changes once created: a later change in the preferred zones (EC2 adding
            // capacity somewhere) must not replace subnets a running cluster uses.
            const keepZone: pulumi.CustomResourceOptions = { parent: this, ignoreChanges: ["availabilityZoneId", "availabilityZone"] };
            const pub = new aws.ec2.Subnet(
                `${name}-public-${i}`,
                {
                    vpcId: vpc.id,
                    availabilityZoneId: zoneId,
                    cidrBlock: cidrSubnet(args.vpcCidr, 4, i),
                    mapPublicIpOnLaunch: false,
                    tags: {
                        Name: `${name}-public-${i}`,
                        "kubernetes.io/role/elb": "1",
                        [`kubernetes.io/cluster/${args.clusterName}`]: "shared",
                    },
                },
                keepZone,
            );
            new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRt.id }, child);
            publicSubnets.push(pub);

            if (i === 0 || args.natGateways === "onePerAz") {
                const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, child);
                const nat = new aws.ec2.NatGateway(
                    `${name}-${i}`,
                    {
                        allocationId: eip.id,
                        subnetId: pub.id,
                        tags: { Name: `${name}-${i}` },
                    },
                    { parent: this, dependsOn: [igw] },
                );
                natIds.push(nat.id);
            }
            const natId = natIds[args.natGateways === "onePerAz" ? i : 0] as pulumi.Output<string>;

            const priv = new aws.ec2.Subnet(
                `${name}-private-${i}`,
                {
                    vpcId: vpc.id,
                    availabilityZoneId: zoneId,
                    cidrBlock: cidrSubnet(args.vpcCidr, 4, 8 + i),
                    tags: {
                        Name: `${name}-private-${i}`,
                        "kubernetes.io/role/internal-elb": "1",
                        [`kubernetes.io/cluster/${args.clusterName}`]: "shared",
                    },
                },
                keepZone,
            );
            const rt = new aws.ec2.RouteTable(
                `${name}-private-${i}`,
                {
                    vpcId: vpc.id,
                    routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: natId }],
                    tags: { Name: `${name}-private-${i}` },
                },
                child,
            );
            new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: priv.id, routeTableId: rt.id }, child);
            privateSubnets.push(priv);
            this.privateSubnets.push(priv);
            this.privateSubnetNames.push(`${name}-private-${i}`);
            privateRts.push(rt);
        }

        // S3 through a gateway endpoint: free, and image layers from ECR are served from S3.
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: `com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRts.map((rt) => rt.id),
                tags: { Name: `${name}-s3` },
            },
            child,
        );

        if (args.interfaceEndpoints ?? true) {
            // No rules here: 443 is admitted from the nodes' security group once the cluster exists
            // (allowHttpsFrom). No egress: endpoints only answer.
            const endpointSg = new aws.ec2.SecurityGroup(
                `${name}-endpoints`,
                {
                    vpcId: vpc.id,
                    description: "VPC interface endpoints: HTTPS from EKS nodes only",
                    tags: { Name: `${name}-endpoints` },
                },
                child,
            );
            for (const service of INTERFACE_ENDPOINT_SERVICES) {
                new aws.ec2.VpcEndpoint(
                    `${name}-${service.replace(".", "-")}`,
                    {
                        vpcId: vpc.id,
                        serviceName: `com.amazonaws.${region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: privateSubnets.map((s) => s.id),
                        securityGroupIds: [endpointSg.id],
                        tags: { Name: `${name}-${service}` },
                    },
                    child,
                );
            }
            this.endpointSecurityGroupId = endpointSg.id;
        }

        this.zoneIds = pulumi.all(privateSubnets.map((s) => s.availabilityZoneId));
        this.vpcId = vpc.id;
        this.publicSubnetIds = publicSubnets.map((s) => s.id);
        this.privateSubnetIds = privateSubnets.map((s) => s.id);
        this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
    }

    /**
     * The private subnets a node group may use. A running group keeps the subnets it runs in (`running`, when
     * they are all still this VPC's private subnets): EKS cannot move a group, and a new subnet list would
     * replace it and drain its nodes, so what EC2 offers today never moves it. A new group gets the subnets
     * whose zone (as created) offers at least one of its instance types now, so EKS never tries to launch a
     * type where EC2 does not offer it.
     *
     * Whether the running subnets are still this VPC's private subnets is asked of EC2 (DescribeSubnets: these
     * IDs, this VPC, the Name tags of the private subnets this run declares), not compared with this run's
     * subnet IDs: a subnet this `up` adds (azCount raised) has no ID in a preview, so a comparison would make the
     * group's subnetIds unknown, and a preview shows an unknown subnetIds (a replacing property) as a replacement
     * of the group and of everything that names its Auto Scaling group. The answer is known in a preview whenever
     * the VPC exists. Kept subnets are in EKS's order (subnet_ids is a set: the order is no change).
     */
    privateSubnetIdsFor(group: string, instanceTypes: readonly string[], running?: readonly string[]): pulumi.Output<string[]> {
        if (running === undefined || running.length === 0) return this.placeByOfferings(group, instanceTypes);
        const stillPrivate = aws.ec2.getSubnetsOutput(
            {
                filters: [
                    { name: "subnet-id", values: [...running] },
                    { name: "vpc-id", values: [this.vpcId] },
                    { name: "tag:Name", values: [...this.privateSubnetNames] },
                ],
            },
            { parent: this },
        );
        return stillPrivate.ids.apply((ids) =>
            running.every((id) => ids.includes(id)) ? pulumi.output([...running]) : this.placeByOfferings(group, instanceTypes),
        );
    }

    /** The private subnets (VPC order) whose zone offers at least one of `instanceTypes` now. */
    private placeByOfferings(group: string, instanceTypes: readonly string[]): pulumi.Output<string[]> {
        return pulumi
            .all([
                pulumi.all(this.privateSubnets.map((s) => s.id)),
                pulumi.all(this.privateSubnets.map((s) => s.availabilityZoneId)),
                this.offerings,
            ])
            .apply(([ids, zoneIds, offerings]) => {
                const usable = subnetsForTypes(zoneIds, offerings, instanceTypes).map((i) => ids[i] as string);
                if (usable.length === 0)
                    throw new Error(`${group}: EC2 offers none of ${instanceTypes.join(", ")} in the VPC's zones (${zoneIds.join(", ")})`);
                return usable;
            });
    }

    /** Admits HTTPS to the interface endpoints from one security group (the nodes'); nothing when there are none. */
    allowHttpsFrom(name: string, sourceSecurityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRule | undefined {
        if (this.endpointSecurityGroupId === undefined) return undefined;
        return new aws.vpc.SecurityGroupIngressRule(
            name,
            {
                securityGroupId: this.endpointSecurityGroupId,
                referencedSecurityGroupId: sourceSecurityGroupId,
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                description: "HTTPS from EKS nodes",
            },
            { parent: this },
        );
    }
}
