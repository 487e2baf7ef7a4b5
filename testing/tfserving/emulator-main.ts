// CLI: run the TF Serving emulator in its own process and print one JSON line with its URLs when ready.
//   tsx testing/tfserving/emulator-main.ts [--grpc-port N] [--rest-port M] [--latency-ms L]
//     [--loading-ms T] [--host H] [--output-encoding tensor_content|typed_fields]
import { startTfServingEmulator, type TfServingEmulatorOptions } from "./emulator";

const USAGE = "usage: emulator-main [--host H] [--grpc-port N] [--rest-port M] [--latency-ms L] [--loading-ms T] [--output-encoding tensor_content|typed_fields]";

export function parseEmulatorArgs(argv: string[]): TfServingEmulatorOptions {
    const options: TfServingEmulatorOptions = {};
    for (let i = 0; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
        const number = (): number => {
            const n = Number(value);
            if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got "${value}"\n${USAGE}`);
            return n;
        };
        switch (flag) {
            case "--host":
                options.host = value;
                break;
            case "--grpc-port":
                options.grpcPort = number();
                break;
            case "--rest-port":
                options.restPort = number();
                break;
            case "--latency-ms":
                options.latencyMs = number();
                break;
            case "--loading-ms":
                options.loadingForMs = number();
                break;
            case "--output-encoding":
                if (value !== "tensor_content" && value !== "typed_fields") throw new Error(`--output-encoding must be tensor_content or typed_fields\n${USAGE}`);
                options.outputEncoding = value;
                break;
            default:
                throw new Error(`unknown flag "${flag}"\n${USAGE}`);
        }
    }
    return options;
}

async function main(): Promise<void> {
    const emulator = await startTfServingEmulator(parseEmulatorArgs(process.argv.slice(2)));
    process.stdout.write(JSON.stringify({ grpcUrl: emulator.grpcUrl, restUrl: emulator.restUrl }) + "\n");
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
