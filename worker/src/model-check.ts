// Start-up check of the model's serving signature against the worker's configuration (issue 17 item 6):
// a wrong MODEL_SIGNATURE, MODEL_INPUT, frame size or batch size is a configuration error naming the
// variable, found once before any job is taken, instead of every video being dead-lettered.
import { ConfigError, type WorkerConfig } from "./config";
import { DETECTION_OUTPUTS } from "./detections";
import { DataType, tfDtypeName, type ModelMetadata, type TensorInfo } from "../model-client/tfserving";

function shapeText(info: TensorInfo): string {
    return info.shape === undefined ? "unknown rank" : `[${info.shape.join(",")}]`;
}

function describeInfo(alias: string, info: TensorInfo): string {
    return `${alias} (${tfDtypeName(info.dtype)} ${shapeText(info)})`;
}

/** Throws ConfigError naming the variable when the model cannot take what the worker sends or give what it reads. */
export function checkModelSignature(metadata: ModelMetadata, config: WorkerConfig): void {
    const version = metadata.model.version === undefined ? "" : ` version ${metadata.model.version}`;
    const model = `model "${config.modelName}"${version} on MODEL_SERVER_URL="${config.modelServerUrl}"`;
    const names = Object.keys(metadata.signatures).filter((n) => !n.startsWith("__"));
    const signature = metadata.signatures[config.modelSignature];
    if (signature === undefined)
        throw new ConfigError(
            `MODEL_SIGNATURE="${config.modelSignature}" is not a signature of ${model}; its signatures: ${names.join(", ") || "(none)"}`,
        );
    const where = `signature "${config.modelSignature}" of ${model}`;
    const inputs = Object.entries(signature.inputs);
    const input = signature.inputs[config.modelInput];
    if (input === undefined)
        throw new ConfigError(
            `MODEL_INPUT="${config.modelInput}" is not an input of ${where}; its inputs: ${inputs.map(([a, i]) => describeInfo(a, i)).join(", ") || "(none)"}`,
        );
    const others = inputs.filter(([alias]) => alias !== config.modelInput).map(([alias]) => alias);
    if (others.length > 0)
        throw new ConfigError(
            `MODEL_SIGNATURE="${config.modelSignature}": ${where} also needs input(s) ${others.join(", ")}, but the worker sends only MODEL_INPUT="${config.modelInput}" (uint8 frames [N,H,W,3])`,
        );
    if (input.dtype !== DataType.DT_UINT8)
        throw new ConfigError(
            `MODEL_INPUT="${config.modelInput}" of ${where} takes ${tfDtypeName(input.dtype)}, but the worker sends uint8 frames [N,H,W,3]: serve an export that takes uint8 images (the TF Object Detection API's image_tensor input)`,
        );
    const shape = input.shape;
    if (shape !== undefined) {
        if (shape.length !== 4 || (shape[3] !== -1 && shape[3] !== 3))
            throw new ConfigError(
                `MODEL_INPUT="${config.modelInput}" of ${where} has shape ${shapeText(input)}, but the worker sends RGB frames [N,H,W,3]`,
            );
        if (shape[1] !== -1 && shape[1] !== config.frameHeight)
            throw new ConfigError(
                `FRAME_HEIGHT=${config.frameHeight} does not fit MODEL_INPUT="${config.modelInput}" of ${where}: it takes frames ${shape[1]} pixels high (shape ${shapeText(input)})`,
            );
        if (shape[2] !== -1 && shape[2] !== config.frameWidth)
            throw new ConfigError(
                `FRAME_WIDTH=${config.frameWidth} does not fit MODEL_INPUT="${config.modelInput}" of ${where}: it takes frames ${shape[2]} pixels wide (shape ${shapeText(input)})`,
            );
        if (shape[0] !== -1 && !(shape[0] === 1 && config.batchSize === 1))
            throw new ConfigError(
                shape[0] === 1
                    ? `BATCH_SIZE=${config.batchSize} does not fit MODEL_INPUT="${config.modelInput}" of ${where}: it takes one frame per request (shape ${shapeText(input)}); set BATCH_SIZE=1`
                    : `BATCH_SIZE=${config.batchSize}: MODEL_INPUT="${config.modelInput}" of ${where} takes batches of exactly ${shape[0]} frames (shape ${shapeText(input)}), but a video's last batch is smaller; serve an export with a variable batch dimension`,
            );
    }
    const missing = DETECTION_OUTPUTS.filter((o) => signature.outputs[o] === undefined);
    if (missing.length > 0)
        throw new ConfigError(
            `MODEL_SIGNATURE="${config.modelSignature}": ${where} has no output(s) ${missing.join(", ")} (it has ${Object.keys(signature.outputs).join(", ") || "none"}); the worker reads a TF Object Detection API export (${DETECTION_OUTPUTS.join(", ")})`,
        );
    for (const o of DETECTION_OUTPUTS) {
        const info = signature.outputs[o];
        if (info.dtype !== DataType.DT_FLOAT)
            throw new ConfigError(
                `MODEL_SIGNATURE="${config.modelSignature}": output ${describeInfo(o, info)} of ${where} is not DT_FLOAT, as a TF Object Detection API export's is`,
            );
    }
}
