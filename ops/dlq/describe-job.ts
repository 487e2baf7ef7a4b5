// What a dead-lettered job message is about, for listing and filtering (pure).

export interface JobSummary {
    kind: "s3-event" | "job" | "s3-test-event" | "unrecognised";
    bucket?: string;
    /** Object key, URL-decoded (S3 notifications encode keys, spaces as '+'). */
    key?: string;
}

function decodeS3Key(raw: string): string {
    try {
        return decodeURIComponent(raw.replace(/\+/g, " "));
    } catch {
        return raw;
    }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Recognises S3 event notifications and plain `{bucket, key|object}` job bodies. */
export function describeJob(body: string): JobSummary {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return { kind: "unrecognised" };
    }
    const root = asRecord(parsed);
    if (root === undefined) return { kind: "unrecognised" };
    if (root.Event === "s3:TestEvent") return { kind: "s3-test-event" };
    if (Array.isArray(root.Records)) {
        const s3 = asRecord(asRecord(root.Records[0])?.s3);
        const bucket = asRecord(s3?.bucket)?.name;
        const key = asRecord(s3?.object)?.key;
        if (typeof bucket === "string" && typeof key === "string") return { kind: "s3-event", bucket, key: decodeS3Key(key) };
        return { kind: "unrecognised" };
    }
    const key = typeof root.key === "string" ? root.key : root.object;
    if (typeof root.bucket === "string" && typeof key === "string") return { kind: "job", bucket: root.bucket, key };
    return { kind: "unrecognised" };
}
