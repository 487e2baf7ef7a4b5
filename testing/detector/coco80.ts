// CenterNet (like most COCO detectors trained outside the TF Object Detection API) numbers the 80 COCO
// categories 0-79 without gaps; the TF Object Detection API, and so the production SSD signature the
// worker reads, uses the original COCO ids 1-90, which skip 12, 26, 29, 30, 45, 66, 68, 69, 71 and 83.

/** The 80 categories in contiguous order (index = contiguous class), as the model was trained. */
// prettier-ignore
export const COCO80_NAMES: readonly string[] = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
    "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
];

/** The ids of the 90-id space that have no category (never produced by a COCO detector). */
export const COCO90_GAPS: readonly number[] = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83];

/** contiguous class (0-79) -> COCO id (1-90): the ids 1..90 without the gaps, in order. */
export const COCO80_TO_90: readonly number[] = Array.from({ length: 90 }, (_, i) => i + 1).filter((id) => !COCO90_GAPS.includes(id));

/** The COCO id for a contiguous class, or undefined for anything that is not a whole number 0-79. */
export function coco90Id(contiguous: number): number | undefined {
    return Number.isInteger(contiguous) && contiguous >= 0 && contiguous < COCO80_TO_90.length ? COCO80_TO_90[contiguous] : undefined;
}
