// Environment -> settings for one model-fetch run.
import * as path from "node:path";
import { ModelFetchError } from "./errors";
import { parseModelUri, type ModelSource } from "./source";

export interface ModelFetchSettings {
    source: ModelSource;
    /** Absolute directory TF Serving reads as --model_base_path, e.g. /models/ssd. */
    modelDir: string;
    /** Version directory used when the source has no numbered version directories of its own. */
    version: number;
}

export function readSettings(env: NodeJS.ProcessEnv): ModelFetchSettings {
    const uri = env.MODEL_URI;
    if (uri === undefined || uri.trim() === "") throw new ModelFetchError("MODEL_URI is not set", "CONFIG");
    const modelDir = env.MODEL_DIR;
    if (modelDir === undefined || modelDir.trim() === "") throw new ModelFetchError("MODEL_DIR is not set", "CONFIG");
    if (!path.isAbsolute(modelDir))
        throw new ModelFetchError(`MODEL_DIR must be an absolute path, got ${JSON.stringify(modelDir)}`, "CONFIG");
    if (path.resolve(modelDir) === path.parse(path.resolve(modelDir)).root) {
        throw new ModelFetchError("MODEL_DIR must not be the file-system root", "CONFIG");
    }
    const rawVersion = env.MODEL_VERSION?.trim() || "1";
    if (!/^[0-9]+$/.test(rawVersion) || Number(rawVersion) < 1 || !Number.isSafeInteger(Number(rawVersion))) {
        throw new ModelFetchError(`MODEL_VERSION must be a positive integer, got ${JSON.stringify(env.MODEL_VERSION)}`, "CONFIG");
    }
    return { source: parseModelUri(uri), modelDir: path.resolve(modelDir), version: Number(rawVersion) };
}
