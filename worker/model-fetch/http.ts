// HTTPS downloads for model-fetch, handed on as a stream.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ModelFetchError } from "./errors";

/** GET `url` and return its body as a Node stream; HTTP errors become ModelFetchErrors. */
export async function openHttpDownload(url: URL, fetchImpl: typeof fetch = fetch): Promise<Readable> {
    const what = url.href;
    let response: Response;
    try {
        response = await fetchImpl(url, { redirect: "follow" });
    } catch (err) {
        const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
        throw new ModelFetchError(`could not connect to download ${what}${cause}`, "TRANSFER_FAILED", { cause: err });
    }
    if (response.status === 404 || response.status === 410) {
        throw new ModelFetchError(`not found: ${what} (HTTP ${response.status})`, "NOT_FOUND");
    }
    if (response.status === 401 || response.status === 403) {
        throw new ModelFetchError(`access denied downloading ${what} (HTTP ${response.status})`, "ACCESS_DENIED");
    }
    if (!response.ok || response.body === null) {
        throw new ModelFetchError(`download of ${what} failed: HTTP ${response.status} ${response.statusText}`, "TRANSFER_FAILED");
    }
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}
