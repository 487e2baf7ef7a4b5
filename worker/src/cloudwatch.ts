// One PutMetricData per job (when METRICS_NAMESPACE is set), for the platform's dashboard.
import { PutMetricDataCommand, StandardUnit, type CloudWatchClient } from "@aws-sdk/client-cloudwatch";

export interface JobMetrics {
    succeeded: boolean;
    frames: number;
    framesPerSecond: number;
}

export function jobMetricData(queueName: string, m: JobMetrics, timestamp: Date) {
    const dims = [{ Name: "QueueName", Value: queueName }];
    return [
        { MetricName: "JobsSucceeded", Value: m.succeeded ? 1 : 0, Unit: StandardUnit.Count, Dimensions: dims, Timestamp: timestamp },
        { MetricName: "JobsFailed", Value: m.succeeded ? 0 : 1, Unit: StandardUnit.Count, Dimensions: dims, Timestamp: timestamp },
        { MetricName: "FramesProcessed", Value: m.frames, Unit: StandardUnit.Count, Dimensions: dims, Timestamp: timestamp },
        ...(m.succeeded
            ? [
                  {
                      MetricName: "FramesPerSecond",
                      Value: m.framesPerSecond,
                      Unit: StandardUnit.Count_Second,
                      Dimensions: dims,
                      Timestamp: timestamp,
                  },
              ]
            : []),
    ];
}

export async function publishJobMetrics(cloudwatch: CloudWatchClient, namespace: string, queueName: string, m: JobMetrics): Promise<void> {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: jobMetricData(queueName, m, new Date()) }));
}
