import { strict as assert } from "node:assert";
import { percentile, summarize } from "../stats";

describe("bench stats", () => {
    const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    it("uses nearest-rank percentiles", () => {
        assert.equal(percentile(oneToTen, 50), 5);
        assert.equal(percentile(oneToTen, 90), 9);
        assert.equal(percentile(oneToTen, 91), 10);
        assert.equal(percentile(oneToTen, 99), 10);
        assert.equal(percentile(oneToTen, 100), 10);
        assert.equal(percentile(oneToTen, 0), 1);
        assert.equal(percentile([7], 50), 7);
        const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
        assert.equal(percentile(hundred, 99), 99);
        assert.equal(percentile(hundred, 50), 50);
    });

    it("rejects percentiles outside [0, 100] and gives NaN for no samples", () => {
        assert.throws(() => percentile(oneToTen, 101), /within \[0, 100\]/);
        assert.throws(() => percentile(oneToTen, -1), /within \[0, 100\]/);
        assert.ok(Number.isNaN(percentile([], 50)));
        assert.ok(Number.isNaN(summarize([]).meanMs));
        assert.equal(summarize([]).count, 0);
    });

    it("summarises unsorted samples without reordering the input", () => {
        const samples = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
        const copy = [...samples];
        const s = summarize(samples);
        assert.deepEqual(samples, copy);
        assert.deepEqual(s, { count: 10, meanMs: 5.5, p50Ms: 5, p90Ms: 9, p99Ms: 10, maxMs: 10, minMs: 1 });
    });
});
