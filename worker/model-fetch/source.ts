// MODEL_URI parsing: which kind of source a model comes from.
import { ModelFetchError } from "./errors";

export type ModelSource =
    /** Every object under the prefix (which ends in "/", or is empty for the whole bucket). */
    | { kind: "s3-prefix"; uri: string; bucket: string; prefix: string }
    | { kind: "s3-archive"; uri: string; bucket: string; key: string; compression: ArchiveCompression }
    | { kind: "http-archive"; uri: string; url: URL; compression: ArchiveCompression };

export type ArchiveCompression = "gzip" | "none";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

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
 * accepted only for loopback hosts (local tests and demos), never across a network.
 */
export function parseModelUri(raw: string): ModelSource {
    const uri = raw.trim();
    if (uri === "") throw new ModelFetchError("MODEL_URI is empty", "CONFIG");
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        throw new ModelFetchError(`MODEL_URI is not a URI: ${JSON.stringify(uri)}`, "CONFIG");
    }
    if (url.protocol === "s3:") {
        // Bucket and key are taken verbatim from the text (URL would percent-encode the key).
        const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
        const bucket = match?.[1] ?? "";
        const key = match?.[2] ?? "";
        if (bucket === "") throw new ModelFetchError(`MODEL_URI has no bucket: ${uri}`, "CONFIG");
        const compression = archiveCompression(key);
        if (compression !== undefined) return { kind: "s3-archive", uri, bucket, key, compression };
        const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
        return { kind: "s3-prefix", uri, bucket, prefix };
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
        const compression = archiveCompression(url.pathname);
        if (compression === undefined) {
            throw new ModelFetchError(`MODEL_URI must name a .tar.gz, .tgz or .tar archive when it is a URL: ${uri}`, "CONFIG");
        }
        return { kind: "http-archive", uri, url, compression };
    }
    if (url.protocol === "http:") {
        throw new ModelFetchError(`MODEL_URI must use https (plain http is allowed for localhost only): ${uri}`, "CONFIG");
    }
    throw new ModelFetchError(`MODEL_URI scheme ${url.protocol} is not supported (use s3:// or https://): ${uri}`, "CONFIG");
}
