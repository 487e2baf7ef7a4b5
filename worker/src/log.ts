// Structured JSON logs: one object per line on stdout (stderr for errors), easy for Fluent Bit/CloudWatch.
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
    debug(msg: string, fields?: LogFields): void;
    info(msg: string, fields?: LogFields): void;
    warn(msg: string, fields?: LogFields): void;
    error(msg: string, fields?: LogFields): void;
    /** A logger that adds these fields to every line. */
    child(fields: LogFields): Logger;
}

export interface LoggerOptions {
    level?: LogLevel;
    /** Where lines go; default process stdout/stderr. */
    write?: (line: string, level: LogLevel) => void;
}

function defaultWrite(line: string, level: LogLevel): void {
    (level === "error" ? process.stderr : process.stdout).write(line + "\n");
}

/** An Error as a JSON object that keeps what a reader needs: name, message, code, stack and its causes. */
export function errorJson(err: Error, depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = { name: err.name, message: err.message };
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = code;
    if (err.stack !== undefined) out.stack = err.stack;
    const cause: unknown = err.cause;
    if (cause !== undefined) out.cause = cause instanceof Error && depth < 4 ? errorJson(cause, depth + 1) : String(cause);
    return out;
}

function serialisable(value: unknown): unknown {
    if (value instanceof Error) return errorJson(value);
    return value;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
    const threshold = ORDER[options.level ?? "info"];
    const write = options.write ?? defaultWrite;
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
        if (ORDER[level] < threshold) return;
        const record: LogFields = { time: new Date().toISOString(), level, msg, ...base };
        if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialisable(v);
        write(JSON.stringify(record), level);
    };
    return {
        debug: (m, f) => emit("debug", m, f),
        info: (m, f) => emit("info", m, f),
        warn: (m, f) => emit("warn", m, f),
        error: (m, f) => emit("error", m, f),
        child: (fields) => createLogger(options, { ...base, ...fields }),
    };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = createLogger({ write: () => undefined });

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
