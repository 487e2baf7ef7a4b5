// bench:worker — where the video worker's time goes, on one generated video:
//  (a) ffmpeg decoding alone to raw RGB at the model size (the worker's own ffmpeg command and reader)
//  (b) the model server (emulator, own process) alone at a given service time per batch
//  (c) the worker pipeline (decode -> batch -> gRPC Predict -> result file) against an instant emulator
//  (d) the same with the model exactly as fast as the decoder (targets: c >= 0.9 a; d >= 0.9 min(a, model))
//  (e) gRPC vs REST request encoding for one batch
//  (f) peak RSS of the pipeline for a short and a 4x longer video (memory must stay flat)
//  (g) a real detector (CenterNet on CPU, testing/detector, one thread per core, its own process) slower than
//      decode: decode alone, model alone, then the pipeline at 512x512: fps, how busy the worker keeps the
//      model (target >= 95%), CPU per frame per process, batch latency, peak RSS of worker and model server
// (a), (c) and (d) run --runs times (interleaved) and report the median, with the CPU time per frame of
// each process (worker, ffmpeg, model server; from process.cpuUsage and /proc) so it shows where the
// cores go: on a CPU-bound box, fps can never exceed cores / (total CPU seconds per frame).
// Usage: npm run bench:worker -- [--seconds 20] [--fps 30] [--width 1280] [--height 720] [--frame 300x300]
//        [--batch 8] [--in-flight 2] [--latency-ms 20] [--rss-seconds 10] [--runs 3] [--real-seconds 6] [--real-threads N] [--json]
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { makeTestVideo } from "../../testing/ffmpeg";
import { BatchBufferPool, decodeBatches, type FrameBatch } from "../src/decode";
import { probeVideo } from "../src/probe";
import { inferBatch, runPipeline, type InferenceSettings } from "../src/pipeline";
import { ResultFileWriter } from "../src/results";
import {
    createModelClient,
    encodePredictRequest,
    encodeRestPredictBody,
    tensorFromUint8,
    type PredictRequest,
} from "../model-client/tfserving";
import { numberFlag, parseFlags, UsageError } from "../../ops/args";
import type { PoolStats } from "../../testing/detector/pool";
import { summarize } from "../../ops/stats";

const REPO = resolve(__dirname, "../..");
/** Children run as `node -r tsx/cjs file.ts`, so their pid is the process doing the work (no tsx launcher in between). */
const TS_NODE = [process.execPath, "-r", "tsx/cjs"] as const;
/** Linux's USER_HZ for /proc times (100 on every mainstream kernel config). */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcCpu {
    /** utime + stime of the process, ms. */
    ownMs: number;
    /** cutime + cstime: CPU of its children that have exited and been waited for, ms. */
    reapedChildrenMs: number;
}

/** CPU times from /proc/<pid>/stat; undefined where /proc is not available (the bench then omits them). */
function procCpu(pid: number | "self"): ProcCpu | undefined {
    let stat: string;
    try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return undefined;
    }
    // Fields after "(comm) ": state is field 3, so field n is at index n - 3.
    const f = stat
        .slice(stat.lastIndexOf(")") + 2)
        .split(" ")
        .map(Number);
    const ms = (ticks: number): number => (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
    return { ownMs: ms(f[14 - 3] + f[15 - 3]), reapedChildrenMs: ms(f[16 - 3] + f[17 - 3]) };
}

/** CPU ms spent between two snapshots by ffmpeg (reaped children of this process) and by one other process. */
function cpuMeter(otherPid?: number): () => { childrenMs?: number; otherMs?: number } {
    const self0 = procCpu("self");
    const other0 = otherPid === undefined ? undefined : procCpu(otherPid);
    return () => {
        const self1 = procCpu("self");
        const other1 = otherPid === undefined ? undefined : procCpu(otherPid);
        return {
            childrenMs: self0 && self1 ? self1.reapedChildrenMs - self0.reapedChildrenMs : undefined,
            otherMs: other0 && other1 ? other1.ownMs - other0.ownMs : undefined,
        };
    };
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

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
    runs: number;
    /** Seconds of the video for (g), the real detector; 0 skips it. */
    realSeconds: number;
    /** Detector threads for (g); default one per core. */
    realThreads: number;
    json: boolean;
}

const USAGE =
    "usage: npm run bench:worker -- [--seconds 20] [--fps 30] [--width 1280] [--height 720] [--frame 300x300] [--batch 8] [--in-flight 2] [--latency-ms 20] [--rss-seconds 10] [--runs 3] [--real-seconds 6] [--real-threads N] [--json]";

const FLAGS = {
    seconds: { type: "string" },
    fps: { type: "string" },
    width: { type: "string" },
    height: { type: "string" },
    frame: { type: "string" },
    batch: { type: "string" },
    "in-flight": { type: "string" },
    "latency-ms": { type: "string" },
    "rss-seconds": { type: "string" },
    runs: { type: "string" },
    "real-seconds": { type: "string" },
    "real-threads": { type: "string" },
    json: { type: "boolean" },
} as const;

function parseBenchArgs(argv: readonly string[]): Options {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const positive = (flag: keyof typeof FLAGS, fallback: number, integer = false): number =>
        numberFlag(
            flags[flag] as string | undefined,
            `--${flag}`,
            integer ? { min: 1, integer } : { min: 0, exclusive: true },
            USAGE,
            fallback,
        );
    let frameWidth = 300;
    let frameHeight = 300;
    if (flags.frame !== undefined) {
        const m = /^(\d+)x(\d+)$/.exec(flags.frame);
        if (!m) throw new UsageError(`--frame must be WxH, got "${flags.frame}"`, USAGE);
        frameWidth = Number(m[1]);
        frameHeight = Number(m[2]);
    }
    return {
        seconds: positive("seconds", 20),
        fps: positive("fps", 30),
        width: positive("width", 1280, true),
        height: positive("height", 720, true),
        frameWidth,
        frameHeight,
        batch: positive("batch", 8, true),
        inFlight: positive("in-flight", 2, true),
        latencyMs: positive("latency-ms", 20),
        rssSeconds: positive("rss-seconds", 10),
        runs: positive("runs", 3, true),
        realSeconds: numberFlag(flags["real-seconds"], "--real-seconds", { min: 0 }, USAGE, 6),
        realThreads: positive("real-threads", cpus().length, true),
        json: flags.json === true,
    };
}

interface EmulatorProcess {
    grpcUrl: string;
    restUrl: string;
    pid: number;
    stop(): Promise<void>;
}

/** The emulator in its own process, so it does not share the worker's event loop. */
async function startEmulatorProcess(latencyMs: number): Promise<EmulatorProcess> {
    // Only the options that make it cheapest: gRPC with tensor_content outputs (the default), no loading delay.
    const child: ChildProcess = spawn(
        TS_NODE[0],
        [
            ...TS_NODE.slice(1),
            join(REPO, "testing/tfserving/emulator-main.ts"),
            "--grpc-port",
            "0",
            "--rest-port",
            "0",
            "--latency-ms",
            String(latencyMs),
        ],
        {
            cwd: REPO,
            stdio: ["ignore", "pipe", "inherit"],
        },
    );
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
        pid: child.pid as number,
        stop: () =>
            new Promise<void>((done) => {
                if (child.exitCode !== null) return done();
                child.once("exit", () => done());
                child.kill("SIGTERM");
            }),
    };
}

interface RealServerProcess {
    grpcUrl: string;
    pid: number;
    threads: number;
    stats(): Promise<PoolStats>;
    stop(): Promise<void>;
}

/** The real-detector model server (CenterNet on CPU threads) in its own process; its pool counters on request. */
async function startRealServerProcess(threads: number): Promise<RealServerProcess> {
    const child = spawn(TS_NODE[0], [...TS_NODE.slice(1), join(REPO, "testing/detector/server-main.ts"), "--threads", String(threads)], {
        cwd: REPO,
        stdio: ["pipe", "pipe", "ignore"],
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const waiting: ((line: string) => void)[] = [];
    lines.on("line", (l) => waiting.shift()?.(l));
    const nextLine = (): Promise<string> =>
        new Promise((ok, fail) => {
            waiting.push(ok);
            child.once("exit", (code) => fail(new Error(`real model server exited with ${code}`)));
        });
    const ready = JSON.parse(await nextLine()) as { grpcUrl: string; threads: number };
    return {
        grpcUrl: ready.grpcUrl,
        pid: child.pid as number,
        threads: ready.threads,
        stats: async () => {
            const line = nextLine();
            child.stdin?.write("stats\n");
            return JSON.parse(await line) as PoolStats;
        },
        stop: () =>
            new Promise<void>((done) => {
                if (child.exitCode !== null) return done();
                child.once("exit", () => done());
                child.kill("SIGTERM");
            }),
    };
}

/** Peak resident memory of a process (VmHWM), MB; undefined without /proc. */
function peakRssMb(pid: number): number | undefined {
    try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        return m === null ? undefined : Number(m[1]) / 1024;
    } catch {
        return undefined;
    }
}

interface RealDetectorCase {
    threads: number;
    frame: string;
    video: { seconds: number; fps: number; width: number; height: number; frames: number };
    decodeOnly: PipelineRun;
    modelOnly: PipelineRun & { busy: number };
    pipeline: PipelineRun & { busy: number; ratioToModel: number };
    modelServerPeakRssMb?: number;
    workerPeakRssMb: number;
    pass: { busy: boolean; ratio: boolean };
}

/** Busy share of the pool's threads between two snapshots. */
function poolBusy(a: PoolStats, b: PoolStats): number {
    return (b.busyMs - a.busyMs) / (b.threads * (b.uptimeMs - a.uptimeMs));
}

interface CpuPerFrame {
    /** This (worker) process: reading frames, gRPC, detections, result file. */
    workerMs: number;
    /** ffmpeg, decoding and scaling. */
    ffmpegMs?: number;
    /** The model server process (emulator). */
    modelServerMs?: number;
}

interface PipelineRun {
    frames: number;
    seconds: number;
    fps: number;
    /** CPU time per frame of each process, ms. */
    cpu?: CpuPerFrame;
    /**
     * fps / (inFlight * batch / mean batch latency): how fully the pipeline kept the model server busy
     * at the latency it actually delivered (1 = a batch was always waiting to go when a slot opened).
     */
    modelKeptBusy?: number;
    batchLatency: ReturnType<typeof summarize>;
}

/** The worker's decoder with nothing downstream: batch buffers go straight back to the pool. */
async function decodeOnly(video: string, o: Options): Promise<PipelineRun> {
    const signal = new AbortController().signal;
    const pool = new BatchBufferPool(o.batch * o.frameWidth * o.frameHeight * 3, o.inFlight + 2);
    const meter = cpuMeter();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let frames = 0;
    for await (const b of decodeBatches({ path: video, width: o.frameWidth, height: o.frameHeight, batchSize: o.batch, signal, pool })) {
        frames += b.count;
        pool.give(b.data);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { childrenMs } = meter();
    return {
        frames,
        seconds,
        fps: frames / seconds,
        cpu: { workerMs: (cpu.user + cpu.system) / 1000 / frames, ffmpegMs: childrenMs === undefined ? undefined : childrenMs / frames },
        batchLatency: summarize([]),
    };
}

/** The worker's pipeline exactly as a job runs it, minus the S3 transfers. */
async function pipelineRun(video: string, modelUrl: string, o: Options, dir: string, modelServerPid?: number): Promise<PipelineRun> {
    const signal = new AbortController().signal;
    const client = createModelClient(modelUrl);
    const info = await probeVideo(video, signal);
    const settings: InferenceSettings = {
        client,
        spec: { name: "object_detection" },
        inputName: "inputs",
        width: o.frameWidth,
        height: o.frameHeight,
        scoreThreshold: 0.5,
        timeoutMs: 30_000,
        maxRetries: 3,
    };
    const writer = await ResultFileWriter.create(join(dir, "result.json"), {
        source: { bucket: "bench", key: "video", etag: "-" },
        model: { name: "object_detection", signature: "serving_default" },
        frameSize: { width: o.frameWidth, height: o.frameHeight },
        sampleFps: null,
        scoreThreshold: 0.5,
    });
    const pool = new BatchBufferPool(o.batch * o.frameWidth * o.frameHeight * 3, o.inFlight + 2);
    const latencies: number[] = [];
    const meter = cpuMeter(modelServerPid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summary = await runPipeline({
        batches: decodeBatches({ path: video, width: o.frameWidth, height: o.frameHeight, batchSize: o.batch, signal, info, pool }),
        infer: (b) => inferBatch(b, settings, signal),
        maxInFlight: o.inFlight,
        sink: (f) => writer.addFrame(f),
        onBatch: (_b, ms) => latencies.push(ms),
        release: (b) => pool.give(b.data),
    });
    await writer.finish();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { childrenMs, otherMs } = meter();
    client.close();
    const batchLatency = summarize(latencies);
    const n = summary.frames;
    const fps = n / seconds;
    return {
        frames: n,
        seconds,
        fps,
        cpu: {
            workerMs: (cpu.user + cpu.system) / 1000 / n,
            ffmpegMs: childrenMs === undefined ? undefined : childrenMs / n,
            modelServerMs: otherMs === undefined ? undefined : otherMs / n,
        },
        modelKeptBusy: fps / ((o.inFlight * o.batch * 1000) / batchLatency.meanMs),
        batchLatency,
    };
}

/** The model server alone: `batches` requests of random frames with `inFlight` outstanding. */
async function modelOnly(modelUrl: string, o: Options, batches: number, modelServerPid?: number): Promise<PipelineRun> {
    const client = createModelClient(modelUrl);
    const data = Buffer.alloc(o.batch * o.frameWidth * o.frameHeight * 3);
    for (let i = 0; i < data.length; i += 97) data[i] = i & 0xff;
    const batch: FrameBatch = { data, count: o.batch, firstIndex: 0 };
    const settings: InferenceSettings = {
        client,
        spec: { name: "object_detection" },
        inputName: "inputs",
        width: o.frameWidth,
        height: o.frameHeight,
        scoreThreshold: 0.5,
        timeoutMs: 30_000,
        maxRetries: 0,
    };
    const signal = new AbortController().signal;
    await inferBatch(batch, settings, signal); // warm-up: connection set-up
    const latencies: number[] = [];
    let next = 0;
    const meter = cpuMeter(modelServerPid);
    const cpu0 = process.cpuUsage();
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
    const cpu = process.cpuUsage(cpu0);
    const { otherMs } = meter();
    client.close();
    const frames = batches * o.batch;
    return {
        frames,
        seconds,
        fps: frames / seconds,
        cpu: { workerMs: (cpu.user + cpu.system) / 1000 / frames, modelServerMs: otherMs === undefined ? undefined : otherMs / frames },
        batchLatency: summarize(latencies),
    };
}

function encodingCost(o: Options): { grpcMs: number; grpcBytes: number; restMs: number; restBytes: number } {
    const data = Buffer.alloc(o.batch * o.frameWidth * o.frameHeight * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const request: PredictRequest = {
        model: { name: "object_detection", signatureName: "serving_default" },
        inputs: { inputs: tensorFromUint8(data, [o.batch, o.frameHeight, o.frameWidth, 3]) },
    };
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
    const args = [
        __filename,
        "--rss-child",
        video,
        modelUrl,
        "--batch",
        String(o.batch),
        "--in-flight",
        String(o.inFlight),
        "--frame",
        `${o.frameWidth}x${o.frameHeight}`,
    ];
    const child = spawn(TS_NODE[0], [...TS_NODE.slice(1), ...args], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    if (code !== 0) throw new Error(`RSS child failed (exit ${code})`);
    return JSON.parse(out.trim().split("\n").pop() as string) as { frames: number; maxRssMb: number };
}

/** (g): the real detector, slower than decode, side by side with decoding alone and the model alone. */
async function realDetectorCase(o: Options, dir: string, log: (s: string) => void): Promise<RealDetectorCase> {
    const r: Options = { ...o, frameWidth: 512, frameHeight: 512 };
    const video = await makeTestVideo({
        path: join(dir, "real.mp4"),
        seconds: o.realSeconds,
        fps: o.fps,
        width: o.width,
        height: o.height,
    });
    log(
        `(g) real detector: CenterNet on ${o.realThreads} CPU thread(s), ${o.realSeconds} s of ${o.width}x${o.height} video at 512x512 ...`,
    );
    const server = await startRealServerProcess(o.realThreads);
    try {
        const decode = await decodeOnly(video, r);
        await modelOnly(server.grpcUrl, r, 2); // warm-up: connection, WASM code paths
        const s0 = await server.stats();
        const model = await modelOnly(server.grpcUrl, r, Math.max(4, Math.ceil(decode.frames / r.batch)), server.pid);
        const s1 = await server.stats();
        const pipeline = await pipelineRun(video, server.grpcUrl, r, dir, server.pid);
        const s2 = await server.stats();
        const rss = await measureRss(video, server.grpcUrl, r);
        const modelBusy = poolBusy(s0, s1);
        const pipelineBusy = poolBusy(s1, s2);
        const ratio = pipeline.fps / model.fps;
        return {
            threads: server.threads,
            frame: "512x512",
            video: { seconds: o.realSeconds, fps: o.fps, width: o.width, height: o.height, frames: decode.frames },
            decodeOnly: decode,
            modelOnly: { ...model, busy: modelBusy },
            pipeline: { ...pipeline, busy: pipelineBusy, ratioToModel: ratio },
            modelServerPeakRssMb: peakRssMb(server.pid),
            workerPeakRssMb: rss.maxRssMb,
            pass: { busy: pipelineBusy >= 0.95, ratio: ratio >= 0.95 },
        };
    } finally {
        await server.stop();
    }
}

function cpuText(c: CpuPerFrame | undefined): string {
    if (c === undefined) return "";
    const part = (name: string, v: number | undefined): string => (v === undefined ? "" : ` ${name} ${v.toFixed(2)}`);
    const total = c.workerMs + (c.ffmpegMs ?? 0) + (c.modelServerMs ?? 0);
    return ` | CPU ms/frame:${part("worker", c.workerMs)}${part("ffmpeg", c.ffmpegMs)}${part("model server", c.modelServerMs)} = ${total.toFixed(2)}`;
}

function row(name: string, r: PipelineRun, note = ""): string {
    const lat = Number.isNaN(r.batchLatency.p50Ms)
        ? ""
        : `  batch p50 ${r.batchLatency.p50Ms.toFixed(1)} ms p99 ${r.batchLatency.p99Ms.toFixed(1)} ms`;
    const busy = r.modelKeptBusy === undefined ? "" : `, model ${(r.modelKeptBusy * 100).toFixed(0)}% busy`;
    return `${name.padEnd(34)} ${String(r.frames).padStart(5)} frames ${r.fps.toFixed(1).padStart(7)} fps${lat}${busy}${cpuText(r.cpu)} ${note}`;
}

/** The run with the median fps (so its CPU figures belong to one real run), and every run's fps. */
function medianRun(runs: PipelineRun[]): PipelineRun & { runsFps: number[] } {
    const sorted = [...runs].sort((a, b) => a.fps - b.fps);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...mid, fps: median(runs.map((r) => r.fps)), runsFps: runs.map((r) => Math.round(r.fps * 10) / 10) };
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (argv[0] === "--rss-child") {
        await rssChild(argv[1], argv[2], parseBenchArgs(argv.slice(3)));
        return;
    }
    const o = parseBenchArgs(argv);
    const dir = await mkdtemp(join(tmpdir(), "bench-worker-"));
    const log = (s: string): void => {
        if (!o.json) process.stderr.write(`${s}\n`);
    };
    const loadAtStart = loadavg();
    log(`load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} CPUs`);
    const emulators: EmulatorProcess[] = [];
    try {
        log(`generating a ${o.seconds} s ${o.fps} fps ${o.width}x${o.height} video ...`);
        const video = await makeTestVideo({
            path: join(dir, "bench.mp4"),
            seconds: o.seconds,
            fps: o.fps,
            width: o.width,
            height: o.height,
        });

        log("calibrating: decode alone once (also warms the page cache) ...");
        const calibration = await decodeOnly(video, o);
        const batchDecodeMs = (o.batch / calibration.fps) * 1000;

        log(`(b) model alone at ${o.latencyMs} ms per batch ...`);
        const slow = await startEmulatorProcess(o.latencyMs);
        emulators.push(slow);
        const model = await modelOnly(slow.grpcUrl, o, Math.max(20, Math.ceil(calibration.frames / o.batch)), slow.pid);
        await slow.stop();

        const instant = await startEmulatorProcess(0);
        emulators.push(instant);
        await modelOnly(instant.grpcUrl, o, 10); // warm-up
        const instantModel = await modelOnly(instant.grpcUrl, o, Math.max(30, Math.ceil(calibration.frames / o.batch)), instant.pid);

        // (d) The model alone (inFlight batches outstanding) must keep pace with the decoder: a batch
        // every batchDecodeMs, i.e. inFlight * batchDecodeMs per call, of which transport and emulator
        // overhead (the instant model's mean call time) is already part.
        const matchedLatency = Math.max(0, Math.round(o.inFlight * batchDecodeMs - instantModel.batchLatency.meanMs));
        const matched = await startEmulatorProcess(matchedLatency);
        emulators.push(matched);
        await modelOnly(matched.grpcUrl, o, 4); // warm-up
        const matchedModel = await modelOnly(matched.grpcUrl, o, Math.max(20, Math.ceil(calibration.frames / o.batch)), matched.pid);

        // Interleaved, so load from anything else on the machine falls on all three cases alike.
        log(
            `(a) decode alone, (c) pipeline, instant model, (d) pipeline, model ~ decoder (${matchedLatency} ms per batch, ${o.inFlight} in flight): ${o.runs} rounds ...`,
        );
        const decodeRuns: PipelineRun[] = [];
        const instantRuns: PipelineRun[] = [];
        const matchedRuns: PipelineRun[] = [];
        for (let r = 0; r < o.runs; r++) {
            decodeRuns.push(await decodeOnly(video, o));
            instantRuns.push(await pipelineRun(video, instant.grpcUrl, o, dir, instant.pid));
            matchedRuns.push(await pipelineRun(video, matched.grpcUrl, o, dir, matched.pid));
        }
        const decode = medianRun(decodeRuns);
        const pipelineInstant = medianRun(instantRuns);
        const pipelineMatched = medianRun(matchedRuns);
        await matched.stop();

        log("(e) request encoding ...");
        const encoding = encodingCost(o);

        log(`(f) peak RSS for ${o.rssSeconds} s and ${o.rssSeconds * 4} s videos (640x360) ...`);
        const shortVideo = await makeTestVideo({
            path: join(dir, "rss-short.mp4"),
            seconds: o.rssSeconds,
            fps: o.fps,
            width: 640,
            height: 360,
        });
        const longVideo = await makeTestVideo({
            path: join(dir, "rss-long.mp4"),
            seconds: o.rssSeconds * 4,
            fps: o.fps,
            width: 640,
            height: 360,
        });
        const rssShort = await measureRss(shortVideo, instant.grpcUrl, o);
        const rssLong = await measureRss(longVideo, instant.grpcUrl, o);
        await instant.stop();

        const real = o.realSeconds > 0 ? await realDetectorCase(o, dir, log) : undefined;

        const slower = Math.min(decode.fps, matchedModel.fps);
        // CPU-bound ceiling: every frame costs the sum of all processes' CPU; the box has cpus() cores.
        const cores = cpus().length;
        const ceiling = (r: PipelineRun): number | undefined => {
            const c = r.cpu;
            if (c?.ffmpegMs === undefined) return undefined;
            return (cores * 1000) / (c.workerMs + c.ffmpegMs + (c.modelServerMs ?? 0));
        };
        const results = {
            machine: { cpus: cores, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
            video: { seconds: o.seconds, fps: o.fps, width: o.width, height: o.height, frames: decode.frames },
            settings: {
                frame: `${o.frameWidth}x${o.frameHeight}`,
                batch: o.batch,
                inFlight: o.inFlight,
                runs: o.runs,
                calibrationDecodeFps: calibration.fps,
            },
            a_decodeOnly: { ...decode, cpuBoundCeilingFps: ceiling(decode) },
            b_modelOnly: { latencyMs: o.latencyMs, ...model },
            b_instantModelOnly: instantModel,
            c_pipelineInstantModel: {
                ...pipelineInstant,
                cpuBoundCeilingFps: ceiling(pipelineInstant),
                ratioToDecode: pipelineInstant.fps / decode.fps,
                target: 0.9,
                pass: pipelineInstant.fps >= 0.9 * decode.fps,
            },
            d_pipelineMatchedModel: {
                latencyMs: matchedLatency,
                modelOnlyFps: matchedModel.fps,
                modelOnly: matchedModel,
                ...pipelineMatched,
                cpuBoundCeilingFps: ceiling(pipelineMatched),
                ratioToSlower: pipelineMatched.fps / slower,
                target: 0.9,
                pass: pipelineMatched.fps >= 0.9 * slower,
            },
            e_encoding: { ...encoding, restOverGrpc: encoding.restMs / encoding.grpcMs },
            f_peakRss: { short: rssShort, long: rssLong, growthMb: rssLong.maxRssMb - rssShort.maxRssMb },
            g_realDetector: real,
        };
        if (o.json) {
            process.stdout.write(JSON.stringify(results, null, 2) + "\n");
            return;
        }
        const p = (s: string): void => void process.stdout.write(`${s}\n`);
        const runsText = (r: { runsFps: number[] }): string => `[runs: ${r.runsFps.join(", ")} fps]`;
        const ceilingText = (v: number | undefined): string => (v === undefined ? "" : `; CPU-bound ceiling ${v.toFixed(0)} fps`);
        p("");
        p(
            `machine: ${cores} CPUs, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at start, ${loadavg()[0].toFixed(2)} at end (ratios are only meaningful on an otherwise idle machine)`,
        );
        p(
            `video ${o.width}x${o.height} ${o.seconds} s @ ${o.fps} fps -> ${o.frameWidth}x${o.frameHeight} RGB, batch ${o.batch}, ${o.inFlight} in flight; medians of ${o.runs} runs`,
        );
        p(row("(a) decode alone", decode, `${runsText(decode)}${ceilingText(results.a_decodeOnly.cpuBoundCeilingFps)}`));
        p(row(`(b) model alone, ${o.latencyMs} ms/batch`, model));
        p(row("    model alone, instant", instantModel));
        p(
            row(
                "(c) pipeline, instant model",
                pipelineInstant,
                `${runsText(pipelineInstant)} -> ${results.c_pipelineInstantModel.ratioToDecode.toFixed(2)}x (a) [target >= 0.9: ${results.c_pipelineInstantModel.pass ? "PASS" : "FAIL"}]${ceilingText(results.c_pipelineInstantModel.cpuBoundCeilingFps)}`,
            ),
        );
        p(row(`    model alone, ${matchedLatency} ms/batch`, matchedModel));
        p(
            row(
                "(d) pipeline, model ~ decoder",
                pipelineMatched,
                `${runsText(pipelineMatched)} -> ${results.d_pipelineMatchedModel.ratioToSlower.toFixed(2)}x slower [target >= 0.9: ${results.d_pipelineMatchedModel.pass ? "PASS" : "FAIL"}]${ceilingText(results.d_pipelineMatchedModel.cpuBoundCeilingFps)}`,
            ),
        );
        p(
            `(e) encode one batch: gRPC ${encoding.grpcMs.toFixed(2)} ms (${(encoding.grpcBytes / 1e6).toFixed(2)} MB), REST JSON ${encoding.restMs.toFixed(1)} ms (${(encoding.restBytes / 1e6).toFixed(2)} MB): ${results.e_encoding.restOverGrpc.toFixed(0)}x`,
        );
        p(
            `(f) peak RSS: ${rssShort.frames} frames ${rssShort.maxRssMb.toFixed(0)} MB, ${rssLong.frames} frames ${rssLong.maxRssMb.toFixed(0)} MB (growth ${results.f_peakRss.growthMb.toFixed(0)} MB)`,
        );
        if (real !== undefined) {
            const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
            p(
                `(g) real detector: CenterNet on ${real.threads} CPU thread(s), ${real.video.frames} frames of ${real.video.width}x${real.video.height} -> ${real.frame}`,
            );
            p(row("    decode alone", real.decodeOnly));
            p(row("    model alone", real.modelOnly, `threads busy ${pct(real.modelOnly.busy)}`));
            p(
                row(
                    "    pipeline, real model",
                    { ...real.pipeline, modelKeptBusy: undefined },
                    `-> ${real.pipeline.ratioToModel.toFixed(2)}x model alone [target >= 0.95: ${real.pass.ratio ? "PASS" : "FAIL"}], model threads busy ${pct(real.pipeline.busy)} [target >= 95%: ${real.pass.busy ? "PASS" : "FAIL"}]`,
                ),
            );
            const server = real.modelServerPeakRssMb === undefined ? "" : `, model server ${real.modelServerPeakRssMb.toFixed(0)} MB`;
            p(`    peak RSS: worker ${real.workerPeakRssMb.toFixed(0)} MB${server}`);
        }
    } finally {
        for (const e of emulators) await e.stop();
        await rm(dir, { recursive: true, force: true });
    }
}

main().catch((err: unknown) => {
    if (err instanceof UsageError) {
        process.stderr.write(`bench:worker: ${err.message}\n`);
        process.exit(64);
    }
    process.stderr.write(`bench:worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
