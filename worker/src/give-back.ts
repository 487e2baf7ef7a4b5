// Giving a job back to the queue without spending its receive count (issue 17 item 5).
//
// SQS counts every receive, and its redrive policy dead-letters a message after maxReceiveCount receives,
// whatever ended them. A job interrupted for a reason that is not its own (SIGTERM, the model server
// away, a full disk) must not move towards the dead-letter queue. So the worker gives such a job back as
// a fresh copy of the message (SendMessage; a new message starts at receive count 0) and then deletes the
// original. The copy carries:
//   GiveBacks       how often the job has been given back (bounded by MAX_GIVE_BACKS: a job that never
//                   completes still ends in the dead-letter queue, with ErrorCode GIVE_BACK_LIMIT);
//   Failures        the receives the job spent failing before it was copied (its earlier receives minus
//                   the one that ended in this give-back), so real failures still add up to
//                   maxReceiveCount across copies;
//   GiveBackReason  the last give-back's code, for operators looking at the queue.
// Order: send the copy first, delete the original second. A failed send leaves the original (it is made
// visible again; that receive then counts, as before this scheme). Nothing is ever lost. The one window
// for a duplicate is a worker killed (SIGKILL) between the two calls, or DeleteMessage failing after
// the SDK's retries and one more try: the original then reappears after its visibility timeout and the
// job runs twice, the at-least-once delivery SQS standard queues have anyway; results are deterministic
// and written conditionally, so the second run writes the same document or nothing.
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";

export const GIVE_BACK_ATTRIBUTES = { giveBacks: "GiveBacks", failures: "Failures", reason: "GiveBackReason" } as const;

/** SQS allows at most this many message attributes. */
export const MAX_SQS_ATTRIBUTES = 10;

export interface GiveBackHistory {
    /** Give-backs before this receive. */
    giveBacks: number;
    /** Failed receives before this one, carried over from earlier copies (Failures) plus this copy's own (receive count - 1). */
    failures: number;
    /** This message's ApproximateReceiveCount. */
    receives: number;
}

function count(message: Message, name: string): number {
    const n = Number(message.MessageAttributes?.[name]?.StringValue ?? "0");
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export function giveBackHistory(message: Message): GiveBackHistory {
    const receives = Math.max(1, Number(message.Attributes?.ApproximateReceiveCount ?? "1") || 1);
    return {
        giveBacks: count(message, GIVE_BACK_ATTRIBUTES.giveBacks),
        failures: count(message, GIVE_BACK_ATTRIBUTES.failures) + receives - 1,
        receives,
    };
}

/**
 * The attributes of the copy: the original's own, plus the give-back bookkeeping; undefined when they
 * would exceed SQS's limit of 10 (the caller then gives the message back by visibility, counted).
 */
export function copyAttributes(
    message: Message,
    next: { giveBacks: number; failures: number; reason: string },
): Record<string, MessageAttributeValue> | undefined {
    const ours: string[] = Object.values(GIVE_BACK_ATTRIBUTES);
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) if (!ours.includes(name)) attributes[name] = value;
    attributes[GIVE_BACK_ATTRIBUTES.giveBacks] = { DataType: "Number", StringValue: String(next.giveBacks) };
    attributes[GIVE_BACK_ATTRIBUTES.failures] = { DataType: "Number", StringValue: String(next.failures) };
    attributes[GIVE_BACK_ATTRIBUTES.reason] = { DataType: "String", StringValue: next.reason };
    return Object.keys(attributes).length > MAX_SQS_ATTRIBUTES ? undefined : attributes;
}
