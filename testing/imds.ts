// A stand-in for the EC2 instance metadata service, IMDSv2 only (the node groups' launch templates
// require session tokens): PUT /latest/api/token with a TTL header, then GETs carrying the token.
// Programs find it through AWS_EC2_METADATA_SERVICE_ENDPOINT, the variable the AWS SDKs read.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Imds {
    /** e.g. http://127.0.0.1:41234 */
    readonly endpoint: string;
    /** Paths served (token-authenticated GETs), in order. */
    readonly served: string[];
    stop(): Promise<void>;
}

/** `metadata` maps a path under /latest/meta-data/ (e.g. "instance-id") to its value. */
export async function startImds(metadata: Readonly<Record<string, string>>): Promise<Imds> {
    const tokens = new Set<string>();
    const served: string[] = [];
    const server: Server = createServer((req, res) => {
        if (req.method === "PUT" && req.url === "/latest/api/token") {
            if (req.headers["x-aws-ec2-metadata-token-ttl-seconds"] === undefined) {
                res.writeHead(400).end();
                return;
            }
            const token = randomBytes(16).toString("base64");
            tokens.add(token);
            res.writeHead(200, { "content-type": "text/plain" }).end(token);
            return;
        }
        if (req.method !== "GET") {
            res.writeHead(405).end();
            return;
        }
        const token = req.headers["x-aws-ec2-metadata-token"];
        if (typeof token !== "string" || !tokens.has(token)) {
            res.writeHead(401).end(); // IMDSv1 (no token) is refused
            return;
        }
        const key = (req.url ?? "").replace(/^\/latest\/meta-data\//, "");
        const value = metadata[key];
        if (!(req.url ?? "").startsWith("/latest/meta-data/") || value === undefined) {
            res.writeHead(404).end();
            return;
        }
        served.push(key);
        res.writeHead(200, { "content-type": "text/plain" }).end(value);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        served,
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
