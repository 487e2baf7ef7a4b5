// A KServe v2 / Open Inference Protocol server (inference.GRPCInferenceService over real gRPC), standing
// in for Triton in tests, benchmarks and local runs: a BERT classifier compiled for one sequence length
// and a largest batch, with injectable latency, failures, corrupt replies and a loading period. Test
// double: it uses the client's codec, and no client module imports it.
import { GrpcCode } from "../../worker/model-client/grpc/protocol";
import { GrpcStatusError, startGrpcServer, type GrpcServer, type UnaryHandler } from "../grpc-server";
import {
    decodeInferRequest,
    decodeModelRef,
    encodeInferResponseSegments,
    encodeModelMetadataResponse,
    encodeModelReadyResponse,
    encodeServerLiveResponse,
    encodeServerReadyResponse,
    type TensorEncoding,
} from "../../worker/model-client/kserve/codec";
import { bertV2Model, InvalidInferInput, type BertV2Model } from "./emulator-model";
import {
    MODEL_INFER_METHOD,
    MODEL_METADATA_METHOD,
    MODEL_READY_METHOD,
    SERVER_LIVE_METHOD,
    SERVER_READY_METHOD,
} from "../../worker/model-client/kserve/methods";
import type { InferRequest, InferResponse, ModelMetadata, ModelRef } from "../../worker/model-client/kserve/types";

export interface V2EmulatorOptions {
    host?: string;
    /** 0 or absent: a free port (Triton's is 8001). */
    port?: number;
    modelName?: string;
    /** Sequence length the model is "compiled" for; default 128. */
    seqLen?: number;
    /** Largest batch the model takes; default 8. */
    maxBatchSize?: number;
    /** Service time added to every successful ModelInfer. */
    latencyMs?: number | ((request: InferRequest) => number);
    /** The model is not ready (ModelReady false, ModelInfer NOT_FOUND as Triton answers) for this long after start. */
    loadingForMs?: number;
    /** How outputs travel: raw_output_contents (Triton's way) or typed contents. */
    outputEncoding?: TensorEncoding;
    /** How many of the latest ModelInfer calls `requests` keeps (default 10,000). */
    maxRecordedRequests?: number;
}

export type V2InjectableCode = "UNAVAILABLE" | "INTERNAL" | "INVALID_ARGUMENT" | "RESOURCE_EXHAUSTED" | "DEADLINE_EXCEEDED";
/** nan: logits full of NaN; wrong-shape: logits one row short of the batch. */
export type V2Corruption = "nan" | "wrong-shape";

export interface RecordedInfer {
    model: ModelRef;
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs?: string[];
    /** "OK" or the status code name the emulator answered with. */
    outcome: string;
}

export interface V2Emulator {
    /** grpc://host:port */
    readonly url: string;
    readonly port: number;
    readonly metadata: ModelMetadata;
    /** The latest ModelInfer calls, in arrival order; health and metadata calls are not recorded. */
    readonly requests: RecordedInfer[];
    setLatency(ms: number): void;
    failNext(count: number, code: V2InjectableCode, message?: string): void;
    corruptNext(count: number, kind: V2Corruption): void;
    /** Marks the model (un)ready from now on, e.g. to emulate a reload. */
    setModelReady(ready: boolean): void;
    stop(): Promise<void>;
}

export const EMULATED_V2_VERSION = "1";

class Status extends Error {
    constructor(
        readonly code: GrpcCode,
        message: string,
    ) {
        super(message);
    }
}

const CODES: Record<V2InjectableCode, GrpcCode> = {
    UNAVAILABLE: GrpcCode.UNAVAILABLE,
    INTERNAL: GrpcCode.INTERNAL,
    INVALID_ARGUMENT: GrpcCode.INVALID_ARGUMENT,
    RESOURCE_EXHAUSTED: GrpcCode.RESOURCE_EXHAUSTED,
    DEADLINE_EXCEEDED: GrpcCode.DEADLINE_EXCEEDED,
};

/** setTimeout is only ms-accurate and often late; finish the last stretch by yielding until due. */
function preciseDelay(ms: number): Promise<void> {
    const due = performance.now() + ms;
    return new Promise((resolve) => {
        const spin = (): void => {
            if (performance.now() >= due) resolve();
            else setImmediate(spin);
        };
        if (ms > 1) setTimeout(spin, ms - 1);
        else spin();
    });
}

class InferenceServer {
    readonly requests: RecordedInfer[] = [];
    readonly model: BertV2Model;
    readonly metadata: ModelMetadata;
    private readonly startedAt = Date.now();
    private readonly maxRecorded: number;
    private latency: number | ((request: InferRequest) => number);
    private failures: { remaining: number; code: V2InjectableCode; message: string } | undefined;
    private corruption: { remaining: number; kind: V2Corruption } | undefined;
    private readyOverride: boolean | undefined;

    constructor(private readonly options: V2EmulatorOptions) {
        const seqLen = options.seqLen ?? 128;
        const maxBatchSize = options.maxBatchSize ?? 8;
        for (const [key, value] of [
            ["seqLen", seqLen],
            ["maxBatchSize", maxBatchSize],
        ] as const) {
            if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a whole number >= 1, got ${value}`);
        }
        this.model = bertV2Model({ name: options.modelName ?? "bert", seqLen, maxBatchSize });
        this.metadata = {
            name: this.model.name,
            versions: [EMULATED_V2_VERSION],
            platform: "python",
            inputs: this.model.inputs,
            outputs: this.model.outputs,
        };
        this.latency = options.latencyMs ?? 0;
        this.maxRecorded = options.maxRecordedRequests ?? 10_000;
    }

    setLatency(ms: number): void {
        this.latency = ms;
    }

    failNext(count: number, code: V2InjectableCode, message?: string): void {
        this.failures = { remaining: count, code, message: message ?? `injected ${code} failure` };
    }

    corruptNext(count: number, kind: V2Corruption): void {
        this.corruption = { remaining: count, kind };
    }

    setModelReady(ready: boolean): void {
        this.readyOverride = ready;
    }

    ready(): boolean {
        return this.readyOverride ?? Date.now() - this.startedAt >= (this.options.loadingForMs ?? 0);
    }

    modelReady(ref: ModelRef): boolean {
        return ref.name === this.model.name && (!ref.version || ref.version === EMULATED_V2_VERSION) && this.ready();
    }

    /** Model lookup with Triton's wording (both cases are NOT_FOUND there). */
    lookup(ref: ModelRef): BertV2Model {
        if (ref.name !== this.model.name) throw new Status(GrpcCode.NOT_FOUND, `Request for unknown model: '${ref.name}' is not found`);
        if (ref.version && ref.version !== EMULATED_V2_VERSION)
            throw new Status(GrpcCode.NOT_FOUND, `Request for unknown model: '${ref.name}' version ${ref.version} is not found`);
        if (!this.ready()) throw new Status(GrpcCode.NOT_FOUND, `Request for unknown model: '${ref.name}' has no available versions`);
        return this.model;
    }

    async infer(request: InferRequest): Promise<InferResponse> {
        const record: RecordedInfer = {
            model: request.modelVersion ? { name: request.modelName, version: request.modelVersion } : { name: request.modelName },
            inputs: request.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
            outputs: request.outputs,
            outcome: "OK",
        };
        this.requests.push(record);
        if (this.requests.length > this.maxRecorded) this.requests.splice(0, this.requests.length - this.maxRecorded);
        try {
            const failure = this.failures;
            if (failure && failure.remaining > 0) {
                failure.remaining--;
                throw new Status(CODES[failure.code], failure.message);
            }
            const model = this.lookup({ name: request.modelName, version: request.modelVersion });
            let outputs;
            try {
                outputs = model.run(request.inputs, request.outputs);
            } catch (err) {
                if (err instanceof InvalidInferInput) throw new Status(GrpcCode.INVALID_ARGUMENT, err.message);
                throw err;
            }
            const corruption = this.corruption;
            if (corruption && corruption.remaining > 0) {
                corruption.remaining--;
                outputs = outputs.map((o) => {
                    if (corruption.kind === "nan") return { ...o, data: Buffer.from(new Float32Array(o.data.length / 4).fill(NaN).buffer) };
                    const rows = o.shape[0] - 1;
                    return { ...o, shape: [rows, ...o.shape.slice(1)], data: o.data.subarray(0, (o.data.length / o.shape[0]) * rows) };
                });
            }
            const latency = typeof this.latency === "function" ? this.latency(request) : this.latency;
            if (latency > 0) await preciseDelay(latency);
            return { modelName: model.name, modelVersion: EMULATED_V2_VERSION, id: request.id ?? "", outputs };
        } catch (err) {
            record.outcome = err instanceof Status ? GrpcCode[err.code] : "INTERNAL";
            throw err;
        }
    }
}

function handlers(server: InferenceServer, encoding: TensorEncoding): Map<string, UnaryHandler> {
    const guard =
        <T>(work: (body: Buffer) => T | Promise<T>) =>
        async (body: Buffer): Promise<T> => {
            try {
                return await work(body);
            } catch (err) {
                if (err instanceof Status) throw new GrpcStatusError(err.code, err.message);
                if (err instanceof GrpcStatusError) throw err;
                throw new GrpcStatusError(GrpcCode.INTERNAL, `emulator error: ${(err as Error).message}`);
            }
        };
    const decodeRequest = (body: Buffer): InferRequest => {
        try {
            return decodeInferRequest(body);
        } catch (err) {
            throw new Status(GrpcCode.INVALID_ARGUMENT, `ModelInferRequest does not decode: ${(err as Error).message}`);
        }
    };
    return new Map<string, UnaryHandler>([
        [SERVER_LIVE_METHOD, guard(() => [encodeServerLiveResponse(true)])],
        [SERVER_READY_METHOD, guard(() => [encodeServerReadyResponse(server.ready())])],
        [MODEL_READY_METHOD, guard((body) => [encodeModelReadyResponse(server.modelReady(decodeModelRef(body)))])],
        [
            MODEL_METADATA_METHOD,
            guard((body) => {
                server.lookup(decodeModelRef(body));
                return [encodeModelMetadataResponse(server.metadata)];
            }),
        ],
        [MODEL_INFER_METHOD, guard(async (body) => encodeInferResponseSegments(await server.infer(decodeRequest(body)), encoding))],
    ]);
}

export async function startV2Emulator(options: V2EmulatorOptions = {}): Promise<V2Emulator> {
    const host = options.host ?? "127.0.0.1";
    const server = new InferenceServer(options);
    let grpc: GrpcServer;
    try {
        grpc = await startGrpcServer(host, options.port ?? 0, handlers(server, options.outputEncoding ?? "raw"));
    } catch (err) {
        throw new Error(`KServe v2 emulator ${(err as Error).message}`, { cause: err });
    }
    const urlHost = host.includes(":") ? `[${host}]` : host;
    return {
        url: `grpc://${urlHost}:${grpc.port}`,
        port: grpc.port,
        metadata: server.metadata,
        requests: server.requests,
        setLatency: (ms) => server.setLatency(ms),
        failNext: (count, code, message) => server.failNext(count, code, message),
        corruptNext: (count, kind) => server.corruptNext(count, kind),
        setModelReady: (ready) => server.setModelReady(ready),
        stop: () => grpc.stop(),
    };
}
