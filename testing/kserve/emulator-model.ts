// The BERT classifier the KServe v2 emulator serves, as a pure function: the checks Triton makes against a
// model compiled at fixed shapes (torch-neuronx traces at one sequence length; dynamic batching up to
// max_batch_size) with Triton's wording, and deterministic logits. Test double: no client imports this.
import { bertLogits } from "../tfserving/emulator-models";
import type { InferTensor, TensorMetadata } from "../../worker/model-client/kserve/types";

export const BERT_INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"] as const;
export const BERT_OUTPUT_NAME = "logits";
export const BERT_LABELS = 2;

/** A request the model refuses; the emulator answers INVALID_ARGUMENT. */
export class InvalidInferInput extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidInferInput";
    }
}

export interface BertV2ModelOptions {
    name: string;
    /** The sequence length the model was compiled for. */
    seqLen: number;
    /** Largest batch the model takes (Triton max_batch_size). */
    maxBatchSize: number;
}

export interface BertV2Model {
    readonly name: string;
    readonly inputs: TensorMetadata[];
    readonly outputs: TensorMetadata[];
    run(inputs: readonly InferTensor[], outputs?: readonly string[]): InferTensor[];
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(",")}]`;

function int32FromInt64(data: Buffer): Int32Array {
    const out = new Int32Array(data.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = Number(data.readBigInt64LE(i * 8));
    return out;
}

export function bertV2Model(options: BertV2ModelOptions): BertV2Model {
    const { name, seqLen, maxBatchSize } = options;
    const inputs: TensorMetadata[] = BERT_INPUT_NAMES.map((n) => ({ name: n, datatype: "INT64", shape: [-1, seqLen] }));
    const outputs: TensorMetadata[] = [{ name: BERT_OUTPUT_NAME, datatype: "FP32", shape: [-1, BERT_LABELS] }];
    return {
        name,
        inputs,
        outputs,
        run(given, wanted) {
            for (const t of given) {
                if (!BERT_INPUT_NAMES.includes(t.name as (typeof BERT_INPUT_NAMES)[number]))
                    throw new InvalidInferInput(`unexpected inference input '${t.name}' for model '${name}'`);
            }
            if (given.length !== BERT_INPUT_NAMES.length) {
                throw new InvalidInferInput(
                    `expected ${BERT_INPUT_NAMES.length} inputs but got ${given.length} inputs for model '${name}' (needs ${BERT_INPUT_NAMES.join(", ")})`,
                );
            }
            let batch = -1;
            for (const t of given) {
                if (t.datatype !== "INT64")
                    throw new InvalidInferInput(
                        `inference input '${t.name}' data-type is '${t.datatype}', but model '${name}' expects 'INT64'`,
                    );
                if (t.shape.length !== 2 || t.shape[1] !== seqLen) {
                    throw new InvalidInferInput(
                        `unexpected shape for input '${t.name}' for model '${name}'. Expected ${shapeText([-1, seqLen])}, got ${shapeText(t.shape)}`,
                    );
                }
                if (batch !== -1 && t.shape[0] !== batch)
                    throw new InvalidInferInput(
                        `input '${t.name}' batch size ${t.shape[0]} does not match the other inputs' ${batch} for model '${name}'`,
                    );
                batch = t.shape[0];
            }
            if (batch < 1 || batch > maxBatchSize)
                throw new InvalidInferInput(`inference request batch-size must be <= ${maxBatchSize} for '${name}'`);
            for (const o of wanted ?? []) {
                if (o !== BERT_OUTPUT_NAME) throw new InvalidInferInput(`unexpected inference output '${o}' for model '${name}'`);
            }
            const byName = new Map(given.map((t) => [t.name, t]));
            const logits = bertLogits(
                int32FromInt64(byName.get("input_ids")!.data),
                int32FromInt64(byName.get("attention_mask")!.data),
                int32FromInt64(byName.get("token_type_ids")!.data),
                batch,
                seqLen,
            );
            return [
                {
                    name: BERT_OUTPUT_NAME,
                    datatype: "FP32",
                    shape: [batch, BERT_LABELS],
                    data: Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength),
                },
            ];
        },
    };
}
