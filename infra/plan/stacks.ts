// The checked-in stacks (Pulumi.<stack>.yaml beside Pulumi.yaml) and their config, for the plan and
// cost tools and the CI workflows. Also a tiny CLI: `tsx infra/plan/stacks.ts --list | --region-of STACK | --cluster-of STACK |
// --deploy-matrix` (deploy.yml's `up` matrix: each stack's runner from DEPLOY_RUNNER / IMAGE_BUILD_RUNNER, infra/plan/deploy-runner.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT } from "../config/config";
import { stacksArgs } from "./args";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/;

/** Stack names from the Pulumi.<stack>.yaml files in `root`, sorted. */
export function listStacks(root: string = REPO_ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((f) => STACK_FILE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The stack file's `config:` map as strings (objects JSON-encoded, as the Pulumi CLI passes them). */
export function readStackConfig(stack: string, root: string = REPO_ROOT): Record<string, string> {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = listStacks(root);
        throw new Error(`unknown stack "${stack}": no ${path.basename(file)} (checked-in stacks: ${known.join(", ") || "none"})`);
    }
    const doc: unknown = parse(fs.readFileSync(file, "utf8"));
    const config = (doc as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new Error(`${path.basename(file)}: "config" must be a map`);
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/** Full keys (`project:key`) of the config Pulumi.yaml declares `secret: true`. */
export function secretConfigKeys(root: string = REPO_ROOT): string[] {
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name?: string; config?: Record<string, unknown> };
    const keys: string[] = [];
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        if (typeof spec === "object" && spec !== null && (spec as { secret?: unknown }).secret === true) {
            keys.push(key.includes(":") ? key : `${project.name}:${key}`);
        }
    }
    return keys;
}

/** The stack's AWS region (`aws:region` in its stack file). */
export function stackRegion(stack: string, root: string = REPO_ROOT): string {
    const region = readStackConfig(stack, root)["aws:region"];
    if (region === undefined || region === "") throw new Error(`Pulumi.${stack}.yaml sets no aws:region`);
    return region;
}

/** The stack's EKS cluster name: the program names it `<project>-<stack>` (infra/index.ts baseName). */
export function stackClusterName(stack: string, root: string = REPO_ROOT): string {
    readStackConfig(stack, root); // an unknown stack fails here, naming the checked-in ones
    return `${PROJECT}-${stack}`;
}

if (require.main === module) {
    (async () => {
        const command = stacksArgs(process.argv.slice(2));
        if ("list" in command) console.log(JSON.stringify(listStacks()));
        else if ("regionOf" in command) console.log(stackRegion(command.regionOf));
        else if ("clusterOf" in command) console.log(stackClusterName(command.clusterOf));
        else {
            // Loaded here: deploy-runner reads stack files through this module.
            const { deployTargets } = await import("./deploy-runner");
            const labels = { deployRunner: process.env.DEPLOY_RUNNER, imageBuildRunner: process.env.IMAGE_BUILD_RUNNER };
            console.log(JSON.stringify({ include: deployTargets(listStacks(), labels) }));
        }
    })().catch((err: unknown) => {
        console.error(`stacks: ${(err as Error).message}`);
        process.exitCode = 1;
    });
}
