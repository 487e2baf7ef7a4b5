// coco.ts: the COCO label map.
import { strict as assert } from "node:assert";
import { cocoLabel, COCO_CATEGORY_COUNT } from "../src/coco";

describe("worker coco labels", () => {
    it("covers the 80 detection categories in the 90-id space", () => {
        assert.equal(COCO_CATEGORY_COUNT, 80);
        assert.equal(cocoLabel(1), "person");
        assert.equal(cocoLabel(90), "toothbrush");
        assert.equal(cocoLabel(12), "class 12");
    });
});
