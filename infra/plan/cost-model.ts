// Hourly cost of a stack at its minimum and maximum size, and the cost of processing video (pure).
import type { Price, PriceTable, RegionPrices, ServiceKey } from "./pricing/table";
import type { NodeGroupShape, StackShape } from "./stack-shape";

/** Frame rate of the source video the per-video-hour figures assume, unless told otherwise. */
export const DEFAULT_SOURCE_FPS = 30;
/** Assumed billed duration of one scaler invocation (it makes three API calls). */
export const ASSUMED_LAMBDA_SECONDS = 1;

export interface CostLine {
    item: string;
    detail: string;
    minUsdPerHour: number;
    maxUsdPerHour: number;
    approximate: boolean;
}

export interface StackCost {
    region: string;
    priceDate: string;
    lines: CostLine[];
    minUsdPerHour: number;
    maxUsdPerHour: number;
    notes: string[];
}

function regionPrices(table: PriceTable, region: string): RegionPrices {
    const r = table.regions[region];
    if (r === undefined)
        throw new Error(`the price table of ${table.date} has no prices for ${region} (it has: ${Object.keys(table.regions).join(", ")})`);
    return r;
}

export function instancePrice(table: PriceTable, region: string, instanceType: string): Price {
    const p = regionPrices(table, region).instances[instanceType];
    if (p === undefined)
        throw new Error(`the price table of ${table.date} has no ${region} price for ${instanceType}: add it to infra/plan/pricing`);
    return p;
}

/** gp3 throughput included in the storage price, MiB/s. */
const GP3_INCLUDED_MIBPS = 125;

function service(prices: RegionPrices, key: ServiceKey): Price {
    return prices.services[key];
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

function nodeGroupLines(g: NodeGroupShape, table: PriceTable, region: string, prices: RegionPrices): CostLine[] {
    // A group with several instance types may launch any of them: the minimum is priced at the cheapest,
    // the maximum at the dearest, so the range holds whatever mix EC2 picks.
    const priced = [g.instanceType, ...g.otherInstanceTypes].map((type) => ({ type, price: instancePrice(table, region, type) }));
    const cheapest = priced.reduce((a, b) => (b.price.usd < a.price.usd ? b : a));
    const dearest = priced.reduce((a, b) => (b.price.usd > a.price.usd ? b : a));
    const spot = g.capacityType === "SPOT" ? " (SPOT: priced on-demand, an upper bound)" : "";
    const at = priced.map((t) => `${t.type} $${t.price.usd}/h`).join(", ");
    const lines: CostLine[] = [
        {
            item: `node group ${g.name}`,
            detail:
                priced.length === 1
                    ? `${g.instanceType} x ${g.minSize}..${g.maxSize} at $${cheapest.price.usd}/h${spot}`
                    : `${g.minSize}..${g.maxSize} of ${at}${spot}`,
            minUsdPerHour: round(cheapest.price.usd * g.minSize),
            maxUsdPerHour: round(dearest.price.usd * g.maxSize),
            approximate: priced.some((t) => t.price.approximate === true) || g.capacityType === "SPOT",
        },
    ];
    if (g.volumeGiB !== undefined) {
        const ebs = service(prices, "ebsGp3");
        const extra = Math.max(0, (g.volumeThroughputMiBps ?? GP3_INCLUDED_MIBPS) - GP3_INCLUDED_MIBPS);
        const throughput = service(prices, "ebsGp3Throughput");
        const perNode = (g.volumeGiB * ebs.usd + extra * throughput.usd) / table.hoursPerMonth;
        lines.push({
            item: `  root volumes ${g.name}`,
            detail:
                `${g.volumeGiB} GiB gp3 per node at $${ebs.usd}/GB-month` +
                (extra > 0
                    ? `, + ${extra} MiB/s throughput above the included ${GP3_INCLUDED_MIBPS} at $${throughput.usd}/MiB/s-month`
                    : ""),
            minUsdPerHour: round(perNode * g.minSize),
            maxUsdPerHour: round(perNode * g.maxSize),
            approximate: ebs.approximate === true || (extra > 0 && throughput.approximate === true),
        });
    }
    return lines;
}

function fixed(item: string, detail: string, usdPerHour: number, price: Price): CostLine {
    return { item, detail, minUsdPerHour: round(usdPerHour), maxUsdPerHour: round(usdPerHour), approximate: price.approximate === true };
}

/** Cost per hour of the stack at its minimum and maximum node-group sizes. */
export function stackCost(shape: StackShape, table: PriceTable, region: string): StackCost {
    const prices = regionPrices(table, region);
    const perMonth = (p: Price, count: number): number => (p.usd * count) / table.hoursPerMonth;
    const lines: CostLine[] = [];
    const notes = [...shape.notes];

    const eks = service(prices, "eksControlPlane");
    if (shape.clusters > 0)
        lines.push(fixed("EKS control plane", `${shape.clusters} x $${eks.usd}/h (standard support)`, eks.usd * shape.clusters, eks));
    for (const g of shape.nodeGroups) lines.push(...nodeGroupLines(g, table, region, prices));
    const nat = service(prices, "natGateway");
    if (shape.natGateways > 0)
        lines.push(fixed("NAT gateways", `${shape.natGateways} x $${nat.usd}/h (+ $/GB processed)`, nat.usd * shape.natGateways, nat));
    const vpce = service(prices, "interfaceEndpoint");
    const azHours = shape.interfaceEndpoints.reduce((sum, e) => sum + e.azs, 0);
    if (azHours > 0) {
        lines.push(
            fixed(
                "interface endpoints",
                `${shape.interfaceEndpoints.length} endpoints, ${azHours} AZ-hours/h x $${vpce.usd} (+ $/GB)`,
                vpce.usd * azHours,
                vpce,
            ),
        );
    }
    if (shape.lambdas.length > 0) {
        const req = service(prices, "lambdaRequests");
        const gbs = service(prices, "lambdaGbSecond");
        const perHour = shape.scheduledInvocationsPerHour ?? 0;
        const memoryGb = shape.lambdas.reduce((sum, f) => sum + f.memoryMb, 0) / 1024 / shape.lambdas.length;
        const usd = (perHour * req.usd) / 1e6 + perHour * ASSUMED_LAMBDA_SECONDS * memoryGb * gbs.usd;
        lines.push({
            item: "Lambda",
            detail: `${perHour} scheduled invocations/h x ${ASSUMED_LAMBDA_SECONDS} s x ${memoryGb} GB (assumed duration; free tier ignored)`,
            minUsdPerHour: round(usd),
            maxUsdPerHour: round(usd),
            approximate: true,
        });
        if (shape.lambdas.some((f) => f.architecture !== "x86_64"))
            notes.push("an arm64 Lambda is priced at the x86 GB-second rate (an upper bound)");
    }
    const metric = service(prices, "cloudwatchCustomMetric");
    const alarm = service(prices, "cloudwatchAlarm");
    const dash = service(prices, "cloudwatchDashboard");
    const cw = perMonth(metric, shape.customMetrics) + perMonth(alarm, shape.alarms) + perMonth(dash, shape.dashboards);
    if (cw > 0) {
        lines.push(
            fixed(
                "CloudWatch",
                `${shape.customMetrics} custom metrics x $${metric.usd}, ${shape.alarms} alarms x $${alarm.usd}, ${shape.dashboards} dashboards x $${dash.usd} per month`,
                cw,
                { ...metric, approximate: metric.approximate === true || alarm.approximate === true || dash.approximate === true },
            ),
        );
    }
    if (shape.logGroups > 0)
        notes.push(
            `${shape.logGroups} log groups: billed per GB ingested ($${service(prices, "cloudwatchLogsIngestion").usd}/GB), not per hour`,
        );
    notes.push("not included: data transfer, NAT/endpoint per-GB processing, S3 storage and requests, SQS requests, ECR storage");

    return {
        region,
        priceDate: table.date,
        lines,
        minUsdPerHour: round(lines.reduce((s, l) => s + l.minUsdPerHour, 0)),
        maxUsdPerHour: round(lines.reduce((s, l) => s + l.maxUsdPerHour, 0)),
        notes,
    };
}

/**
 * Dollars per hour of source video: a node processing `fps` frames per second gets through
 * fps / sourceFps hours of `sourceFps` video per hour, so $/video-hour = node $/h / (fps / sourceFps).
 */
export function costPerVideoHour(nodeUsdPerHour: number, fps: number, sourceFps: number = DEFAULT_SOURCE_FPS): number {
    if (!(fps > 0)) throw new Error(`--fps must be a positive number, got ${fps}`);
    if (!(sourceFps > 0)) throw new Error(`source fps must be positive, got ${sourceFps}`);
    return nodeUsdPerHour / (fps / sourceFps);
}

export interface VideoCost {
    nodeGroup: string;
    instanceType: string;
    nodeUsdPerHour: number;
    fps: number;
    sourceFps: number;
    /** Node cost only. */
    nodeUsdPerVideoHour: number;
    /** The whole stack at maximum size, every video node busy at `fps`. */
    stackAtMaxUsdPerVideoHour: number;
}

export function videoCost(
    shape: StackShape,
    cost: StackCost,
    table: PriceTable,
    fps: number,
    sourceFps: number = DEFAULT_SOURCE_FPS,
): VideoCost {
    const group = shape.nodeGroups.find((g) => g.workload === "video") ?? shape.nodeGroups.find((g) => /video/i.test(g.name));
    if (group === undefined)
        throw new Error("this stack declares no video node group (label eks-inference/workload=video): no cost per hour of video");
    const node = instancePrice(table, cost.region, group.instanceType).usd;
    return {
        nodeGroup: group.name,
        instanceType: group.instanceType,
        nodeUsdPerHour: node,
        fps,
        sourceFps,
        nodeUsdPerVideoHour: costPerVideoHour(node, fps, sourceFps),
        stackAtMaxUsdPerVideoHour: cost.maxUsdPerHour / (group.maxSize * (fps / sourceFps)),
    };
}

export interface ComparisonRow {
    name: string;
    usdPerHour: number;
    /** Share of the p3.2xlarge price of the same era. */
    shareOfP3: number;
    usdPerVideoHour?: number;
    historical: boolean;
    approximate: boolean;
}

/** The 2019 design's comparison, then today's options in `region`, each against its era's p3.2xlarge. */
export function acceleratorComparison(
    table: PriceTable,
    region: string,
    fps?: number,
    sourceFps: number = DEFAULT_SOURCE_FPS,
): ComparisonRow[] {
    const hist = table.historical2019.options.map((o) => ({
        name: o.name,
        usdPerHour: round(o.parts.reduce((s, p) => s + p.usd, 0)),
        approximate: o.parts.some((p) => p.approximate === true),
    }));
    const histP3 = hist.find((h) => /p3\.2xlarge/.test(h.name));
    if (histP3 === undefined) throw new Error("price table: historical2019 has no p3.2xlarge option to compare against");
    const todayP3 = instancePrice(table, region, "p3.2xlarge").usd;
    const rows: ComparisonRow[] = hist.map((h) => ({
        ...h,
        shareOfP3: h.usdPerHour / histP3.usdPerHour,
        usdPerVideoHour: fps === undefined ? undefined : costPerVideoHour(h.usdPerHour, fps, sourceFps),
        historical: true,
    }));
    for (const type of table.todaysOptions) {
        const p = instancePrice(table, region, type);
        rows.push({
            name: type,
            usdPerHour: p.usd,
            shareOfP3: p.usd / todayP3,
            usdPerVideoHour: fps === undefined ? undefined : costPerVideoHour(p.usd, fps, sourceFps),
            historical: false,
            approximate: p.approximate === true,
        });
    }
    return rows;
}
