// CLI: run the KServe v2 emulator in its own process and print one JSON line ({"url": ...}) when ready.
//   tsx testing/kserve/emulator-main.ts [--host H] [--port N] [--model NAME] [--seq-len S]
//     [--max-batch-size B] [--latency-ms L] [--loading-ms T] [--output-encoding raw|contents]
import { choiceFlag, numberFlag, parseFlags } from "../../ops/args";
import { givenOptions, runEmulatorCli } from "../emulator-cli";
import { startV2Emulator, type V2EmulatorOptions } from "./emulator";

const USAGE =
    "usage: tsx testing/kserve/emulator-main.ts [--host H] [--port N] [--model NAME] [--seq-len S] [--max-batch-size B] [--latency-ms L] [--loading-ms T] [--output-encoding raw|contents]";

const FLAGS = {
    host: { type: "string" },
    port: { type: "string" },
    model: { type: "string" },
    "seq-len": { type: "string" },
    "max-batch-size": { type: "string" },
    "latency-ms": { type: "string" },
    "loading-ms": { type: "string" },
    "output-encoding": { type: "string" },
} as const;

export function parseV2EmulatorArgs(argv: readonly string[]): V2EmulatorOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const candidates: V2EmulatorOptions = {
        host: flags.host,
        port: numberFlag(flags.port, "--port", { min: 0, integer: true }, USAGE),
        modelName: flags.model,
        seqLen: numberFlag(flags["seq-len"], "--seq-len", { min: 1, integer: true }, USAGE),
        maxBatchSize: numberFlag(flags["max-batch-size"], "--max-batch-size", { min: 1, integer: true }, USAGE),
        latencyMs: numberFlag(flags["latency-ms"], "--latency-ms", { min: 0 }, USAGE),
        loadingForMs: numberFlag(flags["loading-ms"], "--loading-ms", { min: 0 }, USAGE),
        outputEncoding: choiceFlag(flags["output-encoding"], "--output-encoding", ["raw", "contents"] as const, USAGE),
    };
    return givenOptions(candidates);
}

if (require.main === module)
    runEmulatorCli(
        () => startV2Emulator(parseV2EmulatorArgs(process.argv.slice(2))),
        (emulator) => ({ url: emulator.url }),
    );
