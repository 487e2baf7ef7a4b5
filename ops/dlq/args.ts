// Command-line arguments of `npm run dlq:replay` (pure).

export interface ReplayOptions {
    dlqUrl: string;
    queueUrl: string;
    /** Most messages to replay (or list, with dryRun). */
    max: number;
    dryRun: boolean;
    /** Only messages whose object key matches this expression. */
    filterKey?: RegExp;
}

export const USAGE =
    "usage: npm run dlq:replay -- --dlq DLQ_URL --queue QUEUE_URL [--max N] [--dry-run] [--filter-key REGEX]";

const DEFAULT_MAX = 1000;

function isQueueUrl(value: string): boolean {
    try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.pathname.split("/").filter(Boolean).length >= 2;
    } catch {
        return false;
    }
}

/** Parses argv (without node and script). Throws an Error naming the bad argument. */
export function parseReplayArgs(argv: readonly string[]): ReplayOptions {
    let dlqUrl: string | undefined;
    let queueUrl: string | undefined;
    let max = DEFAULT_MAX;
    let dryRun = false;
    let filterKey: RegExp | undefined;

    const valueOf = (i: number, flag: string): string => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        switch (arg) {
            case "--dlq":
                dlqUrl = valueOf(i++, arg);
                break;
            case "--queue":
                queueUrl = valueOf(i++, arg);
                break;
            case "--max": {
                const raw = valueOf(i++, arg);
                max = Number(raw);
                if (!Number.isInteger(max) || max < 1) throw new Error(`--max must be a positive integer, got "${raw}"`);
                break;
            }
            case "--dry-run":
                dryRun = true;
                break;
            case "--filter-key": {
                const raw = valueOf(i++, arg);
                try {
                    filterKey = new RegExp(raw);
                } catch (err) {
                    throw new Error(`--filter-key is not a valid regular expression: ${(err as Error).message}`);
                }
                break;
            }
            default:
                throw new Error(`unknown argument "${arg}"\n${USAGE}`);
        }
    }
    if (dlqUrl === undefined) throw new Error(`--dlq is required\n${USAGE}`);
    if (queueUrl === undefined) throw new Error(`--queue is required\n${USAGE}`);
    for (const [flag, url] of [["--dlq", dlqUrl], ["--queue", queueUrl]] as const) {
        if (!isQueueUrl(url)) throw new Error(`${flag} must be a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), got "${url}"`);
    }
    if (dlqUrl === queueUrl) throw new Error("--dlq and --queue are the same queue");
    if (queueUrl.endsWith(".fifo")) throw new Error("FIFO job queues are not supported (S3 notifications feed a standard queue)");
    return { dlqUrl, queueUrl, max, dryRun, filterKey };
}
