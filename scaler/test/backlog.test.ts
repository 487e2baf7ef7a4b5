import { strict as assert } from "node:assert";
import { computeBacklog, countInService, parseCount } from "../src/backlog";
import { queueNameFromUrl, readScalerEnv } from "../src/env";

describe("scaler backlog arithmetic", () => {
    it("adds in-flight work to the visible backlog and divides by InService instances", () => {
        const s = computeBacklog({ visible: 9, inFlight: 3, inServiceInstances: 4, desiredCapacity: 5 });
        assert.equal(s.backlog, 12);
        assert.equal(s.backlogPerInstance, 3);
        assert.equal(s.desiredCapacity, 5);
    });

    it("keeps fractions (CloudWatch averages them; rounding would hide half an instance of work)", () => {
        assert.equal(computeBacklog({ visible: 1, inFlight: 2, inServiceInstances: 2, desiredCapacity: 2 }).backlogPerInstance, 1.5);
    });

    it("uses the backlog itself when no instance is InService, so work waiting on an empty group shows", () => {
        const s = computeBacklog({ visible: 4, inFlight: 1, inServiceInstances: 0, desiredCapacity: 0 });
        assert.equal(s.backlogPerInstance, 5);
        assert.equal(computeBacklog({ visible: 0, inFlight: 0, inServiceInstances: 0, desiredCapacity: 0 }).backlogPerInstance, 0);
    });

    it("rejects NaN, negative and fractional counts instead of publishing them", () => {
        assert.throws(() => computeBacklog({ visible: NaN, inFlight: 0, inServiceInstances: 1, desiredCapacity: 1 }), /visible messages/);
        assert.throws(() => computeBacklog({ visible: 1, inFlight: -1, inServiceInstances: 1, desiredCapacity: 1 }), /in-flight/);
        assert.throws(() => computeBacklog({ visible: 1, inFlight: 0, inServiceInstances: 1.5, desiredCapacity: 1 }), /InService/);
    });

    it("parses SQS count attributes strictly: a missing or garbled attribute is an error, never 0", () => {
        assert.equal(parseCount("17", "ApproximateNumberOfMessages"), 17);
        assert.throws(() => parseCount(undefined, "ApproximateNumberOfMessages"), /ApproximateNumberOfMessages is missing/);
        assert.throws(() => parseCount("", "X"), /not a non-negative integer/);
        assert.throws(() => parseCount("-3", "X"), /not a non-negative integer/);
        assert.throws(() => parseCount("abc", "X"), /not a non-negative integer/);
        assert.throws(() => parseCount("1e3", "X"), /not a non-negative integer/);
    });

    it("counts only the InService lifecycle state", () => {
        assert.equal(
            countInService(["InService", "Pending", "Pending:Wait", "InService", "Terminating", "Standby", undefined, "Warmed:Running"]),
            2,
        );
    });
});

describe("scaler environment", () => {
    const ok = {
        QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/video-jobs",
        ASG_NAME: "eks-video",
        METRIC_NAMESPACE: "eks-inference/scaling",
        LATENCY_OBJECTIVE_SECONDS: "600",
        SECONDS_PER_VIDEO: "60",
    };

    it("reads the five variables and derives the queue name from the URL", () => {
        assert.deepEqual(readScalerEnv(ok), {
            queueUrl: ok.QUEUE_URL,
            queueName: "video-jobs",
            asgName: "eks-video",
            metricNamespace: "eks-inference/scaling",
            latencyObjectiveSeconds: 600,
            secondsPerVideo: 60,
        });
        assert.equal(queueNameFromUrl("http://127.0.0.1:5000/123456789012/jobs.fifo"), "jobs.fifo");
    });

    it("names the missing or malformed variable", () => {
        assert.throws(() => readScalerEnv({ ...ok, ASG_NAME: " " }), /ASG_NAME is not set/);
        assert.throws(() => readScalerEnv({ ...ok, METRIC_NAMESPACE: undefined }), /METRIC_NAMESPACE is not set/);
        assert.throws(() => readScalerEnv({ ...ok, QUEUE_URL: "video-jobs" }), /QUEUE_URL is not a URL/);
        assert.throws(() => readScalerEnv({ ...ok, QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/" }), /no \/<account>\/<queue-name>/);
        assert.throws(() => readScalerEnv({ ...ok, LATENCY_OBJECTIVE_SECONDS: undefined }), /LATENCY_OBJECTIVE_SECONDS is not set/);
        for (const bad of ["0", "-5", "1.5", "ten", "9e99"]) {
            assert.throws(
                () => readScalerEnv({ ...ok, SECONDS_PER_VIDEO: bad }),
                new RegExp(`SECONDS_PER_VIDEO must be a whole number of seconds >= 1, got "${bad.replace(".", "\\.")}"`),
            );
        }
    });
});
