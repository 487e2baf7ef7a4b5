// One error type for everything model-fetch can fail at, with a kind a caller (or a test) can match on.

export type ModelFetchErrorKind =
    | "CONFIG" // bad or missing environment settings
    | "NOT_FOUND" // the bucket, key, prefix or URL does not exist
    | "ACCESS_DENIED" // credentials missing or not allowed to read the source
    | "NO_SAVED_MODEL" // the source holds no saved_model.pb
    | "AMBIGUOUS_MODEL" // several saved_model.pb and no numbered version directories
    | "EXTRACT_FAILED" // tar could not unpack the archive
    | "TRANSFER_FAILED"; // any other download failure

export class ModelFetchError extends Error {
    constructor(
        message: string,
        readonly kind: ModelFetchErrorKind,
        options?: { cause?: unknown },
    ) {
        super(message, options);
        this.name = "ModelFetchError";
    }
}

interface AwsErrorShape {
    name?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number };
}

/** Turn an AWS SDK v3 S3 error into a ModelFetchError that says what was being read. */
export function describeS3Error(err: unknown, what: string): ModelFetchError {
    if (err instanceof ModelFetchError) return err;
    const shape = (typeof err === "object" && err !== null ? err : {}) as AwsErrorShape;
    const name = shape.name ?? shape.Code ?? "";
    const status = shape.$metadata?.httpStatusCode;
    const detail = err instanceof Error ? err.message : String(err);
    if (name === "NoSuchKey" || name === "NoSuchBucket" || name === "NotFound" || status === 404) {
        return new ModelFetchError(`not found: ${what} (${name || "HTTP 404"})`, "NOT_FOUND", { cause: err });
    }
    if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
        return new ModelFetchError(
            `access denied reading ${what}: the pod's identity (EKS Pod Identity role, or the supplied keys) may not read it (${detail})`,
            "ACCESS_DENIED",
            { cause: err },
        );
    }
    if (name === "CredentialsProviderError") {
        return new ModelFetchError(`no AWS credentials to read ${what}: ${detail}`, "ACCESS_DENIED", { cause: err });
    }
    return new ModelFetchError(`failed to read ${what}: ${detail}`, "TRANSFER_FAILED", { cause: err });
}
