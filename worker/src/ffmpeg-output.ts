// What ffmpeg and ffprobe say, made fit for an error message: no scratch paths, no memory addresses
// (so the same input gives the same message on every run), and how a process ended.
import { constants } from "node:os";

/** Keep the end of a long text: ffmpeg's last lines say what finally went wrong. */
export function tail(text: string, max = 600): string {
    const trimmed = text.trim();
    return trimmed.length > max ? `...${trimmed.slice(-max)}` : trimmed;
}

/**
 * ffmpeg's text without the scratch path (it says "the input" instead) and without the `@ 0x...` addresses
 * of its log contexts: `[h264 @ 0x55d1c0] error` reads `h264: error`, any other `@ 0x...` goes.
 */
export function cleanFfmpegText(text: string, path?: string): string {
    const named = path === undefined || path === "" ? text : text.split(`file:${path}`).join("the input").split(path).join("the input");
    return named.replace(/\[([^\]\s@]+) @ 0x[0-9a-f]+\] ?/gi, "$1: ").replace(/ ?@ ?0x[0-9a-f]+/gi, "");
}

/** The signal's name, e.g. 9 -> SIGKILL. */
export function signalName(signal: NodeJS.Signals | number): string {
    if (typeof signal === "string") return signal;
    const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
    return name ?? `signal ${signal}`;
}

/** Why a process stopped when it did not exit on its own: "was killed by SIGKILL (out of memory?)". */
export function killedBy(signal: NodeJS.Signals | number): string {
    const name = signalName(signal);
    return `was killed by ${name}${name === "SIGKILL" ? " (the out-of-memory killer does that)" : ""}`;
}
