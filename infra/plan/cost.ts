// `npm run cost -- --stack NAME [--fps F] [--source-fps S] [--prices FILE]`: hourly cost of a stack at
// its minimum and maximum size, from the resources the real program declares (run under mocks) and
// the dated price table in infra/plan/pricing; with --fps, the cost per hour of video.
import { loadPriceTable } from "./pricing/table";
import { runStackUnderMocks } from "../mock-run/mock-run";
import { costArgs } from "./args";
import { acceleratorComparison, DEFAULT_SOURCE_FPS, stackCost, videoCost } from "./cost-model";
import { formatComparison, formatStackCost, formatVideoCost } from "./cost-format";
import { deriveStackShape } from "./stack-shape";
import { listStacks } from "./stacks";

async function main(): Promise<void> {
    const args = costArgs(process.argv.slice(2));
    if (!listStacks().includes(args.stack))
        throw new Error(`unknown stack "${args.stack}" (checked-in stacks: ${listStacks().join(", ")})`);
    const table = loadPriceTable(args.prices);
    const run = await runStackUnderMocks(args.stack);
    const region = run.config["aws:region"];
    if (region === undefined) throw new Error(`stack ${args.stack} sets no aws:region`);
    const shape = deriveStackShape(run.resources);
    const cost = stackCost(shape, table, region);
    const sourceFps = args.sourceFps ?? DEFAULT_SOURCE_FPS;
    const sections = [formatStackCost(args.stack, cost)];
    if (args.fps !== undefined) sections.push(formatVideoCost(videoCost(shape, cost, table, args.fps, sourceFps)));
    sections.push(formatComparison(acceleratorComparison(table, region, args.fps, sourceFps), region, args.fps, sourceFps));
    console.log(sections.join("\n\n"));
}

main().catch((err: unknown) => {
    console.error(`cost: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
