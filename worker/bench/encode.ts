// Encode cost of one video batch (default 8x300x300x3 uint8) for gRPC (own protobuf codec; one flat
// buffer, or the gather list the h2 client writes) vs REST (columnar JSON), and optionally the full round
// trip through the emulator (in a child process) on both transports, with CPU per call on each side:
//   npx tsx worker/bench/encode.ts [--frames 8] [--size 300] [--iterations 20] [--roundtrip] [--json]
import { readdirSync, readFileSync } from "node:fs";
import {
    createModelClient,
    encodePredictRequest,
    encodeRestPredictBody,
    tensorFromUint8,
    type PredictRequest,
} from "../model-client/tfserving";
import { encodePredictRequestSegments } from "../model-client/tfserving/codec";
import { frameMessage } from "../model-client/grpc/protocol";
import { spawnTfServingEmulator } from "../../testing/spawn";
import { numberFlag, parseFlags } from "../../ops/args";
import { round3, summarize } from "../../ops/stats";

export interface EncodeCost {
    transport: "grpc" | "grpc-gather" | "rest";
    bytes: number;
    p50Ms: number;
    meanMs: number;
}

export function videoBatchRequest(frames: number, size: number): PredictRequest {
    const content = Buffer.allocUnsafe(frames * size * size * 3);
    for (let i = 0; i < content.length; i++) content[i] = (i * 2654435761) >>> 24;
    return {
        model: { name: "object_detection", signatureName: "serving_default" },
        inputs: { inputs: tensorFromUint8(content, [frames, size, size, 3]) },
    };
}

export function measureEncode(request: PredictRequest, iterations: number): EncodeCost[] {
    const run = (transport: EncodeCost["transport"], encode: () => { length: number }): EncodeCost => {
        let bytes = encode().length; // warm-up
        const samples: number[] = [];
        for (let i = 0; i < iterations; i++) {
            const started = performance.now();
            bytes = encode().length;
            samples.push(performance.now() - started);
        }
        const s = summarize(samples);
        return { transport, bytes, p50Ms: round3(s.p50Ms), meanMs: round3(s.meanMs) };
    };
    return [
        run("grpc", () => encodePredictRequest(request)),
        run("grpc-gather", () => frameMessage(encodePredictRequestSegments(request))),
        run("rest", () => encodeRestPredictBody(request)),
    ];
}

export interface RoundTrip {
    p50Ms: number;
    /** CPU (user + system) per call in this process: encode, send, receive, decode. */
    clientCpuMs: number;
    /** CPU per call in the emulator's process: receive, decode, run the model, reply. */
    serverCpuMs: number;
}

/**
 * utime + stime of a process and its descendants, in ms (Linux /proc, 100 Hz clock ticks). The emulator
 * runs under the tsx CLI, which starts the real server as its own child.
 */
function processTreeCpuMs(pid: number): number {
    let total = 0;
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        total += (Number(fields[11]) + Number(fields[12])) * 10;
        for (const task of readdirSync(`/proc/${pid}/task`)) {
            const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
            for (const child of children ? children.split(" ") : []) total += processTreeCpuMs(Number(child));
        }
    } catch {
        // The process ended between listing and reading.
    }
    return total;
}

/** Whole Predict calls (client encode + transfer + emulator decode/run + response) per transport. */
export async function measureRoundTrip(request: PredictRequest, iterations: number): Promise<{ grpc: RoundTrip; rest: RoundTrip }> {
    const { grpcUrl, restUrl, child } = await spawnTfServingEmulator(0);
    try {
        const measure = async (url: string): Promise<RoundTrip> => {
            const client = createModelClient(url);
            try {
                await client.predict(request);
                const samples: number[] = [];
                const clientBefore = process.cpuUsage();
                const serverBefore = processTreeCpuMs(child.pid!);
                for (let i = 0; i < iterations; i++) {
                    const started = performance.now();
                    await client.predict(request);
                    samples.push(performance.now() - started);
                }
                const clientCpu = process.cpuUsage(clientBefore);
                const serverCpu = processTreeCpuMs(child.pid!) - serverBefore;
                return {
                    p50Ms: round3(summarize(samples).p50Ms),
                    clientCpuMs: round3((clientCpu.user + clientCpu.system) / 1000 / iterations),
                    serverCpuMs: round3(serverCpu / iterations),
                };
            } finally {
                client.close();
            }
        };
        return { grpc: await measure(grpcUrl), rest: await measure(restUrl) };
    } finally {
        child.kill("SIGTERM");
    }
}

const USAGE = "usage: npx tsx worker/bench/encode.ts [--frames 8] [--size 300] [--iterations 20] [--roundtrip] [--json]";

const FLAGS = {
    frames: { type: "string" },
    size: { type: "string" },
    iterations: { type: "string" },
    roundtrip: { type: "boolean" },
    json: { type: "boolean" },
} as const;

async function main(): Promise<void> {
    const flags = parseFlags(process.argv.slice(2), FLAGS, USAGE);
    const positive = (flag: "frames" | "size" | "iterations", fallback: number): number =>
        numberFlag(flags[flag], `--${flag}`, { min: 1, integer: true }, USAGE, fallback);
    const frames = positive("frames", 8);
    const size = positive("size", 300);
    const request = videoBatchRequest(frames, size);
    const iterations = positive("iterations", 20);
    const results = measureEncode(request, iterations);
    const roundTrip = flags.roundtrip === true ? await measureRoundTrip(request, iterations) : undefined;
    if (flags.json === true) {
        console.log(JSON.stringify({ frames, size, results, roundTrip }));
        return;
    }
    console.log(`encode one ${frames}x${size}x${size}x3 uint8 batch (${frames * size * size * 3} bytes of pixels):`);
    for (const r of results)
        console.log(`  ${r.transport.padEnd(5)} ${String(r.bytes).padStart(10)} bytes  p50 ${r.p50Ms} ms  mean ${r.meanMs} ms`);
    if (roundTrip) {
        console.log("full Predict round trip through the emulator in a child process (no injected latency):");
        for (const [name, r] of Object.entries(roundTrip)) {
            console.log(`  ${name.padEnd(5)} p50 ${r.p50Ms} ms  CPU per call: client ${r.clientCpuMs} ms, emulator ${r.serverCpuMs} ms`);
        }
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exitCode = 1;
    });
}
