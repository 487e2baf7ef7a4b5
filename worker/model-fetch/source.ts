// MODEL_URI parsing: which kind of source a model comes from, by the rule the stack configuration
// shares (model-uri.ts); a refusal is a CONFIG error naming MODEL_URI.
import { ModelFetchError } from "./errors";
import { checkModelUri, type ModelSource } from "./model-uri";

export { archiveCompression, type ArchiveCompression, type ModelSource } from "./model-uri";

export function parseModelUri(raw: string): ModelSource {
    const checked = checkModelUri(raw);
    if (!checked.ok) throw new ModelFetchError(`MODEL_URI ${JSON.stringify(raw.trim())} ${checked.problem}`, "CONFIG");
    return checked.source;
}
