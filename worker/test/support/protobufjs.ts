// Loads the .proto subsets in ./protos with protobufjs, an independent protobuf implementation, for the
// wire-codec cross-checks (test-only).
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as protobuf from "protobufjs";

export function loadProto(file: "tfserving_subset.proto" | "kserve_v2_subset.proto"): protobuf.Root {
    return protobuf.parse(readFileSync(path.join(__dirname, "protos", file), "utf8"), { keepCase: true }).root;
}

/** A plain object with int64 as numbers, bytes as Buffers and enums as numbers. */
export function plain(type: protobuf.Type, bytes: Buffer): Record<string, unknown> {
    const message = type.decode(bytes);
    return type.toObject(message, { longs: Number, enums: Number, defaults: false, arrays: true, objects: true, oneofs: false }) as Record<
        string,
        unknown
    >;
}

export function encode(type: protobuf.Type, value: Record<string, unknown>): Buffer {
    const problem = type.verify(value);
    if (problem) throw new Error(`${type.name}: ${problem}`);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
}
