// Build (if missing or stale) and load the shipped scaler bundle, dist/scaler/index.js, the same way
// `npm run bundle:scaler` does, so tests exercise exactly what the Pulumi program uploads.
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";

export const REPO_ROOT = path.join(__dirname, "..", "..");
export const BUNDLE_PATH = path.join(REPO_ROOT, "dist", "scaler", "index.js");
const SOURCE_DIR = path.join(REPO_ROOT, "scaler", "src");

function newestSourceMtime(): number {
    return Math.max(...fs.readdirSync(SOURCE_DIR).map((f) => fs.statSync(path.join(SOURCE_DIR, f)).mtimeMs));
}

/** Rebuild dist/scaler/index.js when it is missing or older than any file in scaler/src. */
export function ensureScalerBundle(): string {
    const stale = !fs.existsSync(BUNDLE_PATH) || fs.statSync(BUNDLE_PATH).mtimeMs < newestSourceMtime();
    if (stale) {
        buildSync({
            entryPoints: [path.join(SOURCE_DIR, "handler.ts")],
            bundle: true,
            platform: "node",
            target: "node24",
            format: "cjs",
            minify: true,
            sourcemap: true,
            outfile: BUNDLE_PATH,
            logLevel: "error",
        });
    }
    return BUNDLE_PATH;
}

export type BundledHandler = (event?: unknown) => Promise<unknown>;

/**
 * A fresh "container": forget the cached module, set the Lambda environment, and require the bundle
 * (which validates the environment and creates its clients at load, as on a cold start).
 */
export function coldStart(env: Record<string, string | undefined>): BundledHandler {
    for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    delete require.cache[require.resolve(BUNDLE_PATH)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the built CommonJS bundle is the point
    const mod = require(BUNDLE_PATH) as { handler?: unknown };
    if (typeof mod.handler !== "function") throw new Error(`${BUNDLE_PATH} does not export a handler function`);
    return mod.handler as BundledHandler;
}
