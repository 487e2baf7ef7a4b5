// pipeline.ts: decode -> batch -> infer -> results, against a fake model.
import { strict as assert } from "node:assert";
import { GiveBackError, JobError } from "../src/errors";
import { inferBatch, runPipeline } from "../src/pipeline";
import { ModelServerError } from "../model-client/tfserving";
import { LABELLED_IDS, FakeModel, FRAME, fakeBatches, settings } from "./support/fake-model";

describe("worker pipeline (fake model)", () => {
    it("delivers every frame in order with at most maxInFlight batches at the model", async () => {
        const model = new FakeModel(10);
        const seen: number[] = [];
        const classes: number[] = [];
        const signal = new AbortController().signal;
        const summary = await runPipeline({
            batches: fakeBatches(23, 4),
            infer: (b) => inferBatch(b, settings(model), signal),
            maxInFlight: 2,
            sink: (f) => {
                seen.push(f.index);
                classes.push(f.detections[0].classId);
            },
        });
        assert.deepEqual(summary, { frames: 23, batches: 6 });
        assert.deepEqual(
            seen,
            Array.from({ length: 23 }, (_, i) => i),
        );
        assert.deepEqual(classes, LABELLED_IDS.slice(0, 23));
        assert.equal(model.maxInFlight, 2);
    });
    it("retries transient failures, fails the job on permanent ones, and gives it back when retries run out", async () => {
        const model = new FakeModel(1);
        const signal = new AbortController().signal;
        model.failures.push(new ModelServerError("down", "UNAVAILABLE", true), new ModelServerError("down", "UNAVAILABLE", true));
        const retries: number[] = [];
        const detections = await inferBatch(
            { data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 },
            settings(model, { onRetry: (a) => retries.push(a) }),
            signal,
        );
        assert.equal(detections.length, 1);
        assert.deepEqual(retries, [1, 2]);
        model.failures.push(new ModelServerError("bad input", "INVALID_ARGUMENT", false));
        await assert.rejects(
            inferBatch({ data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 }, settings(model), signal),
            (e: unknown) => e instanceof JobError && e.permanent && e.code === "MODEL_INVALID_ARGUMENT",
        );
        model.failures.push(...Array.from({ length: 5 }, () => new ModelServerError("down", "UNAVAILABLE", true)));
        await assert.rejects(
            inferBatch({ data: Buffer.alloc(FRAME), count: 1, firstIndex: 0 }, settings(model, { maxRetries: 2 }), signal),
            (e: unknown) =>
                e instanceof GiveBackError && e.code === "MODEL_UNAVAILABLE" && /still failing after 3 attempts/.test(e.message),
        );
    });
    it("stops waiting for the model when aborted", async () => {
        const model = new FakeModel(60_000);
        const controller = new AbortController();
        const run = runPipeline({
            batches: fakeBatches(8, 4),
            infer: (b) => inferBatch(b, settings(model), controller.signal),
            maxInFlight: 1,
            signal: controller.signal,
            sink: () => undefined,
        });
        setTimeout(() => controller.abort(), 20);
        await assert.rejects(run, /shutting down/);
    });
});
