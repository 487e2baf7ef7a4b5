// Child processes and descriptors of this test process, read from /proc; stand-in ffmpeg/ffprobe
// programs put first on PATH; a FIFO that tells whether anything opened it.
import {
    chmodSync,
    closeSync,
    constants,
    mkdtempSync,
    openSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeSync,
    writeFileSync,
} from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** Pids of this process's live children whose command name is `name` (e.g. "ffmpeg"). */
export function childrenNamed(name: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
            stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        } catch {
            continue; // gone meanwhile
        }
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (comm === name && Number(ppid) === process.pid && state !== "Z") pids.push(Number(entry));
    }
    return pids;
}

/** Open file descriptors of this process. */
export function openDescriptors(): number {
    return readdirSync("/proc/self/fd").length;
}

/** True while `pid` exists (a zombie counts: it has not been reaped). */
export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/**
 * Put shell scripts named like the real tools first on PATH (e.g. an ffprobe that kills itself), run `fn`,
 * restore PATH. `real(name)` in a script body is replaced with the real tool's path. `fn` that has not
 * settled after `deadlineMs` fails (PATH is restored all the same), and any fake still running is killed,
 * so that code that never stops a hung tool fails this test and no other.
 */
export async function withFakeTools<T>(scripts: Record<string, string>, fn: () => Promise<T>, deadlineMs = 15_000): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), "fake-tools-"));
    for (const [name, body] of Object.entries(scripts)) {
        const text = body.replace(/real\((\w+)\)/g, (_, tool: string) =>
            execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(),
        );
        writeFileSync(join(dir, name), `#!/bin/sh\n${text}\n`);
        chmodSync(join(dir, name), 0o755);
    }
    const saved = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${saved ?? ""}`;
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            fn(),
            new Promise<never>((_, reject) => {
                timer = setTimeout(
                    () => reject(new Error(`did not finish within ${deadlineMs} ms with ${Object.keys(scripts).join(", ")} faked`)),
                    deadlineMs,
                );
            }),
        ]);
    } finally {
        clearTimeout(timer);
        process.env.PATH = saved;
        for (const name of Object.keys(scripts)) for (const pid of childrenNamed(name)) process.kill(pid, "SIGKILL");
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * A FIFO standing in for a secret file: anything that opens it for reading is noticed (and is given
 * `content`, so that a reader that should never have opened it gets a real file's bytes).
 */
export function secretFifo(path: string, content: Buffer): { opened: () => number; stop: () => void } {
    execFileSync("mkfifo", ["-m", "600", path]);
    let opens = 0;
    const timer = setInterval(() => {
        let fd: number;
        try {
            fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch {
            return; // ENXIO: nobody has it open for reading
        }
        opens++;
        try {
            writeSync(fd, content);
        } catch {
            // the reader went away
        } finally {
            closeSync(fd);
        }
    }, 5);
    return { opened: () => opens, stop: () => clearInterval(timer) };
}

/** A fresh scratch directory. */
export function scratchDir(prefix: string): string {
    return mkdtempSync(join(tmpdir(), prefix));
}
