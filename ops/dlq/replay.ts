// Moves dead letters back to the job queue: send first, delete from the DLQ only after the send
// succeeded, so a failure can duplicate a job but never lose one.
import { describeJob, type JobSummary } from "./describe-job";
import type { DeadLetter, ReplayQueues } from "./queues";

export interface ReplayRequest {
    max: number;
    dryRun: boolean;
    filterKey?: RegExp;
    /** How long received messages stay hidden while this run holds them (default 300 s). */
    holdSeconds?: number;
}

export type Outcome = "replayed" | "listed" | "skipped" | "send-failed" | "delete-failed";

export interface ReplayEvent {
    outcome: Outcome;
    message: DeadLetter;
    job: JobSummary;
    error?: string;
}

export interface ReplayReport {
    replayed: number;
    listed: number;
    skipped: number;
    sendFailed: number;
    /** Sent but not deleted: the job now exists in both queues (the worker's output is idempotent). */
    deleteFailed: number;
    events: ReplayEvent[];
}

const DEFAULT_HOLD_SECONDS = 300;

export async function replayDeadLetters(
    queues: ReplayQueues,
    request: ReplayRequest,
    onEvent: (event: ReplayEvent) => void = () => undefined,
): Promise<ReplayReport> {
    const hold = request.holdSeconds ?? DEFAULT_HOLD_SECONDS;
    const report: ReplayReport = { replayed: 0, listed: 0, skipped: 0, sendFailed: 0, deleteFailed: 0, events: [] };
    const seen = new Set<string>();
    // Messages this run keeps hidden (listed, skipped, failed) so later receives return new ones;
    // all of them are made visible again at the end.
    const held: string[] = [];
    const record = (event: ReplayEvent): void => {
        report.events.push(event);
        onEvent(event);
    };
    const handled = (): number => report.replayed + report.listed + report.sendFailed + report.deleteFailed;

    try {
        while (handled() < request.max) {
            const batch = await queues.receive(request.max - handled(), hold);
            const fresh = batch.filter((m) => !seen.has(m.messageId));
            for (const m of batch) if (seen.has(m.messageId)) held.push(m.receiptHandle);
            if (fresh.length === 0) break;
            for (const message of fresh) {
                seen.add(message.messageId);
                const job = describeJob(message.body);
                if (handled() >= request.max) {
                    held.push(message.receiptHandle);
                    continue;
                }
                if (request.filterKey !== undefined && !(job.key !== undefined && request.filterKey.test(job.key))) {
                    report.skipped++;
                    held.push(message.receiptHandle);
                    record({ outcome: "skipped", message, job });
                    continue;
                }
                if (request.dryRun) {
                    report.listed++;
                    held.push(message.receiptHandle);
                    record({ outcome: "listed", message, job });
                    continue;
                }
                try {
                    await queues.sendToJobQueue(message.body, message.originalAttributes);
                } catch (err) {
                    report.sendFailed++;
                    held.push(message.receiptHandle);
                    record({ outcome: "send-failed", message, job, error: (err as Error).message });
                    continue;
                }
                try {
                    await queues.deleteFromDeadLetterQueue(message.receiptHandle);
                    report.replayed++;
                    record({ outcome: "replayed", message, job });
                } catch (err) {
                    report.deleteFailed++;
                    record({ outcome: "delete-failed", message, job, error: (err as Error).message });
                }
            }
        }
    } finally {
        for (const receipt of held) {
            // Best effort: a message we fail to release reappears by itself after `hold` seconds.
            await queues.release(receipt).catch(() => undefined);
        }
    }
    return report;
}

/** One line per message, for the terminal. */
export function formatEvent(event: ReplayEvent): string {
    const { message, job } = event;
    const what = job.key !== undefined ? `s3://${job.bucket}/${job.key}` : `${job.kind} body ${JSON.stringify(message.body.slice(0, 120))}`;
    const attrs = Object.entries(message.attributes);
    const errorAttrs =
        attrs.length === 0 ? "no error attributes (redrive-delivered)" : attrs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
    const received = message.receiveCount === undefined ? "" : ` received ${message.receiveCount}x`;
    const tail = event.error === undefined ? "" : ` ERROR: ${event.error}`;
    return `${event.outcome.padEnd(13)} ${message.messageId} ${what}${received} | ${errorAttrs}${tail}`;
}

export function formatSummary(report: ReplayReport, dryRun: boolean): string {
    const parts = dryRun
        ? [`listed ${report.listed}`]
        : [`replayed ${report.replayed}`, `send failed ${report.sendFailed}`, `deleted-failed (now duplicated) ${report.deleteFailed}`];
    parts.push(`skipped by filter ${report.skipped}`);
    return parts.join(", ");
}
