import { strict as assert } from "node:assert";
import { buildBertRequest, parseBertArgs, probeModel, runBertBench, runBertLoad, UsageError, type BertBenchOptions } from "../../bench/bert";
import { startTfServingEmulator, type TfServingEmulator } from "../../src/tfserving/emulator";
import { createModelClient, DataType, ModelServerError, type ModelClient } from "../../src/tfserving";

describe("bench:bert argument parsing", () => {
    it("has sensible defaults and uses the emulator's bert model without --target", () => {
        const o = parseBertArgs([]);
        assert.equal(o.target, undefined);
        assert.equal(o.model, "bert");
        assert.equal(o.signature, "serving_default");
        assert.equal(o.seqLen, 128);
        assert.equal(o.batch, 1);
        assert.equal(o.serverLatencyMs, 5);
        assert.equal(o.json, false);
    });

    it("reads every flag", () => {
        const o = parseBertArgs(["--target", "bert.default.svc:8500", "--model", "m", "--signature", "s", "--requests", "7", "--concurrency", "3", "--seq-len", "64", "--batch", "2", "--warmup", "0", "--json"]);
        assert.deepEqual(
            { ...o },
            { target: "bert.default.svc:8500", model: "m", signature: "s", requests: 7, concurrency: 3, seqLen: 64, batch: 2, warmup: 0, timeoutMs: 10_000, serverLatencyMs: 5, json: true },
        );
    });

    it("rejects bad flags with a usage error naming the problem", () => {
        const bad: [string[], RegExp][] = [
            [["--bogus", "1"], /unknown flag "--bogus"/],
            [["--requests", "ten"], /--requests must be an integer >= 1, got "ten"/],
            [["--concurrency", "0"], /--concurrency must be an integer >= 1/],
            [["--requests"], /--requests needs a value/],
            [["--target", "host:8500"], /--model is required with --target/],
            [["--target", "no-port", "--model", "m"], /--target must be HOST:PORT/],
            [["stray"], /unexpected argument "stray"/],
        ];
        for (const [argv, message] of bad) {
            assert.throws(() => parseBertArgs(argv), (err: Error) => err instanceof UsageError && message.test(err.message) && /usage: npm run bench:bert/.test(err.message), argv.join(" "));
        }
    });
});

describe("bench:bert against the emulator", function () {
    let emulator: TfServingEmulator;
    let client: ModelClient;
    const options = { model: "bert", signature: "serving_default", batch: 2, seqLen: 16 };

    before(async () => {
        emulator = await startTfServingEmulator();
        client = createModelClient(emulator.grpcUrl);
    });
    after(async () => {
        client.close();
        await emulator.stop();
    });
    beforeEach(() => {
        emulator.setLatency(0);
        emulator.requests.length = 0;
    });

    it("sends input_ids, input_mask and segment_ids as int32 [batch, seq-len] with the model spec", async () => {
        const request = buildBertRequest(options);
        assert.ok(request.inputs.input_ids.content, "ids travel as tensor_content");
        await runBertLoad(client, request, { requests: 3, concurrency: 1, warmup: 1, batch: 2, timeoutMs: 5000 });
        assert.equal(emulator.requests.length, 4);
        for (const r of emulator.requests) {
            assert.equal(r.transport, "grpc");
            assert.deepEqual(r.model, { name: "bert", signatureName: "serving_default" });
            assert.deepEqual(r.inputs, ["input_ids", "input_mask", "segment_ids"].map((name) => ({ name, dtype: DataType.DT_INT32, shape: [2, 16] })));
            assert.equal(r.outcome, "OK");
        }
    });

    it("reports percentiles that reflect the server's latency", async () => {
        emulator.setLatency(40);
        const { report } = await runBertLoad(client, buildBertRequest(options), { requests: 9, concurrency: 1, warmup: 1, batch: 2, timeoutMs: 5000 });
        assert.deepEqual(Object.keys(report).sort(), ["count", "errors", "maxMs", "meanMs", "p50Ms", "p90Ms", "p99Ms", "throughput"]);
        assert.equal(report.count, 9);
        assert.equal(report.errors, 0);
        // A window, not a speed check: it catches wrong units or statistics taken from the wrong samples.
        assert.ok(report.p50Ms >= 40 && report.p50Ms < 70, `p50 ${report.p50Ms} within [40, 70): ${JSON.stringify(report)}`);
        assert.ok(report.p90Ms >= report.p50Ms && report.p99Ms >= report.p90Ms && report.maxMs >= report.p99Ms);
        assert.ok(report.throughput > 0);
    });

    it("counts server errors instead of stopping", async () => {
        emulator.failNext(3, "UNAVAILABLE");
        const { report, errorSamples } = await runBertLoad(client, buildBertRequest(options), { requests: 8, concurrency: 2, warmup: 0, batch: 2, timeoutMs: 5000 });
        assert.equal(report.count, 8);
        assert.equal(report.errors, 3);
        assert.match(errorSamples[0], /unavailable: injected UNAVAILABLE failure/);
    });

    it("counts a response without a float output of the batch size as an error", async () => {
        const { report, errorSamples } = await runBertLoad(client, buildBertRequest(options), { requests: 2, concurrency: 1, warmup: 0, batch: 5, timeoutMs: 5000 });
        assert.equal(report.errors, 2);
        assert.match(errorSamples[0], /no float output with batch dimension 5 \(got: logits DT_FLOAT \[2,2\]\)/);
    });

    it("stops with one clear message when the model name is wrong", async () => {
        const request = buildBertRequest({ ...options, model: "bret" });
        await assert.rejects(probeModel(client, request, 2, 5000), (err: Error) => err instanceof ModelServerError && /has no model named "bret"/.test(err.message));
        const target = emulator.grpcUrl.replace("grpc://", "");
        const cli: BertBenchOptions = { ...parseBertArgs(["--target", target, "--model", "bret", "--requests", "5"]) };
        const printed: string[] = [];
        await assert.rejects(runBertBench(cli, (l) => printed.push(l)), /has no model named "bret"/);
        assert.deepEqual(printed, []);
        assert.equal(emulator.requests.length, 2, "one probe from each call, no load sent");
    });

    it("prints exactly the JSON report fields with --json", async () => {
        const target = emulator.grpcUrl.replace("grpc://", "");
        const printed: string[] = [];
        const code = await runBertBench(parseBertArgs(["--target", target, "--model", "bert", "--requests", "4", "--warmup", "1", "--seq-len", "8", "--json"]), (l) => printed.push(l));
        assert.equal(code, 0);
        assert.equal(printed.length, 1);
        const report = JSON.parse(printed[0]) as Record<string, number>;
        assert.deepEqual(Object.keys(report).sort(), ["count", "errors", "maxMs", "meanMs", "p50Ms", "p90Ms", "p99Ms", "throughput"]);
        assert.equal(report.count, 4);
        assert.equal(report.errors, 0);
    });
});
