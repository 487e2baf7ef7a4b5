// BERT latency client for TF Serving's gRPC API (the reference design's latency test, done properly).
//   npm run bench:bert -- --target HOST:PORT --model NAME [--signature S] [--requests N]
//     [--concurrency C] [--seq-len 128] [--batch 1] [--warmup W] [--timeout-ms T] [--json]
// Without --target it runs the TF Serving emulator in a child process (--server-latency-ms, default 5),
// reports the latency the client adds on top of it, and sweeps concurrency 1, 4, 16.
import { spawn, type ChildProcess } from "node:child_process";
import { connect as h2connect } from "node:http2";
import { createInterface } from "node:readline";
import * as path from "node:path";
import { createModelClient, DataType, encodePredictRequest, ModelServerError, tensorFromInt32, type ModelClient, type PredictRequest, type PredictResponse } from "../src/tfserving";
import { PREDICT_METHOD } from "../src/tfserving/methods";
import { round3, summarize } from "./stats";

export interface BertBenchOptions {
    /** HOST:PORT (gRPC), or a grpc:// / http:// URL. Absent: start the emulator. */
    target?: string;
    model: string;
    signature: string;
    requests: number;
    concurrency: number;
    seqLen: number;
    batch: number;
    warmup: number;
    timeoutMs: number;
    serverLatencyMs: number;
    json: boolean;
}

export const BERT_USAGE = `usage: npm run bench:bert -- [--target HOST:PORT] [--model NAME] [--signature serving_default]
  [--requests 500] [--concurrency 1] [--seq-len 128] [--batch 1] [--warmup 50] [--timeout-ms 10000]
  [--server-latency-ms 5 (emulator only)] [--json]
  --model is required with --target; without --target the emulator's "bert" model is used.`;

export class UsageError extends Error {
    constructor(message: string) {
        super(`${message}\n${BERT_USAGE}`);
        this.name = "UsageError";
    }
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

const INTEGER_FLAGS = {
    "--requests": "requests",
    "--concurrency": "concurrency",
    "--seq-len": "seqLen",
    "--batch": "batch",
    "--warmup": "warmup",
    "--timeout-ms": "timeoutMs",
    "--server-latency-ms": "serverLatencyMs",
} as const;

export function parseBertArgs(argv: readonly string[]): BertBenchOptions {
    const options: BertBenchOptions = {
        model: "",
        signature: "serving_default",
        requests: 500,
        concurrency: 1,
        seqLen: 128,
        batch: 1,
        warmup: 50,
        timeoutMs: 10_000,
        serverLatencyMs: 5,
        json: false,
    };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--json") {
            options.json = true;
            continue;
        }
        const value = argv[i + 1];
        if (!flag.startsWith("--")) throw new UsageError(`unexpected argument "${flag}"`);
        if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
        i++;
        if (flag in INTEGER_FLAGS) {
            const n = Number(value);
            const key = INTEGER_FLAGS[flag as keyof typeof INTEGER_FLAGS];
            const min = key === "warmup" || key === "serverLatencyMs" ? 0 : 1;
            if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got "${value}"`);
            options[key] = n;
        } else if (flag === "--target") options.target = value;
        else if (flag === "--model") options.model = value;
        else if (flag === "--signature") options.signature = value;
        else throw new UsageError(`unknown flag "${flag}"`);
    }
    if (options.target !== undefined) {
        if (!options.model) throw new UsageError("--model is required with --target");
        targetUrl(options.target);
    } else if (!options.model) options.model = "bert";
    return options;
}

/** HOST:PORT means gRPC, as in the original latency client; full URLs pick their own transport. */
export function targetUrl(target: string): string {
    if (/^[a-z]+:\/\//i.test(target)) return target;
    if (!/^[^\s/]+:\d{1,5}$/.test(target)) throw new UsageError(`--target must be HOST:PORT (e.g. bert.default.svc:8500), got "${target}"`);
    return `grpc://${target}`;
}

/** One request reused for every call: the three BERT inputs as int32 [batch, seqLen] tensor_content. */
export function buildBertRequest(options: Pick<BertBenchOptions, "model" | "signature" | "batch" | "seqLen">): PredictRequest {
    const { batch, seqLen } = options;
    const ids = new Int32Array(batch * seqLen);
    const mask = new Int32Array(batch * seqLen);
    const segments = new Int32Array(batch * seqLen);
    for (let b = 0; b < batch; b++) {
        // [CLS] tokens [SEP] padding: a realistic-looking sequence filling about two thirds of seqLen.
        const used = Math.max(2, Math.floor((seqLen * 2) / 3));
        for (let s = 0; s < seqLen; s++) {
            const i = b * seqLen + s;
            if (s >= used) continue;
            ids[i] = s === 0 ? 101 : s === used - 1 ? 102 : 1000 + ((s * 7919 + b) % 28000);
            mask[i] = 1;
            segments[i] = s >= used / 2 ? 1 : 0;
        }
    }
    return {
        model: { name: options.model, signatureName: options.signature },
        inputs: {
            input_ids: tensorFromInt32(ids, [batch, seqLen]),
            input_mask: tensorFromInt32(mask, [batch, seqLen]),
            segment_ids: tensorFromInt32(segments, [batch, seqLen]),
        },
    };
}

/** Null when the response is usable; otherwise why not. */
export function checkBertResponse(response: PredictResponse, batch: number): string | null {
    const outputs = Object.entries(response.outputs);
    const ok = outputs.some(([, t]) => t.dtype === DataType.DT_FLOAT && t.shape[0] === batch && (t.content?.length ?? 0) > 0);
    if (ok) return null;
    const seen = outputs.map(([name, t]) => `${name} ${DataType[t.dtype] ?? t.dtype} [${t.shape.join(",")}]`).join(", ");
    return `response has no float output with batch dimension ${batch} (got: ${seen || "no outputs"})`;
}

export interface LoadOptions {
    requests: number;
    concurrency: number;
    warmup: number;
    batch: number;
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
export async function runBertLoad(client: ModelClient, request: PredictRequest, options: LoadOptions): Promise<LoadResult> {
    const errorSamples = new Set<string>();
    const noteError = (message: string): void => {
        if (errorSamples.size < 5) errorSamples.add(message);
    };
    const one = async (): Promise<number | null> => {
        const started = performance.now();
        try {
            const response = await client.predict(request, { timeoutMs: options.timeoutMs });
            const elapsed = performance.now() - started;
            const problem = checkBertResponse(response, options.batch);
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
 * One request before the run: a permanent failure (wrong model name, bad signature or inputs) aborts
 * with the server's explanation instead of producing N identical errors. Transient failures are retried
 * a few times, since the server may be starting.
 */
export async function probeModel(client: ModelClient, request: PredictRequest, batch: number, timeoutMs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        try {
            const problem = checkBertResponse(await client.predict(request, { timeoutMs }), batch);
            if (problem) throw new ModelServerError(`model "${request.model.name}" on ${client.url}: ${problem}`, "BAD_RESPONSE", false);
            return;
        } catch (err) {
            if (!(err instanceof ModelServerError) || !err.transient || attempt >= 5) throw err;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
    }
}

/**
 * The least any gRPC client can do per call: one prebuilt frame on a bare node:http2 stream, the reply
 * read and thrown away (no encode, decode, deadline or status handling). Its p50 is the server's p50 as a
 * client sees it (loopback and wake-ups included), so `ours - bare` is what our client adds.
 */
export async function measureBareH2Floor(grpcUrl: string, request: PredictRequest, calls: number): Promise<number[]> {
    const body = encodePredictRequest(request);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const session = h2connect(grpcUrl.replace(/^grpc:/, "http:"));
    session.on("error", () => undefined);
    const one = (): Promise<void> =>
        new Promise((resolve, reject) => {
            const stream = session.request({ ":method": "POST", ":path": PREDICT_METHOD, "content-type": "application/grpc", te: "trailers" });
            let status: string | undefined;
            stream.on("trailers", (t) => (status = String(t["grpc-status"])));
            stream.on("data", () => undefined);
            stream.on("error", reject);
            stream.on("close", () => (status === "0" ? resolve() : reject(new Error(`bare HTTP/2 call ended with grpc-status ${status ?? "(none)"}`))));
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
async function compareWithFloor(client: ModelClient, grpcUrl: string, request: PredictRequest, timeoutMs: number): Promise<{ oursP50: number; bareP50: number }> {
    const ours: number[] = [];
    const bare: number[] = [];
    await measureBareH2Floor(grpcUrl, request, 20);
    for (let block = 0; block < 6; block++) {
        for (let i = 0; i < 50; i++) {
            const started = performance.now();
            await client.predict(request, { timeoutMs });
            ours.push(performance.now() - started);
        }
        bare.push(...(await measureBareH2Floor(grpcUrl, request, 50)));
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

interface EmulatorProcess {
    grpcUrl: string;
    restUrl: string;
    child: ChildProcess;
}

/** Runs emulator-main.ts under tsx in a child process so server work does not share our event loop. */
export function spawnEmulator(latencyMs: number): Promise<EmulatorProcess> {
    const tsxCli = require.resolve("tsx/cli");
    const main = path.join(__dirname, "..", "src", "tfserving", "emulator-main.ts");
    const child = spawn(process.execPath, [tsxCli, main, "--latency-ms", String(latencyMs)], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        const timer = setTimeout(() => {
            child.kill("SIGTERM");
            reject(new Error("TF Serving emulator did not report ready within 30 s"));
        }, 30_000);
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`TF Serving emulator exited early with code ${code}`));
        });
        lines.once("line", (line) => {
            clearTimeout(timer);
            try {
                const ready = JSON.parse(line) as { grpcUrl: string; restUrl: string };
                resolve({ grpcUrl: ready.grpcUrl, restUrl: ready.restUrl, child });
            } catch {
                reject(new Error(`TF Serving emulator printed an unexpected line: ${line}`));
            }
        });
    });
}

/** The whole CLI behaviour; returns the process exit code. */
export async function runBertBench(options: BertBenchOptions, print: (line: string) => void): Promise<number> {
    let emulator: EmulatorProcess | undefined;
    let client: ModelClient | undefined;
    try {
        if (options.target === undefined) emulator = await spawnEmulator(options.serverLatencyMs);
        const url = emulator ? emulator.grpcUrl : targetUrl(options.target ?? "");
        client = createModelClient(url, { defaultTimeoutMs: options.timeoutMs });
        const request = buildBertRequest(options);
        await probeModel(client, request, options.batch, options.timeoutMs);
        const load = (concurrency: number): Promise<LoadResult> => runBertLoad(client!, request, { ...options, concurrency });
        const main = await load(options.concurrency);
        if (options.json) {
            print(JSON.stringify(main.report));
            return 0;
        }
        const setup = `bench:bert ${url} model=${options.model} signature=${options.signature} batch=${options.batch} seq-len=${options.seqLen} warmup=${options.warmup} concurrency=${options.concurrency}`;
        print(formatReport(setup, main.report));
        for (const sample of main.errorSamples) print(`  error: ${sample}`);
        if (emulator) {
            print(`\nemulator mode: server latency injected = ${options.serverLatencyMs} ms`);
            print("concurrency  req/s      p50 ms   p99 ms   errors");
            for (const c of [1, 4, 16]) {
                const result = await load(c);
                const r = result.report;
                print(`${String(c).padEnd(13)}${String(r.throughput).padEnd(11)}${String(r.p50Ms).padEnd(9)}${String(r.p99Ms).padEnd(9)}${r.errors}`);
                if (c === 1) {
                    print(`  client overhead at concurrency 1: p50 ${r.p50Ms} - ${options.serverLatencyMs} = ${round3(r.p50Ms - options.serverLatencyMs)} ms`);
                    print(`  client event-loop busy time: ${result.clientBusyMsPerRequest} ms per request (includes run-queue waits when the machine is loaded)`);
                }
            }
            if (url.startsWith("grpc:")) {
                const { oursP50, bareP50 } = await compareWithFloor(client, url, request, options.timeoutMs);
                print(`\nserver p50 as a bare HTTP/2 client sees it (prebuilt frame, no decode): ${bareP50} ms`);
                print(`  our client p50 in the same interleaved run: ${oursP50} ms -> client adds ${round3(oursP50 - bareP50)} ms over the server's p50`);
            }
        }
        return 0;
    } finally {
        client?.close();
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
