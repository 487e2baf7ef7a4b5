// Public entry point of the TF Serving client library.
import { GrpcModelClient, type GrpcClientOptions } from "./grpc-client";
import { RestModelClient, type RestClientOptions } from "./rest-client";
import type { ModelClient } from "./types";

export * from "./types";
export { readFloat32, tensorFromFloat32, tensorFromInt32, tensorFromUint8, elementCount, bytesPerElement, dtypeName } from "./tensors";
export { waitForModelAvailable, type WaitOptions } from "./wait";
export { GrpcModelClient, type GrpcClientOptions } from "./grpc-client";
export { RestModelClient, type RestClientOptions } from "./rest-client";
export { encodePredictRequest } from "./codec";
export { tfDtypeName } from "./metadata";
export { encodeRestPredictBody } from "./rest-client";

export type ModelClientOptions = GrpcClientOptions & RestClientOptions;

/** `grpc://host:port` -> gRPC client; `http(s)://host:port[/prefix]` -> REST client. */
export function createModelClient(url: string, options: ModelClientOptions = {}): ModelClient {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error(`model server URL "${url}" is not a URL; expected grpc://host:port or http://host:port`);
    }
    switch (parsed.protocol) {
        case "grpc:":
            if (!parsed.hostname || !parsed.port)
                throw new Error(`model server URL "${url}" needs a host and a port, e.g. grpc://127.0.0.1:8500`);
            return new GrpcModelClient(url, `${parsed.hostname}:${parsed.port}`, options);
        case "http:":
        case "https:":
            return new RestModelClient(url, options);
        default:
            throw new Error(
                `model server URL "${url}" has unsupported scheme "${parsed.protocol}"; use grpc:// (port 8500) or http:// (port 8501)`,
            );
    }
}
