// TF Object Detection API outputs -> per-frame detections above the score threshold.
import { COCO_MAX_ID, cocoLabel } from "./coco";
import { DataType, dtypeName, ModelServerError, readFloat32, type Tensor } from "../model-client/tfserving";

export interface Detection {
    label: string;
    classId: number;
    score: number;
    /** Normalised [ymin, xmin, ymax, xmax]. */
    box: [number, number, number, number];
}

export const DETECTION_OUTPUTS = ["num_detections", "detection_boxes", "detection_scores", "detection_classes"] as const;

/** Rounded to 4 decimals: stable, compact JSON; float32 noise below that carries no meaning. */
export function round4(x: number): number {
    return Math.round(x * 10_000) / 10_000;
}

/** Boxes are normalised; this much float noise outside [0, 1] is tolerated (and clamped). */
const BOX_TOLERANCE = 1e-3;

function bad(model: string, message: string): ModelServerError {
    return new ModelServerError(`model ${model} returned an invalid output: ${message}`, "BAD_OUTPUT", false);
}

function output(outputs: Record<string, Tensor>, name: string, model: string): Tensor {
    const t = outputs[name];
    if (t === undefined) {
        throw bad(
            model,
            `the response lacks output "${name}" (has ${Object.keys(outputs).join(", ") || "none"}); is MODEL_NAME a TF Object Detection API export?`,
        );
    }
    if (t.dtype !== DataType.DT_FLOAT) throw bad(model, `output "${name}" is ${dtypeName(t.dtype)}, expected DT_FLOAT`);
    return t;
}

function badShape(model: string, name: string, t: Tensor, expected: string): ModelServerError {
    return bad(model, `output "${name}" has shape [${t.shape.join(",")}], expected ${expected}`);
}

function finite(model: string, name: string, values: Float32Array, perFrame: number): void {
    for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!(v - v === 0))
            throw bad(
                model,
                `output "${name}" holds ${v} at frame ${Math.floor(i / perFrame)} (element ${i % perFrame}); every value must be a finite number`,
            );
    }
}

/**
 * Detections for each of `frames` frames, best first as the model ranked them, score >= threshold.
 * Every output is checked first (dtype, shape, finiteness, and for each counted detection: score in
 * [0, 1], box inside [0, 1] with min <= max, class id a whole number from 1 to 90); anything else is
 * a BAD_OUTPUT error naming the output and `model`, never a result.
 */
export function parseDetections(
    outputs: Record<string, Tensor>,
    frames: number,
    scoreThreshold: number,
    model = "(unnamed)",
): Detection[][] {
    const numT = output(outputs, "num_detections", model);
    const boxesT = output(outputs, "detection_boxes", model);
    const scoresT = output(outputs, "detection_scores", model);
    const classesT = output(outputs, "detection_classes", model);
    const k = boxesT.shape[1];
    if (boxesT.shape.length !== 3 || boxesT.shape[0] !== frames || boxesT.shape[2] !== 4)
        throw badShape(model, "detection_boxes", boxesT, `[${frames},K,4]`);
    if (scoresT.shape.length !== 2 || scoresT.shape[0] !== frames || scoresT.shape[1] !== k)
        throw badShape(model, "detection_scores", scoresT, `[${frames},${k}]`);
    if (classesT.shape.length !== 2 || classesT.shape[0] !== frames || classesT.shape[1] !== k)
        throw badShape(model, "detection_classes", classesT, `[${frames},${k}]`);
    if (numT.shape.length !== 1 || numT.shape[0] !== frames) throw badShape(model, "num_detections", numT, `[${frames}]`);
    const num = readFloat32(numT);
    const boxes = readFloat32(boxesT);
    const scores = readFloat32(scoresT);
    const classes = readFloat32(classesT);
    finite(model, "num_detections", num, 1);
    finite(model, "detection_boxes", boxes, k * 4);
    finite(model, "detection_scores", scores, k);
    finite(model, "detection_classes", classes, k);
    const result: Detection[][] = [];
    for (let f = 0; f < frames; f++) {
        const n = num[f];
        if (!Number.isInteger(n) || n < 0 || n > k)
            throw bad(model, `output "num_detections" is ${n} for frame ${f}; expected a whole number from 0 to ${k}`);
        const frame: Detection[] = [];
        for (let i = 0; i < n; i++) {
            const j = f * k + i;
            const where = `frame ${f}, detection ${i}`;
            const score = scores[j];
            if (score < 0 || score > 1) throw bad(model, `output "detection_scores" is ${score} at ${where}; scores lie in [0, 1]`);
            const classId = classes[j];
            // The model's class space is the whole 1-90 COCO id range. Ids in its gaps (12, 26, ...) are real
            // outputs of the TF Object Detection API's COCO models and are kept, labelled "class <id>".
            if (!Number.isInteger(classId) || classId < 1 || classId > COCO_MAX_ID) {
                throw bad(
                    model,
                    `output "detection_classes" is ${classId} at ${where} (score ${score}), outside the model's class space (whole numbers 1 to ${COCO_MAX_ID})`,
                );
            }
            const y0 = boxes[j * 4];
            const x0 = boxes[j * 4 + 1];
            const y1 = boxes[j * 4 + 2];
            const x1 = boxes[j * 4 + 3];
            if (y0 < -BOX_TOLERANCE || x0 < -BOX_TOLERANCE || y1 > 1 + BOX_TOLERANCE || x1 > 1 + BOX_TOLERANCE || y0 > y1 || x0 > x1) {
                throw bad(
                    model,
                    `output "detection_boxes" is [${y0}, ${x0}, ${y1}, ${x1}] at ${where}; expected [ymin, xmin, ymax, xmax] within [0, 1] with min <= max`,
                );
            }
            if (!(score >= scoreThreshold)) continue;
            frame.push({
                label: cocoLabel(classId),
                classId,
                score: round4(score),
                box: [round4(clamp01(y0)), round4(clamp01(x0)), round4(clamp01(y1)), round4(clamp01(x1))],
            });
        }
        result.push(frame);
    }
    return result;
}

function clamp01(x: number): number {
    return x < 0 ? 0 : x > 1 ? 1 : x;
}
