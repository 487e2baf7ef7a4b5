// TF Object Detection API outputs -> per-frame detections above the score threshold.
import { cocoLabel } from "./coco";
import { ModelServerError, readFloat32, type Tensor } from "./tfserving";

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

function output(outputs: Record<string, Tensor>, name: string): Tensor {
    const t = outputs[name];
    if (t === undefined) {
        throw new ModelServerError(`model response lacks output "${name}" (has ${Object.keys(outputs).join(", ") || "none"}); is MODEL_NAME a TF Object Detection API export?`, "BAD_OUTPUT", false);
    }
    return t;
}

function badShape(name: string, t: Tensor, expected: string): ModelServerError {
    return new ModelServerError(`model output "${name}" has shape [${t.shape.join(",")}], expected ${expected}`, "BAD_OUTPUT", false);
}

/** Detections for each of `frames` frames, best first as the model ranked them, score >= threshold. */
export function parseDetections(outputs: Record<string, Tensor>, frames: number, scoreThreshold: number): Detection[][] {
    const numT = output(outputs, "num_detections");
    const boxesT = output(outputs, "detection_boxes");
    const scoresT = output(outputs, "detection_scores");
    const classesT = output(outputs, "detection_classes");
    const k = boxesT.shape[1];
    if (boxesT.shape.length !== 3 || boxesT.shape[0] !== frames || boxesT.shape[2] !== 4) throw badShape("detection_boxes", boxesT, `[${frames},K,4]`);
    if (scoresT.shape.length !== 2 || scoresT.shape[0] !== frames || scoresT.shape[1] !== k) throw badShape("detection_scores", scoresT, `[${frames},${k}]`);
    if (classesT.shape.length !== 2 || classesT.shape[0] !== frames || classesT.shape[1] !== k) throw badShape("detection_classes", classesT, `[${frames},${k}]`);
    if (numT.shape[0] !== frames) throw badShape("num_detections", numT, `[${frames}]`);
    const num = readFloat32(numT);
    const boxes = readFloat32(boxesT);
    const scores = readFloat32(scoresT);
    const classes = readFloat32(classesT);
    const result: Detection[][] = [];
    for (let f = 0; f < frames; f++) {
        const n = Math.max(0, Math.min(k, Math.round(num[f])));
        const frame: Detection[] = [];
        for (let i = 0; i < n; i++) {
            const j = f * k + i;
            const score = scores[j];
            if (!(score >= scoreThreshold)) continue;
            const classId = Math.round(classes[j]);
            frame.push({
                label: cocoLabel(classId),
                classId,
                score: round4(score),
                box: [round4(boxes[j * 4]), round4(boxes[j * 4 + 1]), round4(boxes[j * 4 + 2]), round4(boxes[j * 4 + 3])],
            });
        }
        result.push(frame);
    }
    return result;
}
