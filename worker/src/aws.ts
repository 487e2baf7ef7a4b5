// AWS SDK clients for the worker with deadlines on every call and every transfer. Retries are the SDK's
// own (standard mode: retryable and throttling errors only, AWS_MAX_ATTEMPTS attempts, default 3).
//   connectionTimeout: a TCP connect that does not complete
//   requestTimeout:    no response headers in time (SQS; thrown, not only logged)
//   socketTimeout:     no bytes either way for that long, including mid-body: a stalled GetObject body
//                      stream errors out instead of hanging the job
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsClientOptions {
    /** A call or transfer that makes no progress for this long fails (AWS_TIMEOUT_SECONDS). */
    timeoutSeconds: number;
    /** SQS long-poll wait: a ReceiveMessage is idle this long by design. */
    pollWaitSeconds: number;
    /** Path-style S3 addressing (moto, MinIO). */
    s3ForcePathStyle: boolean;
    /** AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS from the worker's environment, when set. */
    endpoints?: { s3?: string; sqs?: string };
}

export interface AwsClients {
    sqs: SQSClient;
    s3: S3Client;
    autoScaling: AutoScalingClient;
    cloudwatch: CloudWatchClient;
    /** Finds this node's instance (NODE_NAME) once at start-up. */
    ec2: EC2Client;
}

const CONNECT_TIMEOUT_MS = 5_000;

function handler(
    idleMs: number,
    requestMs: number | undefined,
): { connectionTimeout: number; socketTimeout: number; requestTimeout?: number; throwOnRequestTimeout: boolean } {
    return {
        connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, idleMs),
        socketTimeout: idleMs,
        ...(requestMs === undefined ? {} : { requestTimeout: requestMs }),
        throwOnRequestTimeout: true,
    };
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
    const idleMs = options.timeoutSeconds * 1000;
    // A long poll is silent for up to WaitTimeSeconds before SQS answers.
    const sqsMs = idleMs + options.pollWaitSeconds * 1000;
    return {
        sqs: new SQSClient({
            requestHandler: handler(sqsMs, sqsMs),
            ...(options.endpoints?.sqs === undefined ? {} : { endpoint: options.endpoints.sqs }),
        }),
        // No whole-request deadline for S3: a large result upload may take longer than any fixed figure;
        // the idle deadline catches a stall in either direction.
        s3: new S3Client({
            forcePathStyle: options.s3ForcePathStyle,
            requestHandler: handler(idleMs, undefined),
            ...(options.endpoints?.s3 === undefined ? {} : { endpoint: options.endpoints.s3 }),
        }),
        autoScaling: new AutoScalingClient({ requestHandler: handler(idleMs, idleMs) }),
        cloudwatch: new CloudWatchClient({ requestHandler: handler(idleMs, idleMs) }),
        ec2: new EC2Client({ requestHandler: handler(idleMs, idleMs) }),
    };
}
