// The h2 gRPC client against hand-written HTTP/2 servers that misbehave in the ways real proxies and
// servers do, plus the protocol helpers and the gather-list encoder.
import { strict as assert } from "node:assert";
import { createServer, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import {
    encodeGetModelStatusResponse,
    encodePredictRequest,
    encodePredictRequestSegments,
    encodePredictResponse,
} from "../../../model-client/tfserving/codec";
import {
    decodeGrpcMessage,
    encodeGrpcMessage,
    formatGrpcTimeout,
    frameMessage,
    parseGrpcTimeout,
} from "../../../model-client/grpc/protocol";
import {
    createModelClient,
    GrpcModelClient,
    ModelState,
    tensorFromInt32,
    tensorFromUint8,
    type ModelClient,
} from "../../../model-client/tfserving";
import { rejection } from "../../support/rejection";

type Behaviour = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

interface RawServer {
    url: string;
    sessions: () => number;
    requestHeaders: IncomingHttpHeaders[];
    behave: (b: Behaviour) => void;
    closeSessions: () => void;
    stop: () => Promise<void>;
}

/** An HTTP/2 server whose answer to each stream is whatever the current behaviour does. */
async function rawServer(): Promise<RawServer> {
    let behaviour: Behaviour = (stream) => stream.respond({ ":status": 500 }, { endStream: true });
    let sessionCount = 0;
    const live = new Set<import("node:http2").Http2Session>();
    const requestHeaders: IncomingHttpHeaders[] = [];
    const server: Http2Server = createServer();
    server.on("session", (s) => {
        sessionCount++;
        live.add(s);
        s.on("close", () => live.delete(s));
        s.on("error", () => undefined);
    });
    server.on("stream", (stream, headers) => {
        stream.on("error", () => undefined);
        requestHeaders.push(headers);
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => behaviour(stream, headers, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `grpc://127.0.0.1:${(server.address() as AddressInfo).port}`,
        sessions: () => sessionCount,
        requestHeaders,
        behave: (b) => {
            behaviour = b;
        },
        closeSessions: () => {
            for (const s of live) s.close();
        },
        stop: () =>
            new Promise<void>((resolve) => {
                for (const s of live) s.destroy();
                server.close(() => resolve());
            }),
    };
}

const GRPC_OK_HEADERS = { ":status": 200, "content-type": "application/grpc" };

/** A successful unary reply carrying `message`, with the status in trailers. */
function replyOk(stream: ServerHttp2Stream, message: Buffer, flag = 0): void {
    stream.respond(GRPC_OK_HEADERS, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    const prefix = Buffer.alloc(5);
    prefix[0] = flag;
    prefix.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([prefix, message]));
}

const STATUS_REPLY = encodeGetModelStatusResponse([{ version: 2, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" }]);

describe("h2 gRPC client against raw HTTP/2 servers", () => {
    let server: RawServer;
    let client: ModelClient;
    beforeEach(async () => {
        server = await rawServer();
        client = createModelClient(server.url, { defaultTimeoutMs: 5000 });
    });
    afterEach(async () => {
        client.close();
        await server.stop();
    });

    it("createModelClient gives the h2 client for grpc:// URLs, and it sends gRPC request headers", async () => {
        assert.ok(client instanceof GrpcModelClient);
        server.behave((stream) => replyOk(stream, STATUS_REPLY));
        assert.deepEqual(await client.getModelStatus({ name: "m" }, { timeoutMs: 2500 }), [
            { version: 2, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" },
        ]);
        const h = server.requestHeaders[0];
        assert.equal(h[":method"], "POST");
        assert.equal(h[":path"], "/tensorflow.serving.ModelService/GetModelStatus");
        assert.equal(h["content-type"], "application/grpc");
        assert.equal(h.te, "trailers");
        assert.equal(h["grpc-timeout"], "2500m");
        assert.match(String(h["user-agent"]), /node\//);
    });

    it("reads a trailers-only error response (status in the headers)", async () => {
        server.behave((stream) =>
            stream.respond(
                {
                    ...GRPC_OK_HEADERS,
                    "grpc-status": "5",
                    "grpc-message": encodeGrpcMessage("Could not find any versions of model m — ¿nada?"),
                },
                { endStream: true },
            ),
        );
        const err = await rejection(client.getModelStatus({ name: "m" }));
        assert.equal(err.code, "NOT_FOUND");
        assert.equal(err.transient, false);
        assert.match(err.message, /Could not find any versions of model m — ¿nada\?$/);
    });

    it("maps HTTP errors without a grpc-status the way gRPC does, except that a 5xx is transient (issue 17 item 7)", async () => {
        for (const [status, code, transient] of [
            [503, "NON_GRPC_RESPONSE", true],
            [502, "NON_GRPC_RESPONSE", true],
            [504, "NON_GRPC_RESPONSE", true],
            [404, "UNIMPLEMENTED", false],
            [401, "UNAUTHENTICATED", false],
            [500, "NON_GRPC_RESPONSE", true],
            [429, "NON_GRPC_RESPONSE", true],
            [501, "UNKNOWN", false],
        ] as const) {
            server.behave((stream) => {
                stream.respond({ ":status": status, "content-type": "text/html" });
                stream.end("<html>proxy error</html>");
            });
            const err = await rejection(client.getModelStatus({ name: "m" }));
            assert.equal(err.code, code, `HTTP ${status}`);
            assert.equal(err.transient, transient, `HTTP ${status}`);
            assert.match(err.message, new RegExp(`HTTP status ${status}`));
        }
    });

    it("rejects a compressed message clearly (no compression was negotiated)", async () => {
        server.behave((stream) => replyOk(stream, STATUS_REPLY, 1));
        const err = await rejection(client.getModelStatus({ name: "m" }));
        assert.equal(err.code, "DECODE_ERROR");
        assert.equal(err.transient, false);
        assert.match(err.message, /compressed \(flag 1\)/);
    });

    it("rejects a 200 that is not gRPC (transient), and a response with no status", async () => {
        server.behave((stream) => {
            stream.respond({ ":status": 200, "content-type": "text/html" }, { waitForTrailers: true });
            stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end("<html></html>");
        });
        const notGrpc = await rejection(client.getModelStatus({ name: "m" }));
        assert.equal(notGrpc.code, "NON_GRPC_RESPONSE");
        assert.equal(notGrpc.transient, true, "no model server said anything: worth asking again");
        assert.match(notGrpc.message, /content-type is "text\/html"/);
        server.behave((stream) => {
            stream.respond(GRPC_OK_HEADERS);
            stream.end();
        });
        const noStatus = await rejection(client.getModelStatus({ name: "m" }));
        assert.equal(noStatus.code, "INTERNAL");
        assert.match(noStatus.message, /without a grpc-status/);
    });

    it("refuses a response larger than maxReceiveMessageBytes", async () => {
        const small = new GrpcModelClient(server.url, server.url.replace("grpc://", ""), { maxReceiveMessageBytes: 1000 });
        try {
            server.behave((stream) =>
                replyOk(stream, encodePredictResponse({ outputs: { x: tensorFromUint8(Buffer.alloc(5000), [5000]) } })),
            );
            const err = await rejection(small.predict({ model: { name: "m" }, inputs: {} }));
            assert.equal(err.code, "RESOURCE_EXHAUSTED");
            assert.match(err.message, /larger than the limit of 1000 bytes/);
        } finally {
            small.close();
        }
    });

    it("treats a connection dropped mid-call as transient UNAVAILABLE and reconnects on the next call", async () => {
        server.behave((stream) => stream.session?.destroy());
        const err = await rejection(client.getModelStatus({ name: "m" }));
        assert.equal(err.code, "UNAVAILABLE");
        assert.equal(err.transient, true);
        server.behave((stream) => replyOk(stream, STATUS_REPLY));
        assert.equal((await client.getModelStatus({ name: "m" }))[0].version, 2);
        assert.equal(server.sessions(), 2);
    });

    it("multiplexes concurrent calls on one session and opens a new one after GOAWAY", async () => {
        server.behave((stream, _headers, body) =>
            setTimeout(
                () => replyOk(stream, encodePredictResponse({ outputs: { echo: tensorFromUint8(body.subarray(5), [body.length - 5]) } })),
                20,
            ),
        );
        const requests = Array.from({ length: 24 }, (_, i) => ({
            model: { name: `m${i}` },
            inputs: { x: tensorFromInt32(new Int32Array([i]), [1]) },
        }));
        const replies = await Promise.all(requests.map((r) => client.predict(r)));
        replies.forEach((reply, i) => assert.ok(reply.outputs.echo.content!.equals(encodePredictRequest(requests[i])), `call ${i}`));
        assert.equal(server.sessions(), 1);
        server.closeSessions(); // sends GOAWAY
        await new Promise((resolve) => setTimeout(resolve, 50));
        await client.predict(requests[0]);
        assert.equal(server.sessions(), 2);
    });

    it("cancels the stream at the deadline even if the server never answers", async () => {
        server.behave(() => undefined);
        const err = await rejection(client.getModelStatus({ name: "m" }, { timeoutMs: 150 }));
        assert.equal(err.code, "DEADLINE_EXCEEDED");
        assert.equal(err.transient, true);
        assert.match(err.message, /deadline of 150 ms exceeded/);
    });
});

/** A TCP proxy that can be frozen: bytes stop flowing both ways while connections stay open. */
async function freezableProxy(target: string): Promise<{ url: string; freeze: () => void; thaw: () => void; stop: () => Promise<void> }> {
    const { port: targetPort } = new URL(target.replace("grpc:", "http:"));
    let frozen = false;
    const sockets = new Set<Socket>();
    const server = createNetServer((inbound) => {
        const outbound = netConnect({ host: "127.0.0.1", port: Number(targetPort) });
        for (const [from, to] of [
            [inbound, outbound],
            [outbound, inbound],
        ] as const) {
            sockets.add(from);
            from.on("data", (chunk: Buffer) => {
                if (!frozen) to.write(chunk);
            });
            from.on("error", () => to.destroy());
            from.on("close", () => {
                sockets.delete(from);
                to.destroy();
            });
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `grpc://127.0.0.1:${(server.address() as AddressInfo).port}`,
        freeze: () => {
            frozen = true;
        },
        thaw: () => {
            frozen = false;
        },
        stop: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}

describe("h2 gRPC client keepalive", () => {
    it("drops a connection that stops answering PINGs, failing its calls as UNAVAILABLE before their deadline, then reconnects", async () => {
        const server = await rawServer();
        const proxy = await freezableProxy(server.url);
        const client = new GrpcModelClient(proxy.url, proxy.url.replace("grpc://", ""), { keepaliveTimeMs: 100, keepaliveTimeoutMs: 200 });
        try {
            server.behave((stream) => replyOk(stream, STATUS_REPLY));
            await client.getModelStatus({ name: "m" });
            proxy.freeze();
            const started = Date.now();
            const err = await rejection(client.getModelStatus({ name: "m" }, { timeoutMs: 10_000 }));
            assert.equal(err.code, "UNAVAILABLE");
            assert.equal(err.transient, true);
            assert.match(err.message, /no answer to an HTTP\/2 PING within 200 ms/);
            assert.ok(Date.now() - started < 9_000, "failed by keepalive, not by the deadline");
            proxy.thaw();
            assert.equal((await client.getModelStatus({ name: "m" }))[0].version, 2);
            assert.equal(server.sessions(), 2);
        } finally {
            client.close();
            await proxy.stop();
            await server.stop();
        }
    });
});

describe("gRPC protocol helpers", () => {
    it("percent-encodes grpc-message as UTF-8 bytes outside printable ASCII and '%', and decodes it back", () => {
        const text = "naïve 100% done\n失败";
        const encoded = encodeGrpcMessage(text);
        assert.equal(encoded, "na%C3%AFve 100%25 done%0A%E5%A4%B1%E8%B4%A5");
        assert.equal(decodeGrpcMessage(encoded), text);
        assert.equal(decodeGrpcMessage("50%zz off %"), "50%zz off %", "malformed escapes are kept");
    });

    it("formats and parses grpc-timeout within 8 digits", () => {
        assert.equal(formatGrpcTimeout(30_000), "30000m");
        assert.equal(formatGrpcTimeout(12.2), "13m");
        assert.equal(formatGrpcTimeout(2e8), "200000S");
        assert.equal(parseGrpcTimeout("5S"), 5000);
        assert.equal(parseGrpcTimeout("250m"), 250);
        assert.equal(parseGrpcTimeout("123456789m"), undefined);
        assert.equal(parseGrpcTimeout("soon"), undefined);
    });

    it("frames a gather list without copying the big segments", () => {
        const content = Buffer.alloc(300_000, 7);
        const request = {
            model: { name: "object_detection" },
            inputs: { inputs: tensorFromUint8(content, [1, 100, 1000, 3]) },
            outputFilter: ["detection_boxes"],
        };
        const segments = encodePredictRequestSegments(request);
        assert.ok(
            segments.some((s) => s.buffer === content.buffer && s.byteOffset === content.byteOffset && s.length === content.length),
            "the tensor content is passed by reference",
        );
        assert.ok(Buffer.concat(segments).equals(encodePredictRequest(request)));
        const { parts, length } = frameMessage(segments);
        assert.equal(length, encodePredictRequest(request).length);
        const framed = Buffer.concat(parts);
        assert.equal(framed[0], 0);
        assert.equal(framed.readUInt32BE(1), length);
        assert.ok(framed.subarray(5).equals(encodePredictRequest(request)));
    });
});
