// One PutMetricData per job (when METRICS_NAMESPACE is set): outcome and throughput for the dashboard,
// and SecondsPerVideo / SecondsPerFrame, which the scaler reads to size the group for its latency
// objective (scaler/src/policy.ts names the same metrics; a test keeps the two in step).
import { PutMetricDataCommand, StandardUnit, type CloudWatchClient, type MetricDatum } from "@aws-sdk/client-cloudwatch";

export const SECONDS_PER_VIDEO = "SecondsPerVideo";
export const SECONDS_PER_FRAME = "SecondsPerFrame";

export interface JobMetrics {
    succeeded: boolean;
    frames: number;
    framesPerSecond: number;
    /** Wall-clock seconds the node spent on the video (download to result written); successful jobs only. */
    seconds?: number;
}

export function jobMetricData(queueName: string, m: JobMetrics, timestamp: Date): MetricDatum[] {
    const dims = [{ Name: "QueueName", Value: queueName }];
    const datum = (MetricName: string, Value: number, Unit: StandardUnit): MetricDatum => ({
        MetricName,
        Value,
        Unit,
        Dimensions: dims,
        Timestamp: timestamp,
    });
    const data = [
        datum("JobsSucceeded", m.succeeded ? 1 : 0, StandardUnit.Count),
        datum("JobsFailed", m.succeeded ? 0 : 1, StandardUnit.Count),
        datum("FramesProcessed", m.frames, StandardUnit.Count),
    ];
    if (!m.succeeded) return data;
    data.push(datum("FramesPerSecond", m.framesPerSecond, StandardUnit.Count_Second));
    // Only measured successes size the group: a failed job's time says nothing about the next video.
    if (m.seconds !== undefined && Number.isFinite(m.seconds) && m.seconds > 0) {
        data.push(datum(SECONDS_PER_VIDEO, m.seconds, StandardUnit.Seconds));
        if (m.frames > 0) data.push(datum(SECONDS_PER_FRAME, m.seconds / m.frames, StandardUnit.Seconds));
    }
    return data;
}

export async function publishJobMetrics(cloudwatch: CloudWatchClient, namespace: string, queueName: string, m: JobMetrics): Promise<void> {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: jobMetricData(queueName, m, new Date()) }));
}
