// The simulation's picture: for each design, visible and in-flight messages and instances (running or
// starting) over time, one panel per design on the same scales. Plain SVG text, deterministic, no
// dependencies, so the committed figure can be checked against what the code draws.
import type { SimResult } from "./model";

const WIDTH = 960;
const PANEL_HEIGHT = 210;
const MARGIN = { left: 52, right: 16, top: 34, bottom: 30, between: 46 };

const SERIES = [
    { key: "visible", label: "visible messages", color: "#1f77b4" },
    { key: "inFlight", label: "in-flight messages", color: "#ff7f0e" },
    { key: "instances", label: "instances (running or starting)", color: "#222222" },
] as const;

function escapeXml(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function niceStep(max: number): number {
    const raw = max / 5;
    const pow = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
    return 10 * pow;
}

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/** Renders both designs' timelines; `title` goes on top. */
export function renderTimelineSvg(results: readonly SimResult[], title: string): string {
    const horizon = Math.max(...results.map((r) => r.horizonSeconds));
    const yMax = Math.max(1, ...results.flatMap((r) => r.timeline.map((o) => Math.max(o.visible, o.inFlight, o.inService + o.pending))));
    const yStep = niceStep(yMax);
    const yTop = Math.ceil(yMax / yStep) * yStep;
    const plotW = WIDTH - MARGIN.left - MARGIN.right;
    const height = MARGIN.top + results.length * PANEL_HEIGHT + (results.length - 1) * MARGIN.between + MARGIN.bottom + 24;
    const x = (t: number) => MARGIN.left + (t / horizon) * plotW;
    const hourStep = horizon > 12 * 3600 ? 3 : horizon > 6 * 3600 ? 1 : 0.5;

    const out: string[] = [];
    out.push(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    );
    out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
    out.push(`<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
    results.forEach((r, i) => {
        const top = MARGIN.top + i * (PANEL_HEIGHT + MARGIN.between) + 14;
        const bottom = top + PANEL_HEIGHT - 14;
        const y = (v: number) => bottom - (v / yTop) * (bottom - top);
        out.push(`<text x="${MARGIN.left}" y="${top - 6}" font-weight="bold">${escapeXml(r.design)}</text>`);
        for (let v = 0; v <= yTop; v += yStep) {
            out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e5e5e5"/>`);
            out.push(`<text x="${MARGIN.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end" fill="#555">${v}</text>`);
        }
        for (let h = 0; h * 3600 <= horizon; h += hourStep) {
            const xx = fmt(x(h * 3600));
            out.push(`<line x1="${xx}" x2="${xx}" y1="${top}" y2="${bottom}" stroke="#f0f0f0"/>`);
            out.push(`<text x="${xx}" y="${bottom + 14}" text-anchor="middle" fill="#555">${fmt(h)} h</text>`);
        }
        out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${bottom}" y2="${bottom}" stroke="#999"/>`);
        for (const s of SERIES) {
            const value = (o: SimResult["timeline"][number]) =>
                s.key === "instances" ? o.inService + o.pending : s.key === "visible" ? o.visible : o.inFlight;
            // Step lines: each beat's value holds until the next beat.
            const pts: string[] = [];
            r.timeline.forEach((o, k) => {
                const next = k + 1 < r.timeline.length ? r.timeline[k + 1].t : horizon;
                pts.push(`${fmt(x(o.t))},${fmt(y(value(o)))}`, `${fmt(x(next))},${fmt(y(value(o)))}`);
            });
            const width = s.key === "instances" ? 2 : 1.3;
            out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${width}" points="${pts.join(" ")}"/>`);
        }
    });
    const legendY = height - 10;
    let lx = MARGIN.left;
    for (const s of SERIES) {
        out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${s.color}" stroke-width="2"/>`);
        out.push(`<text x="${lx + 28}" y="${legendY}">${escapeXml(s.label)}</text>`);
        lx += 40 + s.label.length * 6.5;
    }
    out.push(`</svg>`);
    return out.join("\n") + "\n";
}
