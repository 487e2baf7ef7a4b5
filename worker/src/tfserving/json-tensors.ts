// Tensors <-> the nested JSON arrays of TF Serving's REST API (columnar "inputs"/"outputs" format).
import { contentFromValues, dtypeName, elementCount, tensorValues } from "./tensors";
import { DataType, type Tensor } from "./types";

const BYTE_TEXT = Array.from({ length: 256 }, (_, i) => String(i));

/** JSON text of a tensor as nested arrays; strings use TF Serving's {"b64": ...} form. */
export function tensorToJsonText(tensor: Tensor): string {
    if (tensor.strings !== undefined) {
        const items = tensor.strings.map((s) => `{"b64":"${s.toString("base64")}"}`);
        return nest(items, tensor.shape);
    }
    const isBytes = tensor.dtype === DataType.DT_UINT8;
    const values = tensorValues(tensor);
    const count = elementCount(tensor.shape);
    if (values.length !== count) throw new RangeError(`tensor of shape [${tensor.shape.join(",")}] holds ${values.length} values`);
    if (tensor.shape.length === 0) return formatNumber(values[0], tensor.dtype);
    if (count === 0) return JSON.stringify(emptyNested(tensor.shape, 0));
    const rowLength = tensor.shape[tensor.shape.length - 1];
    const rows: string[] = [];
    for (let start = 0; start < count; start += rowLength) {
        let row = "[";
        for (let i = start; i < start + rowLength; i++) {
            if (i > start) row += ",";
            row += isBytes ? BYTE_TEXT[values[i]] : formatNumber(values[i], tensor.dtype);
        }
        rows.push(row + "]");
    }
    return nest(rows, tensor.shape.slice(0, -1));
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

/** Groups already-formatted items into nested arrays following `outerShape`. */
function nest(items: string[], outerShape: readonly number[]): string {
    let level = items;
    for (let d = outerShape.length - 1; d >= 0; d--) {
        const size = outerShape[d];
        const next: string[] = [];
        if (size === 0) {
            next.push("[]");
        } else {
            for (let i = 0; i < level.length; i += size) next.push("[" + level.slice(i, i + size).join(",") + "]");
        }
        level = next;
    }
    if (outerShape.length === 0) return level[0] ?? "[]";
    return level.length === 1 ? level[0] : "[" + level.join(",") + "]";
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
    const flat: unknown[] = [];
    flatten(value, shape, 0, flat, what);
    const kind = probe === undefined ? "number" : isB64(probe) ? "string" : typeof probe;
    if (kind === "string") {
        return { dtype: DataType.DT_STRING, shape, strings: flat.map((v) => stringBytes(v, what)) };
    }
    const resolved = dtype ?? (kind === "boolean" ? DataType.DT_BOOL : DataType.DT_FLOAT);
    const numbers = flat.map((v, i) => toNumber(v, resolved, what, i));
    return { dtype: resolved, shape, content: contentFromValues(resolved, numbers) };
}

function isB64(v: unknown): v is { b64: string } {
    return typeof v === "object" && v !== null && typeof (v as { b64?: unknown }).b64 === "string";
}

function stringBytes(v: unknown, what: string): Buffer {
    if (typeof v === "string") return Buffer.from(v, "utf8");
    if (isB64(v)) return Buffer.from(v.b64, "base64");
    throw new JsonTensorError(`${what}: mixes strings with ${typeof v} values`);
}

function flatten(value: unknown, shape: number[], depth: number, out: unknown[], what: string): void {
    if (depth === shape.length) {
        if (Array.isArray(value)) throw new JsonTensorError(`${what}: ragged nested array (too deep at depth ${depth})`);
        out.push(value);
        return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
        throw new JsonTensorError(`${what}: ragged nested array: expected ${shape[depth]} elements at depth ${depth}`);
    }
    for (const item of value) flatten(item, shape, depth + 1, out, what);
}

function toNumber(v: unknown, dtype: DataType, what: string, index: number): number {
    if (typeof v === "boolean" && dtype === DataType.DT_BOOL) return v ? 1 : 0;
    if (typeof v !== "number") throw new JsonTensorError(`${what}: element ${index} is ${JSON.stringify(v)}, expected a number for ${dtypeName(dtype)}`);
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
