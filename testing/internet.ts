// A small fake internet for tests that run a program which downloads from a public URL: the program is
// given the exact URL it would use in production, and an HTTP proxy (HTTPS_PROXY/HTTP_PROXY, which Node
// honours with NODE_USE_ENV_PROXY=1) routes it here. https:// is served by a TLS server holding a
// certificate for the real host name, signed by a CA made for this run and trusted through
// NODE_EXTRA_CA_CERTS, so the program's TLS verification runs for real. Only the listed URLs exist;
// anything else is refused by the proxy. Certificates are made with the openssl CLI.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface FakeInternet {
    /** Environment for a Node program that should reach these URLs (and only these). */
    readonly env: Record<string, string>;
    /** "GET https://host/path" for every request the sites answered, and "REFUSED host:port" for the rest. */
    readonly requests: string[];
    stop(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
    await run("openssl", args, { cwd });
}

/** A CA, and a certificate for each host signed by it (subjectAltName = the host). */
async function makeCertificates(dir: string, hosts: string[]): Promise<{ caFile: string; contexts: Map<string, SecureContext> }> {
    await openssl(
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=fake internet test CA",
        ],
        dir,
    );
    const contexts = new Map<string, SecureContext>();
    for (const [i, host] of hosts.entries()) {
        await writeFile(path.join(dir, `${i}.ext`), `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\n`);
        await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${i}.key`, "-out", `${i}.csr`, "-subj", `/CN=${host}`], dir);
        await openssl(
            [
                "x509",
                "-req",
                "-in",
                `${i}.csr`,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                `${i}.pem`,
                "-days",
                "2",
                "-extfile",
                `${i}.ext`,
            ],
            dir,
        );
        contexts.set(
            host,
            createSecureContext({ key: await readFile(path.join(dir, `${i}.key`)), cert: await readFile(path.join(dir, `${i}.pem`)) }),
        );
    }
    return { caFile: path.join(dir, "ca.pem"), contexts };
}

/** `sites` maps full URLs (https:// or http://) to the bytes served there. */
export async function startFakeInternet(sites: Readonly<Record<string, Buffer>>): Promise<FakeInternet> {
    const urls = Object.keys(sites).map((u) => new URL(u));
    const tlsHosts = [...new Set(urls.filter((u) => u.protocol === "https:").map((u) => u.hostname))];
    const dir = await mkdtemp(path.join(tmpdir(), "fake-internet-"));
    const requests: string[] = [];
    const serve = (scheme: "http" | "https", req: IncomingMessage, res: ServerResponse): void => {
        const host = (req.headers.host ?? "").replace(/:\d+$/, "");
        const target = req.url ?? "";
        const url = target.startsWith("http://") ? target : `${scheme}://${host}${target}`;
        const body = sites[url];
        requests.push(`${req.method} ${url}`);
        if (req.method !== "GET" || body === undefined) {
            res.writeHead(404, { "content-type": "text/plain" }).end("not found on the fake internet\n");
            return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) }).end(body);
    };
    let tlsPort = 0;
    let tls: Server | undefined;
    if (tlsHosts.length > 0) {
        const { contexts } = await makeCertificates(dir, tlsHosts);
        const first = contexts.get(tlsHosts[0]) as SecureContext;
        const server = createHttpsServer({ SNICallback: (servername, done) => done(null, contexts.get(servername) ?? first) }, (req, res) =>
            serve("https", req, res),
        );
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        tlsPort = (server.address() as AddressInfo).port;
        tls = server;
    }
    const plainHosts = [...new Set(urls.filter((u) => u.protocol === "http:").map((u) => u.hostname))];
    const plain = createHttpServer((req, res) => serve("http", req, res));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const plainPort = (plain.address() as AddressInfo).port;
    // The proxy: a CONNECT tunnel to a listed host (443 for https, 80 for http) goes to the matching
    // server; an absolute-form GET http://... is answered directly.
    const proxy = createHttpServer((req, res) => serve("http", req, res));
    proxy.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
        const [host, port] = (req.url ?? "").split(":");
        const upstreamPort =
            port === "443" && tls !== undefined && tlsHosts.includes(host)
                ? tlsPort
                : port === "80" && plainHosts.includes(host)
                  ? plainPort
                  : 0;
        if (upstreamPort === 0) {
            requests.push(`REFUSED ${req.url ?? ""}`);
            client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
            return;
        }
        const upstream = connect(upstreamPort, "127.0.0.1", () => {
            client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
            if (head.length > 0) upstream.write(head);
            upstream.pipe(client);
            client.pipe(upstream);
        });
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    return {
        env: {
            NODE_USE_ENV_PROXY: "1",
            HTTPS_PROXY: proxyUrl,
            HTTP_PROXY: proxyUrl,
            ...(tls === undefined ? {} : { NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") }),
        },
        requests,
        async stop() {
            for (const server of [proxy, plain, tls]) {
                if (server === undefined) continue;
                server.closeAllConnections();
                await new Promise<void>((resolve) => server.close(() => resolve()));
            }
            await rm(dir, { recursive: true, force: true });
        },
    };
}
