// Tensors <-> the nested JSON arrays of TF Serving's REST API (columnar "inputs"/"outputs" format).
import { contentFromValues, dtypeName, elementCount, tensorValues } from "./tensors";
import { DataType, type Tensor } from "./types";

const BYTE_DIGITS = Array.from({ length: 256 }, (_, i) => Buffer.from(String(i), "latin1"));
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c; // ,

/** JSON text of a tensor as nested arrays; strings use TF Serving's {"b64": ...} form. */
export function tensorToJsonText(tensor: Tensor): string {
    return tensorToJsonBytes(tensor).toString("utf8");
}

/**
 * The same JSON written straight into one Buffer: a batch of 8 300x300 RGB frames becomes ~9 MB of
 * text, and building it element by element as JS strings would take far longer than the inference.
 */
export function tensorToJsonBytes(tensor: Tensor): Buffer {
    const count = elementCount(tensor.shape);
    if (count === 0) return Buffer.from(JSON.stringify(emptyNested(tensor.shape, 0)));
    let text: (i: number) => Buffer;
    let widest: number;
    if (tensor.strings !== undefined) {
        const items = tensor.strings.map((s) => Buffer.from(`{"b64":"${s.toString("base64")}"}`));
        text = (i) => items[i];
        widest = Math.max(...items.map((b) => b.length));
    } else if (tensor.dtype === DataType.DT_UINT8) {
        const content = tensor.content ?? Buffer.alloc(0);
        if (content.length !== count)
            throw new RangeError(`uint8 tensor of shape [${tensor.shape.join(",")}] holds ${content.length} bytes`);
        text = (i) => BYTE_DIGITS[content[i]]; // only used for scalars; rows go through writeUint8Rows
        widest = 3;
    } else {
        const values = tensorValues(tensor);
        if (values.length !== count) throw new RangeError(`tensor of shape [${tensor.shape.join(",")}] holds ${values.length} values`);
        const items = Array.from(values, (v) => Buffer.from(formatNumber(v, tensor.dtype), "latin1"));
        text = (i) => items[i];
        widest = Math.max(...items.map((b) => b.length));
    }
    if (tensor.shape.length === 0) return text(0);
    // strides[k] = number of elements in one sub-array at depth k; a bracket opens where i is a multiple.
    const rank = tensor.shape.length;
    const strides = new Array<number>(rank);
    let acc = 1;
    for (let k = rank - 1; k >= 0; k--) strides[k] = acc *= tensor.shape[k];
    const out = Buffer.allocUnsafe(count * (widest + 1) + 2 * count + 2 * rank);
    if (tensor.dtype === DataType.DT_UINT8 && tensor.strings === undefined)
        return writeUint8Rows(tensor.content ?? Buffer.alloc(0), strides, out);
    let pos = 0;
    for (let i = 0; i < count; i++) {
        if (i > 0) out[pos++] = COMMA;
        for (let k = 0; k < rank; k++) if (i % strides[k] === 0) out[pos++] = OPEN;
        const item = text(i);
        if (item.length === 1) out[pos++] = item[0];
        else pos += item.copy(out, pos);
        for (let k = 0; k < rank; k++) if ((i + 1) % strides[k] === 0) out[pos++] = CLOSE;
    }
    return out.subarray(0, pos);
}

/** The uint8 hot path: digits written byte by byte, brackets decided once per innermost row. */
function writeUint8Rows(content: Buffer, strides: number[], out: Buffer): Buffer {
    const rank = strides.length;
    const rowLength = strides[rank - 1];
    let pos = 0;
    for (let start = 0; start < content.length; start += rowLength) {
        if (start > 0) out[pos++] = COMMA;
        for (let k = 0; k < rank; k++) if (start % strides[k] === 0) out[pos++] = OPEN;
        for (let i = start; i < start + rowLength; i++) {
            if (i > start) out[pos++] = COMMA;
            const v = content[i];
            if (v >= 100) {
                out[pos++] = 0x30 + ((v / 100) | 0);
                out[pos++] = 0x30 + (((v / 10) | 0) % 10);
            } else if (v >= 10) out[pos++] = 0x30 + ((v / 10) | 0);
            out[pos++] = 0x30 + (v % 10);
        }
        const end = start + rowLength;
        for (let k = 0; k < rank; k++) if (end % strides[k] === 0) out[pos++] = CLOSE;
    }
    return out.subarray(0, pos);
}

function emptyNested(shape: readonly number[], depth: number): unknown[] {
    if (depth >= shape.length - 1 || shape[depth] === 0) return [];
    return Array.from({ length: shape[depth] }, () => emptyNested(shape, depth + 1));
}

function formatNumber(v: number, dtype: DataType): string {
    if (dtype === DataType.DT_BOOL) return v ? "true" : "false";
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    return String(v);
}

export class JsonTensorError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "JsonTensorError";
    }
}

/**
 * Parses a nested JSON array (or scalar) into a Tensor. `dtype` fixes the numeric type (servers know it
 * from the signature); without it numbers become DT_FLOAT, booleans DT_BOOL, strings DT_STRING.
 */
export function jsonToTensor(value: unknown, what: string, dtype?: DataType): Tensor {
    const shape: number[] = [];
    let probe: unknown = value;
    while (Array.isArray(probe)) {
        shape.push(probe.length);
        probe = probe[0];
    }
    const kind = probe === undefined ? "number" : isB64(probe) ? "string" : typeof probe;
    if (kind === "string") {
        const strings: Buffer[] = [];
        walk(value, shape, 0, what, (v) => strings.push(stringBytes(v, what)));
        return { dtype: DataType.DT_STRING, shape, strings };
    }
    const resolved = dtype ?? (kind === "boolean" ? DataType.DT_BOOL : DataType.DT_FLOAT);
    const count = elementCount(shape);
    if (resolved === DataType.DT_UINT8) {
        // Hot path for image batches: validate and store each byte directly.
        const content = Buffer.allocUnsafe(count);
        let i = 0;
        walk(value, shape, 0, what, (v) => {
            if (typeof v !== "number" || !(v >= 0 && v <= 255) || v !== Math.floor(v))
                throw new JsonTensorError(`${what}: element ${i} = ${JSON.stringify(v)} is not a valid DT_UINT8`);
            content[i++] = v;
        });
        return { dtype: resolved, shape, content };
    }
    const numbers = new Array<number>(count);
    let i = 0;
    walk(value, shape, 0, what, (v) => {
        numbers[i] = toNumber(v, resolved, what, i);
        i++;
    });
    return { dtype: resolved, shape, content: contentFromValues(resolved, numbers) };
}

/** Visits every leaf in order, checking the nesting is regular (not ragged). */
function walk(value: unknown, shape: number[], depth: number, what: string, visit: (leaf: unknown) => void): void {
    if (shape.length === 0) {
        visit(value);
        return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
        throw new JsonTensorError(`${what}: ragged nested array: expected ${shape[depth]} elements at depth ${depth}`);
    }
    if (depth === shape.length - 1) {
        for (let i = 0; i < value.length; i++) {
            const leaf: unknown = value[i];
            if (Array.isArray(leaf)) throw new JsonTensorError(`${what}: ragged nested array (too deep at depth ${depth + 1})`);
            visit(leaf);
        }
        return;
    }
    for (let i = 0; i < value.length; i++) walk(value[i], shape, depth + 1, what, visit);
}

function isB64(v: unknown): v is { b64: string } {
    return typeof v === "object" && v !== null && typeof (v as { b64?: unknown }).b64 === "string";
}

function stringBytes(v: unknown, what: string): Buffer {
    if (typeof v === "string") return Buffer.from(v, "utf8");
    if (isB64(v)) return Buffer.from(v.b64, "base64");
    throw new JsonTensorError(`${what}: mixes strings with ${typeof v} values`);
}

function toNumber(v: unknown, dtype: DataType, what: string, index: number): number {
    if (typeof v === "boolean" && dtype === DataType.DT_BOOL) return v ? 1 : 0;
    if (typeof v !== "number")
        throw new JsonTensorError(`${what}: element ${index} is ${JSON.stringify(v)}, expected a number for ${dtypeName(dtype)}`);
    const range = INTEGER_RANGES[dtype];
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
        throw new JsonTensorError(`${what}: element ${index} = ${v} is not a valid ${dtypeName(dtype)}`);
    }
    return v;
}

const INTEGER_RANGES: Partial<Record<DataType, [number, number]>> = {
    [DataType.DT_UINT8]: [0, 255],
    [DataType.DT_INT8]: [-128, 127],
    [DataType.DT_INT16]: [-32768, 32767],
    [DataType.DT_INT32]: [-2147483648, 2147483647],
    [DataType.DT_INT64]: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
