// The dated price table (prices-YYYY-MM-DD.json beside this file): types, validation, loading.
import * as fs from "node:fs";
import * as path from "node:path";

export interface Price {
    usd: number;
    unit: string;
    /** Key into PriceTable.sources. */
    source: string;
    /** Could not be confirmed from a primary source when the table was written. */
    approximate?: boolean;
    note?: string;
}

export const SERVICE_KEYS = [
    "eksControlPlane",
    "natGateway",
    "interfaceEndpoint",
    "cloudwatchCustomMetric",
    "cloudwatchAlarm",
    "cloudwatchDashboard",
    "cloudwatchLogsIngestion",
    "lambdaRequests",
    "lambdaGbSecond",
    "ebsGp3",
    "ebsGp3Throughput",
] as const;
export type ServiceKey = (typeof SERVICE_KEYS)[number];

export interface RegionPrices {
    instances: Record<string, Price>;
    services: Record<ServiceKey, Price>;
}

export interface HistoricalOption {
    name: string;
    parts: Price[];
    claimedFps?: number;
}

export interface PriceTable {
    date: string;
    currency: "USD";
    hoursPerMonth: number;
    description: string;
    sources: Record<string, { name: string; url: string }>;
    regions: Record<string, RegionPrices>;
    historical2019: { note: string; options: HistoricalOption[] };
    todaysOptions: string[];
}

const TABLE_FILE = /^prices-(\d{4}-\d{2}-\d{2})\.json$/;

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkPrice(v: unknown, where: string, sources: Record<string, unknown>): Price {
    if (!isRecord(v)) throw new Error(`price table: ${where} must be an object`);
    if (typeof v.usd !== "number" || !Number.isFinite(v.usd) || v.usd < 0)
        throw new Error(`price table: ${where}.usd must be a non-negative number`);
    if (typeof v.unit !== "string" || v.unit === "") throw new Error(`price table: ${where}.unit is missing`);
    if (typeof v.source !== "string" || !(v.source in sources))
        throw new Error(`price table: ${where}.source "${String(v.source)}" is not in sources`);
    if (v.approximate !== undefined && typeof v.approximate !== "boolean")
        throw new Error(`price table: ${where}.approximate must be a boolean`);
    return v as unknown as Price;
}

/** Checks the shape of a parsed table; throws naming the first bad entry. */
export function validatePriceTable(doc: unknown): PriceTable {
    if (!isRecord(doc)) throw new Error("price table: not an object");
    if (typeof doc.date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(doc.date)) throw new Error("price table: date must be YYYY-MM-DD");
    if (doc.currency !== "USD") throw new Error("price table: currency must be USD");
    if (typeof doc.hoursPerMonth !== "number" || doc.hoursPerMonth <= 0) throw new Error("price table: hoursPerMonth must be positive");
    if (!isRecord(doc.sources)) throw new Error("price table: sources must be an object");
    for (const [key, s] of Object.entries(doc.sources)) {
        if (!isRecord(s) || typeof s.name !== "string" || typeof s.url !== "string" || s.url === "") {
            throw new Error(`price table: source ${key} needs a name and a url`);
        }
    }
    const sources = doc.sources;
    if (!isRecord(doc.regions) || Object.keys(doc.regions).length === 0)
        throw new Error("price table: regions must list at least one region");
    for (const [region, r] of Object.entries(doc.regions)) {
        if (!isRecord(r) || !isRecord(r.instances) || !isRecord(r.services))
            throw new Error(`price table: region ${region} needs instances and services`);
        for (const [type, p] of Object.entries(r.instances)) checkPrice(p, `regions.${region}.instances.${type}`, sources);
        for (const key of SERVICE_KEYS) checkPrice(r.services[key], `regions.${region}.services.${key}`, sources);
    }
    const hist = doc.historical2019;
    if (!isRecord(hist) || !Array.isArray(hist.options) || hist.options.length === 0)
        throw new Error("price table: historical2019.options is missing");
    hist.options.forEach((o: unknown, i: number) => {
        if (!isRecord(o) || typeof o.name !== "string" || !Array.isArray(o.parts))
            throw new Error(`price table: historical2019.options[${i}] needs a name and parts`);
        o.parts.forEach((p: unknown, j: number) => checkPrice(p, `historical2019.options[${i}].parts[${j}]`, sources));
    });
    if (!Array.isArray(doc.todaysOptions) || !doc.todaysOptions.every((t) => typeof t === "string"))
        throw new Error("price table: todaysOptions must be a list of instance types");
    return doc as unknown as PriceTable;
}

/** The newest prices-YYYY-MM-DD.json in `dir`. */
export function latestPriceTablePath(dir: string = __dirname): string {
    const files = fs
        .readdirSync(dir)
        .filter((f) => TABLE_FILE.test(f))
        .sort();
    const newest = files[files.length - 1];
    if (newest === undefined) throw new Error(`no prices-YYYY-MM-DD.json in ${dir}`);
    return path.join(dir, newest);
}

export function loadPriceTable(file: string = latestPriceTablePath()): PriceTable {
    let doc: unknown;
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`cannot read price table ${file}: ${(err as Error).message}`, { cause: err });
    }
    const table = validatePriceTable(doc);
    const fromName = TABLE_FILE.exec(path.basename(file))?.[1];
    if (fromName !== undefined && fromName !== table.date)
        throw new Error(`price table ${file}: file name date ${fromName} differs from its date ${table.date}`);
    return table;
}
