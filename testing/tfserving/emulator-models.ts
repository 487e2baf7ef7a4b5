// The two models the emulator serves, as pure functions: signature checks and deterministic outputs.
// Exported so tests of the video worker can recompute the detections the emulator will return.
import { bytesPerElement, dtypeName, elementCount, tensorFromFloat32 } from "../../worker/model-client/tfserving/tensors";
import type { SignatureDef } from "../../worker/model-client/tfserving/metadata";
import { DataType, type Tensor } from "../../worker/model-client/tfserving/types";

/** Detections per frame in the TF1 Object Detection API export (max_detections = 100). */
export const MAX_DETECTIONS = 100;
export const SERVING_DEFAULT = "serving_default";

/** A request the model refuses; the emulator turns it into gRPC INVALID_ARGUMENT / HTTP 400. */
export class InvalidInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidInputError";
    }
}

export interface InputSpec {
    name: string;
    dtype: DataType;
    /** Shape description for messages, e.g. "[N,H,W,3]". */
    shape: string;
}

export interface EmulatedModel {
    readonly name: string;
    readonly inputs: readonly InputSpec[];
    readonly outputNames: readonly string[];
    /** What the model is, for its metadata (GetModelMetadata) and logs. */
    readonly description?: string;
    /** Its serving_default signature as GetModelMetadata reports it. */
    readonly signature: SignatureDef;
    /** Validates inputs (throws InvalidInputError) and computes every output. */
    run(inputs: Record<string, Tensor>): Record<string, Tensor>;
}

/** What the server can serve: an emulated model, or a real one that takes its time (testing/detector). */
export interface ServedModel extends Omit<EmulatedModel, "run"> {
    run(inputs: Record<string, Tensor>): Record<string, Tensor> | Promise<Record<string, Tensor>>;
}

export interface FrameDetections {
    numDetections: number;
    /** [ymin, xmin, ymax, xmax] normalised, one per detection, best first. */
    boxes: [number, number, number, number][];
    scores: number[];
    /** COCO category ids. */
    classes: number[];
}

const MEAN_STRIDE = 61;
const COCO_IDS = [1, 2, 3, 4, 6, 8, 10, 17, 18, 44, 62, 63, 67, 72, 84];

/**
 * Deterministic fake detections for one RGB frame (H*W*3 bytes): 0..5 detections chosen from the
 * mean of a strided sample of the frame's bytes and a few single bytes, scores descending from ~0.95
 * to ~0.2 (so a 0.5 threshold keeps some and drops others). Values are float32-rounded, as they arrive over the wire.
 */
export function detectFrame(frame: Uint8Array): FrameDetections {
    const length = frame.length;
    // Mean of every MEAN_STRIDE-th byte: cheap enough for hundreds of 300x300 frames a second, and
    // the prime stride visits all three channels.
    let sum = 0;
    let taken = 0;
    for (let i = 0; i < length; i += MEAN_STRIDE, taken++) sum += frame[i];
    const mean = taken === 0 ? 0 : Math.floor(sum / taken);
    const sample = (k: number): number => (length === 0 ? 0 : frame[Math.floor((length * k) / 5)]);
    const s1 = sample(1);
    const s2 = sample(2);
    const s3 = sample(3);
    const numDetections = (mean + s1) % 6;
    const result: FrameDetections = { numDetections, boxes: [], scores: [], classes: [] };
    for (let i = 0; i < numDetections; i++) {
        const ymin = ((s1 + 37 * i) % 128) / 256;
        const xmin = ((s2 + 53 * i) % 128) / 256;
        const ymax = ymin + 0.1 + ((s3 + 11 * i) % 96) / 256;
        const xmax = xmin + 0.1 + ((mean + 17 * i) % 96) / 256;
        result.boxes.push([Math.fround(ymin), Math.fround(xmin), Math.fround(ymax), Math.fround(xmax)]);
        result.scores.push(Math.fround(0.97 - 0.18 * i - ((s2 + 13 * i) % 10) / 200));
        result.classes.push(COCO_IDS[(s3 + 7 * i) % COCO_IDS.length]);
    }
    return result;
}

export function expectInputs(model: ServedModel, inputs: Record<string, Tensor>): void {
    const expected = model.inputs.map((i) => i.name);
    const names = Object.keys(inputs);
    for (const name of names) {
        if (!expected.includes(name)) {
            throw new InvalidInputError(
                `input tensor alias not found in signature: ${name}. Inputs expected to be in the set {${expected.join(",")}}.`,
            );
        }
    }
    for (const spec of model.inputs) {
        const tensor = inputs[spec.name];
        if (tensor === undefined)
            throw new InvalidInputError(
                `input "${spec.name}" is missing; signature ${SERVING_DEFAULT} of "${model.name}" needs {${expected.join(",")}}`,
            );
        if (tensor.dtype !== spec.dtype) {
            throw new InvalidInputError(
                `input "${spec.name}" must be ${dtypeName(spec.dtype)} ${spec.shape} but ${dtypeName(tensor.dtype)} was provided`,
            );
        }
        const bytes = elementCount(tensor.shape) * (bytesPerElement(tensor.dtype) ?? 0);
        if ((tensor.content?.length ?? -1) !== bytes) {
            throw new InvalidInputError(
                `input "${spec.name}" of shape [${tensor.shape.join(",")}] needs ${bytes} bytes of ${dtypeName(tensor.dtype)} data but carries ${tensor.content?.length ?? 0}`,
            );
        }
    }
}

/** The input every detection model here takes: uint8 frames [N,H,W,3], as the TF1 Object Detection API export does. */
export const DETECTION_INPUTS: readonly InputSpec[] = [{ name: "inputs", dtype: DataType.DT_UINT8, shape: "[N,H,W,3]" }];
export const DETECTION_OUTPUT_NAMES: readonly string[] = ["num_detections", "detection_boxes", "detection_scores", "detection_classes"];
/** The serving_default signature as the TF1 Object Detection API's exporter writes it (image_tensor input, float outputs). */
export const DETECTION_SIGNATURE: SignatureDef = {
    inputs: { inputs: { name: "image_tensor:0", dtype: DataType.DT_UINT8, shape: [-1, -1, -1, 3] } },
    outputs: {
        detection_boxes: { name: "detection_boxes:0", dtype: DataType.DT_FLOAT, shape: [-1, MAX_DETECTIONS, 4] },
        detection_classes: { name: "detection_classes:0", dtype: DataType.DT_FLOAT, shape: [-1, MAX_DETECTIONS] },
        detection_scores: { name: "detection_scores:0", dtype: DataType.DT_FLOAT, shape: [-1, MAX_DETECTIONS] },
        num_detections: { name: "num_detections:0", dtype: DataType.DT_FLOAT, shape: [-1] },
    },
    methodName: "tensorflow/serving/predict",
};

/** Checks a detection request and returns its frames' shape and bytes (throws InvalidInputError). */
export function detectionFrames(model: ServedModel, inputs: Record<string, Tensor>): { n: number; h: number; w: number; content: Buffer } {
    expectInputs(model, inputs);
    const tensor = inputs.inputs;
    const shape = tensor.shape;
    if (shape.length !== 4 || shape[3] !== 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1) {
        throw new InvalidInputError(`input "inputs" must have shape [N,H,W,3] with N,H,W >= 1, got [${shape.join(",")}]`);
    }
    const [n, h, w] = shape;
    return { n, h, w, content: tensor.content ?? Buffer.alloc(0) };
}

/** Per-frame detections -> the SSD signature's four outputs, padded to MAX_DETECTIONS per frame. */
export function ssdOutputs(frames: readonly FrameDetections[]): Record<string, Tensor> {
    const n = frames.length;
    const num = new Float32Array(n);
    const boxes = new Float32Array(n * MAX_DETECTIONS * 4);
    const scores = new Float32Array(n * MAX_DETECTIONS);
    const classes = new Float32Array(n * MAX_DETECTIONS);
    frames.forEach((d, f) => {
        const count = Math.min(d.numDetections, MAX_DETECTIONS);
        num[f] = count;
        for (let i = 0; i < count; i++) {
            boxes.set(d.boxes[i], (f * MAX_DETECTIONS + i) * 4);
            scores[f * MAX_DETECTIONS + i] = d.scores[i];
            classes[f * MAX_DETECTIONS + i] = d.classes[i];
        }
    });
    return {
        num_detections: tensorFromFloat32(num, [n]),
        detection_boxes: tensorFromFloat32(boxes, [n, MAX_DETECTIONS, 4]),
        detection_scores: tensorFromFloat32(scores, [n, MAX_DETECTIONS]),
        detection_classes: tensorFromFloat32(classes, [n, MAX_DETECTIONS]),
    };
}

export function detectionModel(name: string): EmulatedModel {
    const model: EmulatedModel = {
        name,
        inputs: DETECTION_INPUTS,
        outputNames: DETECTION_OUTPUT_NAMES,
        signature: DETECTION_SIGNATURE,
        description: "TF Serving protocol emulator: deterministic stand-in detections computed from pixel values, not a model",
        run(inputs) {
            const { n, h, w, content } = detectionFrames(model, inputs);
            const frameBytes = h * w * 3;
            const frames: FrameDetections[] = [];
            for (let f = 0; f < n; f++) frames.push(detectFrame(content.subarray(f * frameBytes, (f + 1) * frameBytes)));
            return ssdOutputs(frames);
        },
    };
    return model;
}

/** Deterministic BERT-like logits: p = (sum(input_ids * input_mask) + sum(segment_ids)) mod 1000 / 1000. */
export function bertLogits(ids: Int32Array, mask: Int32Array, segments: Int32Array, batch: number, seqLen: number): Float32Array {
    const logits = new Float32Array(batch * 2);
    for (let b = 0; b < batch; b++) {
        let acc = 0;
        for (let s = b * seqLen; s < (b + 1) * seqLen; s++) acc += ids[s] * mask[s] + segments[s];
        const p = (((acc % 1000) + 1000) % 1000) / 1000;
        logits[b * 2] = p;
        logits[b * 2 + 1] = 1 - p;
    }
    return logits;
}

function int32View(t: Tensor): Int32Array {
    const c = t.content ?? Buffer.alloc(0);
    if (c.byteOffset % 4 === 0) return new Int32Array(c.buffer, c.byteOffset, c.length / 4);
    const copy = new Int32Array(c.length / 4);
    new Uint8Array(copy.buffer).set(c);
    return copy;
}

/** `seqLen`: the one sequence length the model takes, as a Neuron-compiled SavedModel does; absent: any. */
export function bertModel(name: string, seqLen?: number): EmulatedModel {
    const model: EmulatedModel = {
        name,
        inputs: ["input_ids", "input_mask", "segment_ids"].map((n) => ({ name: n, dtype: DataType.DT_INT32, shape: "[B,S]" })),
        outputNames: ["logits"],
        signature: {
            inputs: Object.fromEntries(
                ["input_ids", "input_mask", "segment_ids"].map((n) => [
                    n,
                    { name: `${n}:0`, dtype: DataType.DT_INT32, shape: [-1, seqLen ?? -1] },
                ]),
            ),
            outputs: { logits: { name: "logits:0", dtype: DataType.DT_FLOAT, shape: [-1, 2] } },
            methodName: "tensorflow/serving/predict",
        },
        description: "TF Serving protocol emulator: deterministic stand-in logits computed from the token ids, not a model",
        run(inputs) {
            expectInputs(model, inputs);
            const shape = inputs.input_ids.shape;
            if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1) {
                throw new InvalidInputError(`input "input_ids" must have shape [B,S] with B,S >= 1, got [${shape.join(",")}]`);
            }
            for (const other of ["input_mask", "segment_ids"]) {
                const s = inputs[other].shape;
                if (s.length !== 2 || s[0] !== shape[0] || s[1] !== shape[1]) {
                    throw new InvalidInputError(
                        `input "${other}" has shape [${s.join(",")}] but input_ids has [${shape.join(",")}]; all BERT inputs must share [B,S]`,
                    );
                }
            }
            if (seqLen !== undefined && shape[1] !== seqLen) {
                throw new InvalidInputError(
                    `input "input_ids" has shape [${shape.join(",")}] but model "${name}" was compiled for sequence length ${seqLen} ([B,${seqLen}])`,
                );
            }
            const [batch, length] = shape;
            const logits = bertLogits(
                int32View(inputs.input_ids),
                int32View(inputs.input_mask),
                int32View(inputs.segment_ids),
                batch,
                length,
            );
            return { logits: tensorFromFloat32(logits, [batch, 2]) };
        },
    };
    return model;
}
