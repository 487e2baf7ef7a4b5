// The pieces of the gRPC-over-HTTP/2 protocol (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md)
// that our clients and the emulators' servers share, whatever the service: status codes, the 5-byte message prefix, grpc-message
// percent-encoding, grpc-timeout, and the HTTP/2 settings both ends use for multi-MB tensors.
import type { Settings } from "node:http2";

/** gRPC status codes (grpc/doc/statuscodes.md). */
export enum GrpcCode {
    OK = 0,
    CANCELLED = 1,
    UNKNOWN = 2,
    INVALID_ARGUMENT = 3,
    DEADLINE_EXCEEDED = 4,
    NOT_FOUND = 5,
    ALREADY_EXISTS = 6,
    PERMISSION_DENIED = 7,
    RESOURCE_EXHAUSTED = 8,
    FAILED_PRECONDITION = 9,
    ABORTED = 10,
    OUT_OF_RANGE = 11,
    UNIMPLEMENTED = 12,
    INTERNAL = 13,
    UNAVAILABLE = 14,
    DATA_LOSS = 15,
    UNAUTHENTICATED = 16,
}

export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Per-stream and per-connection flow-control window: a 2 MB video batch goes out without waiting for WINDOW_UPDATEs. */
export const H2_WINDOW_BYTES = 16 * 1024 * 1024;

/** Settings advertised by both ends; the largest frame HTTP/2 allows cuts per-frame overhead for big messages. */
export const H2_SETTINGS: Settings = {
    initialWindowSize: H2_WINDOW_BYTES,
    maxFrameSize: 16 * 1024 * 1024 - 1,
    enablePush: false,
};

/** nghttp2 buffers a whole window per stream; leave room for several big calls in flight (megabytes). */
export const H2_MAX_SESSION_MEMORY_MB = 512;

/** Messages are prefixed with a compressed flag (1 byte) and a big-endian length (4 bytes). */
export const MESSAGE_PREFIX_BYTES = 5;

/**
 * Frames one message given as segments: the prefix is merged into the first (small) segment, the rest,
 * e.g. a multi-MB tensor, are passed through by reference so they are never copied.
 */
export function frameMessage(segments: readonly Buffer[]): { parts: Buffer[]; length: number } {
    let length = 0;
    for (const s of segments) length += s.length;
    if (length > 0xffffffff) throw new RangeError(`gRPC message of ${length} bytes exceeds the 4 GiB frame limit`);
    const first = segments[0] ?? Buffer.alloc(0);
    const head = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + first.length);
    head[0] = 0;
    head.writeUInt32BE(length, 1);
    first.copy(head, MESSAGE_PREFIX_BYTES);
    return { parts: [head, ...segments.slice(1)], length };
}

export class GrpcFramingError extends Error {
    constructor(
        message: string,
        readonly code: GrpcCode,
    ) {
        super(message);
        this.name = "GrpcFramingError";
    }
}

/**
 * Reusable receive buffers for big messages (a server's multi-MB requests): a message of at least
 * `minBytes` is copied into one of these as its chunks arrive instead of being concatenated into a
 * fresh allocation at the end, so a stream of large requests does not allocate (and page in, and make
 * the GC chase) megabytes per call. Keeps at most `maxFree` buffers.
 */
export class ReceiveBufferPool {
    private readonly free: Buffer[] = [];
    constructor(
        readonly minBytes = 256 * 1024,
        private readonly maxFree = 4,
    ) {}
    take(bytes: number): Buffer {
        const i = this.free.findIndex((b) => b.length >= bytes);
        if (i >= 0) return this.free.splice(i, 1)[0];
        return Buffer.allocUnsafeSlow(bytes);
    }
    give(buffer: Buffer): void {
        if (this.free.length < this.maxFree && !this.free.includes(buffer)) this.free.push(buffer);
    }
}

/**
 * Collects DATA chunks and splits them into messages once the stream ends (one concat; a single
 * chunk is used as is). Fails early once more than `maxMessageBytes` (+prefix) has arrived. With a
 * ReceiveBufferPool, a big message whose length prefix has arrived is copied into a pooled buffer as
 * it comes; the messages are then views of that buffer until `release()` gives it back.
 */
export class MessageCollector {
    private readonly chunks: Buffer[] = [];
    private received = 0;
    /** The pooled buffer (`owned`) whose first bytes (`target`) the stream is copied into, from its first byte. */
    private owned: Buffer | undefined;
    private target: Buffer | undefined;

    constructor(
        private readonly maxMessageBytes: number,
        private readonly what: string,
        private readonly pool?: ReceiveBufferPool,
    ) {}

    /** Returns an error (and keeps nothing more) once the limit is passed. */
    push(chunk: Buffer): GrpcFramingError | undefined {
        const at = this.received;
        this.received += chunk.length;
        if (this.received > this.maxMessageBytes + MESSAGE_PREFIX_BYTES) {
            this.chunks.length = 0;
            this.release();
            return new GrpcFramingError(`${this.what} larger than the limit of ${this.maxMessageBytes} bytes`, GrpcCode.RESOURCE_EXHAUSTED);
        }
        const target = this.target;
        if (target !== undefined) {
            if (this.received <= target.length) {
                chunk.copy(target, at);
                return undefined;
            }
            // More than the first message announced (a second message): back to plain chunks.
            this.chunks.push(Buffer.from(target.subarray(0, at)), chunk);
            this.release();
            return undefined;
        }
        this.chunks.push(chunk);
        if (this.pool !== undefined && at < MESSAGE_PREFIX_BYTES && this.received >= MESSAGE_PREFIX_BYTES) this.startPooled();
        return undefined;
    }

    /** Gives the pooled buffer back: the messages returned earlier must not be read after this. */
    release(): void {
        if (this.owned !== undefined) this.pool?.give(this.owned);
        this.owned = undefined;
        this.target = undefined;
    }

    /** Once the first prefix is in: a big, uncompressed message within the limit moves into a pooled buffer. */
    private startPooled(): void {
        const pool = this.pool as ReceiveBufferPool;
        const head = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.received);
        const length = head.readUInt32BE(1);
        if (head[0] !== 0 || length > this.maxMessageBytes || length + MESSAGE_PREFIX_BYTES < pool.minBytes) return;
        if (head.length > length + MESSAGE_PREFIX_BYTES) return; // more than one message in hand already
        const owned = pool.take(length + MESSAGE_PREFIX_BYTES);
        this.owned = owned;
        this.target = owned.subarray(0, length + MESSAGE_PREFIX_BYTES);
        head.copy(this.target, 0);
        this.chunks.length = 0;
    }

    /** Every message in the stream; throws GrpcFramingError on a compressed or truncated message. */
    messages(): Buffer[] {
        const all =
            this.target !== undefined
                ? this.target.subarray(0, this.received)
                : this.chunks.length === 1
                  ? this.chunks[0]
                  : Buffer.concat(this.chunks, this.received);
        const out: Buffer[] = [];
        let pos = 0;
        while (pos < all.length) {
            if (all.length - pos < MESSAGE_PREFIX_BYTES)
                throw new GrpcFramingError(`${this.what} ends inside a message prefix`, GrpcCode.INTERNAL);
            const flag = all[pos];
            const length = all.readUInt32BE(pos + 1);
            if (flag !== 0) {
                throw new GrpcFramingError(
                    `${this.what} is compressed (flag ${flag}), but no compression was negotiated and this implementation supports none`,
                    GrpcCode.INTERNAL,
                );
            }
            if (length > this.maxMessageBytes)
                throw new GrpcFramingError(
                    `${this.what} of ${length} bytes is larger than the limit of ${this.maxMessageBytes} bytes`,
                    GrpcCode.RESOURCE_EXHAUSTED,
                );
            const start = pos + MESSAGE_PREFIX_BYTES;
            if (start + length > all.length)
                throw new GrpcFramingError(
                    `${this.what} is truncated: prefix says ${length} bytes, ${all.length - start} arrived`,
                    GrpcCode.INTERNAL,
                );
            out.push(all.subarray(start, start + length));
            pos = start + length;
        }
        return out;
    }
}

/** grpc-message: UTF-8, with bytes outside printable ASCII (and '%') percent-encoded. */
export function encodeGrpcMessage(message: string): string {
    const bytes = Buffer.from(message, "utf8");
    let out = "";
    for (const b of bytes) {
        out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    }
    return out;
}

/** Lenient, as the spec asks: a '%' not followed by two hex digits is kept as is. */
export function decodeGrpcMessage(value: string): string {
    if (!value.includes("%")) return value;
    const bytes: number[] = [];
    for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
            bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
            i += 2;
        } else if (c < 0x80) bytes.push(c);
        else for (const b of Buffer.from(value[i], "utf8")) bytes.push(b);
    }
    return Buffer.from(bytes).toString("utf8");
}

/** grpc-timeout: at most 8 digits and a unit; milliseconds while they fit, then seconds. */
export function formatGrpcTimeout(ms: number): string {
    const whole = Math.max(0, Math.ceil(ms));
    if (whole < 1e8) return `${whole}m`;
    const seconds = Math.ceil(whole / 1000);
    if (seconds < 1e8) return `${seconds}S`;
    return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Undefined when absent or malformed (a malformed timeout is ignored rather than failing the call). */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
    const match = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
    return match ? Number(match[1]) * TIMEOUT_UNIT_MS[match[2]] : undefined;
}

/** The status a client reports when a response carries no grpc-status (PROTOCOL-HTTP2 / http-grpc-status-mapping.md). */
export function grpcCodeForHttpStatus(status: number): GrpcCode {
    switch (status) {
        case 400:
            return GrpcCode.INTERNAL;
        case 401:
            return GrpcCode.UNAUTHENTICATED;
        case 403:
            return GrpcCode.PERMISSION_DENIED;
        case 404:
            return GrpcCode.UNIMPLEMENTED;
        case 429:
        case 502:
        case 503:
        case 504:
            return GrpcCode.UNAVAILABLE;
        default:
            return GrpcCode.UNKNOWN;
    }
}

/** A gRPC status read from a header value; undefined when absent or not a status. */
export function parseGrpcStatus(value: string | string[] | undefined): GrpcCode | undefined {
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined || !/^\d{1,2}$/.test(text)) return undefined;
    return Number(text) as GrpcCode;
}
