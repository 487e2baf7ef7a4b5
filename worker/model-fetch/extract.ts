// Unpack a tar stream with the system `tar`, fed through stdin: nothing is buffered whole in memory.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ModelFetchError } from "./errors";
import type { ArchiveCompression } from "./source";

/**
 * Extract `archive` into `destDir` (which must exist). GNU tar refuses members whose names climb out
 * with "..", strips leading "/", and (as a non-root user) does not restore owners.
 * `what` names the source in error messages.
 */
export async function extractTarStream(archive: Readable, compression: ArchiveCompression, destDir: string, what: string): Promise<void> {
    const args = ["-x", ...(compression === "gzip" ? ["-z"] : []), "-f", "-", "-C", destDir, "--no-same-owner", "--no-same-permissions"];
    const tar = spawn("tar", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    tar.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const exited = new Promise<number>((resolve, reject) => {
        tar.once("error", (err: NodeJS.ErrnoException) =>
            reject(err.code === "ENOENT" ? new ModelFetchError("the `tar` program is not installed in this image", "EXTRACT_FAILED") : err),
        );
        tar.once("close", (code) => resolve(code ?? -1));
    });
    const fed = pipeline(archive, tar.stdin).then(
        () => undefined,
        (err: unknown) => err,
    );
    const code = await exited;
    const feedError = await fed;
    if (feedError !== undefined && !isBrokenPipe(feedError)) {
        if (feedError instanceof ModelFetchError) throw feedError;
        const detail = feedError instanceof Error ? feedError.message : String(feedError);
        throw new ModelFetchError(`download of ${what} failed part-way: ${detail}`, "TRANSFER_FAILED", { cause: feedError });
    }
    if (code !== 0) {
        throw new ModelFetchError(`could not extract ${what} with tar (exit ${code}): ${stderr.trim() || "no message"}`, "EXTRACT_FAILED");
    }
}

/** tar stopped reading (it exits early on a corrupt archive); its exit status says why. */
function isBrokenPipe(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ERR_STREAM_DESTROYED";
}
