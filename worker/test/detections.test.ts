// detections.ts: model outputs into detections.
import { strict as assert } from "node:assert";
import { parseDetections } from "../src/detections";
import { ModelServerError } from "../model-client/tfserving";
import { detectionOutputs } from "./support/fake-model";

describe("worker detections.parseDetections", () => {
    it("keeps detections at or above the threshold within num_detections, with COCO labels", () => {
        const outputs = detectionOutputs([
            { num: 3, scores: [0.9, 0.5, 0.49, 0.95], classes: [1, 3, 18, 44] },
            { num: 0, scores: [0.99], classes: [1] },
        ]);
        const parsed = parseDetections(outputs, 2, 0.5);
        assert.equal(parsed.length, 2);
        assert.deepEqual(
            parsed[0].map((d) => [d.label, d.classId, d.score]),
            [
                ["person", 1, 0.9],
                ["car", 3, 0.5],
            ],
        );
        assert.deepEqual(parsed[0][1].box, [0.1, 0.2, 0.3, 0.9123]);
        assert.deepEqual(parsed[1], []);
    });
    it("rejects outputs that do not match the batch", () => {
        const outputs = detectionOutputs([{ num: 1, scores: [0.9], classes: [1] }]);
        assert.throws(
            () => parseDetections(outputs, 2, 0.5),
            (e: unknown) => e instanceof ModelServerError && !e.transient && /detection_boxes/.test(e.message),
        );
        const { detection_scores: _dropped, ...missing } = outputs;
        assert.throws(() => parseDetections(missing, 1, 0.5), /lacks output "detection_scores"/);
    });
});
