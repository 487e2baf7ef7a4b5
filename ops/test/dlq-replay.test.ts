import * as assert from "node:assert/strict";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { useProcessMoto, type MotoServer } from "../../testing/moto";
import { parseReplayArgs } from "../dlq/args";
import { describeJob } from "../dlq/describe-job";
import { sqsReplayQueues, type ReplayQueues } from "../dlq/queues";
import { formatEvent, replayDeadLetters } from "../dlq/replay";

function s3Event(bucket: string, key: string): string {
    return JSON.stringify({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: bucket }, object: { key } } }] });
}

describe("dlq:replay arguments", () => {
    const dlq = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs-dlq";
    const queue = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs";

    it("parses every flag", () => {
        const o = parseReplayArgs(["--dlq", dlq, "--queue", queue, "--max", "5", "--dry-run", "--filter-key", "^cam1/"]);
        assert.equal(o.dlqUrl, dlq);
        assert.equal(o.queueUrl, queue);
        assert.equal(o.max, 5);
        assert.equal(o.dryRun, true);
        assert.ok(o.filterKey?.test("cam1/a.mp4"));
        const eq = parseReplayArgs([`--dlq=${dlq}`, `--queue=${queue}`, "--max=7", "--filter-key=^cam2/"]);
        assert.deepEqual(
            [eq.dlqUrl, eq.queueUrl, eq.max, eq.dryRun, eq.filterKey?.test("cam2/b.mp4")],
            [dlq, queue, 7, false, true],
            "--flag=value works",
        );
    });

    it("names what is wrong", () => {
        assert.throws(() => parseReplayArgs(["--queue", queue]), /--dlq is required/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue", queue, "--max", "0"]), /--max must be an integer >= 1, got "0"/);
        assert.throws(() => parseReplayArgs(["--dlq", "jobs-dlq", "--queue", queue]), /--dlq must be a queue URL/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue", queue, "--filter-key", "("]), /--filter-key/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue", dlq]), /same queue/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue", queue, "--force"]), /unknown option "--force"/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue"]), /: --queue needs a value\nusage: npm run dlq:replay/);
        assert.throws(() => parseReplayArgs(["--dlq", dlq, "--queue", queue, "--dry-run=yes"]), /--dry-run takes no value/);
    });
});

describe("describeJob", () => {
    it("decodes S3 notification keys and recognises plain jobs and test events", () => {
        assert.deepEqual(describeJob(s3Event("b", "my+video%281%29.mp4")), { kind: "s3-event", bucket: "b", key: "my video(1).mp4" });
        assert.deepEqual(describeJob(JSON.stringify({ bucket: "b", object: "sample.mov" })), {
            kind: "job",
            bucket: "b",
            key: "sample.mov",
        });
        assert.equal(describeJob(JSON.stringify({ Event: "s3:TestEvent" })).kind, "s3-test-event");
        assert.equal(describeJob("not json").kind, "unrecognised");
    });
});

describe("dlq:replay against SQS (moto)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let sqs: SQSClient;

    before(async () => {
        moto = await useProcessMoto();
        sqs = new SQSClient({
            endpoint: moto.endpoint,
            region: moto.env.AWS_REGION,
            credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        });
    });
    after(async () => {
        sqs?.destroy();
        await moto?.stop();
    });

    async function makeQueues(): Promise<{ dlq: string; queue: string }> {
        await moto.reset();
        const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: "jobs-dlq" }))).QueueUrl!;
        const queue = (await sqs.send(new CreateQueueCommand({ QueueName: "jobs" }))).QueueUrl!;
        return { dlq, queue };
    }

    async function putDeadLetters(dlq: string, n: number): Promise<string[]> {
        const bodies: string[] = [];
        for (let i = 0; i < n; i++) {
            const body = s3Event("videos", `cam${i % 2}/clip-${i}.mp4`);
            bodies.push(body);
            await sqs.send(
                new SendMessageCommand({
                    QueueUrl: dlq,
                    MessageBody: body,
                    // Half were dead-lettered by the worker (its error attributes plus one the
                    // original job carried), half look redrive-delivered (no attributes).
                    MessageAttributes:
                        i % 2 === 0
                            ? {
                                  ErrorCode: { DataType: "String", StringValue: "DecodeFailed" },
                                  ErrorMessage: { DataType: "String", StringValue: "ffmpeg exited with code 1" },
                                  Job: { DataType: "String", StringValue: `videos/cam0/clip-${i}.mp4` },
                                  SourceQueue: { DataType: "String", StringValue: "https://sqs.us-east-1.amazonaws.com/1/jobs" },
                                  TraceId: { DataType: "String", StringValue: `trace-${i}` },
                                  // A job given back too often (issue 17 item 5): its give-back count must not follow it back.
                                  GiveBacks: { DataType: "Number", StringValue: "10" },
                                  Failures: { DataType: "Number", StringValue: "1" },
                                  GiveBackReason: { DataType: "String", StringValue: "MODEL_UNAVAILABLE" },
                              }
                            : undefined,
                }),
            );
        }
        return bodies;
    }

    async function count(url: string): Promise<number> {
        const out = await sqs.send(
            new GetQueueAttributesCommand({
                QueueUrl: url,
                AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }),
        );
        return Number(out.Attributes?.ApproximateNumberOfMessages) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible);
    }

    async function drain(url: string): Promise<{ body: string; attributes: string[] }[]> {
        const got: { body: string; attributes: string[] }[] = [];
        for (;;) {
            const out = await sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: url,
                    MaxNumberOfMessages: 10,
                    MessageAttributeNames: ["All"],
                    VisibilityTimeout: 60,
                }),
            );
            if (!out.Messages?.length) return got;
            for (const m of out.Messages) got.push({ body: m.Body!, attributes: Object.keys(m.MessageAttributes ?? {}) });
        }
    }

    it("moves every dead letter to the job queue with its original body and attributes, minus the worker's error attributes", async () => {
        const { dlq, queue } = await makeQueues();
        const bodies = await putDeadLetters(dlq, 13);
        const report = await replayDeadLetters(sqsReplayQueues(sqs, dlq, queue, 0), { max: 1000, dryRun: false });
        assert.equal(report.replayed, 13);
        assert.equal(report.sendFailed + report.deleteFailed, 0);
        assert.equal(await count(dlq), 0);
        const moved = await drain(queue);
        assert.deepEqual(moved.map((m) => m.body).sort(), [...bodies].sort());
        for (const m of moved) {
            const wasWorkerDeadLettered = (describeJob(m.body).key ?? "").startsWith("cam0/");
            assert.deepEqual(m.attributes, wasWorkerDeadLettered ? ["TraceId"] : [], `attributes of ${m.body}`);
        }
        assert.ok(
            report.events.some((e) => /ErrorCode="DecodeFailed"/.test(formatEvent(e))),
            "listing shows the error attributes",
        );
    });

    it("--dry-run lists without moving anything, and leaves the messages visible", async () => {
        const { dlq, queue } = await makeQueues();
        await putDeadLetters(dlq, 4);
        const report = await replayDeadLetters(sqsReplayQueues(sqs, dlq, queue, 0), { max: 1000, dryRun: true });
        assert.equal(report.listed, 4);
        assert.equal(report.replayed, 0);
        assert.equal(await count(queue), 0);
        assert.equal((await drain(dlq)).length, 4, "all four are still in the DLQ and visible again");
    });

    it("--max and --filter-key limit what is moved", async () => {
        const { dlq, queue } = await makeQueues();
        await putDeadLetters(dlq, 6);
        const report = await replayDeadLetters(sqsReplayQueues(sqs, dlq, queue, 0), { max: 2, dryRun: false, filterKey: /^cam1\// });
        assert.equal(report.replayed, 2);
        const moved = await drain(queue);
        assert.ok(moved.every((m) => describeJob(m.body).key?.startsWith("cam1/")));
        assert.equal(await count(dlq), 4);
    });

    it("a send that fails leaves the message in the DLQ (missing job queue)", async () => {
        const { dlq } = await makeQueues();
        await putDeadLetters(dlq, 3);
        const missing = dlq.replace(/jobs-dlq$/, "no-such-queue");
        const report = await replayDeadLetters(sqsReplayQueues(sqs, dlq, missing, 0), { max: 1000, dryRun: false });
        assert.equal(report.sendFailed, 3);
        assert.equal(report.replayed, 0);
        assert.equal((await drain(dlq)).length, 3);
    });

    it("one failing send does not stop the others, and loses nothing", async () => {
        const { dlq, queue } = await makeQueues();
        const bodies = await putDeadLetters(dlq, 5);
        const real = sqsReplayQueues(sqs, dlq, queue, 0);
        const poisoned = bodies[2];
        const flaky: ReplayQueues = {
            ...real,
            async sendToJobQueue(body, attributes) {
                if (body === poisoned) throw new Error("throttled");
                await real.sendToJobQueue(body, attributes);
            },
        };
        const report = await replayDeadLetters(flaky, { max: 1000, dryRun: false });
        assert.equal(report.replayed, 4);
        assert.equal(report.sendFailed, 1);
        const left = await drain(dlq);
        assert.deepEqual(
            left.map((m) => m.body),
            [poisoned],
        );
        const moved = (await drain(queue)).map((m) => m.body);
        assert.deepEqual([...moved, poisoned].sort(), [...bodies].sort());
    });
});
