// The real street video for `npm start`: OpenCV's vtest.avi (795 frames, 768x576, 10 fps: people walking
// across a campus, cars parked), taken from Debian's opencv-doc package (examples/data/vtest.avi) with
// `apt-get download` and `dpkg-deb --fsys-tarfile`, without installing the package, once into a cache
// directory. When that cannot be done, the caller falls back to a synthetic clip and says why.
import { execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export const SAMPLE_VIDEO_PACKAGE = "opencv-doc";
export const SAMPLE_VIDEO_MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi";
export const SAMPLE_VIDEO_NAME = "vtest.avi";

/** $EKS_INFERENCE_CACHE, else $XDG_CACHE_HOME/eks-inference, else ~/.cache/eks-inference. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env.EKS_INFERENCE_CACHE) return env.EKS_INFERENCE_CACHE;
    return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "eks-inference");
}

export type SampleVideo = { path: string; cached: boolean } | { error: string };

function firstLine(text: string): string {
    return (
        text
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== "" && !l.startsWith("W: Download is performed unsandboxed"))
            .pop() ?? ""
    );
}

/** vtest.avi from the cache, or fetched into it now; `{ error }` saying why when it cannot be had. */
export async function sampleVideo(dir = cacheDir(), timeoutMs = 180_000): Promise<SampleVideo> {
    const path = join(dir, SAMPLE_VIDEO_NAME);
    try {
        if ((await stat(path)).size > 0) return { path, cached: true };
    } catch {
        // not cached yet
    }
    try {
        await mkdir(dir, { recursive: true });
    } catch (err) {
        return { error: `cannot create the cache directory ${dir}: ${(err as Error).message}` };
    }
    const scratch = await mkdtemp(join(dir, ".fetch-"));
    try {
        try {
            await run("apt-get", ["download", SAMPLE_VIDEO_PACKAGE], { cwd: scratch, timeout: timeoutMs });
        } catch (err) {
            const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
            if (e.code === "ENOENT") return { error: "apt-get is not available here (not a Debian/Ubuntu machine)" };
            if (e.killed) return { error: `apt-get download ${SAMPLE_VIDEO_PACKAGE} took longer than ${timeoutMs / 1000} s` };
            const why = firstLine(e.stderr ?? e.message);
            const hint = /Unable to locate|no installation candidate|Can't select/i.test(why) ? " (run apt-get update first?)" : "";
            return { error: `apt-get download ${SAMPLE_VIDEO_PACKAGE} failed: ${why}${hint}` };
        }
        const deb = (await readdir(scratch)).find((f) => f.endsWith(".deb"));
        if (deb === undefined) return { error: `apt-get download ${SAMPLE_VIDEO_PACKAGE} left no .deb file` };
        const partial = join(scratch, SAMPLE_VIDEO_NAME);
        const extracted = await extract(join(scratch, deb), partial);
        if (extracted !== undefined) return { error: extracted };
        if ((await stat(partial)).size === 0) return { error: `${deb} has no ${SAMPLE_VIDEO_MEMBER}` };
        await rename(partial, path);
        return { path, cached: false };
    } finally {
        await rm(scratch, { recursive: true, force: true });
    }
}

/** dpkg-deb --fsys-tarfile DEB | tar -xO MEMBER > out; undefined on success, else why not. */
async function extract(deb: string, out: string): Promise<string | undefined> {
    const dpkg = spawn("dpkg-deb", ["--fsys-tarfile", deb], { stdio: ["ignore", "pipe", "pipe"] });
    const tar = spawn("tar", ["-x", "-O", "-f", "-", SAMPLE_VIDEO_MEMBER], { stdio: ["pipe", "pipe", "pipe"] });
    let errors = "";
    for (const child of [dpkg, tar]) child.stderr?.setEncoding("utf8").on("data", (d: string) => (errors += d));
    const exited = (child: ReturnType<typeof spawn>, name: string): Promise<string | undefined> =>
        new Promise((resolve) => {
            child.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ENOENT" ? `${name} is not installed` : err.message));
            child.once("close", (code) => resolve(code === 0 ? undefined : `${name} exited with code ${code}: ${firstLine(errors)}`));
        });
    const done = Promise.all([exited(dpkg, "dpkg-deb"), exited(tar, "tar")]);
    dpkg.stdout?.pipe(tar.stdin!);
    try {
        await pipeline(tar.stdout!, createWriteStream(out));
    } catch (err) {
        return `extracting ${SAMPLE_VIDEO_MEMBER} failed: ${(err as Error).message}`;
    }
    const [a, b] = await done;
    return a ?? b;
}
