// A minimal unary gRPC server on node:http2 (h2c), for the emulators (TF Serving, KServe v2). Each request body is
// collected as received (one concat), each reply is written as a gather list with its status in trailers;
// errors go out as trailers-only responses. Honours grpc-timeout by answering DEADLINE_EXCEEDED.
import {
    constants as h2,
    createServer,
    type Http2Server,
    type Http2Session,
    type IncomingHttpHeaders,
    type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import {
    DEFAULT_MAX_MESSAGE_BYTES,
    encodeGrpcMessage,
    frameMessage,
    GrpcCode,
    GrpcFramingError,
    H2_MAX_SESSION_MEMORY_MB,
    H2_SETTINGS,
    H2_WINDOW_BYTES,
    MessageCollector,
    parseGrpcTimeout,
    ReceiveBufferPool,
} from "../worker/model-client/grpc/protocol";

/** Thrown by a handler to answer with a gRPC status other than OK. */
export class GrpcStatusError extends Error {
    constructor(
        readonly code: GrpcCode,
        message: string,
    ) {
        super(message);
        this.name = "GrpcStatusError";
    }
}

/**
 * Thrown by a handler to answer with a bare HTTP response instead of gRPC (no grpc-status): what a proxy
 * or a crashing server sends. For fault injection.
 */
export class RawHttpAnswer extends Error {
    constructor(
        readonly status: number,
        readonly contentType: string,
        readonly body: string,
    ) {
        super(`raw HTTP ${status} answer`);
        this.name = "RawHttpAnswer";
    }
}

/** Request message in, reply message out (as segments); anything thrown that is not a GrpcStatusError is INTERNAL. */
export type UnaryHandler = (request: Buffer) => Buffer[] | Promise<Buffer[]>;

export interface GrpcServerOptions {
    /** Largest request accepted; default 256 MiB. */
    maxMessageBytes?: number;
    /**
     * Receive big requests (256 KiB and more) into reused buffers instead of a fresh allocation per call
     * (for the emulators, which take multi-MB tensors back to back). The request a handler gets is then
     * only valid until the handler settles: it must not keep views of it, nor return them in its reply.
     */
    reuseRequestBuffers?: boolean;
}

export interface GrpcServer {
    readonly port: number;
    /** Drops every connection at once (calls in flight are reset) and stops listening. */
    stop(): Promise<void>;
}

function respondWithStatus(stream: ServerHttp2Stream, code: GrpcCode, message: string): void {
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
        // Headers are out (the reply was being written): the status can only go in trailers; give up the stream.
        stream.close(h2.NGHTTP2_INTERNAL_ERROR);
        return;
    }
    stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) },
        { endStream: true },
    );
}

function respondWithMessage(stream: ServerHttp2Stream, segments: Buffer[]): void {
    if (stream.destroyed || stream.closed) return;
    const { parts } = frameMessage(segments);
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(GrpcCode.OK) }));
    for (let i = 0; i < parts.length - 1; i++) stream.write(parts[i]);
    stream.end(parts[parts.length - 1]);
}

function handleStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    handlers: ReadonlyMap<string, UnaryHandler>,
    maxMessageBytes: number,
    requestBuffers: ReceiveBufferPool | undefined,
): void {
    stream.on("error", () => {
        // A client that cancels or disconnects: nothing to answer.
    });
    const contentType = headers["content-type"];
    if (headers[":method"] !== "POST" || typeof contentType !== "string" || !/^application\/grpc(?:$|[+;])/.test(contentType)) {
        stream.respond({ ":status": 415, "content-type": "text/plain" }, { endStream: false });
        stream.end("gRPC requests must be POST with content-type application/grpc\n");
        return;
    }
    const path = headers[":path"] ?? "";
    const handler = handlers.get(path);
    if (!handler) {
        respondWithStatus(stream, GrpcCode.UNIMPLEMENTED, `unknown method ${path}`);
        return;
    }
    if (headers["grpc-encoding"] !== undefined && headers["grpc-encoding"] !== "identity") {
        respondWithStatus(stream, GrpcCode.UNIMPLEMENTED, `grpc-encoding "${String(headers["grpc-encoding"])}" is not supported`);
        return;
    }
    const timeoutMs = parseGrpcTimeout(typeof headers["grpc-timeout"] === "string" ? headers["grpc-timeout"] : undefined);
    const deadline =
        timeoutMs === undefined
            ? undefined
            : setTimeout(() => respondWithStatus(stream, GrpcCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), timeoutMs);
    stream.once("close", () => clearTimeout(deadline));

    const collector = new MessageCollector(maxMessageBytes, "request message", requestBuffers);
    // A reused request buffer goes back once the handler has settled (or the call ended without one).
    let handlerRunning = false;
    stream.once("close", () => {
        if (!handlerRunning) collector.release();
    });
    stream.on("data", (chunk: Buffer) => {
        const tooBig = collector.push(chunk);
        if (tooBig) {
            respondWithStatus(stream, tooBig.code, tooBig.message);
            stream.removeAllListeners("data");
            stream.resume();
        }
    });
    stream.once("end", () => {
        if (stream.headersSent) return;
        let request: Buffer;
        try {
            const messages = collector.messages();
            if (messages.length !== 1)
                throw new GrpcFramingError(`a unary call needs exactly one request message, got ${messages.length}`, GrpcCode.INTERNAL);
            request = messages[0];
        } catch (err) {
            const e = err as GrpcFramingError;
            respondWithStatus(stream, e.code ?? GrpcCode.INTERNAL, e.message);
            return;
        }
        handlerRunning = true;
        Promise.resolve()
            .then(() => handler(request))
            .finally(() => {
                handlerRunning = false;
                collector.release();
            })
            .then(
                (reply) => {
                    if (!stream.headersSent) respondWithMessage(stream, reply);
                },
                (err: unknown) => {
                    if (err instanceof RawHttpAnswer) {
                        if (stream.destroyed || stream.closed || stream.headersSent) return;
                        stream.respond({ ":status": err.status, "content-type": err.contentType });
                        stream.end(err.body);
                    } else if (err instanceof GrpcStatusError) respondWithStatus(stream, err.code, err.message);
                    else respondWithStatus(stream, GrpcCode.INTERNAL, `server error: ${err instanceof Error ? err.message : String(err)}`);
                },
            );
    });
}

export function startGrpcServer(
    host: string,
    port: number,
    handlers: ReadonlyMap<string, UnaryHandler>,
    options: GrpcServerOptions = {},
): Promise<GrpcServer> {
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const requestBuffers = options.reuseRequestBuffers === true ? new ReceiveBufferPool() : undefined;
    const sessions = new Set<Http2Session>();
    const server: Http2Server = createServer({ settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY_MB });
    server.on("connection", (socket: Socket) => socket.setNoDelay(true));
    server.on("session", (session: Http2Session) => {
        sessions.add(session);
        session.once("close", () => sessions.delete(session));
        session.on("error", () => {
            // Broken connections end their streams; nothing else to do.
        });
        try {
            session.setLocalWindowSize(H2_WINDOW_BYTES);
        } catch {
            // Session already closing.
        }
    });
    server.on("stream", (stream, headers) => handleStream(stream, headers, handlers, maxMessageBytes, requestBuffers));
    return new Promise((resolve, reject) => {
        server.once("error", (err) => reject(new Error(`could not listen for gRPC on ${host}:${port}: ${err.message}`)));
        server.listen(port, host, () => {
            resolve({
                port: (server.address() as AddressInfo).port,
                stop: () =>
                    new Promise<void>((done) => {
                        for (const session of sessions) session.destroy();
                        server.close(() => done());
                    }),
            });
        });
    });
}
