// Drawing on RGB24 images in memory: rectangles, 5x7 text, and a result frame's detections (boxes,
// labels, scores). Pure TypeScript; the pictures are encoded by ffmpeg (testing/render/render.ts).
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from "./font";

export type Colour = readonly [number, number, number];

export interface RgbImage {
    readonly width: number;
    readonly height: number;
    /** width * height * 3 bytes, row-major RGB. */
    readonly data: Buffer;
}

export function blankImage(width: number, height: number, colour: Colour = [0, 0, 0]): RgbImage {
    const data = Buffer.alloc(width * height * 3);
    for (let i = 0; i < data.length; i += 3) data.set(colour, i);
    return { width, height, data };
}

/** Fills [x0, x1) x [y0, y1), clipped to the image. */
export function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Colour): void {
    const xa = Math.max(0, Math.floor(x0));
    const ya = Math.max(0, Math.floor(y0));
    const xb = Math.min(img.width, Math.floor(x1));
    const yb = Math.min(img.height, Math.floor(y1));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) img.data.set(colour, (y * img.width + x) * 3);
}

/** A rectangle outline `thickness` pixels wide, inside [x0, x1] x [y0, y1]. */
export function strokeRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Colour, thickness = 2): void {
    fillRect(img, x0, y0, x1 + 1, y0 + thickness, colour);
    fillRect(img, x0, y1 + 1 - thickness, x1 + 1, y1 + 1, colour);
    fillRect(img, x0, y0, x0 + thickness, y1 + 1, colour);
    fillRect(img, x1 + 1 - thickness, y0, x1 + 1, y1 + 1, colour);
}

/** Width in pixels of `text` drawn at `scale` (one column of space between characters). */
export function textWidth(text: string, scale = 1): number {
    return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

export function textHeight(scale = 1): number {
    return GLYPH_HEIGHT * scale;
}

/** Draws `text` with its top-left corner at (x, y); with `background`, on a filled box one scale unit larger. */
export function drawText(img: RgbImage, text: string, x: number, y: number, colour: Colour, scale = 1, background?: Colour): void {
    if (background !== undefined)
        fillRect(img, x - scale, y - scale, x + textWidth(text, scale) + scale, y + textHeight(scale) + scale, background);
    let cx = x;
    for (const ch of text) {
        const rows = glyph(ch);
        for (let r = 0; r < GLYPH_HEIGHT; r++)
            for (let c = 0; c < GLYPH_WIDTH; c++)
                if (rows[r][c]) fillRect(img, cx + c * scale, y + r * scale, cx + (c + 1) * scale, y + (r + 1) * scale, colour);
        cx += (GLYPH_WIDTH + 1) * scale;
    }
}

/** A detection as the result document has it. */
export interface DrawnDetection {
    label: string;
    classId: number;
    score: number;
    /** Normalised [ymin, xmin, ymax, xmax] of the whole frame. */
    box: readonly number[];
}

const PERSON: Colour = [0, 230, 118];
const CAR: Colour = [41, 182, 246];
const LARGE_VEHICLE: Colour = [255, 167, 38];
const OTHER: Colour = [255, 235, 59];
export const INK: Colour = [16, 16, 16];
export const PAPER: Colour = [245, 245, 245];

/** Box colour by COCO id: people green, cars blue, buses and trucks orange, anything else yellow. */
export function colourFor(classId: number): Colour {
    if (classId === 1) return PERSON;
    if (classId === 3) return CAR;
    if (classId === 6 || classId === 8) return LARGE_VEHICLE;
    return OTHER;
}

/** Boxes with "label 0.87" tags on a frame (lowest score first, so the best boxes end up on top). */
export function drawDetections(img: RgbImage, detections: readonly DrawnDetection[], scale = 1): void {
    const thickness = Math.max(1, Math.round(img.width / 320));
    for (const d of [...detections].reverse()) {
        const [ymin, xmin, ymax, xmax] = d.box;
        const x0 = Math.round(xmin * (img.width - 1));
        const y0 = Math.round(ymin * (img.height - 1));
        const x1 = Math.round(xmax * (img.width - 1));
        const y1 = Math.round(ymax * (img.height - 1));
        const colour = colourFor(d.classId);
        strokeRect(img, x0, y0, x1, y1, colour, thickness);
        const tag = `${d.label} ${d.score.toFixed(2)}`;
        const tagHeight = textHeight(scale) + 2 * scale;
        const ty = y0 - tagHeight >= 0 ? y0 - tagHeight + scale : y0 + thickness + scale;
        const tx = Math.min(Math.max(0, x0), Math.max(0, img.width - textWidth(tag, scale) - scale));
        drawText(img, tag, tx + scale, ty, INK, scale, colour);
    }
}

/** Copies `src` into `dst` with its top-left corner at (x, y) (clipped). */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
    for (let row = 0; row < src.height; row++) {
        const dy = y + row;
        if (dy < 0 || dy >= dst.height) continue;
        const from = Math.max(0, -x);
        const to = Math.min(src.width, dst.width - x);
        if (to <= from) continue;
        src.data.copy(dst.data, (dy * dst.width + x + from) * 3, (row * src.width + from) * 3, (row * src.width + to) * 3);
    }
}
