// The traffic shapes the simulation compares the two designs on. Each is a seeded generator of a trace
// plus the horizon to simulate (the trace, then quiet time for both designs to drain and settle).
import type { Rng } from "./rng";
import { DEFAULT_PHASES, generateFromRate, generateTrace, traceDurationSeconds, type Job } from "./trace";

export interface Shape {
    name: string;
    description: string;
    horizonSeconds: number;
    generate(rng: Rng): Job[];
}

const HOUR = 3600;

/** The original simulation's trace: quiet, burst, steady, spike, trickle, then 90 min of silence (4 h). */
export const PHASES: Shape = {
    name: "phases",
    description:
        "quiet 20 min at 0.3/min, burst 10 min at 6/min, steady 50 min at 1.5/min, spike 5 min at 8/min, trickle 65 min at 0.3/min, silence 90 min",
    horizonSeconds: traceDurationSeconds(DEFAULT_PHASES),
    generate: (rng) => generateTrace(rng, DEFAULT_PHASES),
};

/** A working day: 0.1 videos/min at 03:00, 1.5/min at 15:00, a cosine in between; 24 h, then 1 h to drain. */
export const DIURNAL: Shape = {
    name: "diurnal",
    description: "24 h, a cosine between 0.1 videos/min (03:00) and 1.5/min (15:00), then 1 h without uploads",
    horizonSeconds: 25 * HOUR,
    generate: (rng) => {
        const low = 0.1;
        const high = 1.5;
        const rate = (t: number) => low + ((high - low) * (1 - Math.cos((2 * Math.PI * (t - 3 * HOUR)) / (24 * HOUR)))) / 2;
        return generateFromRate(rng, rate, 24 * HOUR, high);
    },
};

/**
 * Rare large bursts: 8 h with four bursts at random times (at least 45 min apart), each 30-60 videos
 * within 3 minutes, nothing in between; then 1 h to drain.
 */
export const BURSTS: Shape = {
    name: "bursts",
    description:
        "8 h, 4 bursts at random times (>= 45 min apart), each 30-60 videos in 3 min, nothing in between; then 1 h without uploads",
    horizonSeconds: 9 * HOUR,
    generate: (rng) => {
        const length = 8 * HOUR;
        const starts: number[] = [];
        while (starts.length < 4) {
            const at = Math.floor(rng.next() * (length - 10 * 60));
            if (starts.every((s) => Math.abs(s - at) >= 45 * 60)) starts.push(at);
        }
        const burstVideos = starts.map(() => 30 + Math.floor(rng.next() * 31));
        const rate = (t: number) => {
            let r = 0;
            starts.forEach((s, i) => {
                if (t >= s && t < s + 180) r += burstVideos[i] / 3;
            });
            return r;
        };
        return generateFromRate(rng, rate, length, 60 / 3);
    },
};

export const SHAPES: readonly Shape[] = [PHASES, DIURNAL, BURSTS];
