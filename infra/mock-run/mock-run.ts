// Runs the real Pulumi program (infra/index.ts) under pulumi.runtime.setMocks in a child process,
// with a stack file's config (plus Pulumi.yaml defaults, as the CLI would apply them) and overrides.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { MockWorld } from "./mock-world";

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** The name AWS will show (explicit name input, else the provider's auto-name); absent for unnamed types. */
    physicalName?: string;
    /** physicalName is the provider's auto-name: AWS shows the same prefix with another random suffix. */
    autoNamed?: boolean;
    /** URN of the parent resource, when it has one. */
    parent?: string;
    /** The resource's ignoreChanges option, when set. */
    ignoreChanges?: string[];
    /** URNs of the resources it waits for (explicit dependsOn and input dependencies), when any. */
    dependsOn?: string[];
    /** Alias URNs (resources it takes over in the state), when any. */
    aliases?: string[];
    /**
     * The URN the Pulumi engine gives it: the full chain of parent types (the mock monitor's own URNs keep
     * only the parent's last type, as `parent` and `dependsOn` above do).
     */
    urn: string;
    /** A custom resource (false for component resources, which have no physical existence). */
    custom: boolean;
    /** The id the mocks gave it (custom resources only). */
    id?: string;
    /** Outputs a later run of the provider depends on (a launch template's latestVersion), when any. */
    outputs?: { latestVersion?: number };
    /** Every alias as the engine resolves it (specs and URNs, and those inherited from the parent's aliases). */
    aliasUrns?: string[];
    /** For each input property, the URNs (engine form) of the resources its value came from. */
    propertyDependencies?: Record<string, string[]>;
    /** Resource options the engine acts on when it replaces or deletes. */
    options?: {
        deleteBeforeReplace?: boolean;
        protect?: boolean;
        retainOnDelete?: boolean;
        replaceOnChanges?: string[];
        /** customTimeouts as the engine passes them to the provider ("10m", "1h30m"), when set. */
        customTimeouts?: { create?: string; update?: string; delete?: string };
    };
}

export interface MockRunResult {
    stack: string;
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    /** Names of stack outputs that are secret. */
    secretOutputs: string[];
    /** Invoke tokens the mocks had no answer for (empty in a healthy run). */
    unmockedCalls: string[];
    /** Every invoke token the program called (the AWS read calls a preview makes). */
    calls: string[];
    /** Full config keys passed to the program. */
    config: Record<string, string>;
    /** Messages the program logged with pulumi.log.warn, in order. */
    warnings: string[];
}

export interface MockRunOptions {
    /** Project keys without the `eks-inference:` prefix; namespaced keys (`aws:region`) as they are. */
    config?: Record<string, string>;
    /** Keys (same spelling as `config`) whose values are secrets. */
    secretKeys?: string[];
    /** Run as `pulumi preview` would: outputs that exist only after apply are unknown. */
    preview?: boolean;
    /** The mocked account: caller, zones, instance type offerings, existing clusters. */
    world?: MockWorld;
    /**
     * The stack's state before this run (a previous run's resources): the engine keeps the old value of every
     * ignoreChanges path of a resource it already has, so the provider (and the program) sees that value.
     */
    prior?: RecordedResource[];
    /** Repository root to run the program from (a copy with an edited file); default this checkout. */
    root?: string;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const CHILD = path.join(__dirname, "mock-program.ts");
const CHILD_LOADER = path.join(__dirname, "child-loader.cjs");
/**
 * V8's compiled code for the modules every child loads (the Pulumi SDKs above all), kept on disk by Node
 * (NODE_COMPILE_CACHE; entries are checked against the source) so that only the first child compiles them.
 */
const COMPILE_CACHE = process.env.NODE_COMPILE_CACHE || path.join(os.tmpdir(), "eks-inference-node-compile-cache");
const MAX_CHILDREN = 2;

function configText(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function fullKey(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/** The config the CLI would give the program for `stack`: Pulumi.yaml defaults, then the stack file, then overrides. */
export function stackConfig(stack: string, options: MockRunOptions = {}): { config: Record<string, string>; secretKeys: string[] } {
    const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config?: Record<string, { default?: unknown }>;
    };
    const config: Record<string, string> = {};
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        if (spec.default !== undefined) config[fullKey(project.name, key)] = configText(spec.default);
    }
    const stackFile = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${path.basename(stackFile)}`);
    const stackDoc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
        if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            throw new Error(
                `${path.basename(stackFile)}: ${key} is an encrypted secret, which cannot be decrypted without the Pulumi CLI; pass it as an override with secretKeys`,
            );
        }
        config[fullKey(project.name, key)] = configText(value);
    }
    for (const [key, value] of Object.entries(options.config ?? {})) config[fullKey(project.name, key)] = value;
    const secretKeys = (options.secretKeys ?? []).map((k) => fullKey(project.name, k));
    return { config, secretKeys };
}

let running = 0;
const waiting: (() => void)[] = [];
async function withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
        return await work();
    } finally {
        running--;
        waiting.shift()?.();
    }
}

/**
 * Runs with the same stack and options within one process (mocha runs every test file in one) share one child
 * run; each caller gets its own copy. The program's files must not change between two such runs: a test that
 * edits files runs the program from a copy (options.root), which is never shared.
 */
const shared = new Map<string, Promise<MockRunResult>>();

/** Runs the program for `stack`; rejects with the program's own message when it fails. */
export function runStackUnderMocks(stack: string, options: MockRunOptions = {}): Promise<MockRunResult> {
    if (options.root !== undefined) return runChild(stack, options);
    const key = JSON.stringify([stack, options]);
    let run = shared.get(key);
    if (run === undefined) {
        run = runChild(stack, options);
        shared.set(key, run);
    }
    return run.then((result) => structuredClone(result));
}

/**
 * Starts the runs a test file will ask for, so that they queue for the child slots at once instead of one
 * after the other as its tests reach them. Each test still calls runStackUnderMocks with the same options
 * (the shared run) and gets its result, or its rejection, there.
 */
export function prefetchStackRuns(runs: [stack: string, options?: MockRunOptions][]): void {
    for (const [stack, options] of runs) runStackUnderMocks(stack, options).catch(() => undefined);
}

function runChild(stack: string, options: MockRunOptions): Promise<MockRunResult> {
    const { config, secretKeys } = stackConfig(stack, options);
    return withSlot(
        () =>
            new Promise<MockRunResult>((resolve, reject) => {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mock-run-"));
                const resultFile = path.join(dir, "result.json");
                const priorFile = path.join(dir, "prior.json");
                if (options.prior !== undefined) fs.writeFileSync(priorFile, JSON.stringify(options.prior));
                const root = options.root ?? REPO_ROOT;
                const child = spawn(
                    process.execPath,
                    [
                        "--require",
                        path.join(root, path.relative(REPO_ROOT, CHILD_LOADER)),
                        path.join(root, path.relative(REPO_ROOT, CHILD)),
                    ],
                    {
                        cwd: root,
                        env: {
                            ...process.env,
                            NODE_COMPILE_CACHE: COMPILE_CACHE,
                            PULUMI_CONFIG: JSON.stringify(config),
                            PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
                            MOCK_RUN_STACK: stack,
                            MOCK_RUN_RESULT: resultFile,
                            MOCK_RUN_PREVIEW: options.preview === true ? "true" : "false",
                            MOCK_RUN_WORLD: JSON.stringify(options.world ?? {}),
                            MOCK_RUN_PRIOR: options.prior === undefined ? "" : priorFile,
                        },
                        stdio: ["ignore", "pipe", "pipe"],
                    },
                );
                let stderr = "";
                child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
                child.stdout.on("data", () => undefined);
                child.on("error", reject);
                child.on("close", (code) => {
                    try {
                        if (!fs.existsSync(resultFile)) {
                            reject(new Error(`mock run of ${stack} exited ${code} without a result:\n${stderr}`));
                            return;
                        }
                        const parsed = JSON.parse(fs.readFileSync(resultFile, "utf8")) as { error?: string } & Omit<
                            MockRunResult,
                            "config"
                        >;
                        if (parsed.error !== undefined) reject(new Error(parsed.error));
                        else resolve({ ...parsed, config });
                    } finally {
                        fs.rmSync(dir, { recursive: true, force: true });
                    }
                });
            }),
    );
}
