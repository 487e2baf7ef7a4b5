// The BERT step of `npm start`: one KServe v2 round trip (ServerLive, ModelReady, ModelMetadata, ModelInfer)
// against Triton or the v2 emulator, described in a few lines.
import { buildV2BertRequest, checkV2BertResponse, checkV2Metadata, V2_OUTPUT } from "../../worker/model-client/bert/inputs";
import { createInferenceClient } from "../../worker/model-client/kserve";
import { ModelServerError } from "../../worker/model-client/model-server-error";

export interface BertDemoOptions {
    /** grpc://host:port of a KServe v2 server. */
    url: string;
    model: string;
    batch: number;
}

/** Lines describing the round trip; throws a ModelServerError naming the model and the server when it fails. */
export async function bertRoundTrip(options: BertDemoOptions): Promise<string[]> {
    const client = createInferenceClient(options.url, { defaultTimeoutMs: 10_000 });
    try {
        const model = { name: options.model };
        if (!(await client.serverLive())) throw new ModelServerError(`model server ${client.url} says it is not live`, "NOT_LIVE", true);
        if (!(await client.modelReady(model)))
            throw new ModelServerError(`model "${options.model}" on ${client.url} is not ready`, "MODEL_NOT_READY", true);
        const metadata = await client.modelMetadata(model);
        // A model compiled for a fixed sequence length declares it; use it.
        const declared = metadata.inputs.find((i) => i.name === "input_ids")?.shape[1];
        const seqLen = declared !== undefined && declared > 0 ? declared : 128;
        const shapeProblem = checkV2Metadata(metadata, { model: options.model, batch: options.batch, seqLen });
        if (shapeProblem) throw new ModelServerError(`${shapeProblem} (server ${client.url})`, "INVALID_ARGUMENT", false);
        const response = await client.modelInfer(buildV2BertRequest({ model: options.model, batch: options.batch, seqLen }));
        const problem = checkV2BertResponse(response, options.batch);
        if (problem) throw new ModelServerError(`model "${options.model}" on ${client.url}: ${problem}`, "BAD_RESPONSE", false);
        const logits = response.outputs.find((o) => o.name === V2_OUTPUT)!;
        const labels = logits.shape[1];
        const values = new Float32Array(logits.data.length / 4);
        new Uint8Array(values.buffer).set(logits.data);
        const rows = Array.from(
            { length: options.batch },
            (_, b) => `[${Array.from(values.subarray(b * labels, (b + 1) * labels), (v) => v.toFixed(3)).join(", ")}]`,
        );
        return [
            `BERT over KServe v2 at ${client.url}: model "${metadata.name}" (versions ${metadata.versions.join(", ") || "-"}, ${metadata.platform || "platform not given"}) is ready`,
            `  inputs ${metadata.inputs.map((i) => `${i.name} ${i.datatype} [${i.shape.join(",")}]`).join(", ")}`,
            `  ${options.batch} sequences of ${seqLen} tokens -> ${V2_OUTPUT} ${rows.join(" ")} (model version ${response.modelVersion || "-"})`,
        ];
    } finally {
        client.close();
    }
}
