// ModelClient over TF Serving's REST API (default port 8501) using fetch and the columnar JSON format.
import { describeModel, httpError } from "./errors";
import { jsonToTensor, tensorToJsonBytes } from "./json-tensors";
import { metadataDecodeError, parseRestModelMetadata, type ModelMetadata } from "./metadata";
import {
    ModelServerError,
    ModelState,
    type CallOptions,
    type ModelClient,
    type ModelSpec,
    type ModelVersionStatus,
    type PredictRequest,
    type PredictResponse,
    type Tensor,
} from "./types";

export interface RestClientOptions {
    /** Default per-call deadline when the call gives none; default 30 s. */
    defaultTimeoutMs?: number;
}

export class RestModelClient implements ModelClient {
    private readonly base: string;
    private readonly defaultTimeoutMs: number;

    constructor(
        readonly url: string,
        options: RestClientOptions = {},
    ) {
        this.base = url.replace(/\/+$/, "");
        this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    }

    async predict(request: PredictRequest, options?: CallOptions): Promise<PredictResponse> {
        const body = encodeRestPredictBody(request);
        const json = await this.send(`${modelPath(request.model)}:predict`, request.model, options, { method: "POST", body });
        return { model: request.model, outputs: parseRestOutputs(json, request, this.url) };
    }

    async getModelStatus(model: ModelSpec, options?: CallOptions): Promise<ModelVersionStatus[]> {
        const json = await this.send(modelPath(model), model, options, { method: "GET" });
        return parseRestModelStatus(json, this.url);
    }

    async getModelMetadata(model: ModelSpec, options?: CallOptions): Promise<ModelMetadata> {
        const json = await this.send(`${modelPath(model)}/metadata`, model, options, { method: "GET" });
        try {
            return parseRestModelMetadata(json);
        } catch (err) {
            throw metadataDecodeError(this.url, model, err);
        }
    }

    close(): void {
        // fetch keeps no per-client state worth releasing.
    }

    private async send(
        path: string,
        spec: ModelSpec,
        options: CallOptions | undefined,
        init: { method: string; body?: Buffer },
    ): Promise<unknown> {
        const timeoutMs = options?.timeoutMs ?? this.defaultTimeoutMs;
        let response: Response;
        let text: string;
        try {
            response = await fetch(this.base + path, {
                method: init.method,
                body: init.body,
                headers: init.body === undefined ? undefined : { "content-type": "application/json" },
                signal: AbortSignal.timeout(timeoutMs),
            });
            text = await response.text();
        } catch (err) {
            throw networkError(err, this.url, spec, timeoutMs);
        }
        if (!response.ok) throw httpError(response.status, serverErrorText(text), this.url, spec);
        try {
            return parseServerJson(text);
        } catch {
            // TF Serving itself always writes JSON: HTML or a body cut short comes from a proxy or a broken
            // connection, so it is worth asking again (BAD_RESPONSE is transient).
            throw new ModelServerError(
                `model server ${this.url} answered ${describeModel(spec)} with HTTP ${response.status} and a body that is not JSON (${text.length} bytes; a proxy's page, or cut short): ${text.slice(0, 200)}`,
                "BAD_RESPONSE",
                true,
            );
        }
    }
}

const NAN_MARK = "\u0000NaN";

/**
 * JSON as TF Serving writes it: RapidJSON with kWriteNanAndInfFlag puts bare `NaN`, `Infinity` and
 * `-Infinity` tokens in number positions when an output holds non-finite floats. Plain JSON.parse first
 * (the common, fast case); only a body that fails and mentions those tokens is rewritten (outside
 * strings) and parsed again, so the values reach output validation instead of failing the whole body.
 */
export function parseServerJson(text: string): unknown {
    try {
        return JSON.parse(text) as unknown;
    } catch (err) {
        if (!/NaN|Infinity/.test(text)) throw err;
    }
    let out = "";
    let last = 0;
    let inString = false;
    let sawNaN = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
            if (c === 0x5c)
                i++; // backslash: skip the escaped character
            else if (c === 0x22) inString = false;
            continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x4e && text.startsWith("NaN", i)) {
            out += `${text.slice(last, i)}"\\u0000NaN"`;
            i += 2;
            last = i + 1;
            sawNaN = true;
        } else if (c === 0x49 && text.startsWith("Infinity", i)) {
            out += `${text.slice(last, i)}1e999`; // JSON.parse reads 1e999 as Infinity (and -1e999 as -Infinity)
            i += 7;
            last = i + 1;
        }
    }
    out += text.slice(last);
    return sawNaN
        ? (JSON.parse(out, (_key, value: unknown) => (value === NAN_MARK ? NaN : value)) as unknown)
        : (JSON.parse(out) as unknown);
}

function modelPath(spec: ModelSpec): string {
    const name = encodeURIComponent(spec.name);
    return spec.version === undefined ? `/v1/models/${name}` : `/v1/models/${name}/versions/${spec.version}`;
}

/** The request body as JSON bytes, built without turning big uint8 tensors into JS arrays or strings. */
export function encodeRestPredictBody(request: PredictRequest): Buffer {
    const parts: Buffer[] = [
        Buffer.from(`{"signature_name":${JSON.stringify(request.model.signatureName ?? "serving_default")},"inputs":{`),
    ];
    Object.entries(request.inputs).forEach(([name, tensor], i) => {
        parts.push(Buffer.from(`${i > 0 ? "," : ""}${JSON.stringify(name)}:`), tensorToJsonBytes(tensor));
    });
    parts.push(Buffer.from(request.outputFilter ? `},"output_filter":${JSON.stringify(request.outputFilter)}}` : "}}"));
    return Buffer.concat(parts);
}

function serverErrorText(text: string): string {
    try {
        const parsed = JSON.parse(text) as unknown;
        if (typeof parsed === "object" && parsed !== null && typeof (parsed as { error?: unknown }).error === "string") {
            return (parsed as { error: string }).error;
        }
    } catch {
        // not JSON: fall through to the raw text
    }
    return text.slice(0, 500) || "(empty body)";
}

function networkError(err: unknown, url: string, spec: ModelSpec, timeoutMs: number): ModelServerError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === "TimeoutError" || e.name === "AbortError") {
        return new ModelServerError(
            `model server ${url} did not answer for model ${describeModel(spec)} within ${timeoutMs} ms`,
            "DEADLINE_EXCEEDED",
            true,
        );
    }
    const reason = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return new ModelServerError(`model server ${url} is unavailable: ${reason}`, "UNAVAILABLE", true);
}

/**
 * `{"outputs": {...}}`, or `{"outputs": value}` when the signature has one output (TF Serving drops the
 * name then): that single output is named after the only requested output, else "outputs".
 */
export function parseRestOutputs(json: unknown, request: PredictRequest, url: string): Record<string, Tensor> {
    const outputs = (json as { outputs?: unknown } | null)?.outputs;
    if (outputs === undefined)
        throw new ModelServerError(`model server ${url} returned no "outputs" in its predict response`, "DECODE_ERROR", false);
    try {
        if (typeof outputs === "object" && outputs !== null && !Array.isArray(outputs)) {
            const result: Record<string, Tensor> = {};
            for (const [name, value] of Object.entries(outputs)) result[name] = jsonToTensor(value, `output "${name}"`);
            return result;
        }
        const name = request.outputFilter?.length === 1 ? request.outputFilter[0] : "outputs";
        return { [name]: jsonToTensor(outputs, "output") };
    } catch (err) {
        throw new ModelServerError(
            `model server ${url} returned outputs that do not parse: ${(err as Error).message}`,
            "DECODE_ERROR",
            false,
        );
    }
}

const STATE_BY_NAME: Record<string, ModelState> = {
    UNKNOWN: ModelState.UNKNOWN,
    START: ModelState.START,
    LOADING: ModelState.LOADING,
    AVAILABLE: ModelState.AVAILABLE,
    UNLOADING: ModelState.UNLOADING,
    END: ModelState.END,
};

/** TF Serving's REST status: versions are int64 strings, states and error codes are enum names. */
export function parseRestModelStatus(json: unknown, url: string): ModelVersionStatus[] {
    const list = (json as { model_version_status?: unknown } | null)?.model_version_status;
    if (!Array.isArray(list))
        throw new ModelServerError(`model server ${url} returned no "model_version_status" list`, "DECODE_ERROR", false);
    return list.map((item: { version?: unknown; state?: unknown; status?: { error_code?: unknown; error_message?: unknown } }) => {
        const state = typeof item.state === "number" ? item.state : STATE_BY_NAME[String(item.state)];
        const version = Number(item.version ?? 0);
        if (state === undefined || !Number.isSafeInteger(version)) {
            throw new ModelServerError(
                `model server ${url} returned an unreadable model version status: ${JSON.stringify(item)}`,
                "DECODE_ERROR",
                false,
            );
        }
        const code = item.status?.error_code;
        return {
            version,
            state,
            errorCode: typeof code === "number" ? code : code === undefined || code === "OK" ? 0 : -1,
            errorMessage: typeof item.status?.error_message === "string" ? item.status.error_message : "",
        };
    });
}
