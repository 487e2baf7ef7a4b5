// model-fetch: an init container that puts a TensorFlow SavedModel where TF Serving will read it.
// Env: MODEL_URI (s3://bucket/prefix/, s3://bucket/model.tar.gz, https://.../model.tar.gz),
// MODEL_DIR (absolute, e.g. /models/ssd), MODEL_VERSION (default 1). Exit 0 on success, 1 on failure.
import { readSettings } from "./config";
import { ModelFetchError } from "./errors";
import { fetchModel } from "./fetch-model";
import { createS3Client } from "./s3";
import { createLogger } from "../src/log";

/** The worker's logger: same line format, and an unexpected error keeps its stack and cause. */
const logger = createLogger({}, { component: "model-fetch" });

function log(level: "info" | "error", msg: string, fields: Record<string, unknown> = {}): void {
    logger[level](msg, fields);
}

async function main(): Promise<void> {
    const settings = readSettings(process.env);
    log("info", "fetching model", { uri: settings.source.uri, modelDir: settings.modelDir, defaultVersion: settings.version });
    const result = await fetchModel(settings, { s3: () => createS3Client() });
    log("info", result.reused ? "model already in place" : "model ready", { modelDir: result.modelDir, versions: result.versions });
}

main().catch((err: unknown) => {
    const kind = err instanceof ModelFetchError ? err.kind : "UNEXPECTED";
    log(
        "error",
        err instanceof Error ? err.message : String(err),
        err instanceof ModelFetchError || !(err instanceof Error) ? { kind } : { kind, error: err },
    );
    process.exitCode = 1;
});
