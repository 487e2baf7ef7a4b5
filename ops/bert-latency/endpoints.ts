// What bench:bert needs from a BERT server, per protocol (v2: KServe v2 / Triton; tfserving: TF Serving
// Predict, legacy): the request (built once, reused for every call; see ../src/bert/inputs.ts), the check
// of each reply, the checks before a run, and the bare gRPC call the overhead floor replays.
import {
    buildBertRequest,
    buildV2BertRequest,
    checkBertResponse,
    checkV2BertResponse,
    checkV2Metadata,
    type BertShape,
} from "../../worker/model-client/bert/inputs";
import {
    createInferenceClient,
    encodeInferRequest,
    MODEL_INFER_METHOD,
    type InferenceClient,
    type InferRequest,
} from "../../worker/model-client/kserve";
import { ModelServerError } from "../../worker/model-client/model-server-error";
import {
    createModelClient,
    encodePredictRequest,
    ModelState,
    type ModelClient,
    type PredictRequest,
} from "../../worker/model-client/tfserving";
import { PREDICT_METHOD } from "../../worker/model-client/tfserving/methods";

export {
    buildBertRequest,
    buildV2BertRequest,
    checkBertResponse,
    checkV2BertResponse,
    checkV2Metadata,
    type BertShape,
} from "../../worker/model-client/bert/inputs";

export const PROTOCOLS = ["v2", "tfserving"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A BERT server as the bench drives it. */
export interface BertEndpoint {
    readonly protocol: Protocol;
    readonly url: string;
    /** One inference with the prebuilt request: null when the reply is usable, else why not; rejects when the call fails. */
    infer(timeoutMs: number): Promise<string | null>;
    /** Checks before a run; throws an error naming the model and the server when the run cannot work. */
    preflight(timeoutMs: number): Promise<void>;
    /** gRPC method and encoded request of one call, for the bare HTTP/2 floor; undefined over REST. */
    readonly bareCall: { method: string; body: Buffer } | undefined;
    close(): void;
}

export interface EndpointOptions extends BertShape {
    protocol: Protocol;
    /** grpc:// (either protocol) or http:// (TF Serving REST) URL. */
    url: string;
    signature: string;
    connections: number;
    timeoutMs: number;
}

export function openBertEndpoint(options: EndpointOptions): BertEndpoint {
    return options.protocol === "v2" ? new V2Endpoint(options) : new TfServingEndpoint(options);
}

/** Retries transient failures a few times (a server may be starting), then gives up; a model still loading is reported at once. */
async function withRetries<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await work();
        } catch (err) {
            if (!(err instanceof ModelServerError) || !err.transient || err.code === "MODEL_NOT_READY" || attempt >= 5) throw err;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
    }
}

// ---------------------------------------------------------------- KServe v2

class V2Endpoint implements BertEndpoint {
    readonly protocol = "v2";
    readonly url: string;
    readonly bareCall: { method: string; body: Buffer };
    private readonly client: InferenceClient;
    private readonly request: InferRequest;

    constructor(private readonly options: EndpointOptions) {
        this.client = createInferenceClient(options.url, { connections: options.connections, defaultTimeoutMs: options.timeoutMs });
        this.url = this.client.url;
        this.request = buildV2BertRequest(options);
        this.bareCall = { method: MODEL_INFER_METHOD, body: encodeInferRequest(this.request) };
    }

    async infer(timeoutMs: number): Promise<string | null> {
        return checkV2BertResponse(await this.client.modelInfer(this.request, { timeoutMs }), this.options.batch);
    }

    async preflight(timeoutMs: number): Promise<void> {
        const model = { name: this.options.model };
        const ready = await withRetries(() => this.client.modelReady(model, { timeoutMs }));
        // Triton answers ModelReady false both for a model it is loading and one it does not have; ModelMetadata tells them apart.
        const metadata = await withRetries(() => this.client.modelMetadata(model, { timeoutMs })).catch((err: unknown) => {
            if (err instanceof ModelServerError && err.code === "MODEL_NOT_READY") throw new ModelServerError(err.message, err.code, false);
            throw err;
        });
        if (!ready)
            throw new ModelServerError(
                `model "${model.name}" on ${this.url} is not ready yet (ModelReady says false)`,
                "MODEL_NOT_READY",
                false,
            );
        const shapeProblem = checkV2Metadata(metadata, this.options);
        if (shapeProblem) throw new ModelServerError(`${shapeProblem} (server ${this.url})`, "INVALID_ARGUMENT", false);
        const problem = await withRetries(() => this.infer(timeoutMs));
        if (problem) throw new ModelServerError(`model "${model.name}" on ${this.url}: ${problem}`, "BAD_RESPONSE", false);
    }

    close(): void {
        this.client.close();
    }
}

// ---------------------------------------------------------------- TF Serving (legacy)

class TfServingEndpoint implements BertEndpoint {
    readonly protocol = "tfserving";
    readonly url: string;
    readonly bareCall: { method: string; body: Buffer } | undefined;
    readonly client: ModelClient;
    private readonly request: PredictRequest;

    constructor(private readonly options: EndpointOptions) {
        this.client = createModelClient(options.url, { connections: options.connections, defaultTimeoutMs: options.timeoutMs });
        this.url = this.client.url;
        this.request = buildBertRequest(options);
        this.bareCall = options.url.startsWith("grpc:") ? { method: PREDICT_METHOD, body: encodePredictRequest(this.request) } : undefined;
    }

    async infer(timeoutMs: number): Promise<string | null> {
        return checkBertResponse(await this.client.predict(this.request, { timeoutMs }), this.options.batch);
    }

    async preflight(timeoutMs: number): Promise<void> {
        const model = this.options.model;
        let problem: string | null;
        try {
            problem = await withRetries(() => this.infer(timeoutMs));
        } catch (err) {
            if (err instanceof ModelServerError && err.code === "NOT_FOUND") {
                // TF Serving answers NOT_FOUND both for an unknown model and while it loads one; its model status tells which.
                const statuses = await this.client.getModelStatus({ name: model }, { timeoutMs }).catch(() => undefined);
                const loading = statuses?.find((s) => s.state !== ModelState.AVAILABLE);
                if (loading)
                    throw new ModelServerError(
                        `model "${model}" on ${this.url} is not ready yet (version ${loading.version} ${ModelState[loading.state] ?? loading.state})`,
                        "MODEL_NOT_READY",
                        false,
                    );
            }
            if (err instanceof ModelServerError && !err.message.includes(`"${model}"`))
                throw new ModelServerError(`model "${model}" on ${this.url}: ${err.message}`, err.code, err.transient);
            throw err;
        }
        if (problem) throw new ModelServerError(`model "${model}" on ${this.url}: ${problem}`, "BAD_RESPONSE", false);
    }

    close(): void {
        this.client.close();
    }
}
