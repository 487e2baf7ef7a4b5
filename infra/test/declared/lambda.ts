// A planned Lambda function, invoked on this machine the way the Node.js runtime would: its code
// archive unpacked into a task directory, its handler ("file.export") loaded from there, its declared
// environment variables plus the ones the Lambda service sets (region, function name, the execution
// role's session credentials), one scheduled event, and its timeout.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, type RecordedResource } from "../../mock-run/mock-run";

/** An asset as the mock run records it: by content hash, as the engine compares assets. */
interface RecordedAsset {
    fileAsset?: string;
    stringAsset?: string;
    archive?: Record<string, RecordedAsset> | string;
}

function sha256(file: string): string {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function filesUnder(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
}

/**
 * The function's code written into `taskRoot`: each file of its archive is the build output under dist/
 * with the same content (the plan knows files by content hash, as the engine does). Returns name -> source.
 */
export function unpackCode(fn: RecordedResource, taskRoot: string): Record<string, string> {
    const archive = (fn.inputs.code as RecordedAsset | undefined)?.archive;
    if (archive === undefined || typeof archive === "string") {
        throw new Error(`${fn.name}: code is not an asset archive the test can unpack: ${JSON.stringify(fn.inputs.code)}`);
    }
    const built = filesUnder(path.join(REPO_ROOT, "dist"));
    const sources: Record<string, string> = {};
    for (const [name, asset] of Object.entries(archive)) {
        const source = asset.fileAsset === undefined ? undefined : built.find((f) => sha256(f) === asset.fileAsset);
        if (source === undefined) {
            throw new Error(
                `${fn.name}: ${name} in its code archive is no file under dist/ (run npm run bundle): ${JSON.stringify(asset)}`,
            );
        }
        const target = path.join(taskRoot, name);
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(source, target);
        sources[name] = path.relative(REPO_ROOT, source);
    }
    return sources;
}

// Loads the handler like the runtime (require from the task root), invokes it once, prints the outcome as the last line.
const BOOTSTRAP = `
const [taskRoot, handlerName, eventJson, contextJson] = process.argv.slice(1);
const dot = handlerName.lastIndexOf(".");
const mod = require(require("path").join(taskRoot, handlerName.slice(0, dot)));
const handler = mod[handlerName.slice(dot + 1)];
if (typeof handler !== "function") { console.log("\\nLAMBDA " + JSON.stringify({ error: "handler " + handlerName + " is not a function" })); process.exit(1); }
Promise.resolve(handler(JSON.parse(eventJson), JSON.parse(contextJson))).then(
  (result) => console.log("\\nLAMBDA " + JSON.stringify({ result: result === undefined ? null : result })),
  (err) => { console.log("\\nLAMBDA " + JSON.stringify({ error: String(err && err.message || err) })); process.exitCode = 1; },
);`;

export interface LambdaInvocation {
    code: number | string;
    output: string;
    result?: unknown;
    error?: string;
}

/**
 * Invokes `fn` once with `event`. `serviceEnv` are the variables the Lambda service itself would set that
 * only the test can give (endpoint and credentials): everything else comes from the plan.
 */
export async function invokeLambda(
    fn: RecordedResource,
    region: string,
    taskRoot: string,
    event: unknown,
    serviceEnv: Record<string, string>,
): Promise<LambdaInvocation> {
    unpackCode(fn, taskRoot);
    const name = String(fn.inputs.name ?? fn.physicalName ?? fn.name);
    const declared = ((fn.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {}) as Record<
        string,
        string
    >;
    const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        // Set by the Lambda service for every function.
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.inputs.memorySize ?? 128),
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_EXECUTION_ENV: `AWS_Lambda_${String(fn.inputs.runtime)}`,
        LAMBDA_TASK_ROOT: taskRoot,
        TZ: ":UTC",
        ...declared,
        ...serviceEnv,
    };
    const timeoutMs = Number(fn.inputs.timeout ?? 3) * 1000;
    const context = { functionName: name, memoryLimitInMB: String(fn.inputs.memorySize ?? 128), awsRequestId: "declared-run-1" };
    const child: ChildProcess = spawn(
        process.execPath,
        ["-e", BOOTSTRAP, taskRoot, String(fn.inputs.handler), JSON.stringify(event), JSON.stringify(context)],
        {
            cwd: taskRoot,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    let output = "";
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await new Promise<number | string>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (c, signal) => resolve(c ?? signal ?? "unknown"));
    });
    clearTimeout(timer);
    const last = /\nLAMBDA (.*)\s*$/.exec(output)?.[1];
    const outcome =
        last === undefined
            ? { error: `no outcome (exit ${code}; timeout ${timeoutMs} ms)` }
            : (JSON.parse(last) as { result?: unknown; error?: string });
    return { code, output, ...outcome };
}
