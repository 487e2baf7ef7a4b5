// CLI: run the KServe v2 emulator in its own process and print one JSON line ({"url": ...}) when ready.
//   tsx testing/kserve/emulator-main.ts [--host H] [--port N] [--model NAME] [--seq-len S]
//     [--max-batch-size B] [--latency-ms L] [--loading-ms T] [--output-encoding raw|contents]
import { startV2Emulator, type V2EmulatorOptions } from "./emulator";

const USAGE = "usage: kserve emulator-main [--host H] [--port N] [--model NAME] [--seq-len S] [--max-batch-size B] [--latency-ms L] [--loading-ms T] [--output-encoding raw|contents]";

export function parseV2EmulatorArgs(argv: readonly string[]): V2EmulatorOptions {
    const options: V2EmulatorOptions = {};
    for (let i = 0; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
        const number = (min: number, integer: boolean): number => {
            const n = Number(value);
            if (value.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
                throw new Error(`${flag} must be ${integer ? "a whole number" : "a number"} >= ${min}, got "${value}"\n${USAGE}`);
            }
            return n;
        };
        switch (flag) {
            case "--host":
                options.host = value;
                break;
            case "--port":
                options.port = number(0, true);
                break;
            case "--model":
                options.modelName = value;
                break;
            case "--seq-len":
                options.seqLen = number(1, true);
                break;
            case "--max-batch-size":
                options.maxBatchSize = number(1, true);
                break;
            case "--latency-ms":
                options.latencyMs = number(0, false);
                break;
            case "--loading-ms":
                options.loadingForMs = number(0, false);
                break;
            case "--output-encoding":
                if (value !== "raw" && value !== "contents") throw new Error(`--output-encoding must be raw or contents, got "${value}"\n${USAGE}`);
                options.outputEncoding = value;
                break;
            default:
                throw new Error(`unknown flag "${flag}"\n${USAGE}`);
        }
    }
    return options;
}

async function main(): Promise<void> {
    const emulator = await startV2Emulator(parseV2EmulatorArgs(process.argv.slice(2)));
    process.stdout.write(JSON.stringify({ url: emulator.url }) + "\n");
    const shutdown = (): void => void emulator.stop().then(() => process.exit(0));
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
    });
}
