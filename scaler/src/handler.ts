// Lambda entry point of the scaler (bundled to dist/scaler/index.js, handler "index.handler").
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { SQSClient } from "@aws-sdk/client-sqs";
import { readScalerEnv } from "./env";
import { createScaler, type ScalerClients } from "./scaler";

// Cold start: validate the environment (a missing variable fails the init with a clear message) and
// create each SDK client once per container. Region, credentials and AWS_ENDPOINT_URL come from the
// standard environment, which is how tests point the bundle at moto.
const coldStartEnv = readScalerEnv(process.env);
// A configured endpoint (AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL) is where SQS calls go: without it
// given explicitly, the SDK sends them to QUEUE_URL's host, which names AWS even for a local queue.
const sqsEndpoint = process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL;
const clients: ScalerClients = {
    sqs: new SQSClient(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
    autoscaling: new AutoScalingClient({}),
    cloudwatch: new CloudWatchClient({}),
};

/** Invoked by the EventBridge schedule; the event's content is not used. */
export const handler = createScaler(coldStartEnv, clients);
