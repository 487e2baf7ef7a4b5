// Turning transport failures into ModelServerError with a clear message and a retry decision.
import { GrpcCode } from "../grpc/protocol";
import { ModelServerError, type ModelSpec } from "./types";

/**
 * gRPC codes worth retrying. INTERNAL is treated as transient: gRPC clients report HTTP/2 resets and
 * protocol failures (e.g. a model server restarting mid-call) as INTERNAL, and TF Serving uses it for
 * sporadic runtime faults; a deterministic INTERNAL just exhausts the caller's bounded retries.
 * UNKNOWN is permanent: TF Serving passes through the model's own op errors this way, and retrying the
 * same input reproduces them. CANCELLED is transient because it means our side gave up, not that the
 * input is bad.
 */
const TRANSIENT_GRPC_CODES = new Set<number>([
    GrpcCode.UNAVAILABLE,
    GrpcCode.DEADLINE_EXCEEDED,
    GrpcCode.RESOURCE_EXHAUSTED,
    GrpcCode.ABORTED,
    GrpcCode.INTERNAL,
    GrpcCode.CANCELLED,
]);

export function grpcCodeName(code: number): string {
    return (GrpcCode as Record<number, string | undefined>)[code] ?? `CODE_${code}`;
}

export function isTransientGrpcCode(code: number): boolean {
    return TRANSIENT_GRPC_CODES.has(code);
}

export function describeModel(spec: ModelSpec): string {
    return spec.version === undefined ? `"${spec.name}"` : `"${spec.name}" version ${spec.version}`;
}

/** The sentence a caller reads first; the server's own text follows it. */
function explain(codeName: string, serverUrl: string, spec: ModelSpec, detail: string): string {
    if (codeName === "NOT_FOUND" && /servable not found|could not find/i.test(detail)) {
        return `model server ${serverUrl} has no model named ${describeModel(spec)} (or it is not loaded yet): ${detail}`;
    }
    switch (codeName) {
        case "UNAVAILABLE":
            return `model server ${serverUrl} is unavailable: ${detail}`;
        case "DEADLINE_EXCEEDED":
            return `model server ${serverUrl} did not answer for model ${describeModel(spec)} in time: ${detail}`;
        case "INVALID_ARGUMENT":
            return `model server ${serverUrl} rejected the request for model ${describeModel(spec)}: ${detail}`;
        default:
            return `model server ${serverUrl} failed for model ${describeModel(spec)} (${codeName}): ${detail}`;
    }
}

export function grpcError(code: number, details: string, serverUrl: string, spec: ModelSpec): ModelServerError {
    const name = grpcCodeName(code);
    return new ModelServerError(explain(name, serverUrl, spec, details || "(no details)"), name, isTransientGrpcCode(code));
}

/**
 * The answer was not a gRPC response (see GrpcCallError.httpStatus): no model server said anything about
 * the request, so it is transient (NON_GRPC_RESPONSE), however the gRPC spec would map the HTTP status.
 */
export function nonGrpcAnswer(serverUrl: string, err: { message: string; httpStatus?: number }): ModelServerError {
    return new ModelServerError(
        `model server ${serverUrl} answered with something that is not a gRPC response (${err.message}): a proxy, or a server restarting mid-call`,
        "NON_GRPC_RESPONSE",
        true,
    );
}

export function decodeError(serverUrl: string, what: string, cause: unknown): ModelServerError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ModelServerError(`model server ${serverUrl} sent a ${what} that does not decode: ${reason}`, "DECODE_ERROR", false);
}

/**
 * HTTP status -> code name and retry decision for the REST transport. TF Serving's REST server writes a
 * gRPC status as HTTP (model_servers/http_server.cc ToHTTPStatusCode): ABORTED as 409 and CANCELLED as
 * 499, which are retried as their gRPC codes are (isTransientGrpcCode). 500 stands for INTERNAL, UNKNOWN
 * and DATA_LOSS alike and is retried.
 */
export function httpError(status: number, serverText: string, serverUrl: string, spec: ModelSpec): ModelServerError {
    const name = httpCodeName(status);
    // 5xx other than 501 (not implemented) are retryable; so are 408 and 429, which say "later", and 409/499 (above).
    const transient = (status >= 500 && status !== 501) || status === 408 || status === 429 || status === 409 || status === 499;
    return new ModelServerError(`${explain(name, serverUrl, spec, serverText)} (HTTP ${status})`, name, transient);
}

function httpCodeName(status: number): string {
    switch (status) {
        case 400:
            return "INVALID_ARGUMENT";
        case 404:
            return "NOT_FOUND";
        case 408:
        case 504:
            return "DEADLINE_EXCEEDED";
        case 409:
            return "ABORTED";
        case 412:
            return "FAILED_PRECONDITION";
        case 429:
            return "RESOURCE_EXHAUSTED";
        case 499:
            return "CANCELLED";
        case 501:
            return "UNIMPLEMENTED";
        case 503:
            return "UNAVAILABLE";
        case 500:
            return "INTERNAL";
        default:
            return `HTTP_${status}`;
    }
}
