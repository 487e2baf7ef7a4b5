// Unary gRPC calls straight on node:http2 (h2c with prior knowledge), for any service: the transport
// under the TF Serving and KServe v2 clients. A channel keeps one or more HTTP/2 connections; each call
// goes on the connection with the fewest calls in flight (ties in turn). Connection i dials the i-th
// address the name resolves to (round the list), so with a headless Service, whose name resolves to
// every ready pod, several connections spread load over the replicas. A connection is replaced when it closes, fails or
// receives GOAWAY; a server that is down fails the call at once with UNAVAILABLE and the next call dials
// again. Requests go out as a gather list, so a multi-MB tensor is handed to the socket without being
// copied; big windows and frames keep it from crawling.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { connect as netConnect, type LookupFunction } from "node:net";
import { connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import {
    decodeGrpcMessage,
    DEFAULT_MAX_MESSAGE_BYTES,
    formatGrpcTimeout,
    frameMessage,
    GrpcCode,
    GrpcFramingError,
    grpcCodeForHttpStatus,
    H2_MAX_SESSION_MEMORY_MB,
    H2_SETTINGS,
    H2_WINDOW_BYTES,
    MessageCollector,
    parseGrpcStatus,
} from "./protocol";

export interface GrpcChannelOptions {
    /** Largest request we may send; default 256 MiB (a batch of 8 1080p frames is ~50 MB). */
    maxSendMessageBytes?: number;
    /** Largest response we accept; default 256 MiB. */
    maxReceiveMessageBytes?: number;
    /** HTTP/2 PING interval while calls are in flight; default 60 s (servers reject faster pings); 0 disables. */
    keepaliveTimeMs?: number;
    /** A PING unanswered this long drops the connection, failing its calls with UNAVAILABLE; default 20 s. */
    keepaliveTimeoutMs?: number;
    /** HTTP/2 connections to keep (each dialled on first use); default 1. */
    connections?: number;
    /** Name resolution (default dns.lookup); connection i takes the i-th address it returns, round the list. */
    lookup?: LookupFunction;
}

/**
 * Why a call failed, before a protocol client explains it: a gRPC status (from the server, or the one
 * the gRPC spec assigns to a transport failure). `undecodable` marks a reply this side cannot read
 * (compressed without negotiation), which no retry fixes. `httpStatus` is set when the answer was not a
 * gRPC response at all (an HTTP status without grpc-status, or a 200 of another content type): something
 * other than the server's gRPC handler answered, e.g. a proxy, or a server crashing mid-call.
 */
export class GrpcCallError extends Error {
    constructor(
        readonly code: GrpcCode,
        message: string,
        readonly undecodable = false,
        readonly httpStatus?: number,
    ) {
        super(message);
        this.name = "GrpcCallError";
    }
}

/**
 * A non-gRPC answer worth trying again: a 5xx other than 501, 408 or 429 (the spec's HTTP-to-gRPC mapping
 * turns 500 into UNKNOWN, which reads as a permanent model error, though no model said anything).
 */
export function isTransientNonGrpcAnswer(err: GrpcCallError): boolean {
    const s = err.httpStatus;
    return s !== undefined && (s === 200 || (s >= 500 && s !== 501) || s === 408 || s === 429);
}

const USER_AGENT = `eks-inference-grpc-h2/1.0 node/${process.versions.node}`;

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

/** Unary calls over one or more HTTP/2 connections to one address. */
export class GrpcChannel {
    private readonly connections: Connection[];
    private readonly maxSend: number;
    private next = 0;
    private closed = false;

    constructor(
        /** host:port to dial (IPv6 hosts in brackets). */
        readonly address: string,
        options: GrpcChannelOptions = {},
    ) {
        const count = options.connections ?? 1;
        if (!Number.isInteger(count) || count < 1) throw new RangeError(`connections must be a whole number >= 1, got ${count}`);
        this.maxSend = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
        const settings: ConnectionSettings = {
            authority: `http://${address}`,
            maxReceive: options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
            keepaliveTimeMs: options.keepaliveTimeMs ?? 60_000,
            keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 20_000,
        };
        const lookup = options.lookup ?? (dnsLookup as LookupFunction);
        this.connections = Array.from({ length: count }, (_, i) => new Connection(settings, spreadLookup(lookup, i)));
    }

    /** Calls in flight per connection (for tests and diagnostics). */
    get inFlight(): number[] {
        return this.connections.map((c) => c.inFlight);
    }

    /**
     * One unary call: the request message given as segments (sent by reference, not copied: do not modify
     * them until the promise settles), the reply message back. Fails with GrpcCallError.
     */
    async unary(method: string, segments: readonly Buffer[], timeoutMs: number): Promise<Buffer> {
        if (this.closed) throw new GrpcCallError(GrpcCode.UNAVAILABLE, "the client was closed");
        let framed: { parts: Buffer[]; length: number };
        try {
            framed = frameMessage(segments);
        } catch (err) {
            throw new GrpcCallError(GrpcCode.RESOURCE_EXHAUSTED, (err as Error).message);
        }
        if (framed.length > this.maxSend)
            throw new GrpcCallError(
                GrpcCode.RESOURCE_EXHAUSTED,
                `request message of ${framed.length} bytes is larger than the limit of ${this.maxSend} bytes`,
            );
        try {
            return await this.pick().unary(method, framed.parts, timeoutMs);
        } catch (err) {
            if (err instanceof GrpcFramingError)
                throw new GrpcCallError(err.code, err.message, err.code === GrpcCode.INTERNAL && /compressed/.test(err.message));
            throw err;
        }
    }

    close(): void {
        this.closed = true;
        for (const c of this.connections) c.close();
    }

    /** The connection with the fewest calls in flight; ties go round-robin so idle connections all get used. */
    private pick(): Connection {
        const n = this.connections.length;
        if (n === 1) return this.connections[0];
        let best = this.connections[this.next % n];
        for (let i = 1; i < n; i++) {
            const c = this.connections[(this.next + i) % n];
            if (c.inFlight < best.inFlight) best = c;
        }
        this.next = (this.connections.indexOf(best) + 1) % n;
        return best;
    }
}

/**
 * A lookup that puts the (index mod n)-th resolved address (of the preferred family) first, so connection `index` of a channel goes
 * to its own replica behind a name with several addresses. Node asks for every address when it tries
 * them in turn (autoSelectFamily), and for one otherwise; both get the rotated order.
 */
export function spreadLookup(base: LookupFunction, index: number): LookupFunction {
    return (hostname, options, callback) => {
        base(hostname, { ...options, all: true }, (err, addresses, family) => {
            if (err) return callback(err, "");
            const list: LookupAddress[] = Array.isArray(addresses)
                ? addresses
                : [{ address: addresses, family: family ?? (addresses.includes(":") ? 6 : 4) }];
            if (list.length === 0)
                return callback(Object.assign(new Error(`${hostname} resolved to no addresses`), { code: "ENOTFOUND" }), "");
            // Rotate among the addresses of the resolver's preferred family only (localhost's ::1 and 127.0.0.1
            // are one server, not two), the others kept after them as fallbacks.
            const preferred = list.filter((a) => a.family === list[0].family);
            const start = index % preferred.length;
            const rotated = [...preferred.slice(start), ...preferred.slice(0, start), ...list.filter((a) => a.family !== list[0].family)];
            if (options.all) callback(null, rotated);
            else callback(null, rotated[0].address, rotated[0].family);
        });
    };
}

interface ConnectionSettings {
    authority: string;
    maxReceive: number;
    keepaliveTimeMs: number;
    keepaliveTimeoutMs: number;
}

/** One HTTP/2 session at a time, redialled when lost, with keepalive PINGs while calls are in flight. */
class Connection {
    private session: ClientHttp2Session | undefined;
    private keepalive: NodeJS.Timeout | undefined;
    inFlight = 0;

    constructor(
        private readonly settings: ConnectionSettings,
        private readonly lookup: LookupFunction,
    ) {}

    close(): void {
        this.dropSession(this.session);
    }

    unary(method: string, parts: Buffer[], timeoutMs: number): Promise<Buffer> {
        return new Promise<Buffer>((resolve, reject) => {
            let stream: ClientHttp2Stream;
            try {
                stream = this.openStream(method, timeoutMs);
            } catch (err) {
                reject(new GrpcCallError(GrpcCode.UNAVAILABLE, `cannot start a call: ${(err as Error).message}`));
                return;
            }
            this.inFlight++;
            const collector = new MessageCollector(this.settings.maxReceive, "response message");
            let httpStatus = 0;
            let contentType: string | undefined;
            let statusHeaders: IncomingHttpHeaders | undefined;
            let failure: GrpcCallError | undefined;
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
            const fail = (f: GrpcCallError): void => {
                failure ??= f;
                if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
                settle(() => {
                    throw failure;
                });
            };
            const timer = setTimeout(
                () => fail(new GrpcCallError(GrpcCode.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`)),
                timeoutMs,
            );

            stream.on("response", (headers) => {
                httpStatus = Number(headers[":status"]);
                contentType = header(headers, "content-type");
                if (headers["grpc-status"] !== undefined) statusHeaders = headers; // trailers-only response
            });
            stream.on("data", (chunk: Buffer) => {
                const tooBig = collector.push(chunk);
                if (tooBig) fail(new GrpcCallError(tooBig.code, tooBig.message));
            });
            stream.on("trailers", (trailers) => {
                statusHeaders = trailers;
            });
            stream.on("error", (err: NodeJS.ErrnoException) => {
                if (err.code === "ERR_HTTP2_STREAM_ERROR") {
                    failure ??= new GrpcCallError(
                        codeForRstStream(stream.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR),
                        `stream reset by the server (HTTP/2 code ${stream.rstCode ?? "?"})`,
                    );
                } else {
                    // Connection-level: refused, reset, GOAWAY, session destroyed.
                    const cause = (err as { cause?: Error }).cause;
                    failure ??= new GrpcCallError(GrpcCode.UNAVAILABLE, `connection failed: ${cause ? cause.message : err.message}`);
                }
            });
            const session = stream.session;
            stream.on("close", () => {
                const sessionLost = !session || session.destroyed;
                settle(() => outcome(stream, sessionLost, httpStatus, contentType, statusHeaders, collector, failure));
            });

            for (let i = 0; i < parts.length - 1; i++) stream.write(parts[i]);
            stream.end(parts[parts.length - 1]);
        });
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
        const session = connect(this.settings.authority, {
            settings: H2_SETTINGS,
            maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
            // Our own socket, to turn off Nagle (the session's socket may not be touched once it is wrapped).
            createConnection: (authority: URL) =>
                netConnect({
                    host: authority.hostname.replace(/^\[(.*)\]$/, "$1"),
                    port: Number(authority.port),
                    noDelay: true,
                    lookup: this.lookup,
                }),
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
        if (this.settings.keepaliveTimeMs > 0) this.startKeepalive(session);
        return session;
    }

    private startKeepalive(session: ClientHttp2Session): void {
        clearInterval(this.keepalive);
        let awaitingPong = false;
        this.keepalive = setInterval(() => {
            if (this.inFlight === 0 || awaitingPong || session.destroyed || session.connecting) return;
            const timeoutMs = this.settings.keepaliveTimeoutMs;
            const watchdog = setTimeout(
                () => session.destroy(new Error(`connection silent: no answer to an HTTP/2 PING within ${timeoutMs} ms`)),
                timeoutMs,
            );
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
        }, this.settings.keepaliveTimeMs);
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

/** The call's result once the stream has closed: the response message or a GrpcCallError / GrpcFramingError. */
function outcome(
    stream: ClientHttp2Stream,
    sessionLost: boolean,
    httpStatus: number,
    contentType: string | undefined,
    statusHeaders: IncomingHttpHeaders | undefined,
    collector: MessageCollector,
    failure: GrpcCallError | undefined,
): Buffer {
    const grpcStatus = statusHeaders ? parseGrpcStatus(statusHeaders["grpc-status"]) : undefined;
    if (grpcStatus === undefined) {
        if (failure) throw failure;
        if (httpStatus === 0 && sessionLost) throw new GrpcCallError(GrpcCode.UNAVAILABLE, "connection lost before the server answered");
        if (httpStatus !== 0 && httpStatus !== 200)
            throw new GrpcCallError(
                grpcCodeForHttpStatus(httpStatus),
                `HTTP status ${httpStatus} without a gRPC status`,
                false,
                httpStatus,
            );
        if (stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR)
            throw new GrpcCallError(codeForRstStream(stream.rstCode), `stream reset (HTTP/2 code ${stream.rstCode})`);
        if (httpStatus === 0) throw new GrpcCallError(GrpcCode.UNAVAILABLE, "connection closed before the server answered");
        throw new GrpcCallError(GrpcCode.INTERNAL, "the server ended the call without a grpc-status");
    }
    if (grpcStatus !== GrpcCode.OK) {
        throw new GrpcCallError(grpcStatus, decodeGrpcMessage(header(statusHeaders!, "grpc-message") ?? ""));
    }
    if (contentType === undefined || !/^application\/grpc(?:$|[+;])/.test(contentType)) {
        throw new GrpcCallError(
            GrpcCode.UNKNOWN,
            `response content-type is "${contentType ?? "(none)"}", not application/grpc`,
            false,
            httpStatus,
        );
    }
    const messages = collector.messages();
    if (messages.length !== 1) throw new GrpcCallError(GrpcCode.INTERNAL, `a unary call got ${messages.length} response messages`);
    return messages[0];
}
