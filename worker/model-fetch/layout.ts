// Finding SavedModels in a downloaded tree and laying them out as TF Serving's
// <model_base_path>/<version>/saved_model.pb.
import { readdir } from "node:fs/promises";
import * as path from "node:path";
import { ModelFetchError } from "./errors";

const SAVED_MODEL_FILES = new Set(["saved_model.pb", "saved_model.pbtxt"]);
const VERSION_DIR = /^[0-9]+$/;

/** Every directory under `root` (itself included) that holds a saved_model.pb(txt), sorted. */
export async function findSavedModelDirs(root: string): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true });
        if (entries.some((e) => e.isFile() && SAVED_MODEL_FILES.has(e.name))) found.push(dir);
        for (const entry of entries) {
            if (entry.isDirectory()) await walk(path.join(dir, entry.name));
        }
    };
    await walk(root);
    return found.sort();
}

export interface VersionPlacement {
    /** Directory holding saved_model.pb + variables/. */
    from: string;
    version: number;
}

/**
 * Numbered version directories under one parent (e.g. `bert/1/`, `bert/2/`) are kept as they are.
 * Otherwise exactly one SavedModel must exist; it becomes `defaultVersion`.
 * `root` is the download directory and `what` the source, both for error messages.
 */
export function planVersions(root: string, savedModelDirs: string[], defaultVersion: number, what: string): VersionPlacement[] {
    if (savedModelDirs.length === 0) {
        throw new ModelFetchError(`no saved_model.pb found in ${what}: is this a TensorFlow SavedModel export?`, "NO_SAVED_MODEL");
    }
    const parents = new Set(savedModelDirs.map((dir) => path.dirname(dir)));
    const allNumbered = savedModelDirs.every((dir) => VERSION_DIR.test(path.basename(dir)));
    if (allNumbered && parents.size === 1) {
        return savedModelDirs.map((dir) => ({ from: dir, version: Number(path.basename(dir)) })).sort((a, b) => a.version - b.version);
    }
    if (savedModelDirs.length === 1) return [{ from: savedModelDirs[0], version: defaultVersion }];
    throw new ModelFetchError(
        `${what} holds ${savedModelDirs.length} SavedModels and they are not numbered version directories of one model: ${savedModelDirs.map((dir) => path.relative(root, dir) || ".").join(", ")}`,
        "AMBIGUOUS_MODEL",
    );
}
