// The shared scaling rule (scaler/src/policy.ts): the arithmetic the Lambda, the Pulumi program and the
// simulation all use.
import { strict as assert } from "node:assert";
import { SECONDS_PER_FRAME, SECONDS_PER_VIDEO } from "../../worker/src/cloudwatch";
import * as policy from "../src/policy";

const need = (backlog: number, o: Partial<policy.NeededInput> = {}) =>
    policy.instancesNeeded(600, { backlog, recentWork: false, secondsPerVideo: 150, minSize: 0, maxSize: 6, ...o });

describe("scaling rule (policy.ts)", () => {
    it("lets one instance carry floor(objective / seconds per video) videos, at least one", () => {
        assert.equal(policy.allowedBacklogPerInstance(600, 150), 4);
        assert.equal(policy.allowedBacklogPerInstance(600, 149), 4);
        assert.equal(policy.allowedBacklogPerInstance(600, 121), 4);
        assert.equal(policy.allowedBacklogPerInstance(600, 120), 5);
        assert.equal(policy.allowedBacklogPerInstance(60, 600), 1);
        assert.throws(() => policy.allowedBacklogPerInstance(0, 150), /latency objective must be a number > 0/);
        assert.throws(() => policy.allowedBacklogPerInstance(600, Number.NaN), /seconds per video must be a number > 0/);
    });

    it("needs ceil(backlog / B) + 1, at least two, while videos arrive; nothing when idle", () => {
        assert.equal(need(0), 0);
        assert.equal(need(1), 2);
        assert.equal(need(4), 2);
        assert.equal(need(5), 3);
        assert.equal(need(12), 4);
        assert.equal(need(0, { recentWork: true }), 2, "work in the last SPARE_MINUTES keeps two");
    });

    it("stays within the live group's MinSize and MaxSize", () => {
        assert.equal(need(0, { minSize: 1 }), 1);
        assert.equal(need(100), 6);
        assert.equal(need(1, { maxSize: 1 }), 1);
        assert.throws(() => need(1, { minSize: 3, maxSize: 2 }), /0 <= min <= max/);
        assert.throws(() => need(-1), /backlog must be a count/);
        assert.throws(() => need(1.5), /backlog must be a count/);
    });

    it("sizes with the last hour's mean, else the last day's, else the configured seconds per video", () => {
        assert.deepEqual(
            policy.secondsPerVideoToUse(
                [
                    { sum: 600, count: 3 },
                    { sum: 10_000, count: 50 },
                ],
                60,
            ),
            { seconds: 200, source: "last hour" },
        );
        assert.deepEqual(
            policy.secondsPerVideoToUse(
                [
                    { sum: 400, count: 2 },
                    { sum: 10_000, count: 50 },
                ],
                60,
            ),
            { seconds: 200, source: "last day" },
        );
        assert.deepEqual(
            policy.secondsPerVideoToUse(
                [
                    { sum: 400, count: 2 },
                    { sum: 500, count: 2 },
                ],
                60,
            ),
            { seconds: 60, source: "configured" },
        );
        assert.deepEqual(policy.secondsPerVideoToUse([undefined, undefined], 60), { seconds: 60, source: "configured" });
        assert.deepEqual(policy.secondsPerVideoToUse([], 60), { seconds: 60, source: "configured" });
        // Zero total time is not a measurement.
        assert.deepEqual(policy.secondsPerVideoToUse([{ sum: 0, count: 5 }], 60), { seconds: 60, source: "configured" });
        assert.throws(() => policy.secondsPerVideoToUse([], 0), /configured seconds per video must be a number > 0/);
    });

    it("has one ExactCapacity step per size up to 20 (the EC2 Auto Scaling quota), contiguous from the threshold", () => {
        assert.deepEqual(policy.scaleOutSteps(3), [
            { lowerBound: 0, upperBound: 1, capacity: 1 },
            { lowerBound: 1, upperBound: 2, capacity: 2 },
            { lowerBound: 2, capacity: 3 },
        ]);
        for (const max of [1, 6, 10, 20, 21, 50, 100]) {
            const steps = policy.scaleOutSteps(max);
            assert.ok(steps.length <= policy.MAX_STEP_ADJUSTMENTS, `max ${max}: ${steps.length} steps`);
            assert.equal(steps[0].lowerBound, 0);
            assert.equal(steps[steps.length - 1].upperBound, undefined);
            assert.equal(steps[steps.length - 1].capacity, max);
            for (let i = 1; i < steps.length; i++) assert.equal(steps[i].lowerBound, steps[i - 1].upperBound, `max ${max}: gap or overlap`);
            // Every need gets at least what it asks for (rounded up), never more than max.
            for (let n = 1; n <= max + 3; n++) {
                const c = policy.capacityForNeed(max, n);
                assert.ok(c >= Math.min(n, max) && c <= max, `max ${max}, need ${n} -> ${c}`);
            }
        }
        assert.equal(policy.scaleOutSteps(20).length, 20);
        assert.deepEqual(policy.scaleOutCapacities(100).slice(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.equal(policy.capacityForNeed(6, 0), 0, "below the threshold nothing is set");
        assert.equal(policy.capacityForNeed(100, 11), policy.scaleOutCapacities(100)[10], "rounded up to the next size");
    });

    it("names the worker's metrics as the worker publishes them", () => {
        assert.deepEqual(policy.WORKER_METRICS, { secondsPerVideo: SECONDS_PER_VIDEO, secondsPerFrame: SECONDS_PER_FRAME });
    });
});
