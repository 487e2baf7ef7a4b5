// `npm run dlq:replay -- --dlq URL --queue URL [--max N] [--dry-run] [--filter-key REGEX]`
// Lists dead-lettered jobs and moves them back to the job queue. Credentials and region come from
// the usual AWS SDK chain (AWS_PROFILE, SSO, instance role...); the region defaults to the one in
// the queue URL.
import { SQSClient } from "@aws-sdk/client-sqs";
import { parseReplayArgs } from "./args";
import { sqsReplayQueues } from "./queues";
import { formatEvent, formatSummary, replayDeadLetters } from "./replay";

function regionOf(queueUrl: string): string | undefined {
    return /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(queueUrl).hostname)?.[1];
}

async function main(): Promise<number> {
    const options = parseReplayArgs(process.argv.slice(2));
    const sqs = new SQSClient(process.env.AWS_REGION ? {} : { region: regionOf(options.dlqUrl) });
    const queues = sqsReplayQueues(sqs, options.dlqUrl, options.queueUrl);
    console.log(
        `${options.dryRun ? "listing" : "replaying"} up to ${options.max} message(s) from ${options.dlqUrl}${options.dryRun ? "" : ` to ${options.queueUrl}`}`,
    );
    const report = await replayDeadLetters(queues, options, (e) => console.log(formatEvent(e)));
    console.log(formatSummary(report, options.dryRun));
    return report.sendFailed + report.deleteFailed > 0 ? 1 : 0;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        console.error(`dlq:replay: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 2;
    },
);
