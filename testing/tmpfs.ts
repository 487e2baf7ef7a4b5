// A small tmpfs for tests of a full disk (ENOSPC for real, not simulated): mounted with `mount` when this
// process is root, else with `sudo -n mount` (CI runners allow it). Nothing else in the tests needs
// privileges; a machine that allows neither gets an error saying so.
import { execFile } from "node:child_process";
import { mkdtemp, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Tmpfs {
    readonly dir: string;
    unmount(): Promise<void>;
}

async function privileged(args: string[]): Promise<void> {
    const root = process.getuid?.() === 0;
    try {
        if (root) await run(args[0], args.slice(1));
        else await run("sudo", ["-n", ...args]);
    } catch (err) {
        throw new Error(
            `${args.join(" ")} failed (${(err as Error).message.trim()}): the disk-full tests mount a small tmpfs, which needs root or passwordless sudo`,
            { cause: err },
        );
    }
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages) on a fresh directory; the caller unmounts it. */
export async function mountTmpfs(sizeBytes: number): Promise<Tmpfs> {
    const dir = await mkdtemp(join(tmpdir(), "tmpfs-"));
    const kib = Math.ceil(sizeBytes / 1024);
    try {
        await privileged(["mount", "-t", "tmpfs", "-o", `size=${kib}k,mode=1777`, "tmpfs", dir]);
    } catch (err) {
        await rmdir(dir).catch(() => undefined);
        throw err;
    }
    return {
        dir,
        unmount: async () => {
            await privileged(["umount", "--lazy", dir]); // lazy: a file a failed test left open does not keep it busy
            await rm(dir, { recursive: true, force: true });
        },
    };
}
