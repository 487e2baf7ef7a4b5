// The protocol emulators in child processes (so server work does not share the caller's event loop):
// used by bench:bert, the encode bench and the emulator tests.
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { createInterface } from "node:readline";

export interface EmulatorProcess {
    url: string;
    child: ChildProcess;
}

/** Runs an emulator's main module under tsx in a child process and reads its ready line. */
function spawnReady<T>(name: string, args: string[]): Promise<{ ready: T; child: ChildProcess }> {
    const tsxCli = require.resolve("tsx/cli");
    const child = spawn(process.execPath, [tsxCli, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        const timer = setTimeout(() => {
            child.kill("SIGTERM");
            reject(new Error(`${name} did not report ready within 30 s`));
        }, 30_000);
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`${name} exited early with code ${code}`));
        });
        lines.once("line", (line) => {
            clearTimeout(timer);
            try {
                resolve({ ready: JSON.parse(line) as T, child });
            } catch {
                reject(new Error(`${name} printed an unexpected line: ${line}`));
            }
        });
    });
}

/** The TF Serving emulator (gRPC and REST) in a child process. */
export async function spawnTfServingEmulator(latencyMs: number): Promise<{ grpcUrl: string; restUrl: string; child: ChildProcess }> {
    const { ready, child } = await spawnReady<{ grpcUrl: string; restUrl: string }>("TF Serving emulator", [
        path.join(__dirname, "tfserving", "emulator-main.ts"),
        "--latency-ms",
        String(latencyMs),
    ]);
    return { ...ready, child };
}

export interface V2EmulatorProcessOptions {
    /** Injected server latency per request, ms. */
    serverLatencyMs: number;
    /** The sequence length the emulated model is compiled for. */
    seqLen: number;
    /** Largest batch the run sends (the model takes at least 8). */
    batch: number;
    model: string;
}

/** The KServe v2 emulator in a child process, its model compiled for the run's sequence length and batch. */
export async function spawnV2Emulator(options: V2EmulatorProcessOptions): Promise<EmulatorProcess> {
    const args = [
        "--latency-ms",
        String(options.serverLatencyMs),
        "--seq-len",
        String(options.seqLen),
        "--max-batch-size",
        String(Math.max(8, options.batch)),
        "--model",
        options.model,
    ];
    const { ready, child } = await spawnReady<{ url: string }>("KServe v2 emulator", [
        path.join(__dirname, "kserve", "emulator-main.ts"),
        ...args,
    ]);
    return { url: ready.url, child };
}
