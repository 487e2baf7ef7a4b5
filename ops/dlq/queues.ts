// The few SQS operations the replay needs, behind a port so the replay logic can be tested with a
// queue that fails on purpose.
import {
    ChangeMessageVisibilityCommand,
    DeleteMessageCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    type MessageAttributeValue,
    type SQSClient,
} from "@aws-sdk/client-sqs";

/**
 * Attributes the worker adds when it dead-letters a job itself (worker/src/worker.ts) or gives it back
 * (worker/src/give-back.ts: GiveBacks, Failures, GiveBackReason); the replay drops these, so a replayed job
 * starts afresh, and keeps any the original message carried.
 */
export const WORKER_ERROR_ATTRIBUTES: readonly string[] = [
    "ErrorCode",
    "ErrorMessage",
    "Job",
    "SourceQueue",
    "GiveBacks",
    "Failures",
    "GiveBackReason",
];

export interface DeadLetter {
    messageId: string;
    receiptHandle: string;
    body: string;
    /** Message attributes as text (binary values summarised), for display. */
    attributes: Record<string, string>;
    /** The attributes the original job message carried (everything but the worker's error attributes). */
    originalAttributes: Record<string, MessageAttributeValue>;
    /** How many times SQS has delivered this message (from the system attributes). */
    receiveCount?: number;
}

export interface ReplayQueues {
    /** Receives up to `max` (<= 10) dead letters, hiding them for `hideSeconds`. */
    receive(max: number, hideSeconds: number): Promise<DeadLetter[]>;
    /** Sends a job back to the job queue. */
    sendToJobQueue(body: string, attributes: Record<string, MessageAttributeValue>): Promise<void>;
    deleteFromDeadLetterQueue(receiptHandle: string): Promise<void>;
    /** Makes a received dead letter visible again at once. */
    release(receiptHandle: string): Promise<void>;
}

/** Long-poll wait per receive: one empty long poll means the queue is (approximately) empty. */
const DEFAULT_WAIT_SECONDS = 2;

export function sqsReplayQueues(sqs: SQSClient, dlqUrl: string, queueUrl: string, waitSeconds = DEFAULT_WAIT_SECONDS): ReplayQueues {
    return {
        async receive(max, hideSeconds) {
            const out = await sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: dlqUrl,
                    MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
                    VisibilityTimeout: hideSeconds,
                    WaitTimeSeconds: waitSeconds,
                    MessageAttributeNames: ["All"],
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                }),
            );
            return (out.Messages ?? []).map((m) => {
                if (m.MessageId === undefined || m.ReceiptHandle === undefined || m.Body === undefined) {
                    throw new Error(`dead-letter queue returned a message without id, receipt handle or body: ${JSON.stringify(m)}`);
                }
                const attributes: Record<string, string> = {};
                const originalAttributes: Record<string, MessageAttributeValue> = {};
                for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
                    attributes[name] = value.StringValue ?? `<binary, ${value.BinaryValue?.length ?? 0} bytes>`;
                    if (!WORKER_ERROR_ATTRIBUTES.includes(name)) originalAttributes[name] = value;
                }
                const count = m.Attributes?.ApproximateReceiveCount;
                return {
                    messageId: m.MessageId,
                    receiptHandle: m.ReceiptHandle,
                    body: m.Body,
                    attributes,
                    originalAttributes,
                    receiveCount: count === undefined ? undefined : Number(count),
                };
            });
        },
        async sendToJobQueue(body, attributes) {
            const hasAttributes = Object.keys(attributes).length > 0;
            await sqs.send(
                new SendMessageCommand({
                    QueueUrl: queueUrl,
                    MessageBody: body,
                    MessageAttributes: hasAttributes ? attributes : undefined,
                }),
            );
        },
        async deleteFromDeadLetterQueue(receiptHandle) {
            await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: receiptHandle }));
        },
        async release(receiptHandle) {
            await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }));
        },
    };
}
