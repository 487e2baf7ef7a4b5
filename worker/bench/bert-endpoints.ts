// What bench:bert needs from a BERT server, per protocol: the request (built once, reused for every call),
// the check of each reply, the checks before a run, and the bare gRPC call the overhead floor replays.
//   v2        KServe v2 / Open Inference Protocol (Triton): input_ids, attention_mask, token_type_ids
//             INT64 [batch, seq-len] in raw_input_contents; FP32 logits [batch, labels] back.
//   tfserving TF Serving Predict (legacy): input_ids, input_mask, segment_ids INT32 [batch, seq-len].
import { createInferenceClient, encodeInferRequest, MODEL_INFER_METHOD, type InferenceClient, type InferRequest, type InferResponse, type ModelMetadata } from "../src/kserve";
import { ModelServerError } from "../src/model-server-error";
import { createModelClient, DataType, encodePredictRequest, ModelState, readFloat32, tensorFromInt32, type ModelClient, type PredictRequest, type PredictResponse } from "../src/tfserving";
import { PREDICT_METHOD } from "../src/tfserving/methods";

export const PROTOCOLS = ["v2", "tfserving"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const V2_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;
export const V2_OUTPUT = "logits";

export interface BertShape {
    model: string;
    batch: number;
    seqLen: number;
}

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

/** [CLS] tokens [SEP] padding, about two thirds of seqLen used, the second half of it segment 1. */
export function bertTokens(batch: number, seqLen: number): { ids: Int32Array; mask: Int32Array; types: Int32Array } {
    const ids = new Int32Array(batch * seqLen);
    const mask = new Int32Array(batch * seqLen);
    const types = new Int32Array(batch * seqLen);
    const used = Math.max(2, Math.floor((seqLen * 2) / 3));
    for (let b = 0; b < batch; b++) {
        for (let s = 0; s < Math.min(used, seqLen); s++) {
            const i = b * seqLen + s;
            ids[i] = s === 0 ? 101 : s === used - 1 ? 102 : 1000 + ((s * 7919 + b) % 28000);
            mask[i] = 1;
            types[i] = s >= used / 2 ? 1 : 0;
        }
    }
    return { ids, mask, types };
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

function nonFinite(values: ArrayLike<number>): number {
    let bad = 0;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
    return bad;
}

// ---------------------------------------------------------------- KServe v2

function int64Tensor(name: string, values: Int32Array, shape: number[]): InferRequest["inputs"][number] {
    const data = Buffer.allocUnsafe(values.length * 8);
    for (let i = 0; i < values.length; i++) data.writeBigInt64LE(BigInt(values[i]), i * 8);
    return { name, datatype: "INT64", shape, data };
}

export function buildV2BertRequest(shape: BertShape): InferRequest {
    const { ids, mask, types } = bertTokens(shape.batch, shape.seqLen);
    const dims = [shape.batch, shape.seqLen];
    return {
        modelName: shape.model,
        inputs: [int64Tensor("input_ids", ids, dims), int64Tensor("attention_mask", mask, dims), int64Tensor("token_type_ids", types, dims)],
        outputs: [V2_OUTPUT],
    };
}

/** Null when the reply carries finite FP32 logits [batch, labels >= 1]; otherwise why not. */
export function checkV2BertResponse(response: InferResponse, batch: number): string | null {
    const logits = response.outputs.find((o) => o.name === V2_OUTPUT);
    if (!logits || logits.datatype !== "FP32" || logits.shape.length !== 2 || logits.shape[0] !== batch || logits.shape[1] < 1) {
        const seen = response.outputs.map((o) => `${o.name} ${o.datatype} [${o.shape.join(",")}]`).join(", ");
        return `reply has no FP32 ${V2_OUTPUT} of shape [${batch}, labels] (got: ${seen || "no outputs"})`;
    }
    const values = new Float32Array(logits.data.length / 4);
    new Uint8Array(values.buffer).set(logits.data);
    const bad = nonFinite(values);
    return bad === 0 ? null : `${V2_OUTPUT} [${logits.shape.join(",")}] has ${bad} non-finite value(s) of ${values.length}`;
}

/** Why the model's declared inputs cannot take [batch, seqLen] INT64, or null (-1 dimensions take anything). */
export function checkV2Metadata(metadata: ModelMetadata, shape: BertShape): string | null {
    const sent = [shape.batch, shape.seqLen];
    const problems: string[] = [];
    for (const name of V2_INPUTS) {
        const input = metadata.inputs.find((i) => i.name === name);
        if (!input) {
            problems.push(`it has no input "${name}" (inputs: ${metadata.inputs.map((i) => i.name).join(", ") || "none"})`);
            continue;
        }
        const fits = input.shape.length === sent.length && input.shape.every((d, i) => d === -1 || d === sent[i]);
        if (input.datatype !== "INT64" || !fits) problems.push(`input "${name}" is ${input.datatype} [${input.shape.join(",")}], this run sends INT64 [${sent.join(",")}]`);
    }
    return problems.length === 0 ? null : `model "${metadata.name}" cannot take --batch ${shape.batch} --seq-len ${shape.seqLen}: ${problems.join("; ")}`;
}

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
        if (!ready) throw new ModelServerError(`model "${model.name}" on ${this.url} is not ready yet (ModelReady says false)`, "MODEL_NOT_READY", false);
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

/** One request reused for every call: the three BERT inputs as int32 [batch, seqLen] tensor_content. */
export function buildBertRequest(options: BertShape & { signature: string }): PredictRequest {
    const { ids, mask, types } = bertTokens(options.batch, options.seqLen);
    const dims = [options.batch, options.seqLen];
    return {
        model: { name: options.model, signatureName: options.signature },
        inputs: { input_ids: tensorFromInt32(ids, dims), input_mask: tensorFromInt32(mask, dims), segment_ids: tensorFromInt32(types, dims) },
    };
}

/** Null when the response has a finite float output with the batch dimension; otherwise why not. */
export function checkBertResponse(response: PredictResponse, batch: number): string | null {
    const outputs = Object.entries(response.outputs);
    const found = outputs.find(([, t]) => t.dtype === DataType.DT_FLOAT && t.shape[0] === batch && (t.content?.length ?? 0) > 0);
    if (!found) {
        const seen = outputs.map(([name, t]) => `${name} ${DataType[t.dtype] ?? t.dtype} [${t.shape.join(",")}]`).join(", ");
        return `response has no float output with batch dimension ${batch} (got: ${seen || "no outputs"})`;
    }
    const [name, tensor] = found;
    const values = readFloat32(tensor);
    const bad = nonFinite(values);
    return bad === 0 ? null : `${name} [${tensor.shape.join(",")}] has ${bad} non-finite value(s) of ${values.length}`;
}

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
                if (loading) throw new ModelServerError(`model "${model}" on ${this.url} is not ready yet (version ${loading.version} ${ModelState[loading.state] ?? loading.state})`, "MODEL_NOT_READY", false);
            }
            if (err instanceof ModelServerError && !err.message.includes(`"${model}"`)) throw new ModelServerError(`model "${model}" on ${this.url}: ${err.message}`, err.code, err.transient);
            throw err;
        }
        if (problem) throw new ModelServerError(`model "${model}" on ${this.url}: ${problem}`, "BAD_RESPONSE", false);
    }

    close(): void {
        this.client.close();
    }
}
