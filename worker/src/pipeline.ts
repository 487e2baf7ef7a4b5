// decode -> batch -> infer -> sink, overlapped and bounded: at most `maxInFlight` batches are at the
// model server while ffmpeg decodes the next one; results reach the sink in frame order.
import type { FrameBatch } from "./decode";
import { DETECTION_OUTPUTS, parseDetections, type Detection } from "./detections";
import { GiveBackError, JobError, ModelVersionChanged, ShutdownError } from "./errors";
import { ModelServerError, tensorFromUint8, type ModelClient, type ModelSpec } from "../model-client/tfserving";

export interface FrameResult {
    index: number;
    /** Presentation time in ms from the start (null when unknown). */
    timestampMs: number | null;
    detections: Detection[];
}

export interface InferenceSettings {
    client: ModelClient;
    spec: ModelSpec;
    inputName: string;
    width: number;
    height: number;
    scoreThreshold: number;
    timeoutMs: number;
    /** Retries after the first attempt, for transient failures only. */
    maxRetries: number;
    /** First backoff; doubles per retry, capped at 8 s. */
    retryBaseMs?: number;
    onRetry?: (attempt: number, err: ModelServerError, delayMs: number) => void;
    /**
     * NOT_FOUND from a model that was AVAILABLE: resolves once it is AVAILABLE again, with the version now
     * served (the batch is then retried, or the job restarts when that is not `spec.version`); rejects when
     * it stays away. Without it, NOT_FOUND fails the job as a bad model name.
     */
    waitForModel?: (err: ModelServerError) => Promise<number | undefined>;
    /** Called with the version each response says served it (gRPC model_spec.version); may throw ModelVersionChanged. */
    onServedVersion?: (version: number) => void;
}

/** Extra tries of a batch whose outputs failed validation. */
const BAD_OUTPUT_RETRIES = 1;

/**
 * NOT_FOUND pauses one batch may sit out (a model that keeps flapping is not waited for forever). From the
 * second pause on, the batch also backs off (retryBaseMs doubling, at most 8 s), so a model that reports
 * AVAILABLE while Predict says NOT_FOUND is not hammered.
 */
const MAX_MODEL_PAUSES = 10;

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal.aborted) {
            reject(new ShutdownError());
            return;
        }
        const onAbort = (): void => {
            clearTimeout(timer);
            reject(new ShutdownError());
        };
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
    });
}

function modelName(spec: ModelSpec): string {
    return spec.version === undefined ? `"${spec.name}"` : `"${spec.name}" version ${spec.version}`;
}

/** One Predict for a batch, retried with exponential backoff while the failure is transient. */
export async function inferBatch(batch: FrameBatch, settings: InferenceSettings, signal: AbortSignal): Promise<Detection[][]> {
    const input = tensorFromUint8(batch.data, [batch.count, settings.height, settings.width, 3]);
    const base = settings.retryBaseMs ?? 250;
    let pauses = 0;
    let badOutputs = 0;
    for (let attempt = 0; ; attempt++) {
        if (signal.aborted) throw new ShutdownError();
        try {
            const response = await settings.client.predict(
                { model: settings.spec, inputs: { [settings.inputName]: input }, outputFilter: [...DETECTION_OUTPUTS] },
                { timeoutMs: settings.timeoutMs },
            );
            if (response.model?.version !== undefined && response.model.version !== 0) settings.onServedVersion?.(response.model.version);
            return parseDetections(response.outputs, batch.count, settings.scoreThreshold, modelName(settings.spec));
        } catch (err) {
            if (signal.aborted) throw new ShutdownError();
            if (!(err instanceof ModelServerError)) throw err;
            if (err.code === "NOT_FOUND" && settings.waitForModel !== undefined) {
                if (pauses >= MAX_MODEL_PAUSES)
                    throw new GiveBackError(
                        `the model server lost the model ${pauses} times during one batch: ${err.message}`,
                        "MODEL_FLAPPING",
                    );
                pauses++;
                if (pauses > 1) await sleep(Math.min(8_000, base * 2 ** (pauses - 2)), signal);
                const now = await settings.waitForModel(err);
                const pinned = settings.spec.version;
                if (pinned !== undefined && now !== undefined && now !== pinned) throw new ModelVersionChanged(pinned, now);
                attempt--; // the model was away, not failing: this try does not count
                continue;
            }
            // Invalid outputs are asked for once more (a one-off glitch passes); the same again is the model's, permanently.
            const retryBadOutput = err.code === "BAD_OUTPUT" && badOutputs++ < BAD_OUTPUT_RETRIES && attempt < settings.maxRetries;
            if (err.code === "BAD_OUTPUT" && !retryBadOutput) {
                throw new JobError(
                    `model output for frames ${batch.firstIndex}-${batch.firstIndex + batch.count - 1} is invalid${badOutputs > 1 ? ` ${badOutputs} times in a row` : ""}: ${err.message}`,
                    true,
                    "MODEL_BAD_OUTPUT",
                );
            }
            if (!err.transient && !retryBadOutput)
                throw new JobError(
                    `model rejected frames ${batch.firstIndex}-${batch.firstIndex + batch.count - 1}: ${err.message}`,
                    true,
                    `MODEL_${err.code}`,
                );
            if (attempt >= settings.maxRetries) {
                // Not the video's fault: the job goes back uncounted and the worker waits for the model (issue 17 item 4).
                throw new GiveBackError(`model server still failing after ${attempt + 1} attempts: ${err.message}`, `MODEL_${err.code}`);
            }
            const delay = Math.min(8_000, base * 2 ** attempt);
            settings.onRetry?.(attempt + 1, err, delay);
            await sleep(delay, signal);
        }
    }
}

export interface PipelineOptions {
    batches: AsyncIterable<FrameBatch>;
    infer: (batch: FrameBatch) => Promise<Detection[][]>;
    maxInFlight: number;
    /** Called once per frame, in frame order. */
    sink: (frame: FrameResult) => void | Promise<void>;
    /** Decoded batches kept ready beyond the one in hand, so ffmpeg keeps decoding while we wait (default 1). */
    prefetch?: number;
    /** Abort: stop waiting for in-flight batches at once. */
    signal?: AbortSignal;
    onBatch?: (batch: FrameBatch, latencyMs: number) => void;
    /** Called when a batch's frames have been sunk and its buffer is free for reuse. */
    release?: (batch: FrameBatch) => void;
}

export interface PipelineSummary {
    frames: number;
    batches: number;
}

interface InFlight {
    batch: FrameBatch;
    result: Promise<{ detections: Detection[][]; latencyMs: number }>;
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineSummary> {
    const queue: InFlight[] = [];
    let frames = 0;
    let batches = 0;
    type Done = { batch: FrameBatch; detections: Detection[][] };
    const takeHead = async (): Promise<Done> => {
        const head = queue.shift() as InFlight;
        const { detections, latencyMs } = await (options.signal ? raceAbort(head.result, options.signal) : head.result);
        options.onBatch?.(head.batch, latencyMs);
        return { batch: head.batch, detections };
    };
    const sink = async ({ batch, detections }: Done): Promise<void> => {
        for (let i = 0; i < batch.count; i++)
            await options.sink({ index: batch.firstIndex + i, timestampMs: batch.timestampsMs?.[i] ?? null, detections: detections[i] });
        options.release?.(batch);
        frames += batch.count;
        batches++;
    };
    const launch = (batch: FrameBatch): void => {
        const started = performance.now();
        const result = options.infer(batch).then((detections) => ({ detections, latencyMs: performance.now() - started }));
        result.catch(() => undefined); // awaited in order by takeHead; avoid an unhandled rejection meanwhile
        queue.push({ batch, result });
    };
    try {
        // Each batch is decoded while up to maxInFlight earlier ones are at the model server. When the
        // oldest comes back, the next batch goes out first and the returned one is recorded after, so the
        // model server never waits on result writing.
        for await (const batch of prefetch(options.batches, options.prefetch ?? 1)) {
            const done = queue.length >= options.maxInFlight ? await takeHead() : undefined;
            launch(batch);
            if (done) await sink(done);
        }
        while (queue.length > 0) await sink(await takeHead());
    } finally {
        queue.length = 0;
    }
    return { frames, batches };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(new ShutdownError());
    return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => reject(new ShutdownError());
        signal.addEventListener("abort", onAbort, { once: true });
        promise.then(
            (v) => {
                signal.removeEventListener("abort", onAbort);
                resolve(v);
            },
            (e: unknown) => {
                signal.removeEventListener("abort", onAbort);
                reject(e);
            },
        );
    });
}

/**
 * Pulls up to `depth` items ahead of the consumer. Async generators queue next() calls, so the source
 * keeps running (ffmpeg keeps decoding) while the consumer waits on the model server.
 */
export async function* prefetch<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
    const it = source[Symbol.asyncIterator]();
    const ahead: Promise<IteratorResult<T>>[] = [];
    let finished = false;
    try {
        for (;;) {
            while (ahead.length <= depth) {
                const next = it.next();
                next.catch(() => undefined); // surfaced when its turn comes
                ahead.push(next);
            }
            const result = await (ahead.shift() as Promise<IteratorResult<T>>);
            if (result.done) {
                finished = true;
                return;
            }
            yield result.value;
        }
    } finally {
        if (!finished) await it.return?.(undefined);
    }
}
