// bench:bert: argument parsing, both protocols against their emulators, and the failures that must stop
// a run with one clear message naming the model and the server (wrong model, not ready, bad shape, down).
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import {
    buildBertRequest,
    checkBertResponse,
    checkV2BertResponse,
    compareWithFloor,
    openBertEndpoint,
    parseBertArgs,
    runBertBench,
    runBertLoad,
    UsageError,
} from "../bert-latency/bert";
import type { BertEndpoint } from "../bert-latency/endpoints";
import { startV2Emulator, type V2Emulator } from "../../testing/kserve/emulator";
import { startTfServingEmulator, type TfServingEmulator } from "../../testing/tfserving/emulator";
import { DataType, tensorFromFloat32 } from "../../worker/model-client/tfserving";

const load = { requests: 3, concurrency: 1, warmup: 1, timeoutMs: 5000 };

async function benchFails(argv: string[], message: RegExp): Promise<string[]> {
    const printed: string[] = [];
    await assert.rejects(
        runBertBench(parseBertArgs(argv), (l) => printed.push(l)),
        (err: Error) => {
            assert.match(err.message, message);
            return true;
        },
    );
    assert.deepEqual(printed, [], "no report for a run that could not start");
    return printed;
}

describe("bench:bert argument parsing", () => {
    it("has sensible defaults: KServe v2, one connection, the emulator's bert model", () => {
        const o = parseBertArgs([]);
        assert.equal(o.protocol, "v2");
        assert.equal(o.target, undefined);
        assert.equal(o.model, "bert");
        assert.equal(o.connections, 1);
        assert.equal(o.seqLen, 128);
        assert.equal(o.batch, 1);
        assert.equal(o.serverLatencyMs, 5);
        assert.equal(o.json, false);
    });

    it("reads every flag", () => {
        const o = parseBertArgs([
            "--protocol",
            "tfserving",
            "--target",
            "bert.default.svc:8500",
            "--model",
            "m",
            "--signature",
            "s",
            "--requests",
            "7",
            "--concurrency",
            "3",
            "--connections",
            "2",
            "--seq-len",
            "64",
            "--batch",
            "2",
            "--warmup",
            "0",
            "--timeout-ms",
            "900",
            "--server-latency-ms",
            "0",
            "--json",
        ]);
        assert.deepEqual(
            { ...o },
            {
                protocol: "tfserving",
                target: "bert.default.svc:8500",
                model: "m",
                signature: "s",
                requests: 7,
                concurrency: 3,
                connections: 2,
                seqLen: 64,
                batch: 2,
                warmup: 0,
                timeoutMs: 900,
                serverLatencyMs: 0,
                json: true,
            },
        );
        assert.equal(parseBertArgs(["--protocol", "v2", "--target", "grpc://triton:8001", "--model", "bert"]).protocol, "v2");
        const eq = parseBertArgs(["--protocol=tfserving", "--target=bert.default.svc:8500", "--model=m", "--requests=9", "--seq-len=32"]);
        assert.deepEqual(
            [eq.protocol, eq.target, eq.model, eq.requests, eq.seqLen],
            ["tfserving", "bert.default.svc:8500", "m", 9, 32],
            "--flag=value works",
        );
    });

    it("rejects bad flags with a usage error naming the problem", () => {
        const bad: [string[], RegExp][] = [
            [["--bogus", "1"], /unknown option "--bogus"/],
            [["--json=yes"], /--json takes no value/],
            [["--requests", "ten"], /--requests must be an integer >= 1, got "ten"/],
            [["--concurrency", "0"], /--concurrency must be an integer >= 1/],
            [["--connections", "0"], /--connections must be an integer >= 1, got "0"/],
            [["--requests"], /--requests needs a value/],
            [["--protocol", "grpc"], /--protocol must be one of v2, tfserving, got "grpc"/],
            [["--signature", "serving_default"], /--signature applies to --protocol tfserving only/],
            [["--target", "host:8001"], /--model is required with --target/],
            [["--target", "no-port", "--model", "m"], /--target must be HOST:PORT \(e\.g\. bert\.default\.svc:8001\)/],
            [["--protocol", "tfserving", "--target", "no-port", "--model", "m"], /e\.g\. bert\.default\.svc:8500/],
            [["--target", "http://triton:8000", "--model", "m"], /--protocol v2 speaks gRPC only/],
            [
                ["--protocol", "tfserving", "--target", "http://tfs:8501", "--model", "m", "--connections", "2"],
                /--connections applies to gRPC targets/,
            ],
            [["stray"], /unexpected argument "stray"/],
        ];
        for (const [argv, message] of bad) {
            assert.throws(
                () => parseBertArgs(argv),
                (err: Error) => err instanceof UsageError && message.test(err.message) && /usage: npm run bench:bert/.test(err.message),
                argv.join(" "),
            );
        }
    });
});

describe("bench:bert over KServe v2 against the v2 emulator", () => {
    let emulator: V2Emulator;
    let endpoint: BertEndpoint;
    let target: string;
    const shape = { model: "bert", batch: 2, seqLen: 16 };

    before(async () => {
        emulator = await startV2Emulator({ seqLen: 16, maxBatchSize: 4 });
        target = emulator.url.replace("grpc://", "");
        endpoint = openBertEndpoint({ ...shape, protocol: "v2", url: emulator.url, signature: "", connections: 2, timeoutMs: 5000 });
    });
    after(async () => {
        endpoint.close();
        await emulator.stop();
    });
    beforeEach(() => {
        emulator.setLatency(0);
        emulator.setModelReady(true);
        emulator.requests.length = 0;
    });

    it("sends input_ids, attention_mask and token_type_ids as INT64 [batch, seq-len] and asks for logits", async () => {
        await runBertLoad(endpoint, load);
        assert.equal(emulator.requests.length, 4);
        for (const r of emulator.requests) {
            assert.deepEqual(r.model, { name: "bert" });
            assert.deepEqual(
                r.inputs,
                ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, datatype: "INT64", shape: [2, 16] })),
            );
            assert.deepEqual(r.outputs, ["logits"]);
            assert.equal(r.outcome, "OK");
        }
    });

    it("reports percentiles that reflect the server's latency", async () => {
        emulator.setLatency(40);
        const { report } = await runBertLoad(endpoint, { ...load, requests: 9 });
        assert.deepEqual(Object.keys(report).sort(), ["count", "errors", "maxMs", "meanMs", "p50Ms", "p90Ms", "p99Ms", "throughput"]);
        assert.equal(report.count, 9);
        assert.equal(report.errors, 0);
        // A window, not a speed check: it catches wrong units or statistics taken from the wrong samples.
        assert.ok(report.p50Ms >= 40 && report.p50Ms < 70, `p50 ${report.p50Ms} within [40, 70): ${JSON.stringify(report)}`);
        assert.ok(report.p90Ms >= report.p50Ms && report.p99Ms >= report.p90Ms && report.maxMs >= report.p99Ms);
    });

    it("counts server errors, non-finite logits and logits of the wrong shape as errors instead of stopping", async () => {
        emulator.failNext(2, "UNAVAILABLE");
        const failed = await runBertLoad(endpoint, { ...load, requests: 6, warmup: 0, concurrency: 2 });
        assert.equal(failed.report.errors, 2);
        assert.match(failed.errorSamples[0], /is unavailable \(model "bert"\): injected UNAVAILABLE failure/);
        emulator.corruptNext(1, "nan");
        const nan = await runBertLoad(endpoint, { ...load, warmup: 0 });
        assert.equal(nan.report.errors, 1);
        assert.deepEqual(nan.errorSamples, ["logits [2,2] has 4 non-finite value(s) of 4"]);
        emulator.corruptNext(1, "wrong-shape");
        const wrong = await runBertLoad(endpoint, { ...load, warmup: 0 });
        assert.deepEqual(wrong.errorSamples, ["reply has no FP32 logits of shape [2, labels] (got: logits FP32 [1,2])"]);
    });

    it("prints exactly the JSON report fields with --json, over several connections", async () => {
        const printed: string[] = [];
        const code = await runBertBench(
            parseBertArgs([
                "--target",
                target,
                "--model",
                "bert",
                "--requests",
                "6",
                "--concurrency",
                "3",
                "--connections",
                "3",
                "--warmup",
                "1",
                "--seq-len",
                "16",
                "--json",
            ]),
            (l) => printed.push(l),
        );
        assert.equal(code, 0);
        assert.equal(printed.length, 1);
        const report = JSON.parse(printed[0]) as Record<string, number>;
        assert.deepEqual(Object.keys(report).sort(), ["count", "errors", "maxMs", "meanMs", "p50Ms", "p90Ms", "p99Ms", "throughput"]);
        assert.equal(report.count, 6);
        assert.equal(report.errors, 0);
    });

    it("measures the bare HTTP/2 floor with the same ModelInfer request", async () => {
        const { oursP50, bareP50 } = await compareWithFloor(endpoint, 5000, 1, 5);
        assert.ok(oursP50 > 0 && bareP50 > 0, `${oursP50} ${bareP50}`);
        assert.equal(
            emulator.requests.filter((r) => r.outcome === "OK").length,
            5 + 5 + 5,
            "ours, warm-up floor and floor calls all reached ModelInfer and succeeded",
        );
    });

    it("stops with one clear message when the model name is wrong, sending no load", async () => {
        await benchFails(
            ["--target", target, "--model", "bret", "--seq-len", "16"],
            new RegExp(
                `^model server ${emulator.url.replace(/\./g, "\\.")} has no model named "bret": Request for unknown model: 'bret' is not found$`,
            ),
        );
        assert.equal(emulator.requests.length, 0);
    });

    it("stops with one clear message when the model is not ready yet", async () => {
        emulator.setModelReady(false);
        await benchFails(
            ["--target", target, "--model", "bert", "--seq-len", "16"],
            /^model "bert" on grpc:\/\/127\.0\.0\.1:\d+ is not ready yet: Request for unknown model: 'bert' has no available versions$/,
        );
        assert.equal(emulator.requests.length, 0);
    });

    it("stops with one clear message when the compiled model cannot take the run's shape", async () => {
        await benchFails(
            ["--target", target, "--model", "bert", "--seq-len", "8"],
            /^model "bert" cannot take --batch 1 --seq-len 8: input "input_ids" is INT64 \[-1,16\], this run sends INT64 \[1,8\]; .*token_type_ids.* \(server grpc:\/\/127\.0\.0\.1:\d+\)$/,
        );
        await benchFails(
            ["--target", target, "--model", "bert", "--seq-len", "16", "--batch", "5"],
            /rejected the request for model "bert": inference request batch-size must be <= 4 for 'bert'/,
        );
    });

    it("says so when the target speaks another protocol (a TF Serving port given to --protocol v2)", async () => {
        const tfs = await startTfServingEmulator();
        try {
            await benchFails(
                ["--target", tfs.grpcUrl.replace("grpc://", ""), "--model", "bert"],
                /^model server grpc:\/\/127\.0\.0\.1:\d+ does not speak KServe v2 gRPC \(inference\.GRPCInferenceService\) for model "bert": unknown method \/inference\.GRPCInferenceService\/ModelReady$/,
            );
        } finally {
            await tfs.stop();
        }
    });

    it("stops with one clear message when the server is down", async () => {
        await benchFails(
            ["--target", "127.0.0.1:1", "--model", "bert"],
            /^model server grpc:\/\/127\.0\.0\.1:1 is unavailable \(model "bert"\): connection failed: .*ECONNREFUSED/,
        );
    });
});

describe("bench:bert reply check (KServe v2)", () => {
    const fp32 = (v: number[]) => Buffer.from(new Float32Array(v).buffer);
    it("accepts finite FP32 logits [batch, labels] and names anything else", () => {
        assert.equal(
            checkV2BertResponse(
                {
                    modelName: "bert",
                    modelVersion: "1",
                    id: "",
                    outputs: [{ name: "logits", datatype: "FP32", shape: [1, 3], data: fp32([0.1, 0.2, 0.7]) }],
                },
                1,
            ),
            null,
        );
        assert.equal(
            checkV2BertResponse(
                {
                    modelName: "bert",
                    modelVersion: "1",
                    id: "",
                    outputs: [{ name: "logits", datatype: "FP64", shape: [1, 2], data: Buffer.alloc(16) }],
                },
                1,
            ),
            "reply has no FP32 logits of shape [1, labels] (got: logits FP64 [1,2])",
        );
        assert.equal(
            checkV2BertResponse(
                {
                    modelName: "bert",
                    modelVersion: "1",
                    id: "",
                    outputs: [{ name: "scores", datatype: "FP32", shape: [1, 2], data: fp32([0, 1]) }],
                },
                1,
            ),
            "reply has no FP32 logits of shape [1, labels] (got: scores FP32 [1,2])",
        );
        assert.equal(
            checkV2BertResponse(
                {
                    modelName: "bert",
                    modelVersion: "1",
                    id: "",
                    outputs: [{ name: "logits", datatype: "FP32", shape: [1, 0], data: Buffer.alloc(0) }],
                },
                1,
            ),
            "reply has no FP32 logits of shape [1, labels] (got: logits FP32 [1,0])",
        );
        assert.equal(
            checkV2BertResponse(
                {
                    modelName: "bert",
                    modelVersion: "1",
                    id: "",
                    outputs: [{ name: "logits", datatype: "FP32", shape: [1, 2], data: fp32([Infinity, 0]) }],
                },
                1,
            ),
            "logits [1,2] has 1 non-finite value(s) of 2",
        );
    });
});

describe("bench:bert over TF Serving against the TF Serving emulator", () => {
    let emulator: TfServingEmulator;
    let endpoint: BertEndpoint;
    let target: string;
    const shape = { model: "bert", signature: "serving_default", batch: 2, seqLen: 16 };

    before(async () => {
        emulator = await startTfServingEmulator();
        target = emulator.grpcUrl.replace("grpc://", "");
        endpoint = openBertEndpoint({ ...shape, protocol: "tfserving", url: emulator.grpcUrl, connections: 1, timeoutMs: 5000 });
    });
    after(async () => {
        endpoint.close();
        await emulator.stop();
    });
    beforeEach(() => {
        emulator.setLatency(0);
        emulator.requests.length = 0;
    });

    it("sends input_ids, input_mask and segment_ids as int32 [batch, seq-len] with the model spec", async () => {
        const request = buildBertRequest(shape);
        assert.ok(request.inputs.input_ids.content, "ids travel as tensor_content");
        await runBertLoad(endpoint, load);
        assert.equal(emulator.requests.length, 4);
        for (const r of emulator.requests) {
            assert.equal(r.transport, "grpc");
            assert.deepEqual(r.model, { name: "bert", signatureName: "serving_default" });
            assert.deepEqual(
                r.inputs,
                ["input_ids", "input_mask", "segment_ids"].map((name) => ({ name, dtype: DataType.DT_INT32, shape: [2, 16] })),
            );
            assert.equal(r.outcome, "OK");
        }
    });

    it("reports percentiles that reflect the server's latency", async () => {
        emulator.setLatency(40);
        const { report } = await runBertLoad(endpoint, { ...load, requests: 9 });
        assert.equal(report.errors, 0);
        assert.ok(report.p50Ms >= 40 && report.p50Ms < 70, `p50 ${report.p50Ms} within [40, 70): ${JSON.stringify(report)}`);
    });

    it("counts server errors instead of stopping", async () => {
        emulator.failNext(3, "UNAVAILABLE");
        const { report, errorSamples } = await runBertLoad(endpoint, { ...load, requests: 8, concurrency: 2, warmup: 0 });
        assert.equal(report.count, 8);
        assert.equal(report.errors, 3);
        assert.match(errorSamples[0], /unavailable: injected UNAVAILABLE failure/);
    });

    it("refuses a response without a finite float output of the batch size, naming what came back", () => {
        const logits = tensorFromFloat32(new Float32Array([0.5, 0.25, 1, 0]), [2, 2]);
        assert.equal(checkBertResponse({ outputs: { logits } }, 2), null);
        assert.equal(
            checkBertResponse({ outputs: { logits } }, 5),
            "response has no float output with batch dimension 5 (got: logits DT_FLOAT [2,2])",
        );
        assert.equal(
            checkBertResponse({ outputs: { logits: tensorFromFloat32(new Float32Array([0.5, NaN]), [1, 2]) } }, 1),
            "logits [1,2] has 1 non-finite value(s) of 2",
        );
        assert.equal(
            checkBertResponse({ outputs: { logits: { dtype: DataType.DT_INT32, shape: [1, 2], content: Buffer.alloc(8) } } }, 1),
            "response has no float output with batch dimension 1 (got: logits DT_INT32 [1,2])",
        );
        assert.equal(checkBertResponse({ outputs: {} }, 1), "response has no float output with batch dimension 1 (got: no outputs)");
    });

    it("prints exactly the JSON report fields with --json", async () => {
        const printed: string[] = [];
        const code = await runBertBench(
            parseBertArgs([
                "--protocol",
                "tfserving",
                "--target",
                target,
                "--model",
                "bert",
                "--requests",
                "4",
                "--warmup",
                "1",
                "--seq-len",
                "8",
                "--json",
            ]),
            (l) => printed.push(l),
        );
        assert.equal(code, 0);
        const report = JSON.parse(printed[0]) as Record<string, number>;
        assert.deepEqual(Object.keys(report).sort(), ["count", "errors", "maxMs", "meanMs", "p50Ms", "p90Ms", "p99Ms", "throughput"]);
        assert.equal(report.errors, 0);
    });

    it("stops with one clear message when the model name is wrong", async () => {
        await benchFails(
            ["--protocol", "tfserving", "--target", target, "--model", "bret", "--requests", "5"],
            /has no model named "bret"/,
        );
        assert.equal(emulator.requests.length, 1, "one probe, no load sent");
    });

    it("stops with one clear message when the model is still loading", async () => {
        const loading = await startTfServingEmulator({ loadingForMs: 60_000 });
        try {
            await benchFails(
                ["--protocol", "tfserving", "--target", loading.grpcUrl.replace("grpc://", ""), "--model", "bert"],
                /^model "bert" on grpc:\/\/127\.0\.0\.1:\d+ is not ready yet \(version 1 LOADING\)$/,
            );
        } finally {
            await loading.stop();
        }
    });

    it("stops with one clear message when the compiled model cannot take the run's shape", async () => {
        const fixed = await startTfServingEmulator({ bertSeqLen: 128 });
        try {
            await benchFails(
                ["--protocol", "tfserving", "--target", fixed.grpcUrl.replace("grpc://", ""), "--model", "bert", "--seq-len", "64"],
                /^model server grpc:\/\/127\.0\.0\.1:\d+ rejected the request for model "bert": input "input_ids" has shape \[1,64\] but model "bert" was compiled for sequence length 128 \(\[B,128\]\)$/,
            );
            assert.deepEqual(
                fixed.requests.map((r) => r.outcome),
                ["INVALID_ARGUMENT"],
                "one probe, not retried, no load",
            );
        } finally {
            await fixed.stop();
        }
    });

    it("stops with one clear message naming the model when the server is down", async () => {
        await benchFails(
            ["--protocol", "tfserving", "--target", "127.0.0.1:1", "--model", "bert"],
            /^model "bert" on grpc:\/\/127\.0\.0\.1:1: model server grpc:\/\/127\.0\.0\.1:1 is unavailable: connection failed/,
        );
    });
});

describe("bench:bert command", () => {
    it("exits non-zero with the reason on stderr when the run cannot start", async function () {
        this.timeout(30_000);
        const tsxCli = require.resolve("tsx/cli");
        const child = spawn(
            process.execPath,
            [tsxCli, path.join(__dirname, "..", "bert-latency", "bert.ts"), "--target", "127.0.0.1:1", "--model", "bert"],
            { stdio: ["ignore", "pipe", "pipe"] },
        );
        let stderr = "";
        let stdout = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
        assert.equal(code, 1, stderr);
        assert.equal(stdout, "");
        assert.match(stderr, /^bench:bert failed: model server grpc:\/\/127\.0\.0\.1:1 is unavailable \(model "bert"\)/);
    });

    it("exits 64 on a usage error", async function () {
        this.timeout(30_000);
        const child = spawn(
            process.execPath,
            [require.resolve("tsx/cli"), path.join(__dirname, "..", "bert-latency", "bert.ts"), "--protocol", "v3"],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        let stderr = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 64);
        assert.match(stderr, /--protocol must be one of v2, tfserving, got "v3"/);
    });
});
