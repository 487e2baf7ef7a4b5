// Issue 11, defects 3 and 4: every model output is validated before it becomes a result, and the REST
// client reads the bare NaN / Infinity / -Infinity tokens TF Serving writes.
import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseDetections } from "../src/detections";
import { createModelClient, ModelServerError, readFloat32, tensorFromUint8 } from "../model-client/tfserving";
import { corruptDetections, OUTPUT_FAULTS, startTfServingEmulator, type OutputFault } from "../../testing/tfserving/emulator";
import { detectionModel } from "../../testing/tfserving/emulator-models";
import { parseServerJson } from "../model-client/tfserving/rest-client";
import { httpError, isTransientGrpcCode } from "../model-client/tfserving/errors";
import { GrpcCode } from "../model-client/grpc/protocol";
import { rejection } from "./support/rejection";

const H = 6;
const W = 8;

function cleanOutputs(frames: number): ReturnType<ReturnType<typeof detectionModel>["run"]> {
    const pixels = Buffer.alloc(frames * H * W * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 256;
    return detectionModel("object_detection").run({ inputs: tensorFromUint8(pixels, [frames, H, W, 3]) });
}

/** The output each fault must be blamed on. */
const BLAMED: Record<OutputFault, string> = {
    nan: "detection_scores",
    infinity: "detection_boxes",
    negative_infinity: "detection_classes",
    score_above_one: "detection_scores",
    box_outside: "detection_boxes",
    box_inverted: "detection_boxes",
    unknown_class: "detection_classes",
    fractional_class: "detection_classes",
    count_above_k: "num_detections",
    wrong_dtype: "detection_classes",
    wrong_shape: "detection_boxes",
    missing_output: "detection_scores",
};

describe("model output validation (issue 11 defect 3)", () => {
    it("accepts the emulator's clean outputs", () => {
        const parsed = parseDetections(cleanOutputs(3), 3, 0.5, '"object_detection"');
        assert.equal(parsed.length, 3);
    });

    for (const fault of OUTPUT_FAULTS) {
        it(`rejects ${fault} as BAD_OUTPUT naming the output and the model, whatever the threshold`, () => {
            const outputs = corruptDetections(cleanOutputs(2), fault);
            for (const threshold of [0, 0.5, 1]) {
                assert.throws(
                    () => parseDetections(outputs, 2, threshold, '"object_detection" version 1'),
                    (e: unknown) => {
                        assert.ok(e instanceof ModelServerError, String(e));
                        assert.equal(e.code, "BAD_OUTPUT");
                        assert.equal(e.transient, false);
                        assert.ok(e.message.includes(`"${BLAMED[fault]}"`), `${fault}: ${e.message}`);
                        assert.ok(e.message.includes('"object_detection" version 1'), e.message);
                        return true;
                    },
                );
            }
        });
    }

    it("issue 17 item 2: keeps confident ids from the unnamed slots of the 1-90 id space, labelled class <id>", () => {
        for (const id of [12, 26, 83, 90]) {
            const outputs = corruptDetections(cleanOutputs(1), "nan");
            const classes = Float32Array.from(readFloat32(outputs.detection_classes));
            classes[0] = id;
            outputs.detection_scores = corruptDetections(cleanOutputs(1), "box_outside").detection_scores; // score 0.9 at detection 0
            outputs.detection_classes = { ...outputs.detection_classes, content: Buffer.from(classes.buffer) };
            const kept = parseDetections(outputs, 1, 0.5)[0][0];
            assert.equal(kept.classId, id);
            assert.equal(kept.score, 0.9);
            assert.equal(kept.label, id === 90 ? "toothbrush" : `class ${id}`);
        }
    });

    it("issue 17 item 2: fails only ids outside the class space: 0 or below within num_detections, above 90, fractional", () => {
        for (const id of [0, -1, 91, 255, 2.5]) {
            const outputs = corruptDetections(cleanOutputs(1), "nan");
            const scores = Float32Array.from(readFloat32(outputs.detection_scores));
            const classes = Float32Array.from(readFloat32(outputs.detection_classes));
            scores[0] = 0.1; // even below the threshold: a counted detection must be a class of the model
            classes[0] = id;
            outputs.detection_scores = { ...outputs.detection_scores, content: Buffer.from(scores.buffer) };
            outputs.detection_classes = { ...outputs.detection_classes, content: Buffer.from(classes.buffer) };
            assert.throws(
                () => parseDetections(outputs, 1, 0.5),
                new RegExp(`is ${id} at frame 0, detection 0 .*outside the model's class space`),
            );
            // Beyond num_detections the rows are padding and are not read.
            const num = Float32Array.from([0]);
            outputs.num_detections = { ...outputs.num_detections, content: Buffer.from(num.buffer) };
            assert.deepEqual(parseDetections(outputs, 1, 0.5), [[]]);
        }
    });
});

describe("REST client and TF Serving's non-finite tokens (issue 11 defect 4)", () => {
    let server: Server;
    let url: string;
    let body = "";

    before(async () => {
        server = createServer((_req, res) => {
            res.writeHead(200, { "content-type": "application/json" }).end(body);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it("parses bare NaN, Infinity and -Infinity outside strings and leaves strings alone", () => {
        const parsed = parseServerJson('{"a":[NaN,Infinity,-Infinity,1.5],"s":"NaN and Infinity \\" NaN","t":[-Infinity]}') as {
            a: number[];
            s: string;
            t: number[];
        };
        assert.ok(Number.isNaN(parsed.a[0]));
        assert.deepEqual(parsed.a.slice(1), [Infinity, -Infinity, 1.5]);
        assert.equal(parsed.s, 'NaN and Infinity " NaN');
        assert.deepEqual(parsed.t, [-Infinity]);
        assert.throws(() => parseServerJson("{NaN}"), SyntaxError);
    });

    it("reads a predict body as TF Serving writes it, then validation names the bad output", async () => {
        body =
            '{"outputs":{"num_detections":[1.0],"detection_boxes":[[[0.1,0.1,0.5,0.5]]],"detection_scores":[[NaN]],"detection_classes":[[-Infinity]]}}';
        const client = createModelClient(url);
        try {
            const response = await client.predict({
                model: { name: "object_detection" },
                inputs: { inputs: tensorFromUint8(Buffer.alloc(3), [1, 1, 1, 3]) },
            });
            assert.ok(Number.isNaN(readFloat32(response.outputs.detection_scores)[0]));
            assert.equal(readFloat32(response.outputs.detection_classes)[0], -Infinity);
            assert.throws(() => parseDetections(response.outputs, 1, 0.5, '"object_detection"'), /"detection_scores" holds NaN at frame 0/);
        } finally {
            client.close();
        }
    });

    it("gets the emulator's corrupted outputs over REST and gRPC alike", async () => {
        const emulator = await startTfServingEmulator({});
        try {
            for (const transport of [emulator.restUrl, emulator.grpcUrl]) {
                const client = createModelClient(transport);
                try {
                    emulator.corruptNext(1, "infinity");
                    const pixels = tensorFromUint8(Buffer.alloc(2 * H * W * 3, 9), [2, H, W, 3]);
                    const response = await client.predict({ model: { name: "object_detection" }, inputs: { inputs: pixels } });
                    assert.equal(readFloat32(response.outputs.detection_boxes)[2], Infinity, transport);
                    assert.throws(
                        () => parseDetections(response.outputs, 2, 0.5, '"object_detection"'),
                        /"detection_boxes" holds Infinity/,
                    );
                    const clean = await client.predict({ model: { name: "object_detection" }, inputs: { inputs: pixels } });
                    assert.equal(parseDetections(clean.outputs, 2, 0.5).length, 2, "only the next call was corrupted");
                } finally {
                    client.close();
                }
            }
        } finally {
            await emulator.stop();
        }
    });

    it("reports a 200 whose body is not JSON (a proxy's page, or cut short) as transient BAD_RESPONSE (issue 17 item 7)", async () => {
        const client = createModelClient(url);
        try {
            for (const text of ["<html>bad gateway</html>", '{"outputs": {"num_detections": [1.0, 2.0']) {
                body = text;
                const err = await rejection(
                    client.predict({
                        model: { name: "object_detection" },
                        inputs: { inputs: tensorFromUint8(Buffer.alloc(3), [1, 1, 1, 3]) },
                    }),
                );
                assert.equal(err.code, "BAD_RESPONSE", text);
                assert.equal(err.transient, true);
                assert.match(err.message, /HTTP 200 and a body that is not JSON/);
            }
        } finally {
            client.close();
        }
    });

    it("a REST status is retried exactly when the gRPC status TF Serving wrote it for is (ABORTED 409, CANCELLED 499 too)", () => {
        // TF Serving's REST server turns a gRPC status into HTTP (model_servers/http_server.cc ToHTTPStatusCode).
        const asHttp: [GrpcCode, number][] = [
            [GrpcCode.CANCELLED, 499],
            [GrpcCode.INVALID_ARGUMENT, 400],
            [GrpcCode.DEADLINE_EXCEEDED, 504],
            [GrpcCode.NOT_FOUND, 404],
            [GrpcCode.PERMISSION_DENIED, 403],
            [GrpcCode.RESOURCE_EXHAUSTED, 429],
            [GrpcCode.FAILED_PRECONDITION, 400],
            [GrpcCode.ABORTED, 409],
            [GrpcCode.OUT_OF_RANGE, 400],
            [GrpcCode.UNIMPLEMENTED, 501],
            [GrpcCode.INTERNAL, 500],
            [GrpcCode.UNAVAILABLE, 503],
            [GrpcCode.UNAUTHENTICATED, 401],
            // Not here: UNKNOWN and DATA_LOSS share 500 with INTERNAL; ALREADY_EXISTS shares 409 with ABORTED (Predict never says it).
        ];
        for (const [code, status] of asHttp) {
            const err = httpError(status, "x", "http://s", { name: "m" });
            assert.equal(err.transient, isTransientGrpcCode(code), `${GrpcCode[code]} as HTTP ${status} (${err.code})`);
        }
        assert.equal(httpError(409, "x", "http://s", { name: "m" }).code, "ABORTED");
        assert.equal(httpError(499, "x", "http://s", { name: "m" }).code, "CANCELLED");
    });
});
