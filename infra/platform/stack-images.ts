// Which images a stack builds, from its config alone (the program declares exactly these; CI sizes the
// deploy runner's disk from the same list, infra/plan/deploy-runner.ts).
import { bertTarget } from "../bert/service";
import type { PlatformConfig } from "../config/config";
import { BERT_TRITON_IMAGE, ImageName, SERVING_IMAGE } from "./images";

export function stackImages(config: Pick<PlatformConfig, "video" | "bert">): ImageName[] {
    const needed: ImageName[] = [];
    if (config.video.enabled) needed.push("worker", SERVING_IMAGE[config.video.nodes.profile.name]);
    if (config.bert.enabled) {
        if (config.bert.server === "triton") needed.push(BERT_TRITON_IMAGE[bertTarget(config.bert)]);
        else needed.push("worker", SERVING_IMAGE[config.bert.nodes.profile.name]);
    }
    return [...new Set(needed)];
}
