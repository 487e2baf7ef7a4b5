// Polling a model server until a model version is AVAILABLE (e.g. at worker start-up).
import { describeModel } from "./errors";
import { ModelServerError, ModelState, type ModelClient, type ModelSpec, type ModelVersionStatus } from "./types";

export interface WaitOptions {
    timeoutMs: number;
    /** Delay between polls; default 500 ms. */
    intervalMs?: number;
    signal?: AbortSignal;
}

/**
 * Resolves with the highest AVAILABLE version (the one TF Serving serves a request without a version). Transient errors and NOT_FOUND (TF Serving answers
 * NOT_FOUND until its file-system poller has seen the model) count as "not yet"; other permanent errors
 * are thrown at once. On timeout the error names the model and the last thing the server said.
 */
export async function waitForModelAvailable(client: ModelClient, spec: ModelSpec, options: WaitOptions): Promise<ModelVersionStatus> {
    const deadline = Date.now() + options.timeoutMs;
    const intervalMs = options.intervalMs ?? 500;
    let last: string;
    for (;;) {
        options.signal?.throwIfAborted();
        const remaining = deadline - Date.now();
        try {
            const statuses = await client.getModelStatus(spec, { timeoutMs: Math.max(100, Math.min(remaining, 5_000)) });
            const available = statuses.filter((s) => s.state === ModelState.AVAILABLE).sort((a, b) => b.version - a.version)[0];
            if (available) return available;
            last =
                statuses.length === 0
                    ? "no versions reported"
                    : statuses
                          .map(
                              (s) =>
                                  `version ${s.version} ${ModelState[s.state] ?? s.state}${s.errorMessage ? ` (${s.errorMessage})` : ""}`,
                          )
                          .join(", ");
        } catch (err) {
            if (!(err instanceof ModelServerError) || !(err.transient || err.code === "NOT_FOUND")) throw err;
            last = err.message;
        }
        if (Date.now() + intervalMs > deadline) {
            throw new ModelServerError(
                `model ${describeModel(spec)} on ${client.url} was not AVAILABLE within ${options.timeoutMs} ms; last status: ${last}`,
                "MODEL_NOT_AVAILABLE",
                true,
            );
        }
        await sleep(intervalMs, options.signal);
    }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        const onAbort = (): void => {
            clearTimeout(timer);
            reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}
