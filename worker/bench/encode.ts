// Encode cost of one video batch (default 8x300x300x3 uint8) for gRPC (own protobuf codec) vs REST
// (columnar JSON), and optionally the full round trip through the emulator on both transports:
//   npx tsx worker/bench/encode.ts [--frames 8] [--size 300] [--iterations 20] [--roundtrip] [--json]
import { createModelClient, encodePredictRequest, encodeRestPredictBody, tensorFromUint8, type PredictRequest } from "../src/tfserving";
import { startTfServingEmulator } from "../src/tfserving/emulator";
import { round3, summarize } from "./stats";

export interface EncodeCost {
    transport: "grpc" | "rest";
    bytes: number;
    p50Ms: number;
    meanMs: number;
}

export function videoBatchRequest(frames: number, size: number): PredictRequest {
    const content = Buffer.allocUnsafe(frames * size * size * 3);
    for (let i = 0; i < content.length; i++) content[i] = (i * 2654435761) >>> 24;
    return { model: { name: "object_detection", signatureName: "serving_default" }, inputs: { inputs: tensorFromUint8(content, [frames, size, size, 3]) } };
}

export function measureEncode(request: PredictRequest, iterations: number): EncodeCost[] {
    const run = (transport: "grpc" | "rest", encode: () => { length: number }): EncodeCost => {
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
        run("rest", () => encodeRestPredictBody(request)),
    ];
}

/** p50 of whole Predict calls (client encode + transfer + emulator decode/run + response) per transport. */
export async function measureRoundTrip(request: PredictRequest, iterations: number): Promise<{ grpcP50Ms: number; restP50Ms: number }> {
    const emulator = await startTfServingEmulator();
    try {
        const p50 = async (url: string): Promise<number> => {
            const client = createModelClient(url);
            try {
                await client.predict(request);
                const samples: number[] = [];
                for (let i = 0; i < iterations; i++) {
                    const started = performance.now();
                    await client.predict(request);
                    samples.push(performance.now() - started);
                }
                return round3(summarize(samples).p50Ms);
            } finally {
                client.close();
            }
        };
        return { grpcP50Ms: await p50(emulator.grpcUrl), restP50Ms: await p50(emulator.restUrl) };
    } finally {
        await emulator.stop();
    }
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    const flag = (name: string, fallback: number): number => {
        const i = argv.indexOf(name);
        if (i < 0) return fallback;
        const n = Number(argv[i + 1]);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${argv[i + 1]}"`);
        return n;
    };
    const frames = flag("--frames", 8);
    const size = flag("--size", 300);
    const request = videoBatchRequest(frames, size);
    const iterations = flag("--iterations", 20);
    const results = measureEncode(request, iterations);
    const roundTrip = argv.includes("--roundtrip") ? await measureRoundTrip(request, iterations) : undefined;
    if (argv.includes("--json")) {
        console.log(JSON.stringify({ frames, size, results, roundTrip }));
        return;
    }
    console.log(`encode one ${frames}x${size}x${size}x3 uint8 batch (${frames * size * size * 3} bytes of pixels):`);
    for (const r of results) console.log(`  ${r.transport.padEnd(5)} ${String(r.bytes).padStart(10)} bytes  p50 ${r.p50Ms} ms  mean ${r.meanMs} ms`);
    if (roundTrip) console.log(`full Predict round trip through the in-process emulator (no injected latency): gRPC p50 ${roundTrip.grpcP50Ms} ms, REST p50 ${roundTrip.restP50Ms} ms`);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exitCode = 1;
    });
}
