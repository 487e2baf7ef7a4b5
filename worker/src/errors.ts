// Why a job failed, and whether trying again later could help.
import { ModelServerError } from "../model-client/tfserving";

export class JobError extends Error {
    constructor(
        message: string,
        /** Permanent: dead-letter now. Transient: give the message back for a later retry. */
        readonly permanent: boolean,
        /** Short machine-readable reason for logs, metrics and the DLQ attribute. */
        readonly code: string,
    ) {
        super(message);
        this.name = "JobError";
    }
}

/**
 * The job could not go on for a reason that is not the job's (shutdown, the model gone for longer than
 * MODEL_WAIT_TIMEOUT_SECONDS, a stalled transfer): its message goes back to the queue at once. Never
 * dead-lettered by the worker.
 */
export class GiveBackError extends Error {
    constructor(
        message: string,
        /** Machine-readable reason for logs. */
        readonly code: string,
    ) {
        super(message);
        this.name = "GiveBackError";
    }
}

/** The job was cancelled because the worker is shutting down. Never dead-lettered. */
export class ShutdownError extends GiveBackError {
    constructor() {
        super("worker is shutting down", "SHUTDOWN");
        this.name = "ShutdownError";
    }
}

/**
 * A model version other than the job's answered (or the job's version was unloaded and another is now
 * AVAILABLE): the job restarts so that one version serves all of its frames.
 */
export class ModelVersionChanged extends Error {
    constructor(
        readonly from: number,
        readonly to: number,
    ) {
        super(`model version changed from ${from} to ${to} during the job`);
        this.name = "ModelVersionChanged";
    }
}

/**
 * The input object was replaced while the job ran: its result would describe a version that is no longer
 * the object, and the replacement's own job (its S3 notification) writes the current result. The job is
 * done without writing.
 */
export class JobSuperseded extends Error {
    constructor(
        readonly readEtag: string,
        readonly currentEtag: string,
    ) {
        super(
            `the input object was replaced while the job ran (read ETag ${readEtag}, now ${currentEtag}); the newer version's job writes the result`,
        );
        this.name = "JobSuperseded";
    }
}

/** Classify anything thrown while handling a job. */
export function toJobError(err: unknown): JobError | GiveBackError {
    if (err instanceof JobError || err instanceof GiveBackError) return err;
    if (err instanceof ModelServerError) return new JobError(err.message, !err.transient, `MODEL_${err.code}`);
    // No room on the disk (creating the job directory, writing the video, the result): the worker's condition.
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOSPC" || code === "EDQUOT") return new GiveBackError(`no room on the disk: ${(err as Error).message}`, "DISK_FULL");
    const message = err instanceof Error ? err.message : String(err);
    // Unknown failures (network, SDK, file system) are assumed transient; the queue's maxReceiveCount
    // bounds how often they are retried before SQS dead-letters the message.
    return new JobError(message, false, "UNEXPECTED");
}
