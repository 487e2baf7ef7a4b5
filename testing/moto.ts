// A local moto server (https://github.com/getmoto/moto) in server mode, for tests, benchmarks and
// the local demo. Started on 127.0.0.1 and a free port; the AWS SDK is pointed at it through
// AWS_ENDPOINT_URL, with fake static credentials that only moto ever sees.
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";

export interface MotoServer {
    /** e.g. http://127.0.0.1:45123 */
    readonly endpoint: string;
    readonly port: number;
    /** Environment for an AWS SDK client or a child process that should talk to this server. */
    readonly env: Record<string, string>;
    /** Forget every resource (POST /moto-api/reset). */
    reset(): Promise<void>;
    stop(): Promise<void>;
}

export const MOTO_REGION = "us-east-1";

/** Ask the kernel for a free TCP port on loopback. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            if (addr === null || typeof addr === "string") {
                srv.close();
                reject(new Error("could not allocate a port"));
                return;
            }
            const port = addr.port;
            srv.close(() => resolve(port));
        });
    });
}

async function waitUntilServing(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) {
            throw new Error(`moto_server exited with code ${child.exitCode} before it was ready`);
        }
        try {
            const res = await fetch(`${endpoint}/moto-api/data.json`);
            if (res.ok) return;
            lastError = new Error(`HTTP ${res.status}`);
        } catch (err) {
            lastError = err;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server at ${endpoint} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Start `moto_server` (pip install 'moto[server]'). Throws a clear error if it is not installed.
 */
export async function startMoto(opts: { timeoutMs?: number } = {}): Promise<MotoServer> {
    return (await launchMoto(opts)).server;
}

let processMoto: Promise<MotoServer> | undefined;

/**
 * This test process's moto server, for test files that run one after another in it: started on first use,
 * killed when the process exits. Starting moto_server and its first call to each service cost seconds of
 * CPU, once per process instead of once per file. Every call resets it first, so a file starts from an
 * empty account as with a server of its own; stop() hands it back (the server stays up for the next file).
 */
export async function useProcessMoto(): Promise<MotoServer> {
    processMoto ??= launchMoto({}).then(({ server, kill }) => {
        process.once("exit", kill);
        return server;
    });
    const server = await processMoto;
    await server.reset();
    return { ...server, stop: () => Promise.resolve() };
}

async function launchMoto(opts: { timeoutMs?: number }): Promise<{ server: MotoServer; kill: () => void }> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
        stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const spawnError = new Promise<never>((_, reject) => {
        child.once("error", (err: NodeJS.ErrnoException) => {
            reject(err.code === "ENOENT" ? new Error("moto_server not found on PATH: install it with pip install 'moto[server]'") : err);
        });
    });
    try {
        await Promise.race([waitUntilServing(endpoint, child, opts.timeoutMs ?? 30_000), spawnError]);
    } catch (err) {
        child.kill("SIGKILL");
        throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
    }
    const env: Record<string, string> = {
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: MOTO_REGION,
        AWS_DEFAULT_REGION: MOTO_REGION,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_EC2_METADATA_DISABLED: "true",
    };
    const server: MotoServer = {
        endpoint,
        port,
        env,
        async reset() {
            const res = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
            if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
        },
        stop() {
            return new Promise<void>((resolve) => {
                if (child.exitCode !== null) {
                    resolve();
                    return;
                }
                child.once("exit", () => resolve());
                child.kill("SIGTERM");
                setTimeout(() => child.kill("SIGKILL"), 3000).unref();
            });
        },
    };
    return { server, kill: () => child.kill("SIGKILL") };
}

/** Point this process's AWS SDK clients at moto (tests that run the SDK in-process). */
export function useMotoInThisProcess(moto: MotoServer): () => void {
    const saved: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(moto.env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
    }
    return () => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
}
