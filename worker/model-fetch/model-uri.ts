// The one rule for where a model may come from: model-fetch applies it to MODEL_URI at pod start, and
// the stack configuration (infra/config) applies it to videoModelUri and to bertModelUri (legacy tf-serving,
// fetched by model-fetch too) before anything is declared, so a URI the stack accepts is one model-fetch accepts. It imports nothing, which is why infra/ may import it
// (eslint.config.mjs lets infra/ reach into worker/ for this file only).

export type ArchiveCompression = "gzip" | "none";

export type ModelSource =
    /** Every object under the prefix (which ends in "/", or is empty for the whole bucket). */
    | { kind: "s3-prefix"; uri: string; bucket: string; prefix: string }
    | { kind: "s3-archive"; uri: string; bucket: string; key: string; compression: ArchiveCompression }
    | { kind: "http-archive"; uri: string; url: URL; compression: ArchiveCompression };

export type ModelUriCheck = { ok: true; source: ModelSource } | { ok: false; problem: string };

/** Hosts plain http is allowed to: this machine only (local tests and demos), never across a network. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** S3 bucket naming rules for general purpose buckets: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `.tar.gz` / `.tgz` -> gzip, `.tar` -> none, anything else -> undefined (not an archive). */
export function archiveCompression(path: string): ArchiveCompression | undefined {
    const lower = path.toLowerCase();
    if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "gzip";
    if (lower.endsWith(".tar")) return "none";
    return undefined;
}

/**
 * Accepts `s3://bucket/prefix/` (a prefix; a trailing "/" is added when the key is not an archive),
 * `s3://bucket/key.tar.gz|.tgz|.tar`, and `https://host/path.tar.gz|.tgz|.tar`. Plain `http://` is
 * accepted only for loopback hosts. A refusal's `problem` says what is wrong and what would be valid,
 * without naming the setting (each caller names its own: MODEL_URI, eks-inference:videoModelUri).
 */
export function checkModelUri(raw: string): ModelUriCheck {
    const uri = raw.trim();
    if (uri === "")
        return {
            ok: false,
            problem: "is empty; expected s3://<bucket>/<prefix>/, s3://<bucket>/<key>.tar.gz or https://<host>/<path>.tar.gz",
        };
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        return {
            ok: false,
            problem: "is not a URI; expected s3://<bucket>/<prefix>/, s3://<bucket>/<key>.tar.gz or https://<host>/<path>.tar.gz",
        };
    }
    if (url.protocol === "s3:") {
        // Bucket and key are taken verbatim from the text (URL would percent-encode the key).
        const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
        const bucket = match?.[1] ?? "";
        const key = match?.[2] ?? "";
        if (bucket === "") return { ok: false, problem: "has no bucket; expected s3://<bucket>/<prefix>/" };
        if (!BUCKET_NAME.test(bucket)) {
            return {
                ok: false,
                problem: `names bucket '${bucket}', which is not a valid S3 bucket name (3-63 of a-z, 0-9, '.' and '-', starting and ending with a letter or digit)`,
            };
        }
        const compression = archiveCompression(key);
        if (compression !== undefined) return { ok: true, source: { kind: "s3-archive", uri, bucket, key, compression } };
        const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
        return { ok: true, source: { kind: "s3-prefix", uri, bucket, prefix } };
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
        const compression = archiveCompression(url.pathname);
        if (compression === undefined) {
            return { ok: false, problem: "is a URL of something other than an archive; a URL must name a .tar.gz, .tgz or .tar file" };
        }
        return { ok: true, source: { kind: "http-archive", uri, url, compression } };
    }
    if (url.protocol === "http:") {
        return {
            ok: false,
            problem: "uses plain http, which is refused outside localhost (anyone on the path could swap the model): use https:// or s3://",
        };
    }
    return { ok: false, problem: `uses the scheme ${url.protocol}, which is not supported: use s3:// or https://` };
}
