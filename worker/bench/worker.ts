// bench:worker — where the video worker's time goes, on one generated video:
//  (a) ffmpeg decoding alone to raw RGB at the model size (through the worker's reader)
//  (b) the model server (emulator, own process) alone at a given service time per batch
//  (c) the worker pipeline (decode -> batch -> gRPC Predict -> result file) against an instant emulator
//  (d) the same with the model exactly as fast as the decoder (targets: c >= 0.9 a; d >= 0.9 min(a, model))
//  (e) gRPC vs REST request encoding for one batch
//  (f) peak RSS of the pipeline for a short and a 4x longer video (memory must stay flat)
// Usage: npm run bench:worker -- [--seconds 20] [--fps 30] [--width 1280] [--height 720] [--frame 300x300]
//        [--batch 8] [--in-flight 2] [--latency-ms 20] [--rss-seconds 10] [--json]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { makeTestVideo } from "../../tools/ffmpeg";
import { BatchBufferPool, decodeBatches, probeVideo, type FrameBatch } from "../src/decode";
import { inferBatch, runPipeline, type InferenceSettings } from "../src/pipeline";
import { ResultFileWriter, frameTimestampMs } from "../src/results";
import { createModelClient, encodePredictRequest, encodeRestPredictBody, tensorFromUint8, type PredictRequest } from "../src/tfserving";
import { summarize, round3 } from "./stats";

const REPO = resolve(__dirname, "../..");
const TSX = join(REPO, "node_modules/.bin/tsx");

interface Options {
    seconds: number;
    fps: number;
    width: number;
    height: number;
    frameWidth: number;
    frameHeight: number;
    batch: number;
    inFlight: number;
    latencyMs: number;
    rssSeconds: number;
    json: boolean;
}

function parseArgs(argv: string[]): Options {
    const o: Options = { seconds: 20, fps: 30, width: 1280, height: 720, frameWidth: 300, frameHeight: 300, batch: 8, inFlight: 2, latencyMs: 20, rssSeconds: 10, json: false };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--json") {
            o.json = true;
            continue;
        }
        const value = argv[++i];
        const num = (): number => {
            const n = Number(value);
            if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got "${value}"`);
            return n;
        };
        switch (flag) {
            case "--seconds": o.seconds = num(); break;
            case "--fps": o.fps = num(); break;
            case "--width": o.width = num(); break;
            case "--height": o.height = num(); break;
            case "--batch": o.batch = num(); break;
            case "--in-flight": o.inFlight = num(); break;
            case "--latency-ms": o.latencyMs = num(); break;
            case "--rss-seconds": o.rssSeconds = num(); break;
            case "--frame": {
                const m = /^(\d+)x(\d+)$/.exec(value ?? "");
                if (!m) throw new Error(`--frame needs WxH, got "${value}"`);
                o.frameWidth = Number(m[1]);
                o.frameHeight = Number(m[2]);
                break;
            }
            default:
                throw new Error(`unknown flag ${flag}`);
        }
    }
    return o;
}

interface EmulatorProcess {
    grpcUrl: string;
    restUrl: string;
    stop(): Promise<void>;
}

/** The emulator in its own process, so it does not share the worker's event loop. */
async function startEmulatorProcess(latencyMs: number): Promise<EmulatorProcess> {
    const child: ChildProcess = spawn(TSX, [join(REPO, "worker/src/tfserving/emulator-main.ts"), "--grpc-port", "0", "--rest-port", "0", "--latency-ms", String(latencyMs)], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((ok, fail) => {
        const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
        rl.once("line", (l) => {
            rl.close();
            ok(l);
        });
        child.once("exit", (code) => fail(new Error(`emulator exited with ${code}`)));
    });
    const urls = JSON.parse(line) as { grpcUrl: string; restUrl: string };
    return {
        ...urls,
        stop: () =>
            new Promise<void>((done) => {
                if (child.exitCode !== null) return done();
                child.once("exit", () => done());
                child.kill("SIGTERM");
            }),
    };
}

interface PipelineRun {
    frames: number;
    seconds: number;
    fps: number;
    /** CPU time of this (worker) process per frame, ms: the worker's own overhead. */
    workerCpuMsPerFrame?: number;
    /**
     * fps / (inFlight * batch / mean batch latency): how fully the pipeline kept the model server busy
     * at the latency it actually delivered (1 = a batch was always waiting to go when a slot opened).
     */
    modelKeptBusy?: number;
    batchLatency: ReturnType<typeof summarize>;
}

async function decodeOnly(video: string, o: Options): Promise<PipelineRun> {
    const signal = new AbortController().signal;
    const t0 = performance.now();
    let frames = 0;
    for await (const b of decodeBatches({ path: video, width: o.frameWidth, height: o.frameHeight, batchSize: o.batch, signal })) frames += b.count;
    const seconds = (performance.now() - t0) / 1000;
    return { frames, seconds, fps: frames / seconds, batchLatency: summarize([]) };
}

/** The worker's pipeline exactly as a job runs it, minus the S3 transfers. */
async function pipelineRun(video: string, modelUrl: string, o: Options, dir: string): Promise<PipelineRun> {
    const signal = new AbortController().signal;
    const client = createModelClient(modelUrl);
    const info = await probeVideo(video, signal);
    const settings: InferenceSettings = { client, spec: { name: "object_detection" }, inputName: "inputs", width: o.frameWidth, height: o.frameHeight, scoreThreshold: 0.5, timeoutMs: 30_000, maxRetries: 3 };
    const writer = await ResultFileWriter.create(join(dir, "result.json"), {
        source: { bucket: "bench", key: "video", etag: "-" },
        model: { name: "object_detection", signature: "serving_default" },
        frameSize: { width: o.frameWidth, height: o.frameHeight },
        sampleFps: null,
        scoreThreshold: 0.5,
    });
    const pool = new BatchBufferPool(o.batch * o.frameWidth * o.frameHeight * 3, o.inFlight + 2);
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summary = await runPipeline({
        batches: decodeBatches({ path: video, width: o.frameWidth, height: o.frameHeight, batchSize: o.batch, signal, info, pool }),
        infer: (b) => inferBatch(b, settings, signal),
        maxInFlight: o.inFlight,
        sink: (f) => writer.addFrame({ index: f.index, timestampMs: frameTimestampMs(f.index, info.frameRate), detections: f.detections }),
        onBatch: (_b, ms) => latencies.push(ms),
        release: (b) => pool.give(b.data),
    });
    await writer.finish();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    client.close();
    const batchLatency = summarize(latencies);
    const fps = summary.frames / seconds;
    return { frames: summary.frames, seconds, fps, workerCpuMsPerFrame: (cpu.user + cpu.system) / 1000 / summary.frames, modelKeptBusy: fps / ((o.inFlight * o.batch * 1000) / batchLatency.meanMs), batchLatency };
}

/** The model server alone: `batches` requests of random frames with `inFlight` outstanding. */
async function modelOnly(modelUrl: string, o: Options, batches: number): Promise<PipelineRun> {
    const client = createModelClient(modelUrl);
    const data = Buffer.alloc(o.batch * o.frameWidth * o.frameHeight * 3);
    for (let i = 0; i < data.length; i += 97) data[i] = i & 0xff;
    const batch: FrameBatch = { data, count: o.batch, firstIndex: 0 };
    const settings: InferenceSettings = { client, spec: { name: "object_detection" }, inputName: "inputs", width: o.frameWidth, height: o.frameHeight, scoreThreshold: 0.5, timeoutMs: 30_000, maxRetries: 0 };
    const signal = new AbortController().signal;
    await inferBatch(batch, settings, signal); // warm-up: connection set-up
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
        while (next < batches) {
            next++;
            const s = performance.now();
            await inferBatch(batch, settings, signal);
            latencies.push(performance.now() - s);
        }
    };
    await Promise.all(Array.from({ length: o.inFlight }, lane));
    const seconds = (performance.now() - t0) / 1000;
    client.close();
    return { frames: batches * o.batch, seconds, fps: (batches * o.batch) / seconds, batchLatency: summarize(latencies) };
}

function encodingCost(o: Options): { grpcMs: number; grpcBytes: number; restMs: number; restBytes: number } {
    const data = Buffer.alloc(o.batch * o.frameWidth * o.frameHeight * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const request: PredictRequest = { model: { name: "object_detection", signatureName: "serving_default" }, inputs: { inputs: tensorFromUint8(data, [o.batch, o.frameHeight, o.frameWidth, 3]) } };
    const time = (f: () => Buffer, reps: number): { ms: number; bytes: number } => {
        let bytes = f().length;
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) bytes = f().length;
        return { ms: (performance.now() - t0) / reps, bytes };
    };
    const grpc = time(() => encodePredictRequest(request), 20);
    const rest = time(() => encodeRestPredictBody(request), 3);
    return { grpcMs: grpc.ms, grpcBytes: grpc.bytes, restMs: rest.ms, restBytes: rest.bytes };
}

/** (f) runs in a child process so each video's peak RSS is its own. */
async function rssChild(video: string, modelUrl: string, o: Options): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "bench-rss-"));
    try {
        const run = await pipelineRun(video, modelUrl, o, dir);
        process.stdout.write(JSON.stringify({ frames: run.frames, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + "\n");
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

async function measureRss(video: string, modelUrl: string, o: Options): Promise<{ frames: number; maxRssMb: number }> {
    const args = [__filename, "--rss-child", video, modelUrl, "--batch", String(o.batch), "--in-flight", String(o.inFlight), "--frame", `${o.frameWidth}x${o.frameHeight}`];
    const child = spawn(TSX, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    if (code !== 0) throw new Error(`RSS child failed (exit ${code})`);
    return JSON.parse(out.trim().split("\n").pop() as string) as { frames: number; maxRssMb: number };
}

function row(name: string, r: PipelineRun, note = ""): string {
    const lat = Number.isNaN(r.batchLatency.p50Ms) ? "" : `p50 ${round3(r.batchLatency.p50Ms)} ms, p99 ${round3(r.batchLatency.p99Ms)} ms`;
    const cpu = r.workerCpuMsPerFrame === undefined ? "" : `, worker CPU ${r.workerCpuMsPerFrame.toFixed(2)} ms/frame, model kept ${((r.modelKeptBusy ?? 0) * 100).toFixed(0)}% busy`;
    return `${name.padEnd(36)} ${String(r.frames).padStart(5)} frames ${r.fps.toFixed(1).padStart(7)} fps  ${lat}${cpu} ${note}`;
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (argv[0] === "--rss-child") {
        await rssChild(argv[1], argv[2], parseArgs(argv.slice(3)));
        return;
    }
    const o = parseArgs(argv);
    const dir = await mkdtemp(join(tmpdir(), "bench-worker-"));
    const log = (s: string): void => {
        if (!o.json) process.stderr.write(`${s}\n`);
    };
    const loadAtStart = loadavg()[0];
    try {
        log(`generating a ${o.seconds} s ${o.fps} fps ${o.width}x${o.height} video ...`);
        const video = await makeTestVideo({ path: join(dir, "bench.mp4"), seconds: o.seconds, fps: o.fps, width: o.width, height: o.height });

        log("(a) decode alone ...");
        const decode = await decodeOnly(video, o);
        const batchDecodeMs = (o.batch / decode.fps) * 1000;

        log(`(b) model alone at ${o.latencyMs} ms per batch ...`);
        const slow = await startEmulatorProcess(o.latencyMs);
        const model = await modelOnly(slow.grpcUrl, o, Math.max(20, Math.ceil(decode.frames / o.batch)));
        await slow.stop();

        log("(c) pipeline against an instant model ...");
        const instant = await startEmulatorProcess(0);
        const instantModel = await modelOnly(instant.grpcUrl, o, 30);
        const pipelineInstant = await pipelineRun(video, instant.grpcUrl, o, dir);

        // (d) Service time per batch such that the model alone (with inFlight batches outstanding) keeps
        // pace with the decoder: inFlight batches per (inFlight * batchDecodeMs).
        const matchedLatency = Math.max(1, Math.round(o.inFlight * batchDecodeMs));
        log(`(d) pipeline with the model as fast as the decoder (${matchedLatency} ms per batch, ${o.inFlight} in flight) ...`);
        const matched = await startEmulatorProcess(matchedLatency);
        const matchedModel = await modelOnly(matched.grpcUrl, o, Math.max(20, Math.ceil(decode.frames / o.batch)));
        const pipelineMatched = await pipelineRun(video, matched.grpcUrl, o, dir);
        await matched.stop();

        log("(e) request encoding ...");
        const encoding = encodingCost(o);

        log(`(f) peak RSS for ${o.rssSeconds} s and ${o.rssSeconds * 4} s videos (640x360) ...`);
        const shortVideo = await makeTestVideo({ path: join(dir, "rss-short.mp4"), seconds: o.rssSeconds, fps: o.fps, width: 640, height: 360 });
        const longVideo = await makeTestVideo({ path: join(dir, "rss-long.mp4"), seconds: o.rssSeconds * 4, fps: o.fps, width: 640, height: 360 });
        const rssShort = await measureRss(shortVideo, instant.grpcUrl, o);
        const rssLong = await measureRss(longVideo, instant.grpcUrl, o);
        await instant.stop();

        const slower = Math.min(decode.fps, matchedModel.fps);
        const results = {
            machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0] },
            video: { seconds: o.seconds, fps: o.fps, width: o.width, height: o.height, frames: decode.frames },
            settings: { frame: `${o.frameWidth}x${o.frameHeight}`, batch: o.batch, inFlight: o.inFlight },
            a_decodeOnly: decode,
            b_modelOnly: { latencyMs: o.latencyMs, ...model },
            b_instantModelOnly: instantModel,
            c_pipelineInstantModel: { ...pipelineInstant, ratioToDecode: pipelineInstant.fps / decode.fps, target: 0.9, pass: pipelineInstant.fps >= 0.9 * decode.fps },
            d_pipelineMatchedModel: {
                latencyMs: matchedLatency,
                modelOnlyFps: matchedModel.fps,
                ...pipelineMatched,
                ratioToSlower: pipelineMatched.fps / slower,
                target: 0.9,
                pass: pipelineMatched.fps >= 0.9 * slower,
            },
            e_encoding: { ...encoding, restOverGrpc: encoding.restMs / encoding.grpcMs },
            f_peakRss: { short: rssShort, long: rssLong, growthMb: rssLong.maxRssMb - rssShort.maxRssMb },
        };
        if (o.json) {
            process.stdout.write(JSON.stringify(results, null, 2) + "\n");
            return;
        }
        const p = (s: string): void => void process.stdout.write(`${s}\n`);
        p("");
        p(`machine: ${cpus().length} CPUs, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end (ratios are only meaningful on an otherwise idle machine)`);
        p(`video ${o.width}x${o.height} ${o.seconds} s @ ${o.fps} fps -> ${o.frameWidth}x${o.frameHeight} RGB, batch ${o.batch}, ${o.inFlight} in flight`);
        p(row("(a) decode alone", decode));
        p(row(`(b) model alone, ${o.latencyMs} ms/batch`, model));
        p(row("    model alone, instant", instantModel));
        p(row("(c) pipeline, instant model", pipelineInstant, `-> ${(results.c_pipelineInstantModel.ratioToDecode).toFixed(2)}x (a) [target >= 0.9: ${results.c_pipelineInstantModel.pass ? "PASS" : "FAIL"}]`));
        p(row(`    model alone, ${matchedLatency} ms/batch`, matchedModel));
        p(row(`(d) pipeline, model ~ decoder`, pipelineMatched, `-> ${results.d_pipelineMatchedModel.ratioToSlower.toFixed(2)}x slower [target >= 0.9: ${results.d_pipelineMatchedModel.pass ? "PASS" : "FAIL"}]`));
        p(`(e) encode one batch: gRPC ${encoding.grpcMs.toFixed(2)} ms (${(encoding.grpcBytes / 1e6).toFixed(2)} MB), REST JSON ${encoding.restMs.toFixed(1)} ms (${(encoding.restBytes / 1e6).toFixed(2)} MB): ${results.e_encoding.restOverGrpc.toFixed(0)}x`);
        p(`(f) peak RSS: ${rssShort.frames} frames ${rssShort.maxRssMb.toFixed(0)} MB, ${rssLong.frames} frames ${rssLong.maxRssMb.toFixed(0)} MB (growth ${results.f_peakRss.growthMb.toFixed(0)} MB)`);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

main().catch((err: unknown) => {
    process.stderr.write(`bench:worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
