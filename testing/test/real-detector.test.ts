// The real-detector model server's parts: the 80 -> 90 COCO id map, CenterNet's output turned into the
// SSD signature, and the server itself over TF Serving gRPC and REST (Predict, GetModelMetadata).
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { cocoLabel, isCocoClass } from "../../worker/src/coco";
import { parseDetections } from "../../worker/src/detections";
import { GrpcChannel } from "../../worker/model-client/grpc/channel";
import { ChunkWriter, WireReader, WireType } from "../../worker/model-client/grpc/wire";
import { encodeModelSpec } from "../../worker/model-client/tfserving/codec";
import { createModelClient, ModelServerError, tensorFromUint8 } from "../../worker/model-client/tfserving";
import { centerNetToSsd, iou, MODEL_DESCRIPTION, NMS_IOU } from "../detector/centernet";
import { COCO80_NAMES, COCO80_TO_90, COCO90_GAPS, coco90Id } from "../detector/coco80";
import { startRealModelServer, type RealModelServer } from "../detector/server";
import { makeTestVideo } from "../ffmpeg";
import { GET_MODEL_METADATA_METHOD } from "../../worker/model-client/tfserving/methods";
import {
    MetadataFields,
    SIGNATURE_DEF_MAP_TYPE_URL as SIGNATURE_DEF_MAP_TYPE,
    STRING_VALUE_TYPE_URL as STRING_VALUE_TYPE,
} from "../../worker/model-client/tfserving/metadata";

const run = promisify(execFile);

describe("COCO: CenterNet's 80 contiguous classes in the 90-id space", () => {
    it("maps class i to the i-th labelled COCO id, and the names agree with the worker's label map", () => {
        assert.equal(COCO80_NAMES.length, 80);
        assert.equal(COCO80_TO_90.length, 80);
        COCO80_TO_90.forEach((id, i) => {
            if (i > 0) assert.ok(id > COCO80_TO_90[i - 1], "increasing");
            assert.ok(isCocoClass(id), `id ${id} is in the worker's label map`);
            assert.equal(cocoLabel(id), COCO80_NAMES[i], `class ${i} -> id ${id}`);
        });
        for (const gap of COCO90_GAPS) assert.equal(isCocoClass(gap), false, `id ${gap} is a gap`);
        // spot checks from the COCO annotations: person 1, car 3, truck 8, backpack 27, dining table 67, toothbrush 90
        assert.deepEqual([0, 2, 7, 24, 60, 79].map(coco90Id), [1, 3, 8, 27, 67, 90]);
        assert.deepEqual([-1, 80, 2.5, NaN].map(coco90Id), [undefined, undefined, undefined, undefined]);
    });
});

describe("CenterNet rows -> the SSD signature", () => {
    const row = (x1: number, y1: number, x2: number, y2: number, score: number, cls: number): number[] => [x1, y1, x2, y2, score, cls];

    it("normalises boxes to [ymin, xmin, ymax, xmax], maps classes to COCO ids, sorts by score and drops duplicates", () => {
        const rows = new Float32Array([
            ...row(128, 0, 256, 512, 0.4, 2), // car, x 0.25-0.5, y 0-1
            ...row(0, 256, 128, 384, 0.9, 0), // person, best
            ...row(130, 0, 256, 510, 0.3, 7), // truck on the car's box: suppressed (IoU > 0.5)
            ...row(600, -10, 700, 100, 0.2, 0), // outside the input: clamped
            ...row(10, 10, 20, 20, NaN, 1), // not a number: dropped
            ...row(10, 10, 20, 20, 0.5, 80), // no such class: dropped
            ...row(10, 10, 20, 20, 0, 3), // score 0 (padding): dropped
        ]);
        const out = centerNetToSsd(rows, 512);
        assert.equal(out.numDetections, 3);
        assert.deepEqual(out.classes, [1, 3, 1]);
        assert.deepEqual(out.scores, [Math.fround(0.9), Math.fround(0.4), Math.fround(0.2)]);
        assert.deepEqual(out.boxes[0], [0.5, 0, 0.75, 0.25]);
        assert.deepEqual(out.boxes[1], [0, 0.25, 1, 0.5]);
        assert.deepEqual(out.boxes[2], [0, 1, Math.fround(100 / 512), 1]);
        assert.ok(iou([0, 0.25, 1, 0.5], [0, 130 / 512, 510 / 512, 0.5]) > NMS_IOU);
    });
});

describe("the real-detector model server (CenterNet on CPU behind TF Serving's API)", function () {
    this.timeout(60_000);
    let server: RealModelServer;
    let dir: string;
    let frames: Buffer;
    const W = 128;
    const H = 96;

    before(async () => {
        server = await startRealModelServer({ threads: 1 });
        dir = await mkdtemp(join(tmpdir(), "real-detector-"));
        const clip = await makeTestVideo({ path: join(dir, "c.mp4"), seconds: 0.3, fps: 10, width: 160, height: 120 });
        frames = (
            await run(
                "ffmpeg",
                ["-v", "error", "-i", clip, "-vf", `scale=${W}:${H}`, "-frames:v", "2", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                {
                    encoding: "buffer",
                },
            )
        ).stdout;
    });

    after(async () => {
        await server?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("answers Predict over gRPC and REST with the same valid SSD outputs for a batch, frame by frame", async () => {
        const results = [];
        for (const url of [server.grpcUrl, server.restUrl]) {
            const client = createModelClient(url);
            try {
                const response = await client.predict(
                    { model: { name: "object_detection" }, inputs: { inputs: tensorFromUint8(frames, [2, H, W, 3]) } },
                    { timeoutMs: 30_000 },
                );
                assert.deepEqual(response.outputs.detection_boxes.shape, [2, 100, 4]);
                assert.deepEqual(response.outputs.detection_classes.shape, [2, 100]);
                results.push(parseDetections(response.outputs, 2, 0.01, "object_detection")); // the worker's own validation
            } finally {
                client.close();
            }
        }
        assert.deepEqual(results[0], results[1], "gRPC and REST agree");
        assert.ok(results[0][0].length > 0 && results[0][1].length > 0, "something is detected in each frame");
        assert.notDeepEqual(results[0][0], results[0][1], "each frame gets its own detections");
        for (const frame of results[0])
            for (let i = 1; i < frame.length; i++) assert.ok(frame[i - 1].score >= frame[i].score, "best first");
    });

    it("refuses a request that is not uint8 [N,H,W,3] with INVALID_ARGUMENT", async () => {
        const client = createModelClient(server.grpcUrl);
        try {
            await assert.rejects(
                client.predict({
                    model: { name: "object_detection" },
                    inputs: { inputs: tensorFromUint8(frames.subarray(0, W * H * 3), [1, H, W * 3]) },
                }),
                (err: unknown) => err instanceof ModelServerError && err.code === "INVALID_ARGUMENT" && /\[N,H,W,3\]/.test(err.message),
            );
        } finally {
            client.close();
        }
    });

    it("says in its metadata (REST and gRPC GetModelMetadata) that it is CenterNet on CPU, not the production model", async () => {
        assert.match(MODEL_DESCRIPTION, /CenterNet.*CPU.*NOT the production SSD/);
        assert.match(server.banner, /CenterNet.*NOT the production SSD/);
        const rest = (await (await fetch(`${server.restUrl}/v1/models/object_detection/metadata`)).json()) as {
            model_spec: { name: string; version: string };
            metadata: {
                description: string;
                signature_def: { signature_def: Record<string, { inputs: Record<string, { dtype: string }> }> };
            };
        };
        assert.equal(rest.model_spec.name, "object_detection");
        assert.equal(rest.metadata.description, MODEL_DESCRIPTION);
        assert.equal(rest.metadata.signature_def.signature_def.serving_default.inputs.inputs.dtype, "DT_UINT8");

        const channel = new GrpcChannel(server.grpcUrl.replace("grpc://", ""));
        try {
            const request = new ChunkWriter()
                .messageField(MetadataFields.GetModelMetadataRequest.modelSpec, encodeModelSpec({ name: "object_detection" }))
                .stringField(MetadataFields.GetModelMetadataRequest.metadataField, "signature_def")
                .finish();
            const reply = await channel.unary(GET_MODEL_METADATA_METHOD, [request], 10_000);
            const entries = new Map<string, { typeUrl: string; value: Buffer }>();
            const r = new WireReader(reply);
            while (!r.done) {
                const { field, wireType } = r.header();
                if (field !== MetadataFields.GetModelMetadataResponse.metadata) {
                    r.skip(wireType);
                    continue;
                }
                const entry = r.message();
                let key = "";
                let any: { typeUrl: string; value: Buffer } = { typeUrl: "", value: Buffer.alloc(0) };
                while (!entry.done) {
                    const h = entry.header();
                    if (h.field === 1) key = entry.string();
                    else if (h.field === 2 && h.wireType === WireType.LengthDelimited) {
                        const a = entry.message();
                        while (!a.done) {
                            const ah = a.header();
                            if (ah.field === 1) any.typeUrl = a.string();
                            else if (ah.field === 2) any = { ...any, value: a.bytes() };
                            else a.skip(ah.wireType);
                        }
                    } else entry.skip(h.wireType);
                }
                entries.set(key, any);
            }
            assert.equal(entries.get("signature_def")?.typeUrl, SIGNATURE_DEF_MAP_TYPE);
            assert.equal(entries.get("description")?.typeUrl, STRING_VALUE_TYPE);
            const text = new WireReader(entries.get("description")!.value);
            text.header();
            assert.equal(text.string(), MODEL_DESCRIPTION);
            assert.ok(entries.get("signature_def")!.value.includes(Buffer.from("detection_classes")));
        } finally {
            channel.close();
        }
    });
});
