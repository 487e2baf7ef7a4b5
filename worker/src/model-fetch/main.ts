// model-fetch: an init container that puts a TensorFlow SavedModel where TF Serving will read it.
// Env: MODEL_URI (s3://bucket/prefix/, s3://bucket/model.tar.gz, https://.../model.tar.gz),
// MODEL_DIR (absolute, e.g. /models/ssd), MODEL_VERSION (default 1). Exit 0 on success, 1 on failure.
import { readSettings } from "./config";
import { ModelFetchError } from "./errors";
import { fetchModel } from "./fetch-model";
import { createS3Client } from "./s3";

function log(level: "info" | "error", msg: string, fields: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ time: new Date().toISOString(), level, component: "model-fetch", msg, ...fields });
    (level === "error" ? process.stderr : process.stdout).write(`${line}\n`);
}

async function main(): Promise<void> {
    const settings = readSettings(process.env);
    log("info", "fetching model", { uri: settings.source.uri, modelDir: settings.modelDir, defaultVersion: settings.version });
    const result = await fetchModel(settings, { s3: () => createS3Client() });
    log("info", result.reused ? "model already in place" : "model ready", { modelDir: result.modelDir, versions: result.versions });
}

main().catch((err: unknown) => {
    const kind = err instanceof ModelFetchError ? err.kind : "UNEXPECTED";
    log("error", err instanceof Error ? err.message : String(err), { kind });
    process.exitCode = 1;
});
