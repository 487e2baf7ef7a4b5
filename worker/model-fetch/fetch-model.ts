// The model-fetch run: download into a staging directory beside MODEL_DIR, lay the SavedModel out
// as <MODEL_DIR>/<version>/, then swap it into place with renames (same file system, so atomic per step).
import type { S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { ModelFetchSettings } from "./config";
import { extractTarStream } from "./extract";
import { openHttpDownload } from "./http";
import { findSavedModelDirs, planVersions } from "./layout";
import { openS3Object, syncPrefix } from "./s3";
import type { ModelSource } from "./source";

/** Written into MODEL_DIR so that a re-run for the same source knows the work is done. */
export const MARKER_FILE = ".model-fetch.json";

interface Marker {
    uri: string;
    defaultVersion: number;
    versions: number[];
}

export interface ModelFetchResult {
    /** True when MODEL_DIR already held this source's model and nothing was downloaded. */
    reused: boolean;
    versions: number[];
    modelDir: string;
}

export interface ModelFetchDeps {
    s3: () => S3Client;
    fetch?: typeof fetch;
}

export async function fetchModel(settings: ModelFetchSettings, deps: ModelFetchDeps): Promise<ModelFetchResult> {
    const { source, modelDir, version } = settings;
    const parent = path.dirname(modelDir);
    const base = path.basename(modelDir);
    await mkdir(parent, { recursive: true });
    await removeLeftovers(parent, base);

    const existing = await readMarker(modelDir);
    if (
        existing !== undefined &&
        existing.uri === source.uri &&
        existing.defaultVersion === version &&
        (await versionsPresent(modelDir, existing.versions))
    ) {
        return { reused: true, versions: existing.versions, modelDir };
    }

    const suffix = `${process.pid}-${randomBytes(4).toString("hex")}`;
    const staging = path.join(parent, `.${base}.staging-${suffix}`);
    const download = path.join(staging, "download");
    const assembled = path.join(staging, "model");
    try {
        await mkdir(download, { recursive: true });
        await mkdir(assembled);
        await downloadSource(source, download, deps);
        const placements = planVersions(download, await findSavedModelDirs(download), version, source.uri);
        for (const placement of placements) {
            await rename(placement.from, path.join(assembled, String(placement.version)));
        }
        const versions = placements.map((p) => p.version);
        const marker: Marker = { uri: source.uri, defaultVersion: version, versions };
        await writeFile(path.join(assembled, MARKER_FILE), `${JSON.stringify(marker)}\n`);
        await swapIntoPlace(assembled, modelDir, path.join(parent, `.${base}.old-${suffix}`));
        return { reused: false, versions, modelDir };
    } finally {
        await rm(staging, { recursive: true, force: true });
    }
}

async function downloadSource(source: ModelSource, dest: string, deps: ModelFetchDeps): Promise<void> {
    switch (source.kind) {
        case "s3-prefix":
            await syncPrefix(deps.s3(), source.bucket, source.prefix, dest);
            return;
        case "s3-archive":
            await extractTarStream(await openS3Object(deps.s3(), source.bucket, source.key), source.compression, dest, source.uri);
            return;
        case "http-archive":
            await extractTarStream(await openHttpDownload(source.url, deps.fetch), source.compression, dest, source.uri);
            return;
    }
}

/** Replace `target` with `ready`: move any old copy aside, move the new one in, then delete the old one. */
async function swapIntoPlace(ready: string, target: string, aside: string): Promise<void> {
    let movedAside = false;
    try {
        await rename(target, aside);
        movedAside = true;
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await rename(ready, target);
    if (movedAside) await rm(aside, { recursive: true, force: true });
}

/** Staging or set-aside directories left by a run that was killed part-way. */
async function removeLeftovers(parent: string, base: string): Promise<void> {
    const prefixes = [`.${base}.staging-`, `.${base}.old-`];
    for (const name of await readdir(parent)) {
        if (prefixes.some((p) => name.startsWith(p))) await rm(path.join(parent, name), { recursive: true, force: true });
    }
}

async function readMarker(modelDir: string): Promise<Marker | undefined> {
    try {
        const parsed = JSON.parse(await readFile(path.join(modelDir, MARKER_FILE), "utf8")) as Partial<Marker>;
        if (typeof parsed.uri !== "string" || typeof parsed.defaultVersion !== "number" || !Array.isArray(parsed.versions))
            return undefined;
        return {
            uri: parsed.uri,
            defaultVersion: parsed.defaultVersion,
            versions: parsed.versions.filter((v): v is number => typeof v === "number"),
        };
    } catch {
        return undefined;
    }
}

async function versionsPresent(modelDir: string, versions: number[]): Promise<boolean> {
    if (versions.length === 0) return false;
    for (const v of versions) {
        const dir = path.join(modelDir, String(v));
        const found = await Promise.all(
            ["saved_model.pb", "saved_model.pbtxt"].map((f) =>
                stat(path.join(dir, f)).then(
                    () => true,
                    () => false,
                ),
            ),
        );
        if (!found.includes(true)) return false;
    }
    return true;
}
