// The local model server with a real detector: TF Serving's gRPC and REST Predict API (the emulator's
// protocol stack, testing/tfserving/emulator.ts) serving CenterNet on CPU threads under the SSD
// signature the worker reads in production. Its metadata and its start-up line say what it is.
import { startTfServingEmulator } from "../tfserving/emulator";
import {
    DETECTION_INPUTS,
    DETECTION_OUTPUT_NAMES,
    DETECTION_SIGNATURE,
    detectionFrames,
    ssdOutputs,
    type ServedModel,
} from "../tfserving/emulator-models";
import { MODEL_DESCRIPTION } from "./centernet";
import { DetectorPool, defaultThreads, type PoolStats } from "./pool";

/** The name the worker asks for by default (MODEL_NAME). */
export const DEFAULT_MODEL_NAME = "object_detection";

/** CenterNet behind the TF Object Detection API's signature: uint8 [N,H,W,3] in, SSD outputs out. */
export function centerNetModel(name: string, pool: DetectorPool): ServedModel {
    const model: ServedModel = {
        name,
        inputs: DETECTION_INPUTS,
        outputNames: DETECTION_OUTPUT_NAMES,
        signature: DETECTION_SIGNATURE,
        description: MODEL_DESCRIPTION,
        async run(inputs) {
            const { n, h, w, content } = detectionFrames(model, inputs);
            return ssdOutputs(await pool.detectBatch(content, n, h, w));
        },
    };
    return model;
}

export interface RealModelServerOptions {
    host?: string;
    grpcPort?: number;
    restPort?: number;
    modelName?: string;
    /** Detector threads (one core each); default: the cores this process may use. */
    threads?: number;
}

export interface RealModelServer {
    readonly grpcUrl: string;
    readonly restUrl: string;
    readonly modelName: string;
    readonly threads: number;
    /** One line for logs: what model this is, where, on how many threads. */
    readonly banner: string;
    stats(): PoolStats;
    stop(): Promise<void>;
}

export async function startRealModelServer(options: RealModelServerOptions = {}): Promise<RealModelServer> {
    const threads = options.threads ?? defaultThreads();
    const modelName = options.modelName ?? DEFAULT_MODEL_NAME;
    const pool = await DetectorPool.start(threads);
    try {
        const server = await startTfServingEmulator({
            host: options.host,
            grpcPort: options.grpcPort,
            restPort: options.restPort,
            detectionModel: centerNetModel(modelName, pool),
        });
        return {
            grpcUrl: server.grpcUrl,
            restUrl: server.restUrl,
            modelName,
            threads,
            banner: `model server: "${modelName}" is ${MODEL_DESCRIPTION}; ${threads} detector thread(s); TF Serving gRPC ${server.grpcUrl}, REST ${server.restUrl}`,
            stats: () => pool.stats(),
            stop: async () => {
                await server.stop();
                await pool.close();
            },
        };
    } catch (err) {
        await pool.close();
        throw err;
    }
}
