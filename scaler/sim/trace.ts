// The load trace: when videos arrive and how long each takes to process on one node.
import type { Rng } from "./rng";

export interface Job {
    id: number;
    /** Seconds from the start of the run. */
    arrival: number;
    /** Seconds of work on one node. */
    processingSeconds: number;
}

/** A period of the trace with a constant Poisson arrival rate. */
export interface Phase {
    label: string;
    durationSeconds: number;
    videosPerMinute: number;
}

/** Quiet start, a burst, steady load, a spike, a trickle, then silence (so both designs can drain and settle). */
export const DEFAULT_PHASES: readonly Phase[] = [
    { label: "quiet", durationSeconds: 20 * 60, videosPerMinute: 0.3 },
    { label: "burst", durationSeconds: 10 * 60, videosPerMinute: 6 },
    { label: "steady", durationSeconds: 50 * 60, videosPerMinute: 1.5 },
    { label: "spike", durationSeconds: 5 * 60, videosPerMinute: 8 },
    { label: "trickle", durationSeconds: 65 * 60, videosPerMinute: 0.3 },
    { label: "silence", durationSeconds: 90 * 60, videosPerMinute: 0 },
];

export interface ProcessingTime {
    meanSeconds: number;
    /** Coefficient of variation of a log-normal distribution. */
    cv: number;
    minSeconds: number;
    maxSeconds: number;
}

/** 150 s per video on average, log-normal with 35 % variation, clipped to 30-540 s. */
export const DEFAULT_PROCESSING: ProcessingTime = { meanSeconds: 150, cv: 0.35, minSeconds: 30, maxSeconds: 540 };

export function processingSample(rng: Rng, p: ProcessingTime): number {
    const sigma2 = Math.log(1 + p.cv * p.cv);
    const mu = Math.log(p.meanSeconds) - sigma2 / 2;
    const value = Math.exp(mu + Math.sqrt(sigma2) * rng.normal());
    return Math.min(p.maxSeconds, Math.max(p.minSeconds, Math.round(value)));
}

/** Poisson arrivals per phase (exponential gaps), each with a sampled processing time. */
export function generateTrace(rng: Rng, phases: readonly Phase[] = DEFAULT_PHASES, processing = DEFAULT_PROCESSING): Job[] {
    const jobs: Job[] = [];
    let phaseStart = 0;
    for (const phase of phases) {
        const end = phaseStart + phase.durationSeconds;
        if (phase.videosPerMinute > 0) {
            const meanGap = 60 / phase.videosPerMinute;
            let t = phaseStart - meanGap * Math.log(1 - rng.next());
            while (t < end) {
                jobs.push({ id: jobs.length, arrival: Math.floor(t), processingSeconds: processingSample(rng, processing) });
                t -= meanGap * Math.log(1 - rng.next());
            }
        }
        phaseStart = end;
    }
    return jobs;
}

/** An arrival rate that changes over time (videos per minute at second t). */
export type RateFunction = (t: number) => number;

/**
 * Non-homogeneous Poisson arrivals by thinning: candidates at the peak rate, each kept with probability
 * rate(t) / peak. Each kept video gets a sampled processing time.
 */
export function generateFromRate(
    rng: Rng,
    rate: RateFunction,
    durationSeconds: number,
    peakPerMinute: number,
    processing = DEFAULT_PROCESSING,
): Job[] {
    const jobs: Job[] = [];
    const meanGap = 60 / peakPerMinute;
    let t = -meanGap * Math.log(1 - rng.next());
    while (t < durationSeconds) {
        const keep = rng.next() < rate(t) / peakPerMinute;
        const processingSeconds = processingSample(rng, processing);
        if (keep) jobs.push({ id: jobs.length, arrival: Math.floor(t), processingSeconds });
        t -= meanGap * Math.log(1 - rng.next());
    }
    return jobs;
}

export function traceDurationSeconds(phases: readonly Phase[] = DEFAULT_PHASES): number {
    return phases.reduce((sum, p) => sum + p.durationSeconds, 0);
}
