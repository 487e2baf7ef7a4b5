// model-check.ts (issue 17 item 6): the model's serving signature against the worker's configuration.
import { strict as assert } from "node:assert";
import { ConfigError, loadConfig } from "../src/config";
import { checkModelSignature } from "../src/model-check";
import { DataType, type ModelMetadata, type SignatureDef } from "../model-client/tfserving";
import { detectionModel } from "../../testing/tfserving/emulator-models";

const config = loadConfig({ JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q", RESULTS_BUCKET: "b", BATCH_SIZE: "8" });

function metadata(change: (sig: SignatureDef) => void = () => undefined): ModelMetadata {
    const sig = structuredClone(detectionModel("object_detection").signature);
    change(sig);
    return {
        model: { name: "object_detection", version: 3 },
        signatures: { serving_default: sig, __saved_model_init_op: { inputs: {}, outputs: {}, methodName: "" } },
    };
}

function refused(meta: ModelMetadata, message: RegExp, env: Record<string, string> = {}): void {
    const c = { ...config, ...loadConfig({ JOB_QUEUE_URL: config.queueUrl, RESULTS_BUCKET: "b", BATCH_SIZE: "8", ...env }) };
    assert.throws(
        () => checkModelSignature(meta, c),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
        message.source,
    );
}

describe("worker model-check.checkModelSignature", () => {
    it("accepts a TF Object Detection API export (uint8 [-1,-1,-1,3] in, the four float outputs)", () => {
        checkModelSignature(metadata(), config);
        checkModelSignature(
            metadata((s) => (s.inputs.inputs.shape = [-1, 300, 300, 3])),
            loadConfig({ JOB_QUEUE_URL: config.queueUrl, RESULTS_BUCKET: "b", FRAME_WIDTH: "300", FRAME_HEIGHT: "300" }),
        );
        checkModelSignature(
            metadata((s) => (s.inputs.inputs.shape = undefined)),
            config,
        );
    });

    it("names MODEL_SIGNATURE, MODEL_INPUT, FRAME_HEIGHT, FRAME_WIDTH, BATCH_SIZE or the missing outputs", () => {
        refused(
            metadata(),
            /^MODEL_SIGNATURE="detect" is not a signature of model "object_detection" version 3 .*its signatures: serving_default$/,
            {
                MODEL_SIGNATURE: "detect",
            },
        );
        refused(metadata(), /^MODEL_INPUT="image" is not an input of signature "serving_default"/, { MODEL_INPUT: "image" });
        refused(
            metadata((s) => (s.inputs.inputs.dtype = DataType.DT_FLOAT)),
            /^MODEL_INPUT="inputs" of signature .* takes DT_FLOAT, but the worker sends uint8 frames/,
        );
        refused(
            metadata((s) => (s.inputs.inputs.shape = [-1, 640, -1, 3])),
            /^FRAME_HEIGHT=300 does not fit .*640 pixels high/,
        );
        refused(
            metadata((s) => (s.inputs.inputs.shape = [-1, -1, 320, 3])),
            /^FRAME_WIDTH=300 does not fit .*320 pixels wide/,
        );
        refused(
            metadata((s) => (s.inputs.inputs.shape = [1, -1, -1, 3])),
            /^BATCH_SIZE=8 does not fit .*one frame per request .*set BATCH_SIZE=1/,
        );
        checkModelSignature(
            metadata((s) => (s.inputs.inputs.shape = [1, -1, -1, 3])),
            loadConfig({ JOB_QUEUE_URL: config.queueUrl, RESULTS_BUCKET: "b", BATCH_SIZE: "1" }),
        );
        refused(
            metadata((s) => (s.inputs.inputs.shape = [-1, -1, 3])),
            /has shape \[-1,-1,3\], but the worker sends RGB frames \[N,H,W,3\]/,
        );
        refused(
            metadata((s) => delete s.outputs.detection_classes),
            /^MODEL_SIGNATURE="serving_default": .* has no output\(s\) detection_classes/,
        );
        refused(
            metadata((s) => (s.inputs.extra = { name: "x:0", dtype: DataType.DT_FLOAT, shape: [] })),
            /also needs input\(s\) extra, but the worker sends only MODEL_INPUT="inputs"/,
        );
    });
});
