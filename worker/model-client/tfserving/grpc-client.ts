// ModelClient over TF Serving's gRPC API (default port 8500): the hand-written codec in codec.ts over the
// shared node:http2 transport in ../grpc/channel.ts (one connection by default).
import { GrpcCallError, GrpcChannel, isTransientNonGrpcAnswer, type GrpcChannelOptions } from "../grpc/channel";
import { decodeGetModelStatusResponse, decodePredictResponse, encodeGetModelStatusRequest, encodePredictRequestSegments } from "./codec";
import { decodeError, grpcError, nonGrpcAnswer } from "./errors";
import { GET_MODEL_METADATA_METHOD, GET_MODEL_STATUS_METHOD, PREDICT_METHOD } from "./methods";
import { decodeGetModelMetadataResponse, encodeGetModelMetadataRequest, metadataDecodeError, type ModelMetadata } from "./metadata";
import {
    ModelServerError,
    type CallOptions,
    type ModelClient,
    type ModelSpec,
    type ModelVersionStatus,
    type PredictRequest,
    type PredictResponse,
} from "./types";

export { DEFAULT_MAX_MESSAGE_BYTES } from "../grpc/protocol";
export { GET_MODEL_METADATA_METHOD, GET_MODEL_STATUS_METHOD, PREDICT_METHOD } from "./methods";

export interface GrpcClientOptions extends GrpcChannelOptions {
    /** Default per-call deadline when the call gives none; default 30 s. */
    defaultTimeoutMs?: number;
}

export class GrpcModelClient implements ModelClient {
    private readonly channel: GrpcChannel;
    private readonly defaultTimeoutMs: number;

    constructor(
        readonly url: string,
        /** host:port to dial (IPv6 hosts in brackets). */
        address: string,
        options: GrpcClientOptions = {},
    ) {
        this.channel = new GrpcChannel(address, options);
        this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    }

    /**
     * Tensor contents are written to the socket by reference, not copied: do not modify (or recycle) a
     * request's buffers until the returned promise settles.
     */
    async predict(request: PredictRequest, options?: CallOptions): Promise<PredictResponse> {
        let segments: Buffer[];
        try {
            segments = encodePredictRequestSegments(request);
        } catch (err) {
            throw new ModelServerError(
                `cannot encode the request for model "${request.model.name}": ${(err as Error).message}`,
                "INVALID_ARGUMENT",
                false,
            );
        }
        const buf = await this.call(PREDICT_METHOD, segments, request.model, options);
        try {
            return decodePredictResponse(buf);
        } catch (err) {
            throw decodeError(this.url, "PredictResponse", err);
        }
    }

    async getModelStatus(model: ModelSpec, options?: CallOptions): Promise<ModelVersionStatus[]> {
        const buf = await this.call(GET_MODEL_STATUS_METHOD, [encodeGetModelStatusRequest(model)], model, options);
        try {
            return decodeGetModelStatusResponse(buf);
        } catch (err) {
            throw decodeError(this.url, "GetModelStatusResponse", err);
        }
    }

    async getModelMetadata(model: ModelSpec, options?: CallOptions): Promise<ModelMetadata> {
        const buf = await this.call(GET_MODEL_METADATA_METHOD, [encodeGetModelMetadataRequest(model)], model, options);
        try {
            return decodeGetModelMetadataResponse(buf);
        } catch (err) {
            throw metadataDecodeError(this.url, model, err);
        }
    }

    close(): void {
        this.channel.close();
    }

    private async call(method: string, segments: Buffer[], spec: ModelSpec, options?: CallOptions): Promise<Buffer> {
        try {
            return await this.channel.unary(method, segments, options?.timeoutMs ?? this.defaultTimeoutMs);
        } catch (err) {
            if (!(err instanceof GrpcCallError)) throw err;
            if (err.undecodable) throw new ModelServerError(`model server ${this.url}: ${err.message}`, "DECODE_ERROR", false);
            if (isTransientNonGrpcAnswer(err)) throw nonGrpcAnswer(this.url, err);
            throw grpcError(err.code, err.message, this.url, spec);
        }
    }
}
