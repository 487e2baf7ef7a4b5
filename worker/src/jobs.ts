// SQS message body -> the video jobs it carries. Pure: no I/O, fully unit-tested.
// Accepted: S3 event notifications (several records per message, keys URL-encoded with "+" for space),
// the same wrapped in an SNS envelope, and explicit jobs {"bucket","key"} or the original design's
// {"bucket","object"}.

export interface Job {
    bucket: string;
    key: string;
    /** From the notification, when there is one (the result records the ETag actually read). */
    size?: number;
}

export type ParsedMessage =
    | { kind: "jobs"; jobs: Job[] }
    /** Nothing to do, but nothing wrong either (s3:TestEvent, non-create events): delete the message. */
    | { kind: "ignore"; reason: string }
    /** Not a job: dead-letter it with this reason. */
    | { kind: "invalid"; reason: string };

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
    return typeof v === "string" && v.length > 0;
}

/** S3 notification keys are form-encoded: "+" is a space, the rest is percent-encoding. */
export function decodeS3EventKey(key: string): string {
    return decodeURIComponent(key.replace(/\+/g, " "));
}

function describe(body: string): string {
    return body.length > 120 ? `${body.slice(0, 117)}...` : body;
}

function parseS3Records(records: unknown[]): ParsedMessage {
    if (records.length === 0) return { kind: "invalid", reason: "S3 event notification has an empty Records list" };
    const jobs: Job[] = [];
    const skipped: string[] = [];
    for (const [i, record] of records.entries()) {
        if (!isObject(record) || !isObject(record.s3))
            return { kind: "invalid", reason: `record ${i} is not an S3 event record (no "s3" object)` };
        const eventName = typeof record.eventName === "string" ? record.eventName : "";
        const bucket = isObject(record.s3.bucket) ? record.s3.bucket.name : undefined;
        const object = isObject(record.s3.object) ? record.s3.object : undefined;
        if (!nonEmptyString(bucket) || object === undefined || !nonEmptyString(object.key)) {
            return { kind: "invalid", reason: `record ${i} lacks s3.bucket.name or s3.object.key` };
        }
        if (eventName !== "" && !eventName.startsWith("ObjectCreated:")) {
            skipped.push(eventName);
            continue;
        }
        let key: string;
        try {
            key = decodeS3EventKey(object.key);
        } catch {
            return { kind: "invalid", reason: `record ${i} has a key that is not valid URL encoding: ${JSON.stringify(object.key)}` };
        }
        const job: Job = { bucket, key };
        if (typeof object.size === "number") job.size = object.size;
        jobs.push(job);
    }
    if (jobs.length === 0) return { kind: "ignore", reason: `no ObjectCreated records (got ${skipped.join(", ")})` };
    return { kind: "jobs", jobs };
}

function parseValue(value: unknown, body: string, depth: number): ParsedMessage {
    if (!isObject(value)) return { kind: "invalid", reason: `message body is not a JSON object: ${describe(body)}` };
    if (value.Event === "s3:TestEvent") return { kind: "ignore", reason: "s3:TestEvent" };
    if (Array.isArray(value.Records)) return parseS3Records(value.Records);
    // SNS fan-out of an S3 notification: the notification is the string in Message.
    if (value.Type === "Notification" && typeof value.Message === "string" && depth === 0) {
        let inner: unknown;
        try {
            inner = JSON.parse(value.Message);
        } catch {
            return { kind: "invalid", reason: "SNS envelope's Message is not JSON" };
        }
        return parseValue(inner, value.Message, depth + 1);
    }
    if ("bucket" in value) {
        const key = value.key ?? value.object;
        if (!nonEmptyString(value.bucket))
            return { kind: "invalid", reason: `job's "bucket" must be a non-empty string: ${describe(body)}` };
        if (!nonEmptyString(key)) return { kind: "invalid", reason: `job needs a non-empty string "key" (or "object"): ${describe(body)}` };
        return { kind: "jobs", jobs: [{ bucket: value.bucket, key }] };
    }
    return { kind: "invalid", reason: `message is neither an S3 event notification nor a {"bucket","key"} job: ${describe(body)}` };
}

export function parseMessage(body: string | undefined): ParsedMessage {
    if (body === undefined || body.trim() === "") return { kind: "invalid", reason: "message body is empty" };
    let value: unknown;
    try {
        value = JSON.parse(body);
    } catch {
        return { kind: "invalid", reason: `message body is not JSON: ${describe(body)}` };
    }
    return parseValue(value, body, 0);
}

export function jobName(job: Job): string {
    return `s3://${job.bucket}/${job.key}`;
}
