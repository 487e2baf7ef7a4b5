// KServe v2 failures as ModelServerError, with a first sentence naming the model and the server, and a
// retry decision. Triton's wording is matched where it tells cases apart that share a gRPC code
// (triton-inference-server/core model_lifecycle.cc: an unknown model and a model with no ready version
// are both NOT_FOUND).
import { GrpcCode } from "../grpc/protocol";
import { ModelServerError } from "../model-server-error";
import type { ModelRef } from "./types";

const TRANSIENT = new Set<number>([
    GrpcCode.UNAVAILABLE,
    GrpcCode.DEADLINE_EXCEEDED,
    GrpcCode.RESOURCE_EXHAUSTED,
    GrpcCode.ABORTED,
    GrpcCode.INTERNAL,
    GrpcCode.CANCELLED,
]);

export function describeModelRef(model: ModelRef): string {
    return model.version ? `"${model.name}" version ${model.version}` : `"${model.name}"`;
}

function codeName(code: number): string {
    return (GrpcCode as Record<number, string | undefined>)[code] ?? `CODE_${code}`;
}

/** A model that exists but has no version ready yet (loading, or failed to load). */
export function isNotReadyDetail(detail: string): boolean {
    return /no available versions|not at ready state|is not ready|not ready yet|loading/i.test(detail);
}

export function v2Error(code: number, detail: string, serverUrl: string, model: ModelRef): ModelServerError {
    const name = codeName(code);
    const text = detail || "(no details)";
    const m = describeModelRef(model);
    if ((code === GrpcCode.NOT_FOUND || code === GrpcCode.UNAVAILABLE) && isNotReadyDetail(text)) {
        // Worth retrying: the server is still loading it (a model that failed to load stays this way, and the caller's retries run out).
        return new ModelServerError(`model ${m} on ${serverUrl} is not ready yet: ${text}`, "MODEL_NOT_READY", true);
    }
    switch (code) {
        case GrpcCode.NOT_FOUND:
            return new ModelServerError(`model server ${serverUrl} has no model named ${m}: ${text}`, name, false);
        case GrpcCode.UNAVAILABLE:
            return new ModelServerError(`model server ${serverUrl} is unavailable (model ${m}): ${text}`, name, true);
        case GrpcCode.DEADLINE_EXCEEDED:
            return new ModelServerError(`model server ${serverUrl} did not answer for model ${m} in time: ${text}`, name, true);
        case GrpcCode.INVALID_ARGUMENT:
            return new ModelServerError(`model server ${serverUrl} rejected the request for model ${m}: ${text}`, name, false);
        case GrpcCode.UNIMPLEMENTED:
            return new ModelServerError(
                `model server ${serverUrl} does not speak KServe v2 gRPC (inference.GRPCInferenceService) for model ${m}: ${text}`,
                name,
                false,
            );
        default:
            return new ModelServerError(`model server ${serverUrl} failed for model ${m} (${name}): ${text}`, name, TRANSIENT.has(code));
    }
}

export function v2DecodeError(serverUrl: string, model: ModelRef, what: string, cause: unknown): ModelServerError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ModelServerError(
        `model server ${serverUrl} sent a ${what} for model ${describeModelRef(model)} that does not decode: ${reason}`,
        "DECODE_ERROR",
        false,
    );
}
