// results.ts: result documents and their keys.
import { strict as assert } from "node:assert";
import { type Detection } from "../src/detections";
import { buildResultDocument, frameJson, frameTimestampMs, resultKey, type ResultFrame, type ResultHeader } from "../src/results";
import { jobMetricData } from "../src/cloudwatch";

describe("worker results", () => {
    const header: ResultHeader = {
        source: { bucket: "videos", key: "input/a b.mp4", etag: "abc" },
        model: { name: "object_detection", signature: "serving_default", version: 1 },
        frameSize: { width: 300, height: 300 },
        sampleFps: null,
        scoreThreshold: 0.5,
    };
    const person: Detection = { label: "person", classId: 1, score: 0.9, box: [0.1, 0.2, 0.3, 0.4] };
    it("builds a valid, ordered document", () => {
        const text = buildResultDocument(header, [
            { index: 0, timestampMs: 0, detections: [person] },
            { index: 1, timestampMs: 40, detections: [] },
        ]);
        const doc = JSON.parse(text);
        assert.deepEqual(Object.keys(doc), ["source", "model", "frameSize", "sampleFps", "scoreThreshold", "frames", "frameCount"]);
        assert.equal(doc.frameCount, 2);
        assert.deepEqual(doc.frames[0], { index: 0, timestampMs: 0, detections: [person] });
        assert.equal(buildResultDocument(header, []), buildResultDocument(header, []));
        assert.deepEqual(JSON.parse(buildResultDocument(header, [])).frames, []);
    });
    it("writes each frame exactly as JSON.stringify would, odd labels and numbers included", () => {
        const odd: Detection = { label: 'say "hi"\\ \u2028 é', classId: 90, score: 1e-7, box: [-0, 0.5, NaN, Infinity] };
        const frames: ResultFrame[] = [
            { index: 0, timestampMs: null, detections: [] },
            { index: 7, timestampMs: 233, detections: [person, odd, person] },
        ];
        for (const frame of frames) {
            const expected = JSON.stringify({
                index: frame.index,
                timestampMs: frame.timestampMs,
                detections: frame.detections.map((d) => ({ label: d.label, classId: d.classId, score: d.score, box: d.box })),
            });
            assert.equal(frameJson(frame), expected);
        }
    });
    it("names results after the input key and times frames by rate", () => {
        assert.equal(resultKey("results/", "input/a b.mp4"), "results/input/a b.mp4.json");
        assert.equal(frameTimestampMs(3, 25), 120);
        assert.equal(frameTimestampMs(1, 29.97), 33);
        assert.equal(frameTimestampMs(1, NaN), null);
    });
    it("builds CloudWatch data for one job, with seconds per video and per frame for a success", () => {
        const data = jobMetricData("video-jobs", { succeeded: true, frames: 100, framesPerSecond: 50, seconds: 2 }, new Date(0));
        assert.deepEqual(
            data.map((d) => [d.MetricName, d.Value, d.Unit]),
            [
                ["JobsSucceeded", 1, "Count"],
                ["JobsFailed", 0, "Count"],
                ["FramesProcessed", 100, "Count"],
                ["FramesPerSecond", 50, "Count/Second"],
                ["SecondsPerVideo", 2, "Seconds"],
                ["SecondsPerFrame", 0.02, "Seconds"],
            ],
        );
        assert.ok(data.every((d) => JSON.stringify(d.Dimensions) === JSON.stringify([{ Name: "QueueName", Value: "video-jobs" }])));
    });
    it("publishes no processing time for a failed job or one without a measurement (it would skew the scaler)", () => {
        const failed = jobMetricData("q", { succeeded: false, frames: 0, framesPerSecond: 0, seconds: 5 }, new Date(0));
        assert.deepEqual(
            failed.map((d) => d.MetricName),
            ["JobsSucceeded", "JobsFailed", "FramesProcessed"],
        );
        const unmeasured = jobMetricData("q", { succeeded: true, frames: 0, framesPerSecond: 0 }, new Date(0));
        assert.ok(!unmeasured.some((d) => d.MetricName === "SecondsPerVideo" || d.MetricName === "SecondsPerFrame"));
        const noFrames = jobMetricData("q", { succeeded: true, frames: 0, framesPerSecond: 0, seconds: 3 }, new Date(0));
        assert.deepEqual(
            noFrames.filter((d) => d.MetricName?.startsWith("SecondsPer")).map((d) => d.MetricName),
            ["SecondsPerVideo"],
        );
    });
});
