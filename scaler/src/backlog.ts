// Pure arithmetic for the queue-depth scaler: no I/O, no SDK types, so every rule is unit-testable.

/** Lifecycle state that counts as running capacity (AWS's SQS scaling guide divides by InService only). */
export const IN_SERVICE = "InService";

/** The numbers the scaler publishes for one queue on one beat. */
export interface BacklogSample {
    /** Messages waiting (ApproximateNumberOfMessages). */
    visible: number;
    /** Messages received but not yet deleted (ApproximateNumberOfMessagesNotVisible). */
    inFlight: number;
    /** Instances of the group in the InService lifecycle state. */
    inServiceInstances: number;
    /** visible + inFlight: all work the group still owes. */
    backlog: number;
    /**
     * backlog / inServiceInstances; with zero instances, the backlog itself, so that any work waiting
     * on an empty group reads as "at least this much per instance" instead of dividing by zero.
     */
    backlogPerInstance: number;
    /** The group's DesiredCapacity (used by the wake-from-zero alarm). */
    desiredCapacity: number;
}

/** Raised when an input would make a published number wrong; the handler logs it and publishes nothing. */
export class InvalidSampleError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidSampleError";
    }
}

/**
 * Parse an SQS approximate-count attribute ("12"). Anything but a plain non-negative integer is
 * rejected: an absent attribute must never turn into 0 and silently scale the group in.
 */
export function parseCount(raw: string | undefined, attribute: string): number {
    if (raw === undefined) throw new InvalidSampleError(`${attribute} is missing from GetQueueAttributes`);
    if (!/^\d+$/.test(raw.trim())) {
        throw new InvalidSampleError(`${attribute} is not a non-negative integer: ${JSON.stringify(raw)}`);
    }
    const value = Number(raw.trim());
    if (!Number.isSafeInteger(value)) throw new InvalidSampleError(`${attribute} is out of range: ${raw}`);
    return value;
}

function requireCount(value: number, what: string): number {
    if (!Number.isInteger(value) || value < 0) {
        throw new InvalidSampleError(`${what} must be a non-negative integer, got ${String(value)}`);
    }
    return value;
}

/** Count instances whose lifecycle state is exactly InService (not Pending, Terminating, Standby...). */
export function countInService(states: readonly (string | undefined)[]): number {
    return states.filter((s) => s === IN_SERVICE).length;
}

/** Combine the raw counts into the published sample, rejecting anything that is not a count. */
export function computeBacklog(input: {
    visible: number;
    inFlight: number;
    inServiceInstances: number;
    desiredCapacity: number;
}): BacklogSample {
    const visible = requireCount(input.visible, "visible messages");
    const inFlight = requireCount(input.inFlight, "in-flight messages");
    const inServiceInstances = requireCount(input.inServiceInstances, "InService instances");
    const desiredCapacity = requireCount(input.desiredCapacity, "desired capacity");
    const backlog = visible + inFlight;
    const backlogPerInstance = inServiceInstances === 0 ? backlog : backlog / inServiceInstances;
    return { visible, inFlight, inServiceInstances, backlog, backlogPerInstance, desiredCapacity };
}
