// The few SQS operations the replay needs, behind a port so the replay logic can be tested with a
// queue that fails on purpose.
import {
    ChangeMessageVisibilityCommand,
    DeleteMessageCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    type SQSClient,
} from "@aws-sdk/client-sqs";

export interface DeadLetter {
    messageId: string;
    receiptHandle: string;
    body: string;
    /** Message attributes as text (binary values summarised). */
    attributes: Record<string, string>;
    /** How many times SQS has delivered this message (from the system attributes). */
    receiveCount?: number;
}

export interface ReplayQueues {
    /** Receives up to `max` (<= 10) dead letters, hiding them for `hideSeconds`. */
    receive(max: number, hideSeconds: number): Promise<DeadLetter[]>;
    /** Sends a body to the job queue, with no message attributes. */
    sendToJobQueue(body: string): Promise<void>;
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
                for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
                    attributes[name] = value.StringValue ?? `<binary, ${value.BinaryValue?.length ?? 0} bytes>`;
                }
                const count = m.Attributes?.ApproximateReceiveCount;
                return {
                    messageId: m.MessageId,
                    receiptHandle: m.ReceiptHandle,
                    body: m.Body,
                    attributes,
                    receiveCount: count === undefined ? undefined : Number(count),
                };
            });
        },
        async sendToJobQueue(body) {
            await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        },
        async deleteFromDeadLetterQueue(receiptHandle) {
            await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: receiptHandle }));
        },
        async release(receiptHandle) {
            await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }));
        },
    };
}
