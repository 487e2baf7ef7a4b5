// Text report of `npm run cost` (pure).
import type { ComparisonRow, StackCost, VideoCost } from "./cost-model";

const usd = (n: number, digits = 3): string => `$${n.toFixed(digits)}`;

export function formatStackCost(stack: string, cost: StackCost): string {
    const itemWidth = Math.max(...cost.lines.map((l) => l.item.length), 10);
    const lines = [
        `Cost of stack ${stack} in ${cost.region}, on-demand prices of ${cost.priceDate} (* = approximate price)`,
        "",
        `  ${"item".padEnd(itemWidth)}  ${"min $/h".padStart(9)}  ${"max $/h".padStart(9)}  detail`,
    ];
    for (const l of cost.lines) {
        lines.push(
            `  ${l.item.padEnd(itemWidth)}  ${usd(l.minUsdPerHour, 4).padStart(9)}  ${usd(l.maxUsdPerHour, 4).padStart(9)}  ${l.detail}${l.approximate ? " *" : ""}`,
        );
    }
    lines.push(
        `  ${"total".padEnd(itemWidth)}  ${usd(cost.minUsdPerHour, 4).padStart(9)}  ${usd(cost.maxUsdPerHour, 4).padStart(9)}  per hour`,
    );
    lines.push(
        `  ${"".padEnd(itemWidth)}  ${usd(cost.minUsdPerHour * 730, 0).padStart(9)}  ${usd(cost.maxUsdPerHour * 730, 0).padStart(9)}  per 730-hour month`,
    );
    lines.push("", ...cost.notes.map((n) => `note: ${n}`));
    return lines.join("\n");
}

export function formatVideoCost(v: VideoCost): string {
    const hoursPerNodeHour = v.fps / v.sourceFps;
    return [
        `Video: one ${v.instanceType} node (${v.nodeGroup}, ${usd(v.nodeUsdPerHour, 4)}/h) at ${v.fps} frames/s processes ${hoursPerNodeHour.toFixed(2)} hours of ${v.sourceFps} fps video per hour.`,
        `  node only:                  ${usd(v.nodeUsdPerVideoHour, 4)} per hour of video  (= node $/h / (fps / ${v.sourceFps}))`,
        `  whole stack at max size:    ${usd(v.stackAtMaxUsdPerVideoHour, 4)} per hour of video  (= all of the stack's $/h at max size, BERT included / (${v.nodeGroup} max nodes x fps / ${v.sourceFps}))`,
    ].join("\n");
}

export function formatComparison(rows: ComparisonRow[], region: string, fps?: number, sourceFps = 30): string {
    const width = Math.max(...rows.map((r) => r.name.length), 8);
    const perVideo = fps === undefined ? "" : `  $/video-hour at ${fps} fps`;
    const lines = [
        `Accelerator options for video (the 2019 reference design's comparison, then today's on-demand prices in ${region}):`,
        `  ${"option".padEnd(width)}  ${"$/h".padStart(7)}  ${"vs p3.2xlarge".padStart(13)}${perVideo}`,
    ];
    let era = true;
    for (const r of rows) {
        if (!r.historical && era) {
            lines.push(`  -- today (${region}) --`);
            era = false;
        }
        const share = `${(r.shareOfP3 * 100).toFixed(1)}%`;
        const video = r.usdPerVideoHour === undefined ? "" : `  ${usd(r.usdPerVideoHour, 4)}`;
        lines.push(
            `  ${r.name.padEnd(width)}  ${usd(r.usdPerHour, 3).padStart(7)}  ${share.padStart(13)}${video}${r.approximate ? " *" : ""}${r.historical ? " (2019, historical)" : ""}`,
        );
    }
    lines.push(
        "  2019: Elastic Inference no longer exists (retired April 2024). Today's throughput differs per accelerator:",
        `  measure fps with npm run bench:worker before comparing $/video-hour${fps === undefined ? "" : ` (the column assumes every option reaches ${fps} fps on ${sourceFps} fps video)`}.`,
    );
    return lines.join("\n");
}
