// Latency statistics shared by the benchmarks.

export interface LatencySummary {
    count: number;
    meanMs: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
    minMs: number;
}

/**
 * Nearest-rank percentile of an ascending-sorted list: the smallest value with at least p% of the
 * values at or below it. Always one of the samples; NaN for an empty list.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
    const n = sortedAscending.length;
    if (n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * n));
    return sortedAscending[rank - 1];
}

/** Summary of latency samples in milliseconds (NaN statistics when there are none). */
export function summarize(samplesMs: readonly number[]): LatencySummary {
    const sorted = [...samplesMs].sort((a, b) => a - b);
    const n = sorted.length;
    let total = 0;
    for (const v of sorted) total += v;
    return {
        count: n,
        meanMs: n === 0 ? NaN : total / n,
        p50Ms: percentile(sorted, 50),
        p90Ms: percentile(sorted, 90),
        p99Ms: percentile(sorted, 99),
        maxMs: n === 0 ? NaN : sorted[n - 1],
        minMs: n === 0 ? NaN : sorted[0],
    };
}

/** Rounds for display/JSON: 3 decimals keeps microseconds. */
export function round3(v: number): number {
    return Math.round(v * 1000) / 1000;
}
