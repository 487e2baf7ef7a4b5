// Building and reading Tensors (the contract in types.ts) without caring how the server encoded them.
import { DataType, ModelServerError, type Tensor } from "./types";

/** Bytes per element for numeric dtypes; undefined for strings and unsupported types. */
export function bytesPerElement(dtype: DataType): number | undefined {
    switch (dtype) {
        case DataType.DT_FLOAT:
        case DataType.DT_INT32:
            return 4;
        case DataType.DT_DOUBLE:
        case DataType.DT_INT64:
            return 8;
        case DataType.DT_UINT8:
        case DataType.DT_INT8:
        case DataType.DT_BOOL:
            return 1;
        case DataType.DT_INT16:
        case DataType.DT_HALF:
            return 2;
        default:
            return undefined;
    }
}

export function dtypeName(dtype: DataType): string {
    return DataType[dtype] ?? `DataType(${dtype})`;
}

export function elementCount(shape: readonly number[]): number {
    let n = 1;
    for (const d of shape) n *= d;
    return n;
}

function checkShape(shape: readonly number[], what: string): void {
    for (const d of shape) {
        if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${what}: shape [${shape.join(",")}] has an invalid dimension ${d}`);
    }
}

/** Wraps raw bytes (no copy) as a DT_UINT8 tensor, e.g. a batch of RGB frames [N,H,W,3]. */
export function tensorFromUint8(content: Buffer | Uint8Array, shape: number[]): Tensor {
    checkShape(shape, "tensorFromUint8");
    if (content.byteLength !== elementCount(shape)) {
        throw new RangeError(
            `tensorFromUint8: ${content.byteLength} bytes do not fill shape [${shape.join(",")}] (${elementCount(shape)} elements)`,
        );
    }
    return { dtype: DataType.DT_UINT8, shape: [...shape], content: asBuffer(content) };
}

/** DT_INT32 tensor over the array's bytes (no copy; this machine and the wire are little-endian). */
export function tensorFromInt32(values: Int32Array, shape: number[]): Tensor {
    checkShape(shape, "tensorFromInt32");
    if (values.length !== elementCount(shape)) {
        throw new RangeError(`tensorFromInt32: ${values.length} values do not fill shape [${shape.join(",")}]`);
    }
    return { dtype: DataType.DT_INT32, shape: [...shape], content: asBuffer(values) };
}

export function tensorFromFloat32(values: Float32Array, shape: number[]): Tensor {
    checkShape(shape, "tensorFromFloat32");
    if (values.length !== elementCount(shape)) {
        throw new RangeError(`tensorFromFloat32: ${values.length} values do not fill shape [${shape.join(",")}]`);
    }
    return { dtype: DataType.DT_FLOAT, shape: [...shape], content: asBuffer(values) };
}

function asBuffer(view: ArrayBufferView): Buffer {
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Any numeric tensor's values as float32, whatever dtype or encoding the server used. Throws a permanent
 * ModelServerError for string tensors or content whose size does not match the shape.
 */
export function readFloat32(tensor: Tensor): Float32Array {
    const size = bytesPerElement(tensor.dtype);
    if (size === undefined || tensor.content === undefined) {
        throw new ModelServerError(`cannot read a ${dtypeName(tensor.dtype)} tensor as float32`, "BAD_OUTPUT", false);
    }
    const content = tensor.content;
    const count = elementCount(tensor.shape);
    if (content.length !== count * size) {
        throw new ModelServerError(
            `${dtypeName(tensor.dtype)} tensor of shape [${tensor.shape.join(",")}] should hold ${count * size} bytes but holds ${content.length}`,
            "BAD_OUTPUT",
            false,
        );
    }
    if (tensor.dtype === DataType.DT_FLOAT) {
        if (content.byteOffset % 4 === 0) return new Float32Array(content.buffer, content.byteOffset, count);
        const aligned = new Float32Array(count);
        new Uint8Array(aligned.buffer).set(content);
        return aligned;
    }
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = readElement(content, tensor.dtype, i);
    return out;
}

function readElement(content: Buffer, dtype: DataType, i: number): number {
    switch (dtype) {
        case DataType.DT_DOUBLE:
            return content.readDoubleLE(i * 8);
        case DataType.DT_INT32:
            return content.readInt32LE(i * 4);
        case DataType.DT_INT64:
            return Number(content.readBigInt64LE(i * 8));
        case DataType.DT_UINT8:
        case DataType.DT_BOOL:
            return content[i];
        case DataType.DT_INT8:
            return content.readInt8(i);
        case DataType.DT_INT16:
            return content.readInt16LE(i * 2);
        case DataType.DT_HALF:
            return halfToFloat(content.readUInt16LE(i * 2));
        default:
            throw new ModelServerError(`cannot read ${dtypeName(dtype)} as float32`, "BAD_OUTPUT", false);
    }
}

export function halfToFloat(bits: number): number {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Raw little-endian content from a list of numeric values (used for typed proto fields and JSON).
 * Integers are written as given; out-of-range values throw.
 */
export function contentFromValues(dtype: DataType, values: ArrayLike<number>): Buffer {
    const size = bytesPerElement(dtype);
    if (size === undefined) throw new RangeError(`${dtypeName(dtype)} is not a numeric dtype`);
    const out = Buffer.allocUnsafe(values.length * size);
    for (let i = 0; i < values.length; i++) writeElement(out, dtype, i, values[i]);
    return out;
}

function writeElement(out: Buffer, dtype: DataType, i: number, v: number): void {
    switch (dtype) {
        case DataType.DT_FLOAT:
            out.writeFloatLE(v, i * 4);
            return;
        case DataType.DT_DOUBLE:
            out.writeDoubleLE(v, i * 8);
            return;
        case DataType.DT_INT32:
            out.writeInt32LE(v, i * 4);
            return;
        case DataType.DT_INT64:
            out.writeBigInt64LE(BigInt(v), i * 8);
            return;
        case DataType.DT_UINT8:
            out.writeUInt8(v, i);
            return;
        case DataType.DT_BOOL:
            out.writeUInt8(v ? 1 : 0, i);
            return;
        case DataType.DT_INT8:
            out.writeInt8(v, i);
            return;
        case DataType.DT_INT16:
            out.writeInt16LE(v, i * 2);
            return;
        case DataType.DT_HALF:
            out.writeUInt16LE(v & 0xffff, i * 2);
            return;
        default:
            throw new RangeError(`${dtypeName(dtype)} is not a numeric dtype`);
    }
}

/** Every value of a numeric tensor as JS numbers (for JSON and typed proto fields). */
export function tensorValues(tensor: Tensor): ArrayLike<number> {
    if (tensor.dtype === DataType.DT_HALF) {
        const content = tensor.content ?? Buffer.alloc(0);
        const out = new Array<number>(content.length / 2);
        for (let i = 0; i < out.length; i++) out[i] = content.readUInt16LE(i * 2);
        return out;
    }
    if (tensor.dtype === DataType.DT_UINT8 || tensor.dtype === DataType.DT_BOOL) return tensor.content ?? Buffer.alloc(0);
    return readFloat32Exact(tensor);
}

function readFloat32Exact(tensor: Tensor): ArrayLike<number> {
    const content = tensor.content ?? Buffer.alloc(0);
    const size = bytesPerElement(tensor.dtype);
    if (size === undefined) throw new RangeError(`${dtypeName(tensor.dtype)} is not a numeric dtype`);
    const count = content.length / size;
    if (tensor.dtype === DataType.DT_FLOAT) return readFloat32(tensor);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = readElement(content, tensor.dtype, i);
    return out;
}
