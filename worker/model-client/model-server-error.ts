// The error every model-server client (TF Serving gRPC and REST, KServe v2 gRPC) raises, whatever the protocol.

/**
 * Why a model call failed. `transient` failures (server unavailable, deadline exceeded, resource
 * exhausted, HTTP 5xx other than 501) are worth retrying; the rest (not found, invalid argument,
 * a response that does not decode) fail the job.
 */
export class ModelServerError extends Error {
    constructor(
        message: string,
        readonly code: string,
        readonly transient: boolean,
    ) {
        super(message);
        this.name = "ModelServerError";
    }
}
