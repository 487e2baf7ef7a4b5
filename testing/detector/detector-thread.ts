// One CenterNet per worker thread (the WASM backend runs on the thread that calls it, one core each).
// Messages in: { id, frame (ArrayBuffer), height, width }; out: { id, detections, busyMs } or { id, error }.
import { parentPort } from "node:worker_threads";
import { loadCenterNet } from "./centernet";

export interface FrameJob {
    id: number;
    frame: ArrayBuffer;
    height: number;
    width: number;
}

async function main(): Promise<void> {
    const port = parentPort;
    if (port === null) throw new Error("detector-thread.ts runs only as a worker thread");
    const detector = await loadCenterNet();
    port.on("message", (job: FrameJob) => {
        const started = performance.now();
        try {
            const detections = detector.detect(new Uint8Array(job.frame), job.height, job.width);
            port.postMessage({ id: job.id, detections, busyMs: performance.now() - started });
        } catch (err) {
            port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err), busyMs: performance.now() - started });
        }
    });
    port.postMessage({ ready: true });
}

main().catch((err: unknown) => {
    parentPort?.postMessage({ fatal: err instanceof Error ? err.message : String(err) });
});
