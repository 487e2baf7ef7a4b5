// Disk space in WORK_DIR (issue 17 item 14): a full disk is the worker's condition, not the video's. It is
// named (DISK_FULL), the job is given back uncounted, and the worker stays not-ready until space returns.
import { lstat, readdir, statfs } from "node:fs/promises";
import { join } from "node:path";
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

/**
 * Room at which a worker that found the disk full takes jobs again: 5 % of the filesystem (or of
 * WORK_DIR_LIMIT_BYTES when smaller), at most 1 GiB.
 */
export function resumeBytes(total: number, limitBytes?: number): number {
    return Math.min(1024 ** 3, Math.ceil(Math.min(total, limitBytes ?? total) * 0.05));
}

/**
 * What WORK_DIR may fill besides the filesystem's free space. In a pod, WORK_DIR is an emptyDir: the kubelet
 * evicts the pod (killing it at once: the job's receive is spent) when the emptyDir holds more than its
 * sizeLimit, or when the node's filesystem has less free than its eviction threshold (nodefs.available 10 %,
 * imagefs.available 15 % by default; one filesystem on EKS nodes). Long before ENOSPC.
 */
export interface WorkDirLimits {
    /** Percent of the filesystem the worker leaves free (WORK_DIR_RESERVE_PERCENT). */
    reservePercent: number;
    /** The most WORK_DIR may hold (WORK_DIR_LIMIT_BYTES: the emptyDir's sizeLimit). */
    limitBytes?: number;
}

export interface WorkDirRoom extends DiskSpace {
    /** Bytes the worker may still write under WORK_DIR: free space above the reserve, and under the limit. */
    room: number;
    /** Bytes under WORK_DIR now (only counted when there is a limit). */
    used?: number;
}

/** Bytes the files under `dir` take on disk (allocated blocks, as the kubelet measures an emptyDir). */
async function bytesUnder(dir: string): Promise<number> {
    let total = 0;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) total += await bytesUnder(path);
        else
            total += await lstat(path).then(
                (s) => s.blocks * 512,
                () => 0,
            );
    }
    return total;
}

export async function workDirRoom(workDir: string, limits: WorkDirLimits): Promise<WorkDirRoom> {
    const space = await diskSpace(workDir);
    let room = space.free - Math.ceil((space.total * limits.reservePercent) / 100);
    let used: number | undefined;
    if (limits.limitBytes !== undefined) {
        used = await bytesUnder(workDir);
        room = Math.min(room, limits.limitBytes - used);
    }
    return { ...space, room: Math.max(0, room), ...(used === undefined ? {} : { used }) };
}

/** The limits in words, for DISK_FULL messages. */
export function describeLimits(limits: WorkDirLimits): string {
    const parts = [
        ...(limits.reservePercent > 0 ? [`WORK_DIR_RESERVE_PERCENT=${limits.reservePercent} of its filesystem kept free`] : []),
        ...(limits.limitBytes !== undefined ? [`WORK_DIR_LIMIT_BYTES=${limits.limitBytes}`] : []),
    ];
    return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}
