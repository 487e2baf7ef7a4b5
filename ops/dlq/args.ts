// Command-line arguments of `npm run dlq:replay` (pure).
import { numberFlag, parseFlags, requiredFlag, UsageError } from "../args";

export interface ReplayOptions {
    dlqUrl: string;
    queueUrl: string;
    /** Most messages to replay (or list, with dryRun). */
    max: number;
    dryRun: boolean;
    /** Only messages whose object key matches this expression. */
    filterKey?: RegExp;
}

export const USAGE = "usage: npm run dlq:replay -- --dlq DLQ_URL --queue QUEUE_URL [--max N] [--dry-run] [--filter-key REGEX]";

const DEFAULT_MAX = 1000;

function isQueueUrl(value: string): boolean {
    try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.pathname.split("/").filter(Boolean).length >= 2;
    } catch {
        return false;
    }
}

const FLAGS = {
    dlq: { type: "string" },
    queue: { type: "string" },
    max: { type: "string" },
    "dry-run": { type: "boolean" },
    "filter-key": { type: "string" },
} as const;

/** Parses argv (without node and script). Throws a UsageError naming the bad argument. */
export function parseReplayArgs(argv: readonly string[]): ReplayOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const dlqUrl = requiredFlag(flags.dlq, "--dlq", USAGE);
    const queueUrl = requiredFlag(flags.queue, "--queue", USAGE);
    const max = numberFlag(flags.max, "--max", { min: 1, integer: true }, USAGE, DEFAULT_MAX);
    let filterKey: RegExp | undefined;
    if (flags["filter-key"] !== undefined) {
        try {
            filterKey = new RegExp(flags["filter-key"]);
        } catch (err) {
            throw new UsageError(`--filter-key is not a valid regular expression: ${(err as Error).message}`, USAGE);
        }
    }
    for (const [flag, url] of [
        ["--dlq", dlqUrl],
        ["--queue", queueUrl],
    ] as const) {
        if (!isQueueUrl(url))
            throw new UsageError(`${flag} must be a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), got "${url}"`, USAGE);
    }
    if (dlqUrl === queueUrl) throw new UsageError("--dlq and --queue are the same queue", USAGE);
    if (queueUrl.endsWith(".fifo"))
        throw new UsageError("FIFO job queues are not supported (S3 notifications feed a standard queue)", USAGE);
    return { dlqUrl, queueUrl, max, dryRun: flags["dry-run"] === true, filterKey };
}
