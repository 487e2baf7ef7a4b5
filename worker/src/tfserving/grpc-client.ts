// ModelClient over TF Serving's gRPC API (default port 8500), using @grpc/grpc-js with the hand-written
// codec in codec.ts. Responses are decoded after the call so a bad response is a permanent DECODE_ERROR
// rather than grpc-js's generic INTERNAL.
import { Client, credentials, Metadata, type CallOptions as GrpcCallOptions, type ServiceError } from "@grpc/grpc-js";
import {
    decodeGetModelStatusResponse,
    decodePredictResponse,
    encodeGetModelStatusRequest,
    encodePredictRequest,
} from "./codec";
import { decodeError, grpcError } from "./errors";
import type { CallOptions, ModelClient, ModelSpec, ModelVersionStatus, PredictRequest, PredictResponse } from "./types";

export const PREDICT_METHOD = "/tensorflow.serving.PredictionService/Predict";
export const GET_MODEL_STATUS_METHOD = "/tensorflow.serving.ModelService/GetModelStatus";

export interface GrpcClientOptions {
    /** Largest request we may send; default 256 MiB (a batch of 8 1080p frames is ~50 MB). */
    maxSendMessageBytes?: number;
    /** Largest response we accept; default 256 MiB. */
    maxReceiveMessageBytes?: number;
    /** HTTP/2 keepalive ping interval while calls are active; default 60 s (servers reject faster pings). */
    keepaliveTimeMs?: number;
    /** Default per-call deadline when the call gives none; default 30 s. */
    defaultTimeoutMs?: number;
    /**
     * Longest wait between reconnection attempts; default 2 s. grpc-js's own default (120 s) would leave
     * a worker that started before its model server failing fast for minutes after the server is up.
     */
    maxReconnectBackoffMs?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const identity = (b: Buffer): Buffer => b;

export class GrpcModelClient implements ModelClient {
    private readonly client: Client;
    private readonly defaultTimeoutMs: number;

    constructor(
        readonly url: string,
        address: string,
        options: GrpcClientOptions = {},
    ) {
        this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
        this.client = new Client(address, credentials.createInsecure(), {
            "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
            "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
            "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 60_000,
            "grpc.keepalive_timeout_ms": 20_000,
            "grpc.keepalive_permit_without_calls": 0,
            // Callers own retries (they know which errors are transient); grpc-js's own retry layer
            // would also buffer every multi-MB request. Channelz bookkeeping costs time on every call.
            "grpc.enable_retries": 0,
            "grpc.initial_reconnect_backoff_ms": 200,
            "grpc.max_reconnect_backoff_ms": options.maxReconnectBackoffMs ?? 2_000,
            "grpc.enable_channelz": 0,
        });
    }

    async predict(request: PredictRequest, options?: CallOptions): Promise<PredictResponse> {
        const buf = await this.call(PREDICT_METHOD, encodePredictRequest(request), request.model, options);
        try {
            return decodePredictResponse(buf);
        } catch (err) {
            throw decodeError(this.url, "PredictResponse", err);
        }
    }

    async getModelStatus(model: ModelSpec, options?: CallOptions): Promise<ModelVersionStatus[]> {
        const buf = await this.call(GET_MODEL_STATUS_METHOD, encodeGetModelStatusRequest(model), model, options);
        try {
            return decodeGetModelStatusResponse(buf);
        } catch (err) {
            throw decodeError(this.url, "GetModelStatusResponse", err);
        }
    }

    close(): void {
        this.client.close();
    }

    private call(method: string, body: Buffer, spec: ModelSpec, options?: CallOptions): Promise<Buffer> {
        const callOptions: GrpcCallOptions = { deadline: Date.now() + (options?.timeoutMs ?? this.defaultTimeoutMs) };
        return new Promise((resolve, reject) => {
            this.client.makeUnaryRequest(method, identity, identity, body, new Metadata(), callOptions, (err: ServiceError | null, value?: Buffer) => {
                if (err) reject(grpcError(err.code, err.details, this.url, spec));
                else resolve(value ?? Buffer.alloc(0));
            });
        });
    }
}
