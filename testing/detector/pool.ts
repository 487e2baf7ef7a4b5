// CenterNet on N worker threads: a batch's frames are queued one by one, each free thread takes the
// next, and the batch's detections come back in frame order whichever thread finished first. Several
// batches (the worker keeps some in flight) share the queue, first come first served.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { FrameDetections } from "../tfserving/emulator-models";
import type { FrameJob } from "./detector-thread";

interface Pending {
    job: FrameJob;
    resolve: (d: FrameDetections) => void;
    reject: (err: Error) => void;
}

interface Thread {
    worker: Worker;
    busy?: Pending;
}

type Reply = { ready: true } | { fatal: string } | { id: number; detections?: FrameDetections; error?: string; busyMs: number };

export interface PoolStats {
    threads: number;
    /** Frames detected since the pool started. */
    frames: number;
    /** Sum over threads of the time spent detecting, ms. */
    busyMs: number;
    /** Milliseconds since the pool started (performance.now() of the pool's process). */
    uptimeMs: number;
}

/** Default: one thread per core the process may use. */
export function defaultThreads(): number {
    return Math.max(1, availableParallelism());
}

export class DetectorPool {
    private readonly queue: Pending[] = [];
    private nextId = 0;
    private frames = 0;
    private busyMs = 0;
    private readonly started = performance.now();
    private failure: Error | undefined;

    private constructor(private readonly threads: Thread[]) {}

    /** Starts `threads` threads and resolves once each has loaded the model. */
    static async start(threads = defaultThreads()): Promise<DetectorPool> {
        if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a whole number >= 1, got ${threads}`);
        // The thread is TypeScript: load tsx's require hook in it first, whatever loaded tsx here (the tsx CLI or mocha's require).
        const source = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(join(__dirname, "detector-thread.ts"))});`;
        const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true }));
        const pool = new DetectorPool(workers.map((worker) => ({ worker })));
        try {
            await Promise.all(workers.map((w, i) => pool.attach(w, i)));
        } catch (err) {
            await pool.close();
            throw err;
        }
        return pool;
    }

    private attach(worker: Worker, index: number): Promise<void> {
        return new Promise((ready, fail) => {
            worker.on("message", (reply: Reply) => {
                if ("ready" in reply) ready();
                else if ("fatal" in reply) fail(new Error(`detector thread ${index} could not load CenterNet: ${reply.fatal}`));
                else this.finished(this.threads[index], reply);
            });
            worker.on("error", (err) => {
                fail(err);
                this.broken(new Error(`detector thread ${index} failed: ${err.message}`));
            });
            worker.on("exit", (code) => {
                if (this.failure === undefined && code !== 0) this.broken(new Error(`detector thread ${index} exited with code ${code}`));
            });
        });
    }

    private finished(thread: Thread, reply: Extract<Reply, { id: number }>): void {
        const pending = thread.busy;
        thread.busy = undefined;
        this.busyMs += reply.busyMs;
        if (pending !== undefined && pending.job.id === reply.id) {
            if (reply.detections !== undefined) {
                this.frames++;
                pending.resolve(reply.detections);
            } else pending.reject(new Error(reply.error ?? "detector thread gave no answer"));
        }
        this.dispatch();
    }

    private broken(err: Error): void {
        this.failure ??= err;
        for (const t of this.threads) {
            t.busy?.reject(err);
            t.busy = undefined;
        }
        for (const p of this.queue.splice(0)) p.reject(err);
    }

    private dispatch(): void {
        for (const thread of this.threads) {
            if (this.queue.length === 0) return;
            if (thread.busy !== undefined) continue;
            const next = this.queue.shift() as Pending;
            thread.busy = next;
            thread.worker.postMessage(next.job, [next.job.frame]);
        }
    }

    /** Detections for one RGB24 frame (the bytes are copied, so the caller may reuse its buffer). */
    detect(frame: Uint8Array, height: number, width: number): Promise<FrameDetections> {
        if (this.failure !== undefined) return Promise.reject(this.failure);
        const copy = new Uint8Array(frame); // transferred to the thread
        return new Promise((resolve, reject) => {
            this.queue.push({ job: { id: this.nextId++, frame: copy.buffer, height, width }, resolve, reject });
            this.dispatch();
        });
    }

    /** Detections for each frame of an [N,H,W,3] batch, in frame order. */
    detectBatch(content: Uint8Array, count: number, height: number, width: number): Promise<FrameDetections[]> {
        const bytes = height * width * 3;
        return Promise.all(
            Array.from({ length: count }, (_, f) => this.detect(content.subarray(f * bytes, (f + 1) * bytes), height, width)),
        );
    }

    stats(): PoolStats {
        return { threads: this.threads.length, frames: this.frames, busyMs: this.busyMs, uptimeMs: performance.now() - this.started };
    }

    async close(): Promise<void> {
        this.broken(new Error("the detector pool was closed"));
        await Promise.all(this.threads.map((t) => t.worker.terminate()));
    }
}
