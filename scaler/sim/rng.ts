// A small seeded PRNG (mulberry32) so every simulation run is reproducible.

export interface Rng {
    /** Uniform in [0, 1). */
    next(): number;
    /** Standard normal (Box-Muller). */
    normal(): number;
}

export function seededRng(seed: number): Rng {
    let state = seed >>> 0;
    const next = (): number => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return {
        next,
        normal() {
            const u = Math.max(next(), Number.EPSILON);
            const v = next();
            return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        },
    };
}
