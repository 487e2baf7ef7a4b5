// CLI: run the TF Serving emulator in its own process and print one JSON line with its URLs when ready.
//   tsx testing/tfserving/emulator-main.ts [--grpc-port N] [--rest-port M] [--latency-ms L]
//     [--loading-ms T] [--host H] [--output-encoding tensor_content|typed_fields]
import { choiceFlag, numberFlag, parseFlags } from "../../ops/args";
import { givenOptions, runEmulatorCli } from "../emulator-cli";
import { startTfServingEmulator, type TfServingEmulatorOptions } from "./emulator";

const USAGE =
    "usage: tsx testing/tfserving/emulator-main.ts [--host H] [--grpc-port N] [--rest-port M] [--latency-ms L] [--loading-ms T] [--output-encoding tensor_content|typed_fields]";

const FLAGS = {
    host: { type: "string" },
    "grpc-port": { type: "string" },
    "rest-port": { type: "string" },
    "latency-ms": { type: "string" },
    "loading-ms": { type: "string" },
    "output-encoding": { type: "string" },
} as const;

export function parseEmulatorArgs(argv: readonly string[]): TfServingEmulatorOptions {
    const flags = parseFlags(argv, FLAGS, USAGE);
    const candidates: TfServingEmulatorOptions = {
        host: flags.host,
        grpcPort: numberFlag(flags["grpc-port"], "--grpc-port", { min: 0, integer: true }, USAGE),
        restPort: numberFlag(flags["rest-port"], "--rest-port", { min: 0, integer: true }, USAGE),
        latencyMs: numberFlag(flags["latency-ms"], "--latency-ms", { min: 0 }, USAGE),
        loadingForMs: numberFlag(flags["loading-ms"], "--loading-ms", { min: 0 }, USAGE),
        outputEncoding: choiceFlag(flags["output-encoding"], "--output-encoding", ["tensor_content", "typed_fields"] as const, USAGE),
    };
    return givenOptions(candidates);
}

if (require.main === module)
    runEmulatorCli(
        () => startTfServingEmulator(parseEmulatorArgs(process.argv.slice(2))),
        (emulator) => ({ grpcUrl: emulator.grpcUrl, restUrl: emulator.restUrl }),
    );
