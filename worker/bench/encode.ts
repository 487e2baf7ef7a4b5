// Encode cost of one video batch (default 8x300x300x3 uint8) for gRPC (own protobuf codec) vs REST
// (columnar JSON):  npx tsx worker/bench/encode.ts [--frames 8] [--size 300] [--iterations 20] [--json]
import { encodePredictRequest, encodeRestPredictBody, tensorFromUint8, type PredictRequest } from "../src/tfserving";
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

function main(): void {
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
    const results = measureEncode(videoBatchRequest(frames, size), flag("--iterations", 20));
    if (argv.includes("--json")) {
        console.log(JSON.stringify({ frames, size, results }));
        return;
    }
    console.log(`encode one ${frames}x${size}x${size}x3 uint8 batch (${frames * size * size * 3} bytes of pixels):`);
    for (const r of results) console.log(`  ${r.transport.padEnd(5)} ${String(r.bytes).padStart(10)} bytes  p50 ${r.p50Ms} ms  mean ${r.meanMs} ms`);
}

if (require.main === module) main();
