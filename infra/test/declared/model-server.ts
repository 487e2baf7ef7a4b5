// The model servers of a planned pod, stood in for on this machine. TF Serving is not available here:
// its container's declared flags are read as TF Serving would read them, the files it would load are
// checked where its volume mounts put them, and the TF Serving protocol emulator answers on the ports
// the flags name (the pod's other containers reach it there). Triton is not run either; the model
// repository it would load is checked instead.
import type { IContainer } from "kubernetes-models/v1";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { TfServingEmulator } from "../../../testing/tfserving/emulator";
import type { PodSandbox } from "./pod";

/** --flag=value arguments of a container. */
export function flags(container: IContainer): Map<string, string> {
    const out = new Map<string, string>();
    for (const arg of container.args ?? []) {
        const m = /^--([^=]+)=(.*)$/.exec(arg);
        if (m) out.set(m[1], m[2]);
    }
    return out;
}

function required(container: IContainer, name: string): string {
    const value = flags(container).get(name);
    if (value === undefined) throw new Error(`container ${container.name}: no --${name}`);
    return value;
}

export interface TfServingModelCheck {
    modelName: string;
    /** Version directories holding a SavedModel (saved_model.pb or .pbtxt). */
    versions: number[];
    basePath: string;
    /** max_batch_size from the batching parameters file, when batching is on. */
    maxBatchSize?: number;
}

/** What TF Serving would load at start: every numbered version directory under --model_base_path with a SavedModel. */
export function tfServingModel(sandbox: PodSandbox, container: IContainer): TfServingModelCheck {
    const basePath = sandbox.mapPath(container, undefined, required(container, "model_base_path"));
    const versions = existsSync(basePath)
        ? readdirSync(basePath)
              .filter((d) => /^\d+$/.test(d))
              .filter((d) => ["saved_model.pb", "saved_model.pbtxt"].some((f) => existsSync(path.join(basePath, d, f))))
              .map(Number)
        : [];
    const check: TfServingModelCheck = { modelName: required(container, "model_name"), versions, basePath };
    if (flags(container).get("enable_batching") === "true") {
        const file = sandbox.mapPath(container, undefined, required(container, "batching_parameters_file"));
        const m = /max_batch_size\s*\{\s*value:\s*(\d+)\s*\}/.exec(readFileSync(file, "utf8"));
        if (m === null) throw new Error(`${file}: no max_batch_size`);
        check.maxBatchSize = Number(m[1]);
    }
    return check;
}

/** Binds the pod's TF Serving ports (--port, --rest_api_port) to a running emulator serving --model_name. */
export async function standInForTfServing(sandbox: PodSandbox, container: IContainer, emulator: TfServingEmulator): Promise<void> {
    const grpcPort = Number(new URL(emulator.grpcUrl.replace(/^grpc:/, "http:")).port);
    const restPort = Number(new URL(emulator.restUrl).port);
    sandbox.bindPort(Number(required(container, "port")), grpcPort);
    sandbox.bindPort(Number(required(container, "rest_api_port")), restPort);
}

/** GETs a probe's httpGet path on the pod's mapped port; resolves with the HTTP status (0 when nothing answers). */
export async function probe(
    sandbox: PodSandbox,
    container: IContainer,
    kind: "startupProbe" | "readinessProbe" | "livenessProbe",
): Promise<number> {
    const httpGet = container[kind]?.httpGet;
    if (httpGet === undefined) throw new Error(`container ${container.name} has no ${kind} httpGet`);
    const port = await sandbox.namedPort(container, httpGet.port as string | number);
    try {
        const res = await fetch(`http://127.0.0.1:${port}${httpGet.path ?? "/"}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        return res.status;
    } catch {
        return 0;
    }
}
