// BERT latency client for KServe v2 (Triton; default) and TF Serving (legacy) over gRPC: the reference
// design's latency test, done properly.
//   npm run bench:bert -- [--protocol v2|tfserving] --target HOST:PORT --model NAME [--requests N]
//     [--concurrency C] [--connections K] [--seq-len 128] [--batch 1] [--warmup W] [--timeout-ms T]
//     [--signature S (tfserving)] [--json]
// Without --target it runs the protocol's emulator in a child process (--server-latency-ms, default 5),
// reports what the client adds on top of it, and sweeps concurrency and connections.
import { connect as h2connect } from "node:http2";
import { openBertEndpoint, PROTOCOLS, type BertEndpoint, type Protocol } from "./endpoints";
import { round3, summarize } from "../stats";
import { spawnTfServingEmulator, spawnV2Emulator, type EmulatorProcess } from "../../testing/spawn";
import { choiceFlag, numberFlag, parseFlags, UsageError } from "../args";

export {
    buildBertRequest,
    buildV2BertRequest,
    checkBertResponse,
    checkV2BertResponse,
    checkV2Metadata,
    openBertEndpoint,
} from "./endpoints";

export interface BertBenchOptions {
    protocol: Protocol;
    /** HOST:PORT (gRPC), or a grpc:// (or, for tfserving, http://) URL. Absent: start the emulator. */
    target?: string;
    model: string;
    /** TF Serving signature; KServe v2 has none. */
    signature: string;
    requests: number;
    concurrency: number;
    /** HTTP/2 connections the client spreads its calls over. */
    connections: number;
    seqLen: number;
    batch: number;
    warmup: number;
    timeoutMs: number;
    serverLatencyMs: number;
    json: boolean;
}

export const BERT_USAGE = `usage: npm run bench:bert -- [--protocol v2|tfserving] [--target HOST:PORT] [--model NAME]
  [--requests 500] [--concurrency 1] [--connections 1] [--seq-len 128] [--batch 1] [--warmup 50]
  [--timeout-ms 10000] [--signature serving_default (tfserving only)] [--server-latency-ms 5 (emulator only)] [--json]
  --protocol v2 (default) speaks KServe v2 gRPC (Triton, port 8001); tfserving speaks TF Serving gRPC (port 8500).
  --model is required with --target; without --target the protocol's emulator and its "bert" model are used.`;

export { UsageError };

function usageError(message: string): UsageError {
    return new UsageError(message, BERT_USAGE);
}

/** Report printed by --json: exactly these keys. */
export interface BertBenchReport {
    count: number;
    errors: number;
    meanMs: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
    throughput: number;
}

const FLAGS = {
    protocol: { type: "string" },
    target: { type: "string" },
    model: { type: "string" },
    signature: { type: "string" },
    requests: { type: "string" },
    concurrency: { type: "string" },
    connections: { type: "string" },
    "seq-len": { type: "string" },
    batch: { type: "string" },
    warmup: { type: "string" },
    "timeout-ms": { type: "string" },
    "server-latency-ms": { type: "string" },
    json: { type: "boolean" },
} as const;

const DEFAULT_PORTS: Record<Protocol, number> = { v2: 8001, tfserving: 8500 };

export function parseBertArgs(argv: readonly string[]): BertBenchOptions {
    const flags = parseFlags(argv, FLAGS, BERT_USAGE);
    const int = (flag: keyof typeof FLAGS, min: number, fallback: number): number =>
        numberFlag(flags[flag] as string | undefined, `--${flag}`, { min, integer: true }, BERT_USAGE, fallback);
    const options: BertBenchOptions = {
        protocol: choiceFlag(flags.protocol, "--protocol", PROTOCOLS, BERT_USAGE, "v2"),
        target: flags.target,
        model: flags.model ?? "",
        signature: flags.signature ?? "serving_default",
        requests: int("requests", 1, 500),
        concurrency: int("concurrency", 1, 1),
        connections: int("connections", 1, 1),
        seqLen: int("seq-len", 1, 128),
        batch: int("batch", 1, 1),
        warmup: int("warmup", 0, 50),
        timeoutMs: int("timeout-ms", 1, 10_000),
        serverLatencyMs: int("server-latency-ms", 0, 5),
        json: flags.json === true,
    };
    if (flags.signature !== undefined && options.protocol === "v2")
        throw usageError("--signature applies to --protocol tfserving only (KServe v2 models have no signatures)");
    if (options.target !== undefined) {
        if (!options.model) throw usageError("--model is required with --target");
        const url = targetUrl(options.target, options.protocol);
        if (!url.startsWith("grpc:") && options.connections > 1)
            throw usageError(`--connections applies to gRPC targets; "${options.target}" is not one`);
    } else if (!options.model) options.model = "bert";
    if (options.target === undefined) delete options.target;
    return options;
}

/** HOST:PORT means gRPC, as in the original latency client; full URLs pick their own transport (v2: gRPC only). */
export function targetUrl(target: string, protocol: Protocol = "v2"): string {
    let url: string;
    if (/^[a-z]+:\/\//i.test(target)) url = target;
    else if (/^[^\s/]+:\d{1,5}$/.test(target)) url = `grpc://${target}`;
    else throw usageError(`--target must be HOST:PORT (e.g. bert.default.svc:${DEFAULT_PORTS[protocol]}), got "${target}"`);
    if (protocol === "v2" && !url.startsWith("grpc://"))
        throw usageError(
            `--protocol v2 speaks gRPC only; give HOST:PORT or grpc://HOST:PORT (Triton's gRPC port is 8001), got "${target}"`,
        );
    return url;
}

export interface LoadOptions {
    requests: number;
    concurrency: number;
    warmup: number;
    timeoutMs: number;
}

export interface LoadResult {
    report: BertBenchReport;
    /** Up to five distinct error messages, for the human report. */
    errorSamples: string[];
    /** Event-loop busy time per measured request: roughly the CPU the client spends per call (on a loaded machine it also counts run-queue waits). */
    clientBusyMsPerRequest: number;
}

/**
 * Sends `warmup` unmeasured requests, then `requests` measured ones with `concurrency` in flight.
 * Failed calls and unusable responses are counted as errors; latency statistics cover successes.
 * `count` is the number of measured requests sent; throughput is successes per second.
 */
export async function runBertLoad(endpoint: BertEndpoint, options: LoadOptions): Promise<LoadResult> {
    const errorSamples = new Set<string>();
    const noteError = (message: string): void => {
        if (errorSamples.size < 5) errorSamples.add(message);
    };
    const one = async (): Promise<number | null> => {
        const started = performance.now();
        try {
            const problem = await endpoint.infer(options.timeoutMs);
            const elapsed = performance.now() - started;
            if (problem) {
                noteError(problem);
                return null;
            }
            return elapsed;
        } catch (err) {
            noteError(err instanceof Error ? err.message : String(err));
            return null;
        }
    };
    const drive = async (total: number, sink?: number[]): Promise<number> => {
        let next = 0;
        let errors = 0;
        const worker = async (): Promise<void> => {
            while (next < total) {
                next++;
                const latency = await one();
                if (latency === null) errors++;
                else sink?.push(latency);
            }
        };
        await Promise.all(Array.from({ length: Math.min(options.concurrency, Math.max(total, 1)) }, worker));
        return errors;
    };
    await drive(options.warmup);
    errorSamples.clear();
    const latencies: number[] = [];
    const started = performance.now();
    const loopBefore = performance.eventLoopUtilization();
    const errors = await drive(options.requests, latencies);
    const loop = performance.eventLoopUtilization(loopBefore);
    const elapsedS = (performance.now() - started) / 1000;
    const s = summarize(latencies);
    return {
        report: {
            count: options.requests,
            errors,
            meanMs: round3(s.meanMs),
            p50Ms: round3(s.p50Ms),
            p90Ms: round3(s.p90Ms),
            p99Ms: round3(s.p99Ms),
            maxMs: round3(s.maxMs),
            throughput: round3(latencies.length / elapsedS),
        },
        errorSamples: [...errorSamples],
        clientBusyMsPerRequest: round3(loop.active / Math.max(1, options.requests)),
    };
}

/**
 * The least any gRPC client can do per call: one prebuilt frame on a bare node:http2 stream, the reply
 * read and thrown away (no encode, decode, deadline or status handling). Its p50 is the server's p50 as a
 * client sees it (loopback and wake-ups included), so `ours - bare` is what our client adds.
 */
export async function measureBareH2Floor(grpcUrl: string, call: { method: string; body: Buffer }, calls: number): Promise<number[]> {
    const frame = Buffer.alloc(5 + call.body.length);
    frame.writeUInt32BE(call.body.length, 1);
    call.body.copy(frame, 5);
    const session = h2connect(grpcUrl.replace(/^grpc:/, "http:"));
    session.on("error", () => undefined);
    const one = (): Promise<void> =>
        new Promise((resolve, reject) => {
            const stream = session.request({ ":method": "POST", ":path": call.method, "content-type": "application/grpc", te: "trailers" });
            let status: string | undefined;
            stream.on("trailers", (t) => (status = String(t["grpc-status"])));
            stream.on("data", () => undefined);
            stream.on("error", reject);
            stream.on("close", () =>
                status === "0" ? resolve() : reject(new Error(`bare HTTP/2 call ended with grpc-status ${status ?? "(none)"}`)),
            );
            stream.end(frame);
        });
    try {
        const samples: number[] = [];
        for (let i = 0; i < calls; i++) {
            const started = performance.now();
            await one();
            samples.push(performance.now() - started);
        }
        return samples;
    } finally {
        session.close();
    }
}

/** Interleaved blocks of our client and the bare floor at concurrency 1, so machine noise hits both alike. */
export async function compareWithFloor(
    endpoint: BertEndpoint,
    timeoutMs: number,
    blocks = 6,
    perBlock = 50,
): Promise<{ oursP50: number; bareP50: number }> {
    const bareCall = endpoint.bareCall;
    if (!bareCall) throw new Error(`no bare gRPC floor for ${endpoint.url} (not gRPC)`);
    const ours: number[] = [];
    const bare: number[] = [];
    await measureBareH2Floor(endpoint.url, bareCall, Math.min(20, perBlock));
    for (let block = 0; block < blocks; block++) {
        for (let i = 0; i < perBlock; i++) {
            const started = performance.now();
            const problem = await endpoint.infer(timeoutMs);
            if (problem) throw new Error(problem);
            ours.push(performance.now() - started);
        }
        bare.push(...(await measureBareH2Floor(endpoint.url, bareCall, perBlock)));
    }
    return { oursP50: round3(summarize(ours).p50Ms), bareP50: round3(summarize(bare).p50Ms) };
}

export function formatReport(title: string, r: BertBenchReport): string {
    return [
        title,
        `  requests ${r.count}  errors ${r.errors}`,
        `  latency ms: mean ${r.meanMs}  p50 ${r.p50Ms}  p90 ${r.p90Ms}  p99 ${r.p99Ms}  max ${r.maxMs}`,
        `  throughput ${r.throughput} req/s`,
    ].join("\n");
}

async function spawnEmulator(options: BertBenchOptions): Promise<EmulatorProcess> {
    if (options.protocol === "v2") return spawnV2Emulator(options);
    const { grpcUrl, child } = await spawnTfServingEmulator(options.serverLatencyMs);
    return { url: grpcUrl, child };
}

/** The whole CLI behaviour; returns the process exit code. Failures before the run reject with a message naming the model and the server. */
export async function runBertBench(options: BertBenchOptions, print: (line: string) => void): Promise<number> {
    let emulator: EmulatorProcess | undefined;
    const endpoints: BertEndpoint[] = [];
    const open = (connections: number): BertEndpoint => {
        const endpoint = openBertEndpoint({ ...options, connections, url });
        endpoints.push(endpoint);
        return endpoint;
    };
    let url = "";
    try {
        if (options.target === undefined) emulator = await spawnEmulator(options);
        url = emulator ? emulator.url : targetUrl(options.target ?? "", options.protocol);
        const endpoint = open(options.connections);
        await endpoint.preflight(options.timeoutMs);
        const load = (target: BertEndpoint, concurrency: number): Promise<LoadResult> => runBertLoad(target, { ...options, concurrency });
        const main = await load(endpoint, options.concurrency);
        if (options.json) {
            print(JSON.stringify(main.report));
            return 0;
        }
        const signature = options.protocol === "tfserving" ? ` signature=${options.signature}` : "";
        const setup = `bench:bert ${options.protocol} ${endpoint.url} model=${options.model}${signature} batch=${options.batch} seq-len=${options.seqLen} warmup=${options.warmup} concurrency=${options.concurrency} connections=${options.connections}`;
        print(formatReport(setup, main.report));
        for (const sample of main.errorSamples) print(`  error: ${sample}`);
        if (emulator) {
            print(`\nemulator mode: server latency injected = ${options.serverLatencyMs} ms`);
            print("concurrency  connections  req/s      p50 ms   p99 ms   errors");
            const many = Math.max(4, options.connections);
            const spread = open(many);
            const sweep: [number, BertEndpoint, number][] = [
                [1, endpoint, options.connections],
                [4, endpoint, options.connections],
                [16, endpoint, options.connections],
                [16, spread, many],
            ];
            for (const [c, target, connections] of sweep) {
                const result = await load(target, c);
                const r = result.report;
                print(
                    `${String(c).padEnd(13)}${String(connections).padEnd(13)}${String(r.throughput).padEnd(11)}${String(r.p50Ms).padEnd(9)}${String(r.p99Ms).padEnd(9)}${r.errors}`,
                );
                if (c === 1) {
                    print(
                        `  client overhead at concurrency 1: p50 ${r.p50Ms} - ${options.serverLatencyMs} = ${round3(r.p50Ms - options.serverLatencyMs)} ms`,
                    );
                    print(
                        `  client event-loop busy time: ${result.clientBusyMsPerRequest} ms per request (includes run-queue waits when the machine is loaded)`,
                    );
                }
            }
            if (endpoint.bareCall) {
                const { oursP50, bareP50 } = await compareWithFloor(endpoint, options.timeoutMs);
                print(`\nserver p50 as a bare HTTP/2 client sees it (prebuilt frame, no decode): ${bareP50} ms`);
                print(
                    `  our client p50 in the same interleaved run: ${oursP50} ms -> client adds ${round3(oursP50 - bareP50)} ms over the server's p50`,
                );
            }
        }
        return 0;
    } finally {
        for (const e of endpoints) e.close();
        emulator?.child.kill("SIGTERM");
    }
}

async function main(): Promise<void> {
    let options: BertBenchOptions;
    try {
        options = parseBertArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(64);
    }
    try {
        process.exitCode = await runBertBench(options, (line) => process.stdout.write(line + "\n"));
    } catch (err) {
        process.stderr.write(`bench:bert failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
    }
}

if (require.main === module) void main();
