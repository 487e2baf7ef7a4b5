// config.ts: the worker's environment, validated up front.
import { strict as assert } from "node:assert";
import { ConfigError, loadConfig, queueNameOf } from "../src/config";

describe("worker config.loadConfig", () => {
    const base = { JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/video-jobs", RESULTS_BUCKET: "out" };
    it("applies the documented defaults", () => {
        const c = loadConfig(base);
        assert.equal(c.resultsPrefix, "results/");
        assert.equal(c.modelServerUrl, "grpc://127.0.0.1:8500");
        assert.equal(c.modelSignature, "serving_default");
        assert.equal(c.modelInput, "inputs");
        assert.equal(c.frameWidth, 300);
        assert.equal(c.frameHeight, 300);
        assert.equal(c.sampleFps, undefined);
        assert.equal(c.scaleInProtection, true);
        assert.equal(c.visibilityTimeoutSeconds, 300);
        assert.equal(c.heartbeatIntervalSeconds, 100);
        assert.equal(c.metricsPort, 9102);
        assert.equal(c.deadLetterQueueUrl, undefined);
        assert.equal(c.probeTimeoutSeconds, 60);
        assert.equal(c.decodeStallSeconds, undefined, "derived per video");
        assert.equal(queueNameOf(c.queueUrl), "video-jobs");
        assert.equal(c.inputBucket, "out", "INPUT_BUCKET defaults to RESULTS_BUCKET");
        assert.equal(c.inputPrefix, "");
        assert.equal(c.maxGiveBacks, 10);
    });
    it("reads every variable", () => {
        const c = loadConfig({
            ...base,
            DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq",
            MODEL_SERVER_URL: "http://tf:8501",
            SAMPLE_FPS: "2.5",
            SCALE_IN_PROTECTION: "off",
            BATCH_SIZE: "16",
            SCORE_THRESHOLD: "0.3",
            VISIBILITY_TIMEOUT_SECONDS: "60",
            PROBE_TIMEOUT_SECONDS: "5",
            DECODE_STALL_SECONDS: "120",
            WORK_DIR_RESERVE_PERCENT: "15",
            WORK_DIR_LIMIT_BYTES: "12884901888",
        });
        assert.deepEqual(c.workDirLimits, { reservePercent: 15, limitBytes: 12884901888 });
        assert.deepEqual(loadConfig(base).workDirLimits, { reservePercent: 0 }, "no reserve and no limit by default");
        assert.equal(c.probeTimeoutSeconds, 5);
        assert.equal(c.decodeStallSeconds, 120);
        assert.equal(c.deadLetterQueueUrl, "https://sqs.us-east-1.amazonaws.com/1/dlq");
        assert.equal(c.modelServerUrl, "http://tf:8501");
        assert.equal(c.sampleFps, 2.5);
        assert.equal(c.scaleInProtection, false);
        assert.equal(c.batchSize, 16);
        assert.equal(c.scoreThreshold, 0.3);
        assert.equal(c.heartbeatIntervalSeconds, 20);
    });
    it("names the variable, the value and what is valid", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [{ RESULTS_BUCKET: "out" }, /JOB_QUEUE_URL is required/],
            [{ JOB_QUEUE_URL: base.JOB_QUEUE_URL }, /RESULTS_BUCKET is required/],
            [{ ...base, BATCH_SIZE: "0" }, /BATCH_SIZE="0" is not valid: expected a whole number from 1 to 256/],
            [{ ...base, BATCH_SIZE: "eight" }, /BATCH_SIZE="eight"/],
            [{ ...base, SCALE_IN_PROTECTION: "maybe" }, /SCALE_IN_PROTECTION="maybe" is not valid: expected on or off/],
            [{ ...base, MODEL_SERVER_URL: "tcp://x:1" }, /MODEL_SERVER_URL="tcp:\/\/x:1" is not valid: expected grpc:\/\/host:8500/],
            [{ ...base, SAMPLE_FPS: "0" }, /SAMPLE_FPS="0" is not valid/],
            [{ ...base, PROBE_TIMEOUT_SECONDS: "0" }, /PROBE_TIMEOUT_SECONDS="0" is not valid: expected a whole number from 1 to 3600/],
            [
                { ...base, DECODE_STALL_SECONDS: "soon" },
                /DECODE_STALL_SECONDS="soon" is not valid: expected a whole number from 1 to 86400/,
            ],
            [{ ...base, SCORE_THRESHOLD: "1.5" }, /SCORE_THRESHOLD="1.5"/],
            [{ ...base, JOB_QUEUE_URL: "video-jobs" }, /JOB_QUEUE_URL="video-jobs" is not valid: expected an SQS queue URL/],
            [
                { ...base, INPUT_PREFIX: "results/uploads/" },
                /^INPUT_PREFIX="results\/uploads\/" lies inside RESULTS_PREFIX="results\/" of the same bucket/,
            ],
            [{ ...base, INPUT_PREFIX: "/input/" }, /^INPUT_PREFIX="\/input\/" is not valid/],
            [{ ...base, MAX_GIVE_BACKS: "0" }, /^MAX_GIVE_BACKS="0" is not valid: expected a whole number from 1 to 1000/],
            [
                { ...base, WORK_DIR_RESERVE_PERCENT: "95" },
                /^WORK_DIR_RESERVE_PERCENT="95" is not valid: expected a whole number from 0 to 90/,
            ],
            [{ ...base, WORK_DIR_LIMIT_BYTES: "12Gi" }, /^WORK_DIR_LIMIT_BYTES="12Gi" is not valid: expected a whole number from 1 to/],
            [
                { ...base, VISIBILITY_TIMEOUT_SECONDS: "30", HEARTBEAT_INTERVAL_SECONDS: "30" },
                /must be shorter than VISIBILITY_TIMEOUT_SECONDS=30/,
            ],
        ];
        for (const [env, message] of cases)
            assert.throws(
                () => loadConfig(env),
                (e: unknown) => e instanceof ConfigError && message.test(e.message),
                JSON.stringify(env),
            );
    });
});
