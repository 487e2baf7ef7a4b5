// What `npm start` prints about a result: people and cars per second of video, what was detected in all,
// how many frames at what speed.
import type { ResultDocument } from "../render/render";

export const PERSON_ID = 1;
export const CAR_ID = 3;

export interface SecondCounts {
    second: number;
    frames: number;
    /** Mean per sampled frame of that second. */
    people: number;
    cars: number;
}

/** Mean people and cars per sampled frame, for each whole second of video that has a frame. */
export function perSecondCounts(doc: Pick<ResultDocument, "frames" | "sampleFps">, videoFps?: number): SecondCounts[] {
    const seconds = new Map<number, SecondCounts>();
    for (const frame of doc.frames) {
        const ms = frame.timestampMs ?? (videoFps ? (frame.index * 1000) / (doc.sampleFps ?? videoFps) : undefined);
        if (ms === undefined) continue;
        const second = Math.floor(ms / 1000);
        const entry = seconds.get(second) ?? { second, frames: 0, people: 0, cars: 0 };
        entry.frames++;
        entry.people += frame.detections.filter((d) => d.classId === PERSON_ID).length;
        entry.cars += frame.detections.filter((d) => d.classId === CAR_ID).length;
        seconds.set(second, entry);
    }
    return [...seconds.values()]
        .sort((a, b) => a.second - b.second)
        .map((s) => ({ ...s, people: s.people / s.frames, cars: s.cars / s.frames }));
}

/** The per-second counts as rows of ten seconds: "  0-9 s   people  5 6 ...   cars  1 1 ...". */
export function perSecondTable(counts: readonly SecondCounts[]): string[] {
    if (counts.length === 0) return ["  (no frame has a timestamp: nothing to show per second)"];
    const last = counts[counts.length - 1].second;
    const bySecond = new Map(counts.map((c) => [c.second, c]));
    const cell = (v: number | undefined): string => (v === undefined ? "  ." : String(Math.round(v)).padStart(3));
    const lines: string[] = [];
    for (let start = 0; start <= last; start += 10) {
        const range = Array.from({ length: Math.min(10, last - start + 1) }, (_, i) => bySecond.get(start + i));
        const label = `${start}-${start + range.length - 1} s`.padStart(9);
        lines.push(`${label}   people${range.map((c) => cell(c?.people)).join("")}   cars${range.map((c) => cell(c?.cars)).join("")}`);
    }
    return lines;
}

/** "person 1510, car 318, truck 302": detections over all frames, most first. */
export function labelTotals(doc: Pick<ResultDocument, "frames">): [string, number][] {
    const totals = new Map<string, number>();
    for (const f of doc.frames) for (const d of f.detections) totals.set(d.label, (totals.get(d.label) ?? 0) + 1);
    return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
