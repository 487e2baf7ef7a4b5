// A TCP proxy for fault tests: forwards to a target until told to stall. A stalled exchange is accepted
// and then simply stops being forwarded (no reset, no FIN), as behind a dead NAT entry or a hung peer.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

export type StallRule =
    /** Forward everything. */
    | { kind: "forward" }
    /** Nothing more is forwarded on any connection, old or new. */
    | { kind: "blackhole" }
    /**
     * The next `times` requests whose first bytes are `match` (e.g. "GET /videos/clips/a.mp4"): with
     * `forwardRequest`, the request goes through and `afterResponseBytes` of the answer come back, then
     * nothing; without it, the request never reaches the target.
     */
    | { kind: "stall"; match: string; times: number; forwardRequest: boolean; afterResponseBytes: number };

export interface StallProxy {
    readonly url: string;
    set(rule: StallRule): void;
    /** Exchanges stalled so far (blackholed connections count once each). */
    readonly stalled: number;
    close(): Promise<void>;
}

export async function startStallProxy(target: string): Promise<StallProxy> {
    const { hostname, port } = new URL(target);
    let rule: StallRule = { kind: "forward" };
    let stalled = 0;
    const sockets = new Set<Socket>();
    const track = (s: Socket): void => {
        sockets.add(s);
        s.once("close", () => sockets.delete(s));
        s.on("error", () => undefined);
    };
    const server: Server = createServer((client) => {
        track(client);
        let blackholed = false;
        const hole = (): boolean => {
            if (rule.kind !== "blackhole") return false;
            if (!blackholed) stalled++;
            blackholed = true;
            return true;
        };
        let responseBudget = Infinity;
        let requestDropped = false;
        const upstream = connect(Number(port), hostname);
        track(upstream);
        client.on("data", (chunk: Buffer) => {
            if (hole() || requestDropped) return;
            if (rule.kind === "stall" && rule.times > 0 && chunk.subarray(0, rule.match.length).toString("latin1") === rule.match) {
                rule.times--;
                stalled++;
                if (!rule.forwardRequest) {
                    requestDropped = true;
                    return;
                }
                responseBudget = rule.afterResponseBytes;
            }
            upstream.write(chunk);
        });
        upstream.on("data", (chunk: Buffer) => {
            if (hole() || responseBudget <= 0) return;
            const part = chunk.length > responseBudget ? chunk.subarray(0, responseBudget) : chunk;
            responseBudget -= part.length;
            client.write(part);
        });
        client.once("end", () => {
            if (!blackholed && !requestDropped) upstream.end();
        });
        upstream.once("end", () => {
            if (!blackholed && responseBudget > 0) client.end();
        });
        client.once("close", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        set: (r) => (rule = r),
        get stalled() {
            return stalled;
        },
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
