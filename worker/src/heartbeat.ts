// Keeps an SQS message invisible while its job runs, so no other worker picks up the same video.
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { errorMessage, type Logger } from "./log";

export interface HeartbeatOptions {
    sqs: SQSClient;
    queueUrl: string;
    receiptHandle: string;
    visibilityTimeoutSeconds: number;
    intervalSeconds: number;
    log: Logger;
    onBeat?: () => void;
}

export interface Heartbeat {
    /** Stops extending; resolves once any extension already under way has finished. */
    stop(): Promise<void>;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
    let running: Promise<void> = Promise.resolve();
    let stopped = false;
    const beat = async (): Promise<void> => {
        try {
            await options.sqs.send(
                new ChangeMessageVisibilityCommand({
                    QueueUrl: options.queueUrl,
                    ReceiptHandle: options.receiptHandle,
                    VisibilityTimeout: options.visibilityTimeoutSeconds,
                }),
            );
            options.onBeat?.();
            options.log.debug("message visibility extended", { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds });
        } catch (err) {
            options.log.warn("could not extend the message's visibility; another worker may pick the job up", { error: errorMessage(err) });
        }
    };
    const timer = setInterval(() => {
        if (!stopped) running = running.then(beat);
    }, options.intervalSeconds * 1000);
    return {
        async stop() {
            stopped = true;
            clearInterval(timer);
            await running;
        },
    };
}
