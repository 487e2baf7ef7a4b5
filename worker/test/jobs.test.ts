// jobs.ts: SQS message bodies (S3 notifications, plain jobs) into jobs.
import { strict as assert } from "node:assert";
import { decodeS3EventKey, parseMessage } from "../src/jobs";

const s3Record = (key: string, eventName = "ObjectCreated:Put") => ({
    eventSource: "aws:s3",
    eventName,
    s3: { bucket: { name: "videos" }, object: { key, size: 42 } },
});

describe("worker jobs.parseMessage", () => {
    it("turns an S3 notification with several records into jobs with decoded keys", () => {
        const body = JSON.stringify({ Records: [s3Record("input/my+holiday+%282024%29.mp4"), s3Record("input/b%2Bc.mov")] });
        assert.deepEqual(parseMessage(body), {
            kind: "jobs",
            jobs: [
                { bucket: "videos", key: "input/my holiday (2024).mp4", size: 42 },
                { bucket: "videos", key: "input/b+c.mov", size: 42 },
            ],
        });
    });
    it("ignores s3:TestEvent and non-create events", () => {
        assert.equal(parseMessage(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "videos" })).kind, "ignore");
        assert.equal(parseMessage(JSON.stringify({ Records: [s3Record("x.mp4", "ObjectRemoved:Delete")] })).kind, "ignore");
    });
    it("accepts explicit jobs with key or the original design's object", () => {
        assert.deepEqual(parseMessage('{"bucket":"b","key":"k.mp4"}'), { kind: "jobs", jobs: [{ bucket: "b", key: "k.mp4" }] });
        assert.deepEqual(parseMessage('{"bucket":"b","object":"sample.mov"}'), {
            kind: "jobs",
            jobs: [{ bucket: "b", key: "sample.mov" }],
        });
    });
    it("unwraps an SNS envelope", () => {
        const body = JSON.stringify({ Type: "Notification", Message: JSON.stringify({ Records: [s3Record("a+b.mp4")] }) });
        assert.deepEqual(parseMessage(body), { kind: "jobs", jobs: [{ bucket: "videos", key: "a b.mp4", size: 42 }] });
    });
    it("says why a message is not a job", () => {
        const cases: [string | undefined, RegExp][] = [
            [undefined, /empty/],
            ["not json", /not JSON/],
            ["[1,2]", /not a JSON object/],
            ['{"hello":1}', /neither an S3 event notification nor/],
            ['{"bucket":"b"}', /needs a non-empty string "key"/],
            ['{"bucket":3,"key":"k"}', /"bucket" must be a non-empty string/],
            ['{"Records":[]}', /empty Records/],
            [JSON.stringify({ Records: [s3Record("%E0%A4%A")] }), /not valid URL encoding/],
        ];
        for (const [body, reason] of cases) {
            const parsed = parseMessage(body);
            assert.equal(parsed.kind, "invalid", String(body));
            assert.match((parsed as { reason: string }).reason, reason);
        }
    });
    it("decodes + as space and percent escapes", () => {
        assert.equal(decodeS3EventKey("a+b%2Fc%20d"), "a b/c d");
    });
});
