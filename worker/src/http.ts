// /metrics (Prometheus text), /healthz (process alive) and /readyz (model AVAILABLE, not shutting down).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WorkerMetrics } from "./metrics";

export interface StatusServer {
    readonly port: number;
    close(): Promise<void>;
}

export function startStatusServer(port: number, metrics: WorkerMetrics, isReady: () => boolean, host = "0.0.0.0"): Promise<StatusServer> {
    const server: Server = createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0];
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { allow: "GET, HEAD" }).end();
            return;
        }
        switch (path) {
            case "/metrics":
                res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(metrics.render());
                return;
            case "/healthz":
                res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
                return;
            case "/readyz": {
                const ready = isReady();
                res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
                return;
            }
            default:
                res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        }
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
            server.off("error", reject);
            resolve({
                port: (server.address() as AddressInfo).port,
                close: () =>
                    new Promise<void>((done) => {
                        server.closeAllConnections();
                        server.close(() => done());
                    }),
            });
        });
    });
}
