// Prometheus metrics in the text exposition format, hand-written (no client library needed).

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
    const entries = Object.entries(labels);
    if (entries.length === 0) return "";
    return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

interface Metric {
    render(): string;
}

export class Counter implements Metric {
    private readonly values = new Map<string, number>();
    constructor(
        readonly name: string,
        private readonly help: string,
    ) {}
    inc(labels: Labels = {}, by = 1): void {
        const key = labelText(labels);
        this.values.set(key, (this.values.get(key) ?? 0) + by);
    }
    get(labels: Labels = {}): number {
        return this.values.get(labelText(labels)) ?? 0;
    }
    render(): string {
        const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
        for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
        return lines.join("\n");
    }
}

export class Gauge implements Metric {
    private value = 0;
    constructor(
        readonly name: string,
        private readonly help: string,
    ) {}
    set(v: number): void {
        this.value = v;
    }
    get(): number {
        return this.value;
    }
    render(): string {
        return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.value}`].join("\n");
    }
}

export class Histogram implements Metric {
    private readonly counts: number[];
    private sum = 0;
    private count = 0;
    constructor(
        readonly name: string,
        private readonly help: string,
        private readonly buckets: number[],
    ) {
        this.counts = buckets.map(() => 0);
    }
    observe(v: number): void {
        this.sum += v;
        this.count++;
        for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
    }
    render(): string {
        const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
        this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
        lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
        return lines.join("\n");
    }
}

export class WorkerMetrics {
    readonly frames = new Counter("video_worker_frames_processed_total", "Frames sent to the model and recorded in results.");
    readonly batches = new Counter("video_worker_batches_total", "Predict batches completed.");
    readonly jobs = new Counter(
        "video_worker_jobs_total",
        "Jobs by outcome (succeeded, superseded, dead_lettered, retry_later, returned_on_shutdown, given_back, ignored).",
    );
    readonly modelPauses = new Counter(
        "video_worker_model_pauses_total",
        "Times the model server lost the model mid-job (NOT_FOUND) and the worker paused for it.",
    );
    readonly modelRetries = new Counter("video_worker_model_retries_total", "Predict calls retried after a transient failure.");
    readonly modelVersionRestarts = new Counter(
        "video_worker_model_version_restarts_total",
        "Jobs started again because another model version took over mid-job.",
    );
    readonly heartbeats = new Counter("video_worker_visibility_extensions_total", "ChangeMessageVisibility heartbeats sent.");
    readonly fps = new Gauge("video_worker_frames_per_second", "Frames per second of the most recent job (decode + inference).");
    readonly busy = new Gauge("video_worker_busy", "1 while a job is being processed.");
    readonly batchLatency = new Histogram(
        "video_worker_batch_latency_seconds",
        "Predict latency per batch, retries included.",
        [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
    readonly jobSeconds = new Histogram(
        "video_worker_job_duration_seconds",
        "Wall time per job.",
        [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    );

    render(): string {
        return (
            [
                this.frames,
                this.batches,
                this.jobs,
                this.modelPauses,
                this.modelRetries,
                this.modelVersionRestarts,
                this.heartbeats,
                this.fps,
                this.busy,
                this.batchLatency,
                this.jobSeconds,
            ]
                .map((m) => m.render())
                .join("\n") + "\n"
        );
    }
}
