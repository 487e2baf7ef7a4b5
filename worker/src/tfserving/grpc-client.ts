// ModelClient over TF Serving's gRPC API (default port 8500): unary gRPC straight on node:http2 (h2c
// with prior knowledge), with the hand-written codec in codec.ts. One HTTP/2 session carries every call
// and is replaced when it closes, fails or receives GOAWAY; a server that is down fails the call at once
// with UNAVAILABLE and the next call dials again. Requests go out as a gather list, so a multi-MB tensor
// is handed to the socket without being copied; big windows and frames keep it from crawling.
import { connect as netConnect } from "node:net";
import { connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import {
    decodeGetModelStatusResponse,
    decodePredictResponse,
    encodeGetModelStatusRequest,
    encodePredictRequestSegments,
} from "./codec";
import { decodeError, grpcError } from "./errors";
import {
    decodeGrpcMessage,
    DEFAULT_MAX_MESSAGE_BYTES,
    formatGrpcTimeout,
    frameMessage,
    GET_MODEL_STATUS_METHOD,
    GrpcCode,
    GrpcFramingError,
    grpcCodeForHttpStatus,
    H2_MAX_SESSION_MEMORY_MB,
    H2_SETTINGS,
    H2_WINDOW_BYTES,
    MessageCollector,
    parseGrpcStatus,
    PREDICT_METHOD,
} from "./grpc-protocol";
import { ModelServerError, type CallOptions, type ModelClient, type ModelSpec, type ModelVersionStatus, type PredictRequest, type PredictResponse } from "./types";

export { DEFAULT_MAX_MESSAGE_BYTES, GET_MODEL_STATUS_METHOD, PREDICT_METHOD } from "./grpc-protocol";

export interface GrpcClientOptions {
    /** Largest request we may send; default 256 MiB (a batch of 8 1080p frames is ~50 MB). */
    maxSendMessageBytes?: number;
    /** Largest response we accept; default 256 MiB. */
    maxReceiveMessageBytes?: number;
    /** HTTP/2 PING interval while calls are in flight; default 60 s (servers reject faster pings); 0 disables. */
    keepaliveTimeMs?: number;
    /** A PING unanswered this long drops the connection, failing its calls with UNAVAILABLE; default 20 s. */
    keepaliveTimeoutMs?: number;
    /** Default per-call deadline when the call gives none; default 30 s. */
    defaultTimeoutMs?: number;
}

const USER_AGENT = `eks-inference-grpc-h2/1.0 node/${process.versions.node}`;

/** Errors raised inside a call, before they are explained against the server URL and model. */
class CallFailure extends Error {
    constructor(
        readonly code: GrpcCode,
        message: string,
    ) {
        super(message);
    }
}

/** Stream resets from the server, mapped as gRPC's HTTP/2 spec says (RST_STREAM error -> status). */
function codeForRstStream(rstCode: number): GrpcCode {
    switch (rstCode) {
        case h2.NGHTTP2_REFUSED_STREAM:
            return GrpcCode.UNAVAILABLE;
        case h2.NGHTTP2_CANCEL:
            return GrpcCode.CANCELLED;
        case h2.NGHTTP2_ENHANCE_YOUR_CALM:
            return GrpcCode.RESOURCE_EXHAUSTED;
        case h2.NGHTTP2_INADEQUATE_SECURITY:
            return GrpcCode.PERMISSION_DENIED;
        default:
            return GrpcCode.INTERNAL;
    }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
}

export class GrpcModelClient implements ModelClient {
    private readonly authority: string;
    private readonly defaultTimeoutMs: number;
    private readonly maxSend: number;
    private readonly maxReceive: number;
    private readonly keepaliveTimeMs: number;
    private readonly keepaliveTimeoutMs: number;
    private session: ClientHttp2Session | undefined;
    private keepalive: NodeJS.Timeout | undefined;
    private inFlight = 0;
    private closed = false;

    constructor(
        readonly url: string,
        /** host:port to dial (IPv6 hosts in brackets). */
        address: string,
        options: GrpcClientOptions = {},
    ) {
        this.authority = `http://${address}`;
        this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
        this.maxSend = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
        this.maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
        this.keepaliveTimeMs = options.keepaliveTimeMs ?? 60_000;
        this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 20_000;
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
            throw new ModelServerError(`cannot encode the request for model "${request.model.name}": ${(err as Error).message}`, "INVALID_ARGUMENT", false);
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

    close(): void {
        this.closed = true;
        this.dropSession(this.session);
    }

    private async call(method: string, segments: Buffer[], spec: ModelSpec, options?: CallOptions): Promise<Buffer> {
        try {
            if (this.closed) throw new CallFailure(GrpcCode.UNAVAILABLE, "the client was closed");
            const { parts, length } = frameMessage(segments);
            if (length > this.maxSend) throw new CallFailure(GrpcCode.RESOURCE_EXHAUSTED, `request message of ${length} bytes is larger than the limit of ${this.maxSend} bytes`);
            return await this.unary(method, parts, options?.timeoutMs ?? this.defaultTimeoutMs);
        } catch (err) {
            if (err instanceof CallFailure) throw grpcError(err.code, err.message, this.url, spec);
            if (err instanceof GrpcFramingError) {
                if (err.code === GrpcCode.INTERNAL && /compressed/.test(err.message)) throw new ModelServerError(`model server ${this.url}: ${err.message}`, "DECODE_ERROR", false);
                throw grpcError(err.code, err.message, this.url, spec);
            }
            throw err;
        }
    }

    private unary(method: string, parts: Buffer[], timeoutMs: number): Promise<Buffer> {
        return new Promise<Buffer>((resolve, reject) => {
            let stream: ClientHttp2Stream;
            try {
                stream = this.openStream(method, timeoutMs);
            } catch (err) {
                reject(new CallFailure(GrpcCode.UNAVAILABLE, `cannot start a call: ${(err as Error).message}`));
                return;
            }
            this.inFlight++;
            const collector = new MessageCollector(this.maxReceive, "response message");
            let httpStatus = 0;
            let contentType: string | undefined;
            let statusHeaders: IncomingHttpHeaders | undefined;
            let failure: CallFailure | undefined;
            let settled = false;
            const settle = (outcome: () => Buffer): void => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                this.inFlight--;
                try {
                    resolve(outcome());
                } catch (err) {
                    reject(err);
                }
            };
            const fail = (f: CallFailure): void => {
                failure ??= f;
                if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
                settle(() => {
                    throw failure;
                });
            };
            const timer = setTimeout(() => fail(new CallFailure(GrpcCode.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`)), timeoutMs);

            stream.on("response", (headers) => {
                httpStatus = Number(headers[":status"]);
                contentType = header(headers, "content-type");
                if (headers["grpc-status"] !== undefined) statusHeaders = headers; // trailers-only response
            });
            stream.on("data", (chunk: Buffer) => {
                const tooBig = collector.push(chunk);
                if (tooBig) fail(new CallFailure(tooBig.code, tooBig.message));
            });
            stream.on("trailers", (trailers) => {
                statusHeaders = trailers;
            });
            stream.on("error", (err: NodeJS.ErrnoException) => {
                if (err.code === "ERR_HTTP2_STREAM_ERROR") {
                    failure ??= new CallFailure(codeForRstStream(stream.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR), `stream reset by the server (HTTP/2 code ${stream.rstCode ?? "?"})`);
                } else {
                    // Connection-level: refused, reset, GOAWAY, session destroyed.
                    const cause = (err as { cause?: Error }).cause;
                    failure ??= new CallFailure(GrpcCode.UNAVAILABLE, `connection failed: ${cause ? cause.message : err.message}`);
                }
            });
            const session = stream.session;
            stream.on("close", () => {
                const sessionLost = !session || session.destroyed;
                settle(() => this.outcome(stream, sessionLost, httpStatus, contentType, statusHeaders, collector, failure));
            });

            for (let i = 0; i < parts.length - 1; i++) stream.write(parts[i]);
            stream.end(parts[parts.length - 1]);
        });
    }

    /** The call's result once the stream has closed: the response message or a CallFailure. */
    private outcome(
        stream: ClientHttp2Stream,
        sessionLost: boolean,
        httpStatus: number,
        contentType: string | undefined,
        statusHeaders: IncomingHttpHeaders | undefined,
        collector: MessageCollector,
        failure: CallFailure | undefined,
    ): Buffer {
        const grpcStatus = statusHeaders ? parseGrpcStatus(statusHeaders["grpc-status"]) : undefined;
        if (grpcStatus === undefined) {
            if (failure) throw failure;
            if (httpStatus === 0 && sessionLost) throw new CallFailure(GrpcCode.UNAVAILABLE, "connection lost before the server answered");
            if (httpStatus !== 0 && httpStatus !== 200) throw new CallFailure(grpcCodeForHttpStatus(httpStatus), `HTTP status ${httpStatus} without a gRPC status`);
            if (stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR) throw new CallFailure(codeForRstStream(stream.rstCode), `stream reset (HTTP/2 code ${stream.rstCode})`);
            if (httpStatus === 0) throw new CallFailure(GrpcCode.UNAVAILABLE, "connection closed before the server answered");
            throw new CallFailure(GrpcCode.INTERNAL, "the server ended the call without a grpc-status");
        }
        if (grpcStatus !== GrpcCode.OK) {
            throw new CallFailure(grpcStatus, decodeGrpcMessage(header(statusHeaders!, "grpc-message") ?? ""));
        }
        if (contentType === undefined || !/^application\/grpc(?:$|[+;])/.test(contentType)) {
            throw new CallFailure(GrpcCode.UNKNOWN, `response content-type is "${contentType ?? "(none)"}", not application/grpc`);
        }
        const messages = collector.messages();
        if (messages.length !== 1) throw new CallFailure(GrpcCode.INTERNAL, `a unary call got ${messages.length} response messages`);
        return messages[0];
    }

    private openStream(method: string, timeoutMs: number): ClientHttp2Stream {
        const headers = {
            [h2.HTTP2_HEADER_METHOD]: "POST",
            [h2.HTTP2_HEADER_PATH]: method,
            [h2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
            [h2.HTTP2_HEADER_TE]: "trailers",
            [h2.HTTP2_HEADER_USER_AGENT]: USER_AGENT,
            "grpc-timeout": formatGrpcTimeout(timeoutMs),
        };
        try {
            return this.currentSession().request(headers);
        } catch {
            // The session went away between calls (GOAWAY, closing): dial once more.
            this.dropSession(this.session);
            return this.currentSession().request(headers);
        }
    }

    private currentSession(): ClientHttp2Session {
        const existing = this.session;
        if (existing && !existing.closed && !existing.destroyed) return existing;
        const session = connect(this.authority, {
            settings: H2_SETTINGS,
            maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
            // Our own socket, to turn off Nagle (the session's socket may not be touched once it is wrapped).
            createConnection: (authority: URL) => netConnect({ host: authority.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(authority.port), noDelay: true }),
        });
        this.session = session;
        session.once("connect", () => {
            try {
                session.setLocalWindowSize(H2_WINDOW_BYTES);
            } catch {
                // The session may already be closing; its streams report why.
            }
        });
        // Failures reach the calls through their streams; the session is just dropped.
        session.on("error", () => this.dropSession(session));
        session.on("goaway", () => this.dropSession(session));
        session.on("close", () => this.dropSession(session));
        // An idle client must not keep the process alive; calls in flight hold their own timers.
        session.unref();
        if (this.keepaliveTimeMs > 0) this.startKeepalive(session);
        return session;
    }

    private startKeepalive(session: ClientHttp2Session): void {
        clearInterval(this.keepalive);
        let awaitingPong = false;
        this.keepalive = setInterval(() => {
            if (this.inFlight === 0 || awaitingPong || session.destroyed || session.connecting) return;
            const timeoutMs = this.keepaliveTimeoutMs;
            const watchdog = setTimeout(() => session.destroy(new Error(`connection silent: no answer to an HTTP/2 PING within ${timeoutMs} ms`)), timeoutMs);
            watchdog.unref();
            const settled = (): void => {
                awaitingPong = false;
                clearTimeout(watchdog);
            };
            try {
                awaitingPong = session.ping((err) => {
                    settled();
                    if (err && !session.destroyed) session.destroy(err);
                });
                if (!awaitingPong) settled();
            } catch {
                settled();
            }
        }, this.keepaliveTimeMs);
        this.keepalive.unref();
    }

    private dropSession(session: ClientHttp2Session | undefined): void {
        if (!session) return;
        if (this.session === session) {
            this.session = undefined;
            clearInterval(this.keepalive);
            this.keepalive = undefined;
        }
        // Graceful: calls already on it finish; new calls get a fresh session.
        if (!session.closed && !session.destroyed) session.close();
    }
}
