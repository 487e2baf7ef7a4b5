// Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/): just the pieces the
// TF Serving and KServe v2 messages need. Writers produce small Buffers that callers either concatenate once with any
// big payload or send as a gather list; the reader returns sub-views of the input instead of copies.

export const enum WireType {
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/** Accumulates encoded chunks; big payloads are appended by reference and copied once by `finish`. */
export class ChunkWriter {
    private readonly chunks: Buffer[] = [];
    private scratch: number[] = [];
    private length = 0;

    get byteLength(): number {
        return this.length + this.scratch.length;
    }

    tag(field: number, wireType: WireType): this {
        return this.varint(field * 8 + wireType);
    }

    /** Unsigned varint for values in [0, 2^53); negative values are written as 64-bit two's complement. */
    varint(value: number): this {
        if (value < 0) return this.negativeVarint(value);
        if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
        let v = value;
        while (v >= 0x80) {
            this.scratch.push((v % 0x80) | 0x80);
            v = Math.floor(v / 0x80);
        }
        this.scratch.push(v);
        return this;
    }

    bytesField(field: number, bytes: Buffer): this {
        this.tag(field, WireType.LengthDelimited).varint(bytes.length);
        return this.raw(bytes);
    }

    stringField(field: number, text: string): this {
        return this.bytesField(field, Buffer.from(text, "utf8"));
    }

    /** A nested message already encoded into `writer`, whose chunks are adopted rather than copied. */
    messageField(field: number, writer: ChunkWriter): this {
        this.tag(field, WireType.LengthDelimited).varint(writer.byteLength);
        writer.flushScratch();
        for (const chunk of writer.chunks) this.raw(chunk);
        return this;
    }

    raw(bytes: Buffer): this {
        this.flushScratch();
        if (bytes.length > 0) {
            this.chunks.push(bytes);
            this.length += bytes.length;
        }
        return this;
    }

    finish(): Buffer {
        this.flushScratch();
        return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    }

    /**
     * The message as a gather list for a vectored write: runs of chunks smaller than `copyBelow` bytes are
     * merged into one Buffer, bigger chunks (tensor contents) are passed by reference, never copied.
     */
    segments(copyBelow = 64 * 1024): Buffer[] {
        this.flushScratch();
        const out: Buffer[] = [];
        let run: Buffer[] = [];
        let runLength = 0;
        const closeRun = (): void => {
            if (run.length > 0) out.push(run.length === 1 ? run[0] : Buffer.concat(run, runLength));
            run = [];
            runLength = 0;
        };
        for (const chunk of this.chunks) {
            if (chunk.length >= copyBelow) {
                closeRun();
                out.push(chunk);
            } else {
                run.push(chunk);
                runLength += chunk.length;
            }
        }
        closeRun();
        return out;
    }

    private flushScratch(): void {
        if (this.scratch.length === 0) return;
        this.chunks.push(Buffer.from(this.scratch));
        this.length += this.scratch.length;
        this.scratch = [];
    }

    private negativeVarint(value: number): this {
        const big = BigInt.asUintN(64, BigInt(value));
        let v = big;
        while (v >= 0x80n) {
            this.scratch.push(Number(v & 0x7fn) | 0x80);
            v >>= 7n;
        }
        this.scratch.push(Number(v));
        return this;
    }
}

export class WireFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "WireFormatError";
    }
}

export interface FieldHeader {
    field: number;
    wireType: WireType;
}

/** Sequential reader over one encoded message. */
export class WireReader {
    pos: number;

    constructor(
        readonly buf: Buffer,
        start = 0,
        readonly end = buf.length,
    ) {
        this.pos = start;
    }

    get done(): boolean {
        return this.pos >= this.end;
    }

    header(): FieldHeader {
        const key = this.varint();
        const field = Math.floor(key / 8);
        const wireType = key % 8;
        if (field === 0) throw new WireFormatError(`field number 0 at byte ${this.pos}`);
        if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5) {
            throw new WireFormatError(`unsupported wire type ${wireType} for field ${field}`);
        }
        return { field, wireType };
    }

    /** A varint as a JS number: exact below 2^53; a 10-byte negative int64 comes back negative. */
    varint(): number {
        let low = 0;
        let high = 0;
        let shift = 0;
        for (let i = 0; i < 10; i++) {
            if (this.pos >= this.end) throw new WireFormatError("truncated varint");
            const byte = this.buf[this.pos++];
            const bits = byte & 0x7f;
            if (shift < 28) low |= bits << shift;
            else if (shift === 28) {
                low |= (bits & 0x0f) << 28;
                high |= bits >>> 4;
            } else high |= bits << (shift - 32);
            if ((byte & 0x80) === 0) {
                low >>>= 0;
                high >>>= 0;
                if (high & 0x80000000) return -((~high >>> 0) * 0x100000000 + (~low >>> 0) + 1);
                return high * 0x100000000 + low;
            }
            shift += 7;
        }
        throw new WireFormatError("varint longer than 10 bytes");
    }

    /** int32 fields: negative values are sign-extended to 10 bytes on the wire; keep the low 32 bits. */
    int32(): number {
        const v = this.varint();
        return v < 0 ? v : Number(BigInt.asIntN(32, BigInt(v)));
    }

    bytes(): Buffer {
        const length = this.varint();
        const start = this.pos;
        if (start + length > this.end) throw new WireFormatError(`length ${length} runs past the end of the message`);
        this.pos += length;
        return this.buf.subarray(start, start + length);
    }

    /** A nested message as its own reader (no copy). */
    message(): WireReader {
        const length = this.varint();
        const start = this.pos;
        if (start + length > this.end) throw new WireFormatError(`nested message of ${length} bytes runs past the end`);
        this.pos += length;
        return new WireReader(this.buf, start, start + length);
    }

    string(): string {
        return this.bytes().toString("utf8");
    }

    fixed32Float(): number {
        this.need(4);
        const v = this.buf.readFloatLE(this.pos);
        this.pos += 4;
        return v;
    }

    fixed64Double(): number {
        this.need(8);
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
    }

    skip(wireType: WireType): void {
        switch (wireType) {
            case WireType.Varint:
                this.varint();
                return;
            case WireType.Fixed64:
                this.need(8);
                this.pos += 8;
                return;
            case WireType.LengthDelimited:
                this.bytes();
                return;
            case WireType.Fixed32:
                this.need(4);
                this.pos += 4;
                return;
        }
    }

    private need(n: number): void {
        if (this.pos + n > this.end) throw new WireFormatError(`truncated fixed-width value at byte ${this.pos}`);
    }
}
