// The shared gRPC framing: MessageCollector, with and without reused receive buffers.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { frameMessage, GrpcCode, GrpcFramingError, MessageCollector, ReceiveBufferPool } from "../../../model-client/grpc/protocol";
import { GrpcChannel } from "../../../model-client/grpc/channel";
import { startGrpcServer } from "../../../../testing/grpc-server";

/** A framed message cut into DATA-sized chunks, as a stream delivers it. */
function chunked(message: Buffer, chunkBytes: number): Buffer[] {
    const { parts } = frameMessage([message]);
    const whole = Buffer.concat(parts);
    const out: Buffer[] = [];
    for (let i = 0; i < whole.length; i += chunkBytes) out.push(whole.subarray(i, i + chunkBytes));
    return out;
}

describe("gRPC message collector", () => {
    it("copies a big message into a pooled buffer as it arrives, and reuses that buffer once released", () => {
        const pool = new ReceiveBufferPool(1024);
        const first = randomBytes(300_000);
        const a = new MessageCollector(1 << 20, "request message", pool);
        for (const c of chunked(first, 65_536)) assert.equal(a.push(c), undefined);
        const [got] = a.messages();
        assert.ok(got.equals(first));
        const backing = got.buffer;
        a.release();

        const second = randomBytes(200_000); // smaller: fits the same buffer
        const b = new MessageCollector(1 << 20, "request message", pool);
        for (const c of chunked(second, 16_384)) b.push(c);
        const [again] = b.messages();
        assert.ok(again.equals(second));
        assert.equal(again.buffer, backing, "the released buffer is reused");

        const c = new MessageCollector(1 << 20, "request message", pool);
        for (const chunk of chunked(randomBytes(250_000), 65_536)) c.push(chunk);
        assert.notEqual(c.messages()[0].buffer, backing, "a buffer still in use is not handed out twice");
    });

    it("leaves small messages as they are, and parses several messages in one stream", () => {
        const pool = new ReceiveBufferPool(1024);
        const small = new MessageCollector(1 << 20, "response message", pool);
        for (const c of chunked(Buffer.from("tiny"), 3)) small.push(c);
        assert.deepEqual(small.messages().map(String), ["tiny"]);

        const big = randomBytes(100_000);
        const two = new MessageCollector(1 << 20, "request message", pool);
        for (const c of [...chunked(big, 40_000), ...chunked(Buffer.from("second"), 4)]) two.push(c);
        const messages = two.messages();
        assert.equal(messages.length, 2);
        assert.ok(messages[0].equals(big));
        assert.equal(String(messages[1]), "second");
    });

    it("still reports a truncated, compressed or oversized big message", () => {
        const pool = new ReceiveBufferPool(1024);
        const parts = chunked(randomBytes(100_000), 30_000);
        const cut = new MessageCollector(1 << 20, "request message", pool);
        for (const c of parts.slice(0, -1)) cut.push(c);
        assert.throws(
            () => cut.messages(),
            (err: unknown) => err instanceof GrpcFramingError && err.code === GrpcCode.INTERNAL && /truncated/.test(err.message),
        );

        const compressed = Buffer.concat(parts);
        compressed[0] = 1;
        const flagged = new MessageCollector(1 << 20, "request message", pool);
        flagged.push(compressed);
        assert.throws(() => flagged.messages(), /compressed \(flag 1\)/);

        const limited = new MessageCollector(50_000, "request message", pool);
        let error: GrpcFramingError | undefined;
        for (const c of parts) error ??= limited.push(c);
        assert.equal(error?.code, GrpcCode.RESOURCE_EXHAUSTED);
    });
});

describe("gRPC test server receive buffers", () => {
    it("keeps a request's buffer for its handler until the handler settles, while other big requests arrive", async () => {
        let secondArrived: () => void = () => undefined;
        const arrival = new Promise<void>((resolve) => (secondArrived = resolve));
        const handler = async (body: Buffer): Promise<Buffer[]> => {
            if (body[0] !== 1) {
                secondArrived();
                return [Buffer.from("second")];
            }
            const copy = Buffer.from(body);
            await arrival; // the second request is received while this one is still being handled
            return [Buffer.from(body.equals(copy) ? "intact" : "overwritten")];
        };
        const server = await startGrpcServer("127.0.0.1", 0, new Map([["/test.Reuse/Call", handler]]), { reuseRequestBuffers: true });
        const channel = new GrpcChannel(`127.0.0.1:${server.port}`);
        try {
            for (let round = 0; round < 3; round++) {
                const first = randomBytes(400_000);
                first[0] = 1;
                const second = randomBytes(400_000);
                second[0] = 2;
                const a = channel.unary("/test.Reuse/Call", [first], 10_000);
                await new Promise((resolve) => setTimeout(resolve, 20));
                const b = channel.unary("/test.Reuse/Call", [second], 10_000);
                assert.deepEqual((await Promise.all([a, b])).map(String), ["intact", "second"]);
            }
        } finally {
            channel.close();
            await server.stop();
        }
    });
});
