// Summaries of simulation results: the numbers the issue asks for, as JSON and as a markdown table.
import type { SimResult } from "./model";

export interface Summary {
    design: string;
    jobs: number;
    completedOnce: number;
    duplicates: number;
    unfinished: number;
    /** Last completion minus last arrival. */
    timeToDrainSeconds: number;
    peakBacklog: number;
    peakInstances: number;
    instanceHours: number;
    jobsInterruptedByScaleIn: number;
    wastedWorkMinutes: number;
    p50LatencySeconds: number;
    p95LatencySeconds: number;
    maxLatencySeconds: number;
    scaleOutActivities: number;
    scaleInActivities: number;
}

function percentile(sorted: readonly number[], p: number): number {
    if (sorted.length === 0) return Number.NaN;
    const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[idx];
}

export function summarize(result: SimResult, arrivals: readonly number[]): Summary {
    const latencies = result.completedAt
        .map((done, id) => done - arrivals[id])
        .filter((x) => Number.isFinite(x))
        .sort((a, b) => a - b);
    const lastArrival = Math.max(...arrivals);
    const lastCompletion = Math.max(...result.completedAt.filter((x) => Number.isFinite(x)));
    return {
        design: result.design,
        jobs: result.jobs,
        completedOnce: result.completionsPerJob.filter((c) => c === 1).length,
        duplicates: result.completionsPerJob.filter((c) => c > 1).length,
        unfinished: result.completionsPerJob.filter((c) => c === 0).length,
        timeToDrainSeconds: lastCompletion - lastArrival,
        peakBacklog: result.peakBacklog,
        peakInstances: result.peakInstances,
        instanceHours: Math.round((result.instanceSeconds / 3600) * 100) / 100,
        jobsInterruptedByScaleIn: result.terminations.filter((t) => t.busy).length,
        wastedWorkMinutes: Math.round((result.wastedWorkSeconds / 60) * 10) / 10,
        p50LatencySeconds: percentile(latencies, 50),
        p95LatencySeconds: percentile(latencies, 95),
        maxLatencySeconds: latencies[latencies.length - 1] ?? Number.NaN,
        scaleOutActivities: result.activities.filter((a) => a.to > a.from).length,
        scaleInActivities: result.activities.filter((a) => a.to < a.from).length,
    };
}

const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

export function markdownTable(summaries: readonly Summary[]): string {
    const rows: [string, (s: Summary) => string][] = [
        ["videos (completed exactly once)", (s) => `${s.jobs} (${s.completedOnce})`],
        ["time to drain after the last arrival", (s) => minutes(s.timeToDrainSeconds)],
        ["peak backlog (visible + in flight)", (s) => String(s.peakBacklog)],
        ["peak instances", (s) => String(s.peakInstances)],
        ["instance-hours", (s) => s.instanceHours.toFixed(2)],
        ["jobs interrupted by scale-in", (s) => String(s.jobsInterruptedByScaleIn)],
        ["work thrown away by interruptions", (s) => `${s.wastedWorkMinutes.toFixed(1)} min`],
        [
            "job latency p50 / p95 / max",
            (s) => `${minutes(s.p50LatencySeconds)} / ${minutes(s.p95LatencySeconds)} / ${minutes(s.maxLatencySeconds)}`,
        ],
        ["scale-out / scale-in activities", (s) => `${s.scaleOutActivities} / ${s.scaleInActivities}`],
    ];
    const header = `| | ${summaries.map((s) => s.design).join(" | ")} |`;
    const rule = `|---|${summaries.map(() => "---").join("|")}|`;
    return [header, rule, ...rows.map(([label, f]) => `| ${label} | ${summaries.map(f).join(" | ")} |`)].join("\n");
}
