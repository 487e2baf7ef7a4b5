// CLI: the real-detector model server in its own process. Prints one JSON line with its URLs when ready,
// its banner (what model it is) on stderr; answers a line "stats" on stdin with the pool's counters.
//   tsx testing/detector/server-main.ts [--host H] [--grpc-port N] [--rest-port M] [--threads T] [--model-name NAME]
import { createInterface } from "node:readline";
import { numberFlag, parseFlags } from "../../ops/args";
import { startRealModelServer, type RealModelServerOptions } from "./server";

const USAGE = "usage: tsx testing/detector/server-main.ts [--host H] [--grpc-port N] [--rest-port M] [--threads T] [--model-name NAME]";

const FLAGS = {
    host: { type: "string" },
    "grpc-port": { type: "string" },
    "rest-port": { type: "string" },
    threads: { type: "string" },
    "model-name": { type: "string" },
} as const;

export function parseServerArgs(argv: readonly string[]): RealModelServerOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const candidates: RealModelServerOptions = {
        host: flags.host,
        grpcPort: numberFlag(flags["grpc-port"], "--grpc-port", { min: 0, integer: true }, USAGE),
        restPort: numberFlag(flags["rest-port"], "--rest-port", { min: 0, integer: true }, USAGE),
        threads: numberFlag(flags.threads, "--threads", { min: 1, integer: true }, USAGE),
        modelName: flags["model-name"],
    };
    return Object.fromEntries(Object.entries(candidates).filter(([, v]) => v !== undefined)) as RealModelServerOptions;
}

async function main(): Promise<void> {
    const server = await startRealModelServer(parseServerArgs(process.argv.slice(2)));
    process.stderr.write(`${server.banner}\n`);
    process.stdout.write(
        JSON.stringify({ grpcUrl: server.grpcUrl, restUrl: server.restUrl, threads: server.threads, model: server.modelName }) + "\n",
    );
    createInterface({ input: process.stdin }).on("line", (line) => {
        if (line.trim() === "stats") process.stdout.write(JSON.stringify(server.stats()) + "\n");
    });
    const shutdown = (): void => void server.stop().then(() => process.exit(0));
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
    });
}
