// The BERT step of `npm start` against the v2 emulator.
import { strict as assert } from "node:assert";
import { startV2Emulator } from "../kserve/emulator";
import { bertRoundTrip } from "../demo/bert-demo";
import { ModelServerError } from "../../worker/model-client/model-server-error";

describe("npm start: the BERT round trip over KServe v2", () => {
    it("checks health and metadata, sends a batch at the model's declared sequence length and prints its logits", async () => {
        const emulator = await startV2Emulator({ seqLen: 32 });
        try {
            const lines = await bertRoundTrip({ url: emulator.url, model: "bert", batch: 2 });
            assert.match(lines[0], /^BERT over KServe v2 at grpc:\/\/127\.0\.0\.1:\d+: model "bert" \(versions 1, python\) is ready$/);
            assert.equal(lines[1], "  inputs input_ids INT64 [-1,32], attention_mask INT64 [-1,32], token_type_ids INT64 [-1,32]");
            assert.match(
                lines[2],
                /^ {2}2 sequences of 32 tokens -> logits \[\d\.\d{3}, \d\.\d{3}\] \[\d\.\d{3}, \d\.\d{3}\] \(model version 1\)$/,
            );
            assert.deepEqual(
                emulator.requests.map((r) => r.inputs[0].shape),
                [[2, 32]],
            );
        } finally {
            await emulator.stop();
        }
    });

    it("fails with a message naming the model and the server when the model is not ready", async () => {
        const emulator = await startV2Emulator({ loadingForMs: 60_000 });
        try {
            await assert.rejects(
                bertRoundTrip({ url: emulator.url, model: "bert", batch: 1 }),
                (err: unknown) =>
                    err instanceof ModelServerError && /^model "bert" on grpc:\/\/127\.0\.0\.1:\d+ is not ready$/.test(err.message),
            );
        } finally {
            await emulator.stop();
        }
    });
});
