// metrics.ts and cloudwatch.ts: the status endpoint's metrics text and the job metrics.
import { strict as assert } from "node:assert";
import { WorkerMetrics } from "../src/metrics";

describe("worker metrics text", () => {
    it("renders Prometheus exposition format", () => {
        const m = new WorkerMetrics();
        m.frames.inc({}, 12);
        m.jobs.inc({ outcome: "succeeded" });
        m.batchLatency.observe(0.03);
        const text = m.render();
        assert.match(text, /^# TYPE video_worker_frames_processed_total counter$/m);
        assert.match(text, /^video_worker_frames_processed_total 12$/m);
        assert.match(text, /^video_worker_jobs_total\{outcome="succeeded"\} 1$/m);
        assert.match(text, /^video_worker_batch_latency_seconds_bucket\{le="0.05"\} 1$/m);
        assert.match(text, /^video_worker_batch_latency_seconds_bucket\{le="0.025"\} 0$/m);
    });
});
