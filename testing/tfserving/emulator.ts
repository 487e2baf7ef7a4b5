// A TF Serving protocol emulator: real gRPC (PredictionService/Predict, ModelService/GetModelStatus)
// and REST (/v1/models/...) on separate ports, serving an SSD-like detection model and a BERT-like
// classifier with deterministic outputs. Used by `npm start`, the benchmarks and the tests.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
    decodeGetModelStatusRequest,
    decodePredictRequest,
    encodeGetModelStatusResponse,
    encodePredictResponseSegments,
} from "../../worker/model-client/tfserving/codec";
import { bertModel, detectionModel, InvalidInputError, SERVING_DEFAULT, type ServedModel } from "./emulator-models";
import {
    decodeGetModelMetadataRequest,
    DESCRIPTION_FIELD,
    encodeGetModelMetadataResponse,
    restModelMetadataJson,
    SIGNATURE_DEF_FIELD,
    type ModelMetadata,
} from "../../worker/model-client/tfserving/metadata";
import { GrpcCode } from "../../worker/model-client/grpc/protocol";
import { GrpcStatusError, RawHttpAnswer, startGrpcServer, type GrpcServer, type UnaryHandler } from "../grpc-server";
import { GET_MODEL_METADATA_METHOD, GET_MODEL_STATUS_METHOD, PREDICT_METHOD } from "../../worker/model-client/tfserving/methods";
import { jsonToTensor, JsonTensorError, tensorToJsonText } from "../../worker/model-client/tfserving/json-tensors";
import { readFloat32, tensorFromFloat32 } from "../../worker/model-client/tfserving/tensors";
import {
    DataType,
    ModelState,
    type ModelSpec,
    type ModelVersionStatus,
    type PredictRequest,
    type PredictResponse,
    type Tensor,
} from "../../worker/model-client/tfserving/types";

export interface TfServingEmulatorOptions {
    host?: string;
    /** 0 or absent: a free port. An explicit port is honoured. */
    grpcPort?: number;
    restPort?: number;
    detectionModelName?: string;
    /** A model to serve instead of the emulated detections (e.g. the real CPU detector in testing/detector); its own name is used. */
    detectionModel?: ServedModel;
    bertModelName?: string;
    /** The BERT model takes only this sequence length (as a compiled Neuron model does); absent: any. */
    bertSeqLen?: number;
    /** Service time added to every Predict. */
    latencyMs?: number | ((req: PredictRequest) => number);
    /** Models report LOADING (and Predict answers NOT_FOUND, as TF Serving does) for this long after start. */
    loadingForMs?: number;
    /** How numeric outputs are returned over gRPC. */
    outputEncoding?: "tensor_content" | "typed_fields";
    /** How many of the latest Predict calls `requests` keeps (default 10,000), so memory stays flat. */
    maxRecordedRequests?: number;
}

export type InjectableCode = "UNAVAILABLE" | "INTERNAL" | "INVALID_ARGUMENT" | "RESOURCE_EXHAUSTED" | "DEADLINE_EXCEEDED";

/**
 * Ways a misbehaving detection model can answer "OK" with bad outputs (frame 0, detection 0 is the one
 * changed; it is made a counted, high-scoring detection so no threshold hides it).
 */
export const OUTPUT_FAULTS = [
    "nan",
    "infinity",
    "negative_infinity",
    "score_above_one",
    "box_outside",
    "box_inverted",
    "unknown_class",
    "fractional_class",
    "count_above_k",
    "wrong_dtype",
    "wrong_shape",
    "missing_output",
] as const;
export type OutputFault = (typeof OUTPUT_FAULTS)[number];

/**
 * Answers that are not the model server's (a proxy's error page, a body cut short), for the next
 * detection Predicts: "http_500" is HTTP 500 with an HTML page and no grpc-status; "html_200" is HTTP 200
 * with an HTML page; "truncated_json" is HTTP 200 application/json holding the first half of the real
 * answer (over gRPC also a 200 that is not application/grpc).
 */
export const GARBLED_ANSWERS = ["http_500", "html_200", "truncated_json"] as const;
export type GarbledAnswer = (typeof GARBLED_ANSWERS)[number];

export interface RecordedInput {
    name: string;
    dtype: DataType;
    shape: number[];
}

export interface RecordedRequest {
    transport: "grpc" | "rest";
    model: ModelSpec;
    inputs: RecordedInput[];
    /** First dimension of the first input (frames or sequences per request). */
    batchSize: number;
    outputFilter?: string[];
    /** "OK" or the status code the emulator answered with. */
    outcome: string;
    /** The model version that answered (OK outcomes). */
    servedVersion?: number;
}

export interface TfServingEmulator {
    readonly grpcUrl: string;
    readonly restUrl: string;
    /** The latest Predict calls (up to maxRecordedRequests), in arrival order; status calls are not recorded. */
    readonly requests: RecordedRequest[];
    setLatency(ms: number): void;
    failNext(count: number, code: InjectableCode, message?: string): void;
    /** The next `count` detection Predicts answer OK with this fault in their outputs. */
    corruptNext(count: number, fault: OutputFault): void;
    /** The next `count` detection Predicts report frame 0's first detection as `classId`, score 0.9 (a sound output for ids 1-90). */
    relabelNext(count: number, classId: number): void;
    /** The next `count` detection Predicts get this answer instead of TF Serving's (see GarbledAnswer). */
    garbleNext(count: number, answer: GarbledAnswer): void;
    /**
     * A model that flaps: the next `count` detection Predicts answer NOT_FOUND (as while a version
     * reloads) while GetModelStatus keeps saying AVAILABLE.
     */
    flapNext(count: number): void;
    /**
     * A new model version replaces the served one at once, as TF Serving's latest-version policy does after
     * loading it: status and metadata report `version`, Predict for the old version answers NOT_FOUND.
     */
    setVersion(version: number): void;
    /**
     * A server that ignores the version a Predict pins (not TF Serving: a stand-in or a proxy across
     * replicas): whatever version is served answers, and its response names it.
     */
    ignoreVersionPin(on: boolean): void;
    /** The version served now. */
    readonly version: number;
    /** As a TF Serving restart looks from outside: the model is LOADING (Predict: NOT_FOUND) for `forMs`. */
    reload(forMs: number): void;
    stop(): Promise<void>;
}

/** The metadata fields the emulator answers: TF Serving's one, and the test servers' description. */
const METADATA_FIELDS: readonly string[] = [SIGNATURE_DEF_FIELD, DESCRIPTION_FIELD];

/** The model version the emulator serves until setVersion changes it. */
export const EMULATED_VERSION = 1;

type StatusCode = "OK" | "NOT_FOUND" | InjectableCode;

/** A Predict whose answer is to be garbled; carries the real response (truncated_json cuts it). */
class GarbledPredict extends Error {
    constructor(
        readonly answer: GarbledAnswer,
        readonly response: PredictResponse,
    ) {
        super(`garbled answer: ${answer}`);
    }
}

const PROXY_PAGE = "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n";

/** The bare HTTP answer for a garbled Predict; `restBody` is the JSON TF Serving would have sent. */
function garbledHttp(answer: GarbledAnswer, restBody: string): RawHttpAnswer {
    switch (answer) {
        case "http_500":
            return new RawHttpAnswer(500, "text/html", PROXY_PAGE);
        case "html_200":
            return new RawHttpAnswer(200, "text/html", PROXY_PAGE);
        case "truncated_json":
            return new RawHttpAnswer(200, "application/json", restBody.slice(0, Math.floor(restBody.length / 2)));
    }
}

class EmulatorStatus extends Error {
    constructor(
        readonly code: Exclude<StatusCode, "OK">,
        message: string,
    ) {
        super(message);
    }
}

const GRPC_CODES: Record<Exclude<StatusCode, "OK">, GrpcCode> = {
    NOT_FOUND: GrpcCode.NOT_FOUND,
    UNAVAILABLE: GrpcCode.UNAVAILABLE,
    INTERNAL: GrpcCode.INTERNAL,
    INVALID_ARGUMENT: GrpcCode.INVALID_ARGUMENT,
    RESOURCE_EXHAUSTED: GrpcCode.RESOURCE_EXHAUSTED,
    DEADLINE_EXCEEDED: GrpcCode.DEADLINE_EXCEEDED,
};

// HTTP statuses for the REST side, following the usual gRPC<->HTTP mapping.
const HTTP_STATUSES: Record<Exclude<StatusCode, "OK">, number> = {
    NOT_FOUND: 404,
    UNAVAILABLE: 503,
    INTERNAL: 500,
    INVALID_ARGUMENT: 400,
    RESOURCE_EXHAUSTED: 429,
    DEADLINE_EXCEEDED: 504,
};

const MAX_REST_BODY_BYTES = 512 * 1024 * 1024;

/** The serving logic shared by both transports. */
class ModelServer {
    readonly requests: RecordedRequest[] = [];
    private readonly maxRecordedRequests: number;
    private readonly models = new Map<string, ServedModel>();
    private readonly startedAt = Date.now();
    private latency: number | ((req: PredictRequest) => number);
    private failures: { remaining: number; code: InjectableCode; message: string } | undefined;
    private corruption: { remaining: number; fault: OutputFault } | undefined;
    private garbling: { remaining: number; answer: GarbledAnswer } | undefined;
    private relabel: { remaining: number; classId: number } | undefined;
    private reloadingUntil = 0;
    private flapping = 0;
    version = EMULATED_VERSION;
    private pinIgnored = false;

    constructor(private readonly options: TfServingEmulatorOptions) {
        const detection = options.detectionModel ?? detectionModel(options.detectionModelName ?? "object_detection");
        const bert = bertModel(options.bertModelName ?? "bert", options.bertSeqLen);
        this.models.set(detection.name, detection);
        this.models.set(bert.name, bert);
        this.latency = options.latencyMs ?? 0;
        this.maxRecordedRequests = options.maxRecordedRequests ?? 10_000;
        if (!Number.isInteger(this.maxRecordedRequests) || this.maxRecordedRequests < 0) {
            throw new Error(`maxRecordedRequests must be a whole number >= 0, got ${this.maxRecordedRequests}`);
        }
    }

    setLatency(ms: number): void {
        this.latency = ms;
    }

    failNext(count: number, code: InjectableCode, message?: string): void {
        this.failures = { remaining: count, code, message: message ?? `injected ${code} failure` };
    }

    corruptNext(count: number, fault: OutputFault): void {
        this.corruption = { remaining: count, fault };
    }

    relabelNext(count: number, classId: number): void {
        this.relabel = { remaining: count, classId };
    }

    garbleNext(count: number, answer: GarbledAnswer): void {
        this.garbling = { remaining: count, answer };
    }

    flapNext(count: number): void {
        this.flapping = count;
    }

    setVersion(version: number): void {
        this.version = version;
    }

    ignoreVersionPin(on: boolean): void {
        this.pinIgnored = on;
    }

    reload(forMs: number): void {
        this.reloadingUntil = Date.now() + forMs;
    }

    private loading(): boolean {
        return Date.now() - this.startedAt < (this.options.loadingForMs ?? 0) || Date.now() < this.reloadingUntil;
    }

    status(spec: ModelSpec): ModelVersionStatus[] {
        if (!this.models.has(spec.name) || (spec.version !== undefined && spec.version !== this.version)) {
            const which = spec.version === undefined ? "" : ` version ${spec.version}`;
            throw new EmulatorStatus("NOT_FOUND", `Could not find any versions of model ${spec.name}${which}`);
        }
        const state = this.loading() ? ModelState.LOADING : ModelState.AVAILABLE;
        return [{ version: this.version, state, errorCode: 0, errorMessage: "" }];
    }

    async predict(request: PredictRequest, transport: "grpc" | "rest"): Promise<PredictResponse> {
        const record: RecordedRequest = {
            transport,
            model: request.model,
            inputs: Object.entries(request.inputs).map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })),
            batchSize: Object.values(request.inputs)[0]?.shape[0] ?? 0,
            outputFilter: request.outputFilter,
            outcome: "OK",
        };
        this.requests.push(record);
        if (this.requests.length > this.maxRecordedRequests) this.requests.splice(0, this.requests.length - this.maxRecordedRequests);
        try {
            const failure = this.failures;
            if (failure && failure.remaining > 0) {
                failure.remaining--;
                throw new EmulatorStatus(failure.code, failure.message);
            }
            // The version that takes the request answers it, even if another replaces it meanwhile.
            const version = this.version;
            let outputs = await this.run(request);
            if (this.flapping > 0 && outputs.detection_scores !== undefined) {
                this.flapping--;
                const servable =
                    request.model.version === undefined
                        ? `Latest(${request.model.name})`
                        : `Specific(${request.model.name}, ${request.model.version})`;
                throw new EmulatorStatus("NOT_FOUND", `Servable not found for request: ${servable}`);
            }
            const corruption = this.corruption;
            if (corruption && corruption.remaining > 0 && outputs.detection_scores !== undefined) {
                corruption.remaining--;
                outputs = corruptDetections(outputs, corruption.fault);
            }
            const relabel = this.relabel;
            if (relabel && relabel.remaining > 0 && outputs.detection_classes !== undefined) {
                relabel.remaining--;
                outputs = relabelDetections(outputs, relabel.classId);
            }
            const latency = typeof this.latency === "function" ? this.latency(request) : this.latency;
            if (latency > 0) await serviceDelay(latency);
            record.servedVersion = version;
            const response: PredictResponse = {
                model: {
                    name: request.model.name,
                    version,
                    signatureName: request.model.signatureName || SERVING_DEFAULT,
                },
                outputs,
            };
            const garbling = this.garbling;
            if (garbling && garbling.remaining > 0 && outputs.detection_scores !== undefined) {
                garbling.remaining--;
                throw new GarbledPredict(garbling.answer, response);
            }
            return response;
        } catch (err) {
            record.outcome =
                err instanceof EmulatorStatus ? err.code : err instanceof GarbledPredict ? `GARBLED_${err.answer}` : "INTERNAL";
            throw err;
        }
    }

    /** Model lookup and signature checks, with TF Serving's wording where it has a well-known one. */
    modelFor(spec: ModelSpec): ServedModel {
        const model = this.models.get(spec.name);
        const servable = spec.version === undefined ? `Latest(${spec.name})` : `Specific(${spec.name}, ${spec.version})`;
        if (!model || this.loading() || (spec.version !== undefined && spec.version !== this.version && !this.pinIgnored)) {
            throw new EmulatorStatus("NOT_FOUND", `Servable not found for request: ${servable}`);
        }
        if (spec.signatureName && spec.signatureName !== SERVING_DEFAULT) {
            throw new EmulatorStatus(
                "INVALID_ARGUMENT",
                `Serving signature name: "${spec.signatureName}" not found in signature def (model "${spec.name}" has only "${SERVING_DEFAULT}")`,
            );
        }
        return model;
    }

    /**
     * The signature and description of a served model (TF Serving's GetModelMetadata): at least one field
     * must be asked for, as TF Serving requires; NOT_FOUND for a model or version not loaded.
     */
    metadata(spec: ModelSpec, fields: readonly string[]): ModelMetadata {
        if (fields.length === 0)
            throw new EmulatorStatus("INVALID_ARGUMENT", "GetModelMetadataRequest must specify at least one metadata_field");
        const unknown = fields.find((f) => !METADATA_FIELDS.includes(f));
        if (unknown !== undefined)
            throw new EmulatorStatus(
                "INVALID_ARGUMENT",
                `Metadata field ${unknown} is not supported (supported: ${METADATA_FIELDS.join(", ")})`,
            );
        const model = this.modelFor({ ...spec, signatureName: undefined });
        return {
            model: { name: model.name, version: this.version },
            signatures: { [SERVING_DEFAULT]: model.signature },
            description: model.description,
        };
    }

    private async run(request: PredictRequest): Promise<Record<string, Tensor>> {
        const model = this.modelFor(request.model);
        for (const name of request.outputFilter ?? []) {
            if (!model.outputNames.includes(name)) {
                throw new EmulatorStatus(
                    "INVALID_ARGUMENT",
                    `output tensor alias not found in signature: ${name}. Outputs expected to be in the set {${model.outputNames.join(",")}}.`,
                );
            }
        }
        let outputs: Record<string, Tensor>;
        try {
            outputs = await model.run(request.inputs);
        } catch (err) {
            if (err instanceof InvalidInputError) throw new EmulatorStatus("INVALID_ARGUMENT", err.message);
            throw err;
        }
        if (!request.outputFilter) return outputs;
        return Object.fromEntries(request.outputFilter.map((name) => [name, outputs[name]]));
    }
}

/** A copy of detection outputs whose frame 0, detection 0 is a counted detection of `classId` at score 0.9. */
export function relabelDetections(outputs: Record<string, Tensor>, classId: number): Record<string, Tensor> {
    const relabelled = corruptDetections(outputs, "box_outside"); // detection 0 made counted, score 0.9, class 1 ...
    const boxes = Float32Array.from(readFloat32(relabelled.detection_boxes));
    const classes = Float32Array.from(readFloat32(relabelled.detection_classes));
    boxes.set([0.1, 0.1, 0.5, 0.5], 0); // ... with a sound box
    classes[0] = classId;
    return {
        ...relabelled,
        detection_boxes: tensorFromFloat32(boxes, relabelled.detection_boxes.shape),
        detection_classes: tensorFromFloat32(classes, relabelled.detection_classes.shape),
    };
}

/** A copy of detection outputs with one fault put in (see OutputFault). */
export function corruptDetections(outputs: Record<string, Tensor>, fault: OutputFault): Record<string, Tensor> {
    const num = Float32Array.from(readFloat32(outputs.num_detections));
    const boxes = Float32Array.from(readFloat32(outputs.detection_boxes));
    const scores = Float32Array.from(readFloat32(outputs.detection_scores));
    const classes = Float32Array.from(readFloat32(outputs.detection_classes));
    const [n, k] = outputs.detection_scores.shape;
    num[0] = Math.max(1, num[0]);
    boxes.set([0.1, 0.1, 0.5, 0.5], 0);
    scores[0] = 0.9;
    classes[0] = 1;
    switch (fault) {
        case "nan":
            scores[0] = NaN;
            break;
        case "infinity":
            boxes[2] = Infinity;
            break;
        case "negative_infinity":
            classes[0] = -Infinity;
            break;
        case "score_above_one":
            scores[0] = 1.5;
            break;
        case "box_outside":
            boxes.set([-0.25, 0.1, 1.4, 0.5], 0);
            break;
        case "box_inverted":
            boxes.set([0.6, 0.1, 0.2, 0.5], 0);
            break;
        case "unknown_class":
            classes[0] = 1000;
            break;
        case "fractional_class":
            classes[0] = 2.5;
            break;
        case "count_above_k":
            num[0] = k + 5;
            break;
        default:
            break;
    }
    const result: Record<string, Tensor> = {
        num_detections: tensorFromFloat32(num, [n]),
        detection_boxes: tensorFromFloat32(boxes, [n, k, 4]),
        detection_scores: tensorFromFloat32(scores, [n, k]),
        detection_classes: tensorFromFloat32(classes, [n, k]),
    };
    if (fault === "wrong_dtype")
        result.detection_classes = {
            dtype: DataType.DT_STRING,
            shape: [n, k],
            strings: Array.from(classes, (c) => Buffer.from(String(c))),
        };
    if (fault === "wrong_shape") result.detection_boxes = tensorFromFloat32(new Float32Array(n * k * 3), [n, k, 3]);
    if (fault === "missing_output") delete result.detection_scores;
    return result;
}

/**
 * The injected service time: never shorter than `ms` (a timer can fire up to a millisecond early against
 * performance.now(), so it is checked and re-armed), at most about a millisecond longer, and without
 * spinning. A model server waiting on its accelerator leaves the host's CPU alone; the emulator used to
 * finish each delay by yielding in a loop, which cost the benchmarks ~2 ms of CPU per call on the cores
 * that ffmpeg and the worker share.
 */
export function serviceDelay(ms: number): Promise<void> {
    const due = performance.now() + ms;
    return new Promise((resolve) => {
        const check = (): void => {
            const left = due - performance.now();
            if (left <= 0) resolve();
            else setTimeout(check, Math.ceil(left));
        };
        check();
    });
}

/** Predict and GetModelStatus as unary gRPC handlers over the shared serving logic. */
function grpcHandlers(server: ModelServer, encoding: "tensor_content" | "typed_fields"): Map<string, UnaryHandler> {
    const asGrpcError = (err: unknown): never => {
        if (err instanceof GarbledPredict) throw garbledHttp(err.answer, restOutputs(err.response.outputs));
        if (err instanceof EmulatorStatus) throw new GrpcStatusError(GRPC_CODES[err.code], err.message);
        throw new GrpcStatusError(GrpcCode.INTERNAL, `emulator error: ${(err as Error).message}`);
    };
    return new Map<string, UnaryHandler>([
        [
            PREDICT_METHOD,
            async (body) => {
                let request: PredictRequest;
                try {
                    request = decodePredictRequest(body);
                } catch (err) {
                    throw new GrpcStatusError(GrpcCode.INVALID_ARGUMENT, `PredictRequest does not decode: ${(err as Error).message}`);
                }
                try {
                    return encodePredictResponseSegments(await server.predict(request, "grpc"), encoding);
                } catch (err) {
                    return asGrpcError(err);
                }
            },
        ],
        [
            GET_MODEL_METADATA_METHOD,
            (body) => {
                let request: { model: ModelSpec; fields: string[] };
                try {
                    request = decodeGetModelMetadataRequest(body);
                } catch (err) {
                    throw new GrpcStatusError(
                        GrpcCode.INVALID_ARGUMENT,
                        `GetModelMetadataRequest does not decode: ${(err as Error).message}`,
                    );
                }
                try {
                    return [encodeGetModelMetadataResponse(server.metadata(request.model, request.fields))];
                } catch (err) {
                    return asGrpcError(err);
                }
            },
        ],
        [
            GET_MODEL_STATUS_METHOD,
            (body) => {
                try {
                    return [encodeGetModelStatusResponse(server.status(decodeGetModelStatusRequest(body)))];
                } catch (err) {
                    return asGrpcError(err);
                }
            },
        ],
    ]);
}

// ---------------------------------------------------------------- REST

const MODEL_ROUTE = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?(:predict|\/metadata)?$/;

function sendJson(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REST_BODY_BYTES) {
                reject(new EmulatorStatus("RESOURCE_EXHAUSTED", `request body larger than ${MAX_REST_BODY_BYTES} bytes`));
                req.destroy();
            } else chunks.push(chunk);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

/** Columnar JSON body -> PredictRequest, typing numbers by the model's signature. */
function restRequest(server: ModelServer, spec: ModelSpec, text: string): PredictRequest {
    let body: { signature_name?: unknown; inputs?: unknown; instances?: unknown; output_filter?: unknown };
    try {
        body = JSON.parse(text) as typeof body;
    } catch (err) {
        throw new EmulatorStatus("INVALID_ARGUMENT", `JSON Parse error: ${(err as Error).message}`);
    }
    if (body.instances !== undefined)
        throw new EmulatorStatus("INVALID_ARGUMENT", `this emulator supports only the columnar "inputs" format, not "instances"`);
    if (typeof body.inputs !== "object" || body.inputs === null || Array.isArray(body.inputs)) {
        throw new EmulatorStatus("INVALID_ARGUMENT", `request body needs an "inputs" object mapping input names to nested arrays`);
    }
    const model: ModelSpec = typeof body.signature_name === "string" ? { ...spec, signatureName: body.signature_name } : { ...spec };
    if (model.version === undefined) delete model.version;
    const signature = server.modelFor(model);
    const inputs: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(body.inputs)) {
        const dtype = signature.inputs.find((i) => i.name === name)?.dtype;
        try {
            inputs[name] = jsonToTensor(value, `input "${name}"`, dtype);
        } catch (err) {
            if (err instanceof JsonTensorError) throw new EmulatorStatus("INVALID_ARGUMENT", err.message);
            throw err;
        }
    }
    const outputFilter = Array.isArray(body.output_filter) ? body.output_filter.map(String) : undefined;
    return { model, inputs, outputFilter };
}

/** TF Serving drops the output name when a signature returns a single tensor. */
function restOutputs(outputs: Record<string, Tensor>): string {
    const entries = Object.entries(outputs);
    if (entries.length === 1) return `{"outputs":${tensorToJsonText(entries[0][1])}}`;
    return `{"outputs":{${entries.map(([name, t]) => `${JSON.stringify(name)}:${tensorToJsonText(t)}`).join(",")}}}`;
}

async function handleRest(server: ModelServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = MODEL_ROUTE.exec((req.url ?? "").split("?")[0]);
    if (!match) {
        sendJson(res, 404, JSON.stringify({ error: `Malformed request: ${req.method} ${req.url}` }));
        return;
    }
    const spec: ModelSpec = { name: decodeURIComponent(match[1]), version: match[2] === undefined ? undefined : Number(match[2]) };
    try {
        if (match[3] === "/metadata" && req.method === "GET") {
            // Needs a loaded servable, as TF Serving's does: NOT_FOUND while the version is loading (modelFor).
            sendJson(res, 200, restModelMetadataJson(server.metadata(spec, [SIGNATURE_DEF_FIELD])));
        } else if (match[3] === ":predict" && req.method === "POST") {
            const request = restRequest(server, spec, await readBody(req));
            const response = await server.predict(request, "rest");
            sendJson(res, 200, restOutputs(response.outputs));
        } else if (!match[3] && req.method === "GET") {
            const statuses = server.status(spec).map((s) => ({
                version: String(s.version),
                state: ModelState[s.state],
                status: { error_code: "OK", error_message: s.errorMessage },
            }));
            sendJson(res, 200, JSON.stringify({ model_version_status: statuses }));
        } else {
            sendJson(res, 405, JSON.stringify({ error: `Malformed request: ${req.method} ${req.url}` }));
        }
    } catch (err) {
        if (err instanceof GarbledPredict) {
            const raw = garbledHttp(err.answer, restOutputs(err.response.outputs));
            res.writeHead(raw.status, { "content-type": raw.contentType });
            res.end(raw.body);
        } else if (err instanceof EmulatorStatus) sendJson(res, HTTP_STATUSES[err.code], JSON.stringify({ error: err.message }));
        else sendJson(res, 500, JSON.stringify({ error: `emulator error: ${(err as Error).message}` }));
    }
}

function startRest(server: ModelServer, host: string, port: number): Promise<{ http: HttpServer; port: number }> {
    const http = createServer((req, res) => void handleRest(server, req, res));
    http.keepAliveTimeout = 60_000;
    return new Promise((resolve, reject) => {
        http.once("error", (err) => reject(new Error(`emulator could not listen for REST on ${host}:${port}: ${err.message}`)));
        http.listen(port, host, () => resolve({ http, port: (http.address() as AddressInfo).port }));
    });
}

export async function startTfServingEmulator(options: TfServingEmulatorOptions = {}): Promise<TfServingEmulator> {
    const host = options.host ?? "127.0.0.1";
    const server = new ModelServer(options);
    let grpc: GrpcServer;
    try {
        // Replies never reference request bytes, so big requests may land in reused buffers.
        grpc = await startGrpcServer(host, options.grpcPort ?? 0, grpcHandlers(server, options.outputEncoding ?? "tensor_content"), {
            reuseRequestBuffers: true,
        });
    } catch (err) {
        throw new Error(`emulator ${(err as Error).message}`, { cause: err });
    }
    let rest: { http: HttpServer; port: number };
    try {
        rest = await startRest(server, host, options.restPort ?? 0);
    } catch (err) {
        await grpc.stop();
        throw err;
    }
    const urlHost = host.includes(":") ? `[${host}]` : host;
    return {
        grpcUrl: `grpc://${urlHost}:${grpc.port}`,
        restUrl: `http://${urlHost}:${rest.port}`,
        requests: server.requests,
        setLatency: (ms) => server.setLatency(ms),
        failNext: (count, code, message) => server.failNext(count, code, message),
        corruptNext: (count, fault) => server.corruptNext(count, fault),
        garbleNext: (count, answer) => server.garbleNext(count, answer),
        relabelNext: (count, classId) => server.relabelNext(count, classId),
        reload: (forMs) => server.reload(forMs),
        flapNext: (count) => server.flapNext(count),
        setVersion: (version) => server.setVersion(version),
        ignoreVersionPin: (on) => server.ignoreVersionPin(on),
        get version() {
            return server.version;
        },
        stop: async () => {
            rest.http.closeAllConnections();
            await Promise.all([grpc.stop(), new Promise<void>((resolve) => rest.http.close(() => resolve()))]);
        },
    };
}
