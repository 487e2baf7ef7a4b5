// The protocol-neutral gRPC transport: several HTTP/2 connections share the load.
import { strict as assert } from "node:assert";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { GrpcCallError, GrpcChannel, spreadLookup } from "../../../model-client/grpc/channel";
import { GrpcCode } from "../../../model-client/grpc/protocol";
import { startGrpcServer, type GrpcServer } from "../../../../testing/grpc-server";

describe("gRPC channel", () => {
    let server: GrpcServer;
    let address: string;

    before(async () => {
        const echo = async (body: Buffer): Promise<Buffer[]> => {
            await new Promise((resolve) => setTimeout(resolve, 40));
            return [body];
        };
        server = await startGrpcServer("127.0.0.1", 0, new Map([["/test.Echo/Call", echo]]));
        address = `127.0.0.1:${server.port}`;
    });
    after(() => server.stop());

    it("spreads concurrent calls evenly over its connections", async () => {
        const channel = new GrpcChannel(address, { connections: 3 });
        try {
            const calls = Array.from({ length: 7 }, (_, i) => channel.unary("/test.Echo/Call", [Buffer.from(`call ${i}`)], 5000));
            assert.deepEqual(channel.inFlight, [3, 2, 2]);
            const replies = await Promise.all(calls);
            assert.deepEqual(
                replies.map(String),
                Array.from({ length: 7 }, (_, i) => `call ${i}`),
            );
            assert.deepEqual(channel.inFlight, [0, 0, 0]);
        } finally {
            channel.close();
        }
    });

    it("opens one TCP connection per configured connection once they are all used", async () => {
        const sockets = new Set<string>();
        const h2: Http2Server = createServer();
        h2.on("stream", (stream) => {
            const s = stream.session?.socket;
            sockets.add(`${s?.remoteAddress}:${s?.remotePort}`);
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            const empty = Buffer.alloc(5);
            stream.resume();
            stream.on("end", () => stream.end(empty));
        });
        await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
        const channel = new GrpcChannel(`127.0.0.1:${(h2.address() as AddressInfo).port}`, { connections: 4 });
        try {
            for (let i = 0; i < 8; i++) await channel.unary("/x.Y/Z", [Buffer.alloc(0)], 5000);
            assert.equal(sockets.size, 4, [...sockets].join(" "));
        } finally {
            channel.close();
            await new Promise<void>((resolve) => h2.close(() => resolve()));
        }
    });

    it("sends connection i to the i-th address a name resolves to, so a headless Service spreads them over pods", async () => {
        // Two "pods": the same port on two loopback addresses, behind one fake name.
        const seen: string[] = [];
        const pod =
            (name: string) =>
            async (body: Buffer): Promise<Buffer[]> => {
                seen.push(name);
                return [body];
            };
        const a = await startGrpcServer("127.0.0.1", 0, new Map([["/test.Echo/Call", pod("a")]]));
        const b = await startGrpcServer("127.0.0.2", a.port, new Map([["/test.Echo/Call", pod("b")]]));
        const lookup: LookupFunction = (hostname, options, callback) => {
            const all: LookupAddress[] =
                hostname === "bert-pods.test"
                    ? [
                          { address: "127.0.0.1", family: 4 },
                          { address: "127.0.0.2", family: 4 },
                      ]
                    : [];
            if (options.all) callback(null, all);
            else callback(null, all[0].address, 4);
        };
        const channel = new GrpcChannel(`bert-pods.test:${a.port}`, { connections: 4, lookup });
        try {
            for (let i = 0; i < 8; i++) await channel.unary("/test.Echo/Call", [Buffer.from("x")], 5000);
            assert.deepEqual(seen.sort(), ["a", "a", "a", "a", "b", "b", "b", "b"]);
        } finally {
            channel.close();
            await Promise.all([a.stop(), b.stop()]);
        }
    });

    it("spreadLookup rotates the address list by the connection's index, whichever form Node asks for", () => {
        const base: LookupFunction = (_host, _options, callback) =>
            callback(null, [
                { address: "10.0.0.1", family: 4 },
                { address: "10.0.0.2", family: 4 },
                { address: "10.0.0.3", family: 4 },
            ]);
        const one = (index: number): string => {
            let got = "";
            spreadLookup(base, index)("x", {}, (_err, address) => (got = address as string));
            return got;
        };
        assert.deepEqual([0, 1, 2, 3, 4].map(one), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2"]);
        let all: LookupAddress[] = [];
        spreadLookup(base, 2)("x", { all: true }, (_err, addresses) => (all = addresses as LookupAddress[]));
        assert.deepEqual(
            all.map((x) => x.address),
            ["10.0.0.3", "10.0.0.1", "10.0.0.2"],
        );
        const mixed: LookupFunction = (_host, _options, callback) =>
            callback(null, [
                { address: "::1", family: 6 },
                { address: "127.0.0.1", family: 4 },
                { address: "fd00::2", family: 6 },
            ]);
        let order: LookupAddress[] = [];
        spreadLookup(mixed, 1)("localhost", { all: true }, (_err, addresses) => (order = addresses as LookupAddress[]));
        assert.deepEqual(
            order.map((x) => x.address),
            ["fd00::2", "::1", "127.0.0.1"],
            "rotates within the preferred family, others after",
        );
        let error: Error | null = null;
        spreadLookup((_h, _o, cb) => cb(null, []), 0)("nowhere", {}, (err) => (error = err));
        assert.match(String(error), /nowhere resolved to no addresses/);
    });

    it("rejects a connection count that is not a whole number >= 1", () => {
        for (const bad of [0, -1, 1.5, NaN])
            assert.throws(() => new GrpcChannel(address, { connections: bad }), /connections must be a whole number >= 1/);
    });

    it("reports a server that is down as UNAVAILABLE", async () => {
        const channel = new GrpcChannel("127.0.0.1:1", { connections: 2 });
        try {
            await assert.rejects(
                channel.unary("/x.Y/Z", [Buffer.alloc(0)], 5000),
                (err: unknown) => err instanceof GrpcCallError && err.code === GrpcCode.UNAVAILABLE && /ECONNREFUSED/.test(err.message),
            );
        } finally {
            channel.close();
        }
    });
});
