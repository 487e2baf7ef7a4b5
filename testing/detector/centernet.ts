// A real COCO object detector on the CPU, for the local model server and the faithfulness test:
// CenterNet with a MobileNetV3 backbone (the TF.js graph model that @vladmandic/human ships as
// models/centernet.json + .bin), run by TF.js 4.22.0 on its WebAssembly backend (no native build, no
// download at install or run time). Its answer is turned into the TF Object Detection API's SSD
// signature that the worker reads in production, so the worker cannot tell it from the real thing,
// except by the model metadata, which says what it is.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { loadGraphModel, type GraphModel } from "@tensorflow/tfjs-converter";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { coco90Id } from "./coco80";
import type { FrameDetections } from "../tfserving/emulator-models";

/** CenterNet's fixed input: one float32 RGB frame of 512x512, values 0-255. */
export const CENTERNET_INPUT_SIZE = 512;
const INPUT_NODE = "tower_0/images";
const OUTPUT_NODE = "tower_0/detections";
/** Rows of tower_0/detections: x1, y1, x2, y2 (input pixels), score, contiguous class 0-79. */
const ROWS = 100;
const ROW = 6;

/** Candidates overlapping a better-scoring one by more than this IoU are dropped (any class). */
export const NMS_IOU = 0.5;

export const MODEL_DESCRIPTION =
    "CenterNet (MobileNetV3, COCO 80 classes; @vladmandic/human 3.3.6 models/centernet) on the CPU with TF.js 4.22.0 WASM: " +
    "a local stand-in for development and tests, NOT the production SSD MobileNet model";

/** Where the model files are: the package's models/ folder (its `exports` hide the files, so go from its entry point). */
export function centerNetFiles(): { json: string; weights: string } {
    const dir = join(dirname(require.resolve("@vladmandic/human")), "..", "models");
    return { json: join(dir, "centernet.json"), weights: join(dir, "centernet.bin") };
}

/**
 * CenterNet's top-100 rows -> the SSD signature for one frame: boxes normalised to [ymin, xmin, ymax,
 * xmax] (of the 512x512 input, which is the whole frame), COCO ids 1-90, best first, overlapping
 * duplicates removed (class-agnostic greedy NMS, as the detector's own demo does). Rows with a
 * non-finite value, an unknown class or a score of 0 are dropped. Values are float32, as on the wire.
 */
export function centerNetToSsd(rows: Float32Array, inputSize = CENTERNET_INPUT_SIZE): FrameDetections {
    interface Candidate {
        box: [number, number, number, number];
        score: number;
        classId: number;
        order: number;
    }
    const candidates: Candidate[] = [];
    for (let r = 0; r * ROW < rows.length; r++) {
        const [x1, y1, x2, y2, score, cls] = rows.subarray(r * ROW, r * ROW + ROW);
        const classId = coco90Id(cls);
        if (classId === undefined || ![x1, y1, x2, y2, score].every(Number.isFinite) || !(score > 0)) continue;
        const ymin = clamp01(Math.min(y1, y2) / inputSize);
        const xmin = clamp01(Math.min(x1, x2) / inputSize);
        const ymax = clamp01(Math.max(y1, y2) / inputSize);
        const xmax = clamp01(Math.max(x1, x2) / inputSize);
        candidates.push({ box: [ymin, xmin, ymax, xmax], score: Math.min(1, score), classId, order: r });
    }
    candidates.sort((a, b) => b.score - a.score || a.order - b.order);
    const kept: Candidate[] = [];
    for (const c of candidates) if (kept.every((k) => iou(k.box, c.box) <= NMS_IOU)) kept.push(c);
    return {
        numDetections: kept.length,
        boxes: kept.map((k) => k.box.map(Math.fround) as [number, number, number, number]),
        scores: kept.map((k) => Math.fround(k.score)),
        classes: kept.map((k) => k.classId),
    };
}

function clamp01(x: number): number {
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Intersection over union of two [ymin, xmin, ymax, xmax] boxes. */
export function iou(a: readonly number[], b: readonly number[]): number {
    const h = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
    const w = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
    if (h <= 0 || w <= 0) return 0;
    const inter = h * w;
    const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return union > 0 ? inter / union : 0;
}

export interface CenterNetDetector {
    /** Detections for one RGB24 frame of height x width (any size: resized bilinearly to 512x512 first, as the SSD export resizes in its graph). */
    detect(frame: Uint8Array, height: number, width: number): FrameDetections;
    dispose(): void;
}

let backendReady: Promise<void> | undefined;

/** TF.js on its WASM backend (SIMD build when the runtime has it); once per thread. */
function wasmBackend(): Promise<void> {
    backendReady ??= (async () => {
        setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))}/`);
        if (!(await tf.setBackend("wasm"))) throw new Error("TF.js could not start its WASM backend");
        await tf.ready();
    })();
    return backendReady;
}

/** Loads CenterNet from the installed package; throws naming the file when it is missing. */
export async function loadCenterNet(): Promise<CenterNetDetector> {
    await wasmBackend();
    const files = centerNetFiles();
    let topology: { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    let weights: Buffer;
    try {
        topology = JSON.parse(readFileSync(files.json, "utf8")) as typeof topology;
        weights = readFileSync(files.weights);
    } catch (err) {
        throw new Error(`CenterNet model files not found (${(err as Error).message}); run npm ci (devDependency @vladmandic/human)`, {
            cause: err,
        });
    }
    const model: GraphModel = await loadGraphModel(
        tf.io.fromMemory({
            modelTopology: topology.modelTopology,
            weightSpecs: topology.weightsManifest.flatMap((m) => m.weights),
            weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) as ArrayBuffer,
        }),
    );
    return {
        detect(frame, height, width) {
            if (frame.length !== height * width * 3) {
                throw new RangeError(`frame of ${frame.length} bytes is not ${height}x${width} RGB (${height * width * 3} bytes)`);
            }
            const output = tf.tidy(() => {
                let input: tf.Tensor4D = tf.tensor4d(Float32Array.from(frame), [1, height, width, 3], "float32");
                if (height !== CENTERNET_INPUT_SIZE || width !== CENTERNET_INPUT_SIZE)
                    input = tf.image.resizeBilinear(input, [CENTERNET_INPUT_SIZE, CENTERNET_INPUT_SIZE]);
                return model.execute({ [INPUT_NODE]: input }, OUTPUT_NODE) as tf.Tensor;
            });
            try {
                const rows = output.dataSync() as Float32Array;
                if (rows.length !== ROWS * ROW) throw new Error(`CenterNet returned ${rows.length} values, expected ${ROWS * ROW}`);
                return centerNetToSsd(rows);
            } finally {
                output.dispose();
            }
        },
        dispose() {
            model.dispose();
        },
    };
}
