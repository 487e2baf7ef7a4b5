// Client for the KServe v2 / Open Inference Protocol over gRPC (inference.GRPCInferenceService; Triton
// listens on 8001): the codec in codec.ts over the shared node:http2 transport in ../grpc/channel.ts,
// with one or more HTTP/2 connections (`connections`) so calls spread over the pods behind a headless
// Service. Tensor data go out as raw_input_contents, by reference.
import { GrpcCallError, GrpcChannel, isTransientNonGrpcAnswer, type GrpcChannelOptions } from "../grpc/channel";
import { ModelServerError } from "../model-server-error";
import {
    decodeInferResponse,
    decodeModelMetadataResponse,
    decodeModelReadyResponse,
    decodeServerLiveResponse,
    decodeServerReadyResponse,
    EMPTY_MESSAGE,
    encodeInferRequestSegments,
    encodeModelRef,
} from "./codec";
import { v2DecodeError, v2Error } from "./errors";
import { MODEL_INFER_METHOD, MODEL_METADATA_METHOD, MODEL_READY_METHOD, SERVER_LIVE_METHOD, SERVER_READY_METHOD } from "./methods";
import type { CallOptions, InferRequest, InferResponse, ModelMetadata, ModelRef } from "./types";

/** Triton's gRPC port. */
export const DEFAULT_V2_GRPC_PORT = 8001;

export interface InferenceClientOptions extends GrpcChannelOptions {
    /** Default per-call deadline when the call gives none; default 30 s. */
    defaultTimeoutMs?: number;
}

/** The model named in errors about server-wide calls. */
const NO_MODEL: ModelRef = { name: "(server)" };

export class InferenceClient {
    private readonly channel: GrpcChannel;
    private readonly defaultTimeoutMs: number;

    constructor(
        /** grpc://host:port, used in messages. */
        readonly url: string,
        /** host:port to dial (IPv6 hosts in brackets). */
        address: string,
        options: InferenceClientOptions = {},
    ) {
        this.channel = new GrpcChannel(address, options);
        this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    }

    async serverLive(options?: CallOptions): Promise<boolean> {
        return this.decode(
            await this.call(SERVER_LIVE_METHOD, [EMPTY_MESSAGE], NO_MODEL, options),
            NO_MODEL,
            "ServerLiveResponse",
            decodeServerLiveResponse,
        );
    }

    async serverReady(options?: CallOptions): Promise<boolean> {
        return this.decode(
            await this.call(SERVER_READY_METHOD, [EMPTY_MESSAGE], NO_MODEL, options),
            NO_MODEL,
            "ServerReadyResponse",
            decodeServerReadyResponse,
        );
    }

    /** False for a model that is loading, failed to load, or (on Triton) is not in the repository at all. */
    async modelReady(model: ModelRef, options?: CallOptions): Promise<boolean> {
        return this.decode(
            await this.call(MODEL_READY_METHOD, [encodeModelRef(model)], model, options),
            model,
            "ModelReadyResponse",
            decodeModelReadyResponse,
        );
    }

    async modelMetadata(model: ModelRef, options?: CallOptions): Promise<ModelMetadata> {
        return this.decode(
            await this.call(MODEL_METADATA_METHOD, [encodeModelRef(model)], model, options),
            model,
            "ModelMetadataResponse",
            decodeModelMetadataResponse,
        );
    }

    /**
     * One inference. Input data are written to the socket by reference, not copied: do not modify them until
     * the promise settles. Output data are views into the received message. Outputs are checked against their
     * shapes and datatypes (fixed-size types), not against what the caller expects: see the caller for that.
     */
    async modelInfer(request: InferRequest, options?: CallOptions): Promise<InferResponse> {
        const model: ModelRef = { name: request.modelName, version: request.modelVersion };
        let segments: Buffer[];
        try {
            segments = encodeInferRequestSegments(request);
        } catch (err) {
            throw new ModelServerError(
                `cannot encode the request for model "${request.modelName}" on ${this.url}: ${(err as Error).message}`,
                "INVALID_ARGUMENT",
                false,
            );
        }
        return this.decode(await this.call(MODEL_INFER_METHOD, segments, model, options), model, "ModelInferResponse", decodeInferResponse);
    }

    close(): void {
        this.channel.close();
    }

    private async call(method: string, segments: Buffer[], model: ModelRef, options?: CallOptions): Promise<Buffer> {
        try {
            return await this.channel.unary(method, segments, options?.timeoutMs ?? this.defaultTimeoutMs);
        } catch (err) {
            if (!(err instanceof GrpcCallError)) throw err;
            if (err.undecodable) throw v2DecodeError(this.url, model, "reply", err);
            if (isTransientNonGrpcAnswer(err))
                throw new ModelServerError(
                    `model server ${this.url} answered with something that is not a gRPC response (${err.message}): a proxy, or a server restarting mid-call`,
                    "NON_GRPC_RESPONSE",
                    true,
                );
            throw v2Error(err.code, err.message, this.url, model);
        }
    }

    private decode<T>(buf: Buffer, model: ModelRef, what: string, decoder: (buf: Buffer) => T): T {
        try {
            return decoder(buf);
        } catch (err) {
            throw v2DecodeError(this.url, model, what, err);
        }
    }
}

/** `grpc://host:port` (or `host:port`) -> a client; the port defaults to Triton's 8001. */
export function createInferenceClient(target: string, options: InferenceClientOptions = {}): InferenceClient {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `grpc://${target}`;
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error(
            `KServe v2 server URL "${target}" is not a URL; expected grpc://host:port (Triton's gRPC port is ${DEFAULT_V2_GRPC_PORT})`,
        );
    }
    if (parsed.protocol !== "grpc:")
        throw new Error(
            `KServe v2 server URL "${target}" has scheme "${parsed.protocol}"; this client speaks gRPC only: use grpc://host:${DEFAULT_V2_GRPC_PORT}`,
        );
    if (!parsed.hostname)
        throw new Error(`KServe v2 server URL "${target}" needs a host, e.g. grpc://bert.default.svc:${DEFAULT_V2_GRPC_PORT}`);
    const port = parsed.port || String(DEFAULT_V2_GRPC_PORT);
    return new InferenceClient(`grpc://${parsed.hostname}:${port}`, `${parsed.hostname}:${port}`, options);
}
