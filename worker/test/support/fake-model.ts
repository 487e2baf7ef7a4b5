// Test helpers for the worker's unit tests: a fake model server client and fake decoded batches.
import { isCocoClass } from "../../src/coco";
import { type FrameBatch } from "../../src/decode";
import { type InferenceSettings } from "../../src/pipeline";
import { detectionModel } from "../../../testing/tfserving/emulator-models";
import {
    ModelServerError,
    ModelState,
    tensorFromFloat32,
    type ModelClient,
    type ModelMetadata,
    type PredictRequest,
    type PredictResponse,
} from "../../model-client/tfserving";

/** Class ids with a label in the COCO label map, in order (the fake model names frames by them). */
export const LABELLED_IDS = Array.from({ length: 90 }, (_, i) => i + 1).filter(isCocoClass);

export function detectionOutputs(frames: { num: number; scores: number[]; classes: number[] }[], k = 5) {
    const n = frames.length;
    const num = new Float32Array(n);
    const boxes = new Float32Array(n * k * 4);
    const scores = new Float32Array(n * k);
    const classes = new Float32Array(n * k);
    frames.forEach((f, i) => {
        num[i] = f.num;
        f.scores.forEach((s, j) => (scores[i * k + j] = s));
        f.classes.forEach((c, j) => (classes[i * k + j] = c));
        for (let j = 0; j < k; j++) boxes.set([0.1 * j, 0.2, 0.30001, 0.912345], (i * k + j) * 4);
    });
    return {
        num_detections: tensorFromFloat32(num, [n]),
        detection_boxes: tensorFromFloat32(boxes, [n, k, 4]),
        detection_scores: tensorFromFloat32(scores, [n, k]),
        detection_classes: tensorFromFloat32(classes, [n, k]),
    };
}

/** A fake model: detections derived from the first byte of each frame; scripted failures; records concurrency. */
export class FakeModel implements ModelClient {
    readonly url = "fake://model";
    inFlight = 0;
    maxInFlight = 0;
    calls = 0;
    failures: ModelServerError[] = [];
    constructor(private readonly delayMs = 5) {}
    async predict(request: PredictRequest): Promise<PredictResponse> {
        this.calls++;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
            await new Promise((r) => setTimeout(r, this.delayMs));
            const failure = this.failures.shift();
            if (failure) throw failure;
            const input = request.inputs.inputs;
            const [n, h, w] = input.shape;
            const frames = [];
            for (let i = 0; i < n; i++) {
                const first = (input.content as Buffer)[i * h * w * 3];
                frames.push({ num: 1, scores: [0.9], classes: [LABELLED_IDS[first]] });
            }
            return { outputs: detectionOutputs(frames) };
        } finally {
            this.inFlight--;
        }
    }
    async getModelStatus() {
        return [{ version: 1, state: ModelState.AVAILABLE, errorCode: 0, errorMessage: "" }];
    }
    async getModelMetadata(): Promise<ModelMetadata> {
        return { model: { name: "fake", version: 1 }, signatures: { serving_default: detectionModel("fake").signature } };
    }
    close(): void {}
}

export const W = 4;
export const H = 2;
export const FRAME = W * H * 3;

export async function* fakeBatches(frames: number, batchSize: number): AsyncGenerator<FrameBatch> {
    for (let first = 0; first < frames; first += batchSize) {
        const count = Math.min(batchSize, frames - first);
        const data = Buffer.alloc(count * FRAME);
        for (let i = 0; i < count; i++) data[i * FRAME] = (first + i) % LABELLED_IDS.length; // frame i -> the i-th labelled class id
        await new Promise((r) => setImmediate(r));
        yield { data, count, firstIndex: first };
    }
}

export function settings(model: ModelClient, extra: Partial<InferenceSettings> = {}): InferenceSettings {
    return {
        client: model,
        spec: { name: "m" },
        inputName: "inputs",
        width: W,
        height: H,
        scoreThreshold: 0.5,
        timeoutMs: 1000,
        maxRetries: 3,
        retryBaseMs: 1,
        ...extra,
    };
}
