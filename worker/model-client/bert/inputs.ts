// BERT requests and reply checks for both protocols, shared by bench:bert and the local demo.
//   KServe v2 (Triton): input_ids, attention_mask, token_type_ids INT64 [batch, seq-len] (raw_input_contents);
//                       FP32 logits [batch, labels] back.
//   TF Serving (legacy): input_ids, input_mask, segment_ids INT32 [batch, seq-len] (tensor_content); a float
//                       output with the batch dimension back.
import type { InferRequest, InferResponse, ModelMetadata } from "../kserve";
import { DataType, readFloat32, tensorFromInt32, type PredictRequest, type PredictResponse } from "../tfserving";

export const V2_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;
export const V2_OUTPUT = "logits";

export interface BertShape {
    model: string;
    batch: number;
    seqLen: number;
}

/** [CLS] tokens [SEP] padding, about two thirds of seqLen used, the second half of it segment 1. */
export function bertTokens(batch: number, seqLen: number): { ids: Int32Array; mask: Int32Array; types: Int32Array } {
    const ids = new Int32Array(batch * seqLen);
    const mask = new Int32Array(batch * seqLen);
    const types = new Int32Array(batch * seqLen);
    const used = Math.max(2, Math.floor((seqLen * 2) / 3));
    for (let b = 0; b < batch; b++) {
        for (let s = 0; s < Math.min(used, seqLen); s++) {
            const i = b * seqLen + s;
            ids[i] = s === 0 ? 101 : s === used - 1 ? 102 : 1000 + ((s * 7919 + b) % 28000);
            mask[i] = 1;
            types[i] = s >= used / 2 ? 1 : 0;
        }
    }
    return { ids, mask, types };
}

function nonFinite(values: ArrayLike<number>): number {
    let bad = 0;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
    return bad;
}

function int64Tensor(name: string, values: Int32Array, shape: number[]): InferRequest["inputs"][number] {
    const data = Buffer.allocUnsafe(values.length * 8);
    for (let i = 0; i < values.length; i++) data.writeBigInt64LE(BigInt(values[i]), i * 8);
    return { name, datatype: "INT64", shape, data };
}

export function buildV2BertRequest(shape: BertShape): InferRequest {
    const { ids, mask, types } = bertTokens(shape.batch, shape.seqLen);
    const dims = [shape.batch, shape.seqLen];
    return {
        modelName: shape.model,
        inputs: [
            int64Tensor("input_ids", ids, dims),
            int64Tensor("attention_mask", mask, dims),
            int64Tensor("token_type_ids", types, dims),
        ],
        outputs: [V2_OUTPUT],
    };
}

/** Null when the reply carries finite FP32 logits [batch, labels >= 1]; otherwise why not. */
export function checkV2BertResponse(response: InferResponse, batch: number): string | null {
    const logits = response.outputs.find((o) => o.name === V2_OUTPUT);
    if (!logits || logits.datatype !== "FP32" || logits.shape.length !== 2 || logits.shape[0] !== batch || logits.shape[1] < 1) {
        const seen = response.outputs.map((o) => `${o.name} ${o.datatype} [${o.shape.join(",")}]`).join(", ");
        return `reply has no FP32 ${V2_OUTPUT} of shape [${batch}, labels] (got: ${seen || "no outputs"})`;
    }
    const values = new Float32Array(logits.data.length / 4);
    new Uint8Array(values.buffer).set(logits.data);
    const bad = nonFinite(values);
    return bad === 0 ? null : `${V2_OUTPUT} [${logits.shape.join(",")}] has ${bad} non-finite value(s) of ${values.length}`;
}

/** Why the model's declared inputs cannot take [batch, seqLen] INT64, or null (-1 dimensions take anything). */
export function checkV2Metadata(metadata: ModelMetadata, shape: BertShape): string | null {
    const sent = [shape.batch, shape.seqLen];
    const problems: string[] = [];
    for (const name of V2_INPUTS) {
        const input = metadata.inputs.find((i) => i.name === name);
        if (!input) {
            problems.push(`it has no input "${name}" (inputs: ${metadata.inputs.map((i) => i.name).join(", ") || "none"})`);
            continue;
        }
        const fits = input.shape.length === sent.length && input.shape.every((d, i) => d === -1 || d === sent[i]);
        if (input.datatype !== "INT64" || !fits)
            problems.push(`input "${name}" is ${input.datatype} [${input.shape.join(",")}], this run sends INT64 [${sent.join(",")}]`);
    }
    return problems.length === 0
        ? null
        : `model "${metadata.name}" cannot take --batch ${shape.batch} --seq-len ${shape.seqLen}: ${problems.join("; ")}`;
}

/** One request reused for every call: the three BERT inputs as int32 [batch, seqLen] tensor_content. */
export function buildBertRequest(options: BertShape & { signature: string }): PredictRequest {
    const { ids, mask, types } = bertTokens(options.batch, options.seqLen);
    const dims = [options.batch, options.seqLen];
    return {
        model: { name: options.model, signatureName: options.signature },
        inputs: {
            input_ids: tensorFromInt32(ids, dims),
            input_mask: tensorFromInt32(mask, dims),
            segment_ids: tensorFromInt32(types, dims),
        },
    };
}

/** Null when the response has a finite float output with the batch dimension; otherwise why not. */
export function checkBertResponse(response: PredictResponse, batch: number): string | null {
    const outputs = Object.entries(response.outputs);
    const found = outputs.find(([, t]) => t.dtype === DataType.DT_FLOAT && t.shape[0] === batch && (t.content?.length ?? 0) > 0);
    if (!found) {
        const seen = outputs.map(([name, t]) => `${name} ${DataType[t.dtype] ?? t.dtype} [${t.shape.join(",")}]`).join(", ");
        return `response has no float output with batch dimension ${batch} (got: ${seen || "no outputs"})`;
    }
    const [name, tensor] = found;
    const values = readFloat32(tensor);
    const bad = nonFinite(values);
    return bad === 0 ? null : `${name} [${tensor.shape.join(",")}] has ${bad} non-finite value(s) of ${values.length}`;
}
