// The video object-detection pipeline as one component: the ingest bucket and job queues, the worker's
// Pod Identity role, the DaemonSet of worker + TF Serving pods, backlog-per-instance scaling of the
// video node group, queue alarms and the operations dashboard.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/config";
import type { AcceleratorRequest, Scheduling } from "../kube/common";
import { VIDEO_WORKER_IDENTITY } from "../platform/identities";
import { formerWorkloadRolesParent, podIdentityRole } from "../platform/pod-identity";
import { VideoQueueAlarms } from "./alarms";
import { VideoInferenceDaemonSet } from "./daemonset";
import { monitoringScrapers } from "../kube/network-policies";
import { OperationsDashboard } from "./dashboard";
import { videoWorkerPolicy } from "./iam";
import { VideoJobs } from "./jobs";
import { VideoQueueScaling } from "./scaling";
import { videoScratchGiB } from "./scratch";

/** TF Serving's batching for the detector (the worker's batchSize is the largest batch it sends). */
const BATCHING = { batchTimeoutMicros: 5000, numBatchThreads: 4, maxEnqueuedBatches: 16 } as const;

export interface VideoPipelineArgs {
    /** The stack's validated configuration (video, jobs, scaling, region, log retention; no defaults here). */
    config: Pick<PlatformConfig, "region" | "jobs" | "video" | "scaling" | "cluster" | "protectData" | "access">;
    /** Whether the stack also serves BERT (the dashboard adds its row); default false. */
    bertEnabled?: boolean;
    /** The EKS cluster the worker's Pod Identity association is made in. Required. */
    clusterName: pulumi.Input<string>;
    /** The video node group's Auto Scaling group: scaled on backlog, and the only one the worker may protect. Required. */
    asgName: pulumi.Input<string>;
    /** Image with dist/worker and dist/model-fetch (images/worker). Required. */
    workerImage: pulumi.Input<string>;
    /** The TF Serving image of the video group's accelerator profile. Required. */
    modelServerImage: pulumi.Input<string>;
    /** The video node group's nodeSelector and tolerations. Required. */
    scheduling: Scheduling;
    /** The accelerator each pod requests; undefined (the default) for the cpu profile. */
    accelerator?: AcceleratorRequest;
    /** What the Pod Identity association waits for (the Pod Identity agent add-on); default none. */
    podIdentityDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** What the pods wait for besides their own role (nodes, add-ons); default none. */
    clusterReady?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Needs the `aws` and `kubernetes` providers in `opts.providers`. Named after the stack (`<project>-<stack>`):
 * its parts keep the names they had as top-level resources (`<name>-video`, `<name>`), and aliases let a
 * stack deployed before this component existed adopt them instead of replacing them.
 */
export class VideoPipeline extends pulumi.ComponentResource {
    readonly jobs: VideoJobs;
    readonly workerRole: aws.iam.Role;
    readonly alarms: VideoQueueAlarms;
    readonly scaling: VideoQueueScaling;
    readonly dashboard: OperationsDashboard;
    readonly daemonSet: VideoInferenceDaemonSet;

    constructor(name: string, args: VideoPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:video:VideoPipeline", name, {}, opts);
        const { config } = args;
        const { jobs: jobsConfig, video, scaling } = config;
        // Before this component these were top-level resources.
        const child = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };

        this.jobs = new VideoJobs(
            `${name}-video`,
            {
                inputPrefix: jobsConfig.inputPrefix,
                resultsPrefix: jobsConfig.resultsPrefix,
                resultsExpiryDays: jobsConfig.resultsExpiryDays,
                inputExpiryDays: jobsConfig.inputExpiryDays,
                protectData: config.protectData,
                visibilityTimeoutSeconds: jobsConfig.visibilityTimeoutSeconds,
                maxReceiveCount: jobsConfig.maxReceiveCount,
            },
            child,
        );
        const jobs = this.jobs;

        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const policy = pulumi
            .all([partition, accountId, jobs.queue.arn, jobs.deadLetterQueue.arn, jobs.bucket.arn, args.asgName])
            .apply(([part, account, queueArn, dlqArn, bucketArn, asgName]) =>
                JSON.stringify(
                    videoWorkerPolicy({
                        partition: part,
                        region: config.region,
                        accountId: account,
                        queueArn,
                        deadLetterQueueArn: dlqArn,
                        bucketArn,
                        inputPrefix: jobsConfig.inputPrefix,
                        resultsPrefix: jobsConfig.resultsPrefix,
                        asgName,
                        metricNamespace: scaling.metricNamespace,
                        modelS3: video.modelS3,
                    }),
                ),
            );
        const role = podIdentityRole(
            `${name}-video-worker`,
            {
                clusterName: args.clusterName,
                identity: VIDEO_WORKER_IDENTITY,
                policy,
                dependsOn: args.podIdentityDependsOn,
            },
            { parent: this, aliases: [formerWorkloadRolesParent(name)] },
        );
        this.workerRole = role.role;

        this.alarms = new VideoQueueAlarms(
            `${name}-video`,
            {
                queueName: jobs.queue.name,
                deadLetterQueueName: jobs.deadLetterQueue.name,
                oldestMessageAgeThresholdSeconds: scaling.oldestMessageAlarmSeconds,
                alarmEmail: scaling.alarmEmail,
                region: config.region,
            },
            child,
        );
        this.scaling = new VideoQueueScaling(
            name,
            {
                queueUrl: jobs.queue.url,
                queueArn: jobs.queue.arn,
                queueName: jobs.queue.name,
                asgName: args.asgName,
                metricNamespace: scaling.metricNamespace,
                latencyObjectiveSeconds: scaling.latencyObjectiveSeconds,
                secondsPerVideo: scaling.secondsPerVideo,
                maxSize: video.nodes.sizing.maxSize,
                logRetentionDays: config.cluster.logRetentionDays,
                alarmTopicArn: this.alarms.topicArn,
            },
            child,
        );
        this.dashboard = new OperationsDashboard(
            name,
            {
                region: config.region,
                queueName: jobs.queue.name,
                deadLetterQueueName: jobs.deadLetterQueue.name,
                backlogMetricNamespace: scaling.metricNamespace,
                workerMetricNamespace: scaling.metricNamespace,
                bertEnabled: args.bertEnabled ?? false,
            },
            child,
        );

        this.daemonSet = new VideoInferenceDaemonSet(
            `${name}-video`,
            {
                workerImage: args.workerImage,
                modelServerImage: args.modelServerImage,
                scheduling: args.scheduling,
                accelerator: args.accelerator,
                maxNodes: video.nodes.sizing.maxSize,
                model: { name: video.modelName, uri: video.modelUri },
                batching: { maxBatchSize: video.batchSize, ...BATCHING },
                worker: {
                    jobQueueUrl: jobs.queue.url,
                    deadLetterQueueUrl: jobs.deadLetterQueue.url,
                    resultsBucket: jobs.bucket.bucket,
                    resultsPrefix: jobsConfig.resultsPrefix,
                    inputBucket: jobs.bucket.bucket,
                    inputPrefix: jobsConfig.inputPrefix,
                    batchSize: video.batchSize,
                    frameWidth: video.frameWidth,
                    frameHeight: video.frameHeight,
                    sampleFps: video.sampleFps,
                    scoreThreshold: video.scoreThreshold,
                    visibilityTimeoutSeconds: jobsConfig.visibilityTimeoutSeconds,
                    metricsNamespace: scaling.metricNamespace,
                    region: config.region,
                    extraEnv: { MAX_VIDEO_BYTES: String(video.maxVideoBytes), MAX_VIDEO_SECONDS: String(video.maxVideoSeconds) },
                },
                scratchGiB: videoScratchGiB(video.maxVideoBytes),
                metricsScrapers: monitoringScrapers(config.access.monitoringNamespace),
            },
            { ...child, dependsOn: [...(args.clusterReady ?? []), ...role.ready] },
        );

        this.registerOutputs({
            bucketName: jobs.bucket.bucket,
            jobQueueUrl: jobs.queue.url,
            workerRoleArn: this.workerRole.arn,
            daemonSetName: this.daemonSet.daemonSetName,
        });
    }
}
