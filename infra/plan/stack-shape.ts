// What a stack costs money for, read from the resources the real program declares under mocks (pure).
// Reading the program's own declarations keeps `npm run cost` from drifting from the code.

/** The part of mock-run's RecordedResource this module reads. */
export interface DeclaredResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

export const TYPES = {
    eksCluster: "eks:index:Cluster",
    nodeGroup: "aws:eks/nodeGroup:NodeGroup",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    natGateway: "aws:ec2/natGateway:NatGateway",
    vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    lambda: "aws:lambda/function:Function",
    eventRule: "aws:cloudwatch/eventRule:EventRule",
    schedule: "aws:scheduler/schedule:Schedule",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
} as const;

export const WORKLOAD_LABEL = "eks-inference/workload";

export interface NodeGroupShape {
    name: string;
    instanceType: string;
    /** Other instance types the group may launch (the cost range spans the cheapest to the dearest). */
    otherInstanceTypes: string[];
    minSize: number;
    maxSize: number;
    capacityType: string;
    /** "video", "bert" or undefined for the general group. */
    workload?: string;
    /** Root volume per node, GiB, when the group's launch template says. */
    volumeGiB?: number;
    /** Root volume throughput per node, MiB/s, when the launch template provisions more than gp3's included 125. */
    volumeThroughputMiBps?: number;
}

export interface LambdaShape {
    name: string;
    memoryMb: number;
    architecture: string;
}

export interface StackShape {
    clusters: number;
    /** The cluster would also create @pulumi/eks's default node group (not priced). */
    defaultNodeGroup: boolean;
    nodeGroups: NodeGroupShape[];
    natGateways: number;
    /** One entry per interface endpoint: its AZ count. */
    interfaceEndpoints: { name: string; azs: number }[];
    lambdas: LambdaShape[];
    /** Lambda invocations per hour from the schedules found (undefined when none could be read). */
    scheduledInvocationsPerHour?: number;
    alarms: number;
    logGroups: number;
    dashboards: number;
    /** Custom metrics graphed on the dashboards (namespace, name, dimensions). */
    customMetrics: number;
    notes: string[];
}

function num(v: unknown, what: string): number {
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n)) throw new Error(`${what} is not a number (${JSON.stringify(v)})`);
    return n;
}

function record(v: unknown): Record<string, unknown> | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Invocations per hour of an EventBridge schedule expression, or undefined when not a simple rate/cron. */
export function invocationsPerHour(expression: string): number | undefined {
    const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
    if (rate) {
        const n = Number(rate[1]);
        if (n <= 0) return undefined;
        const perUnit = rate[2].startsWith("minute") ? 60 : rate[2].startsWith("hour") ? 1 : 1 / 24;
        return perUnit / n;
    }
    const cron = /^cron\((\S+) (\S+) \S+ \S+ \S+ \S+\)$/.exec(expression.trim());
    if (cron) {
        const [minutes, hours] = [cron[1], cron[2]];
        if (hours !== "*") return undefined;
        if (minutes === "*") return 60;
        const step = /^(?:\*|0)\/(\d+)$/.exec(minutes);
        if (step) return 60 / Number(step[1]);
        if (/^\d+$/.test(minutes)) return 1;
    }
    return undefined;
}

/** Custom (non-AWS/) metric lines in a CloudWatch dashboard body, as unique keys. */
export function customMetricsInDashboard(body: string): string[] {
    let doc: unknown;
    try {
        doc = JSON.parse(body);
    } catch {
        return [];
    }
    const keys = new Set<string>();
    const widgets = record(doc)?.widgets;
    if (!Array.isArray(widgets)) return [];
    for (const w of widgets) {
        const metrics = record(record(w)?.properties)?.metrics;
        if (!Array.isArray(metrics)) continue;
        for (const line of metrics) {
            if (!Array.isArray(line) || typeof line[0] !== "string" || line[0].startsWith("AWS/")) continue;
            keys.add(line.filter((part) => typeof part === "string").join("|"));
        }
    }
    return [...keys];
}

function launchTemplateVolume(lt: DeclaredResource | undefined): number | undefined {
    const mappings = lt?.inputs.blockDeviceMappings;
    if (!Array.isArray(mappings)) return undefined;
    let total = 0;
    for (const m of mappings) {
        const size = record(record(m)?.ebs)?.volumeSize;
        if (size !== undefined) total += num(size, `launch template ${lt?.name} volumeSize`);
    }
    return total > 0 ? total : undefined;
}

function launchTemplateThroughput(lt: DeclaredResource | undefined): number | undefined {
    const mappings = lt?.inputs.blockDeviceMappings;
    if (!Array.isArray(mappings)) return undefined;
    let total = 0;
    for (const m of mappings) {
        const throughput = record(record(m)?.ebs)?.throughput;
        if (throughput !== undefined) total += num(throughput, `launch template ${lt?.name} throughput`);
    }
    return total > 0 ? total : undefined;
}

/** Reads the priced shape of a stack from its declared resources. Throws on inputs it cannot read. */
export function deriveStackShape(resources: readonly DeclaredResource[]): StackShape {
    const of = (type: string): DeclaredResource[] => resources.filter((r) => r.type === type);
    const notes: string[] = [];
    const launchTemplates = new Map(of(TYPES.launchTemplate).map((lt) => [lt.name, lt]));

    const nodeGroups = of(TYPES.nodeGroup).map((ng): NodeGroupShape => {
        const types = ng.inputs.instanceTypes;
        if (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === "string")) {
            throw new Error(`node group ${ng.name}: instanceTypes must list at least one instance type`);
        }
        const scaling = record(ng.inputs.scalingConfig);
        if (scaling === undefined) throw new Error(`node group ${ng.name}: scalingConfig is missing`);
        const labels = record(ng.inputs.labels) ?? {};
        const workload = typeof labels[WORKLOAD_LABEL] === "string" ? (labels[WORKLOAD_LABEL] as string) : undefined;
        return {
            name: ng.name,
            instanceType: types[0] as string,
            otherInstanceTypes: (types as string[]).slice(1),
            minSize: num(scaling.minSize, `node group ${ng.name} scalingConfig.minSize`),
            maxSize: num(scaling.maxSize, `node group ${ng.name} scalingConfig.maxSize`),
            capacityType: typeof ng.inputs.capacityType === "string" ? ng.inputs.capacityType : "ON_DEMAND",
            workload,
            volumeGiB:
                launchTemplateVolume(launchTemplates.get(ng.name)) ??
                (ng.inputs.diskSize === undefined ? undefined : num(ng.inputs.diskSize, `node group ${ng.name} diskSize`)),
            volumeThroughputMiBps: launchTemplateThroughput(launchTemplates.get(ng.name)),
        };
    });

    const clusters = of(TYPES.eksCluster);
    const defaultNodeGroup = clusters.some((c) => c.inputs.skipDefaultNodeGroup !== true);
    if (defaultNodeGroup) notes.push("an eks.Cluster does not set skipDefaultNodeGroup: its default node group is not priced");

    const interfaceEndpoints = of(TYPES.vpcEndpoint)
        .filter((e) => e.inputs.vpcEndpointType === "Interface")
        .map((e) => {
            const subnets = e.inputs.subnetIds;
            if (!Array.isArray(subnets) || subnets.length === 0)
                throw new Error(`interface endpoint ${e.name}: subnetIds must list its subnets (one per AZ)`);
            return { name: e.name, azs: subnets.length };
        });

    const lambdas = of(TYPES.lambda).map((f) => ({
        name: f.name,
        memoryMb: f.inputs.memorySize === undefined ? 128 : num(f.inputs.memorySize, `lambda ${f.name} memorySize`),
        architecture:
            Array.isArray(f.inputs.architectures) && typeof f.inputs.architectures[0] === "string" ? f.inputs.architectures[0] : "x86_64",
    }));

    const expressions = [...of(TYPES.eventRule), ...of(TYPES.schedule)]
        .map((r) => r.inputs.scheduleExpression)
        .filter((e): e is string => typeof e === "string");
    let scheduledInvocationsPerHour: number | undefined;
    for (const e of expressions) {
        const perHour = invocationsPerHour(e);
        if (perHour === undefined) notes.push(`schedule "${e}" not understood: its invocations are not priced`);
        else scheduledInvocationsPerHour = (scheduledInvocationsPerHour ?? 0) + perHour;
    }

    const dashboards = of(TYPES.dashboard);
    const metricKeys = new Set<string>();
    for (const d of dashboards) {
        if (typeof d.inputs.dashboardBody === "string") for (const k of customMetricsInDashboard(d.inputs.dashboardBody)) metricKeys.add(k);
    }

    if (dashboards.length === 0)
        notes.push("no dashboard declared, so custom metrics were not counted (the scaler publishes 4 and the worker 4 per queue)");

    return {
        clusters: clusters.length,
        defaultNodeGroup,
        nodeGroups,
        natGateways: of(TYPES.natGateway).length,
        interfaceEndpoints,
        lambdas,
        scheduledInvocationsPerHour,
        alarms: of(TYPES.alarm).length,
        logGroups: of(TYPES.logGroup).length,
        dashboards: dashboards.length,
        customMetrics: metricKeys.size,
        notes,
    };
}
