// Disk space in WORK_DIR (issue 17 item 14): a full disk is the worker's condition, not the video's. It is
// named (DISK_FULL), the job is given back uncounted, and the worker stays not-ready until space returns.
import { statfs } from "node:fs/promises";
import { GiveBackError } from "./errors";

/** ENOSPC (no space) and EDQUOT (quota) both mean the disk cannot take the write. */
export function isDiskFull(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return code === "ENOSPC" || code === "EDQUOT";
}

export function diskFullError(workDir: string, what: string, cause?: unknown): GiveBackError {
    const detail = cause === undefined ? "" : `: ${(cause as Error).message}`;
    return new GiveBackError(`WORK_DIR="${workDir}" has no room for ${what}${detail}`, "DISK_FULL");
}

export interface DiskSpace {
    /** Bytes an unprivileged process may still write. */
    free: number;
    /** The filesystem's size. */
    total: number;
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
    const s = await statfs(dir);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** Free space at which a worker that found the disk full takes jobs again: 5 % of the filesystem, at most 1 GiB. */
export function resumeBytes(total: number): number {
    return Math.min(1024 ** 3, Math.ceil(total * 0.05));
}
