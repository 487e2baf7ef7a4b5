// The video group's scaling rule, in one place. The scaler Lambda computes InstancesNeeded with it on
// every beat, infra/video/scaling.ts declares the CloudWatch alarms and Auto Scaling policies from the
// same constants and step table, and the simulation (scaler/sim/) plays the same functions against a
// trace. Pure: no I/O, no SDK types.
//
// The rule:
// - The user states a latency objective L: seconds from upload to result (videoLatencyObjectiveSeconds).
// - The workers publish how long each video took (SecondsPerVideo, one value per job). The scaler reads
//   the mean of the last hour, or of the last day when the hour has fewer than MIN_SAMPLES videos, and
//   uses the configured secondsPerVideo only when the day has none either.
// - One instance may carry B = max(1, floor(L / mean)) videos (the one it processes and those queued
//   behind it): the last of them is done after about B x mean <= L.
// - While videos are arriving (backlog now, or in any of the last SPARE_MINUTES beats), InstancesNeeded =
//   max(ceil(backlog / B) + 1, 2): one instance more than the backlog needs, so the next upload starts at
//   once instead of waiting for a node to boot, and at least two, so two uploads close together both do.
//   After SPARE_MINUTES without work it is 0. Always within the group's MinSize..MaxSize.
// - Scale-out: InstancesNeeded > DesiredCapacity on ONE one-minute datapoint sets the group to exactly
//   InstancesNeeded (a step scaling policy with ExactCapacity steps: idempotent, so an alarm that stays in
//   ALARM and re-invokes the policy every minute never adds twice). This also wakes an empty group.
// - Scale-in: DesiredCapacity > InstancesNeeded on SCALE_IN_DATAPOINTS consecutive datapoints removes one
//   instance (simple scaling), then SCALE_IN_COOLDOWN_SECONDS pass before the next. Busy nodes carry Auto
//   Scaling scale-in protection, so a scale-in only ever takes an idle node.

/** CloudWatch period of every scaling alarm: the scaler publishes one datapoint per minute. */
export const PERIOD_SECONDS = 60;
/** Datapoints with InstancesNeeded above DesiredCapacity before the group grows. */
export const SCALE_OUT_DATAPOINTS = 1;
/** Consecutive datapoints with DesiredCapacity above InstancesNeeded before one instance goes. */
export const SCALE_IN_DATAPOINTS = 10;
/** Wait after a scale-in before the next one (simple scaling cooldown). */
export const SCALE_IN_COOLDOWN_SECONDS = 180;
/** Spare capacity is kept while the queue has had work within this many minutes. */
export const SPARE_MINUTES = 15;
/** Instances kept while videos are arriving. */
export const MIN_WHILE_BUSY = 2;
/** Windows of the measured processing time: the first with MIN_SAMPLES videos is used. */
export const SECONDS_PER_VIDEO_WINDOWS_MINUTES = [60, 24 * 60] as const;
/** Fewer measured videos than this in a window: try the next window, then the configured fallback. */
export const MIN_SAMPLES = 3;
/** EC2 Auto Scaling allows at most 20 step adjustments per step scaling policy (a fixed quota). */
export const MAX_STEP_ADJUSTMENTS = 20;

/** Metric names the scaler publishes (namespace from config, dimension QueueName). */
export const METRICS = {
    backlog: "QueueBacklog",
    backlogPerInstance: "BacklogPerInstance",
    inService: "InServiceInstances",
    desired: "DesiredCapacity",
    needed: "InstancesNeeded",
    allowedBacklogPerInstance: "AllowedBacklogPerInstance",
    secondsPerVideoUsed: "SecondsPerVideoUsed",
} as const;
/** What the worker publishes once per job (worker/src/cloudwatch.ts), dimension QueueName. */
export const WORKER_METRICS = { secondsPerVideo: "SecondsPerVideo", secondsPerFrame: "SecondsPerFrame" } as const;

export class RuleInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RuleInputError";
    }
}

function positive(value: number, what: string): number {
    if (!Number.isFinite(value) || value <= 0) throw new RuleInputError(`${what} must be a number > 0, got ${String(value)}`);
    return value;
}

/** Sum and count of the SecondsPerVideo values in one window. */
export interface WindowMeasurement {
    sum: number;
    count: number;
}

export type SecondsPerVideoSource = "last hour" | "last day" | "configured";

/**
 * The processing time the rule sizes for: the mean of the first window (shortest first) holding
 * MIN_SAMPLES videos, else the configured fallback.
 */
export function secondsPerVideoToUse(
    windows: readonly (WindowMeasurement | undefined)[],
    fallbackSecondsPerVideo: number,
): { seconds: number; source: SecondsPerVideoSource } {
    const names: SecondsPerVideoSource[] = ["last hour", "last day"];
    for (let i = 0; i < windows.length && i < names.length; i++) {
        const w = windows[i];
        if (w !== undefined && w.count >= MIN_SAMPLES && Number.isFinite(w.sum) && w.sum > 0) {
            return { seconds: w.sum / w.count, source: names[i] };
        }
    }
    return { seconds: positive(fallbackSecondsPerVideo, "configured seconds per video"), source: "configured" };
}

/** Videos one instance may carry (processing + queued) and still finish the last within the objective. */
export function allowedBacklogPerInstance(latencyObjectiveSeconds: number, secondsPerVideo: number): number {
    return Math.max(1, Math.floor(positive(latencyObjectiveSeconds, "latency objective") / positive(secondsPerVideo, "seconds per video")));
}

export interface NeededInput {
    /** Visible + in-flight messages now. */
    backlog: number;
    /** Whether an earlier beat in the last SPARE_MINUTES saw backlog > 0. */
    recentWork: boolean;
    /** The processing time to size for (secondsPerVideoToUse). */
    secondsPerVideo: number;
    /** The group's size limits (the live group's MinSize and MaxSize). */
    minSize: number;
    maxSize: number;
}

/** InstancesNeeded for one beat, within the group's limits. */
export function instancesNeeded(latencyObjectiveSeconds: number, input: NeededInput): number {
    if (!Number.isInteger(input.backlog) || input.backlog < 0) throw new RuleInputError(`backlog must be a count, got ${input.backlog}`);
    if (!Number.isInteger(input.minSize) || input.minSize < 0 || !Number.isInteger(input.maxSize) || input.maxSize < input.minSize) {
        throw new RuleInputError(`group limits must be integers with 0 <= min <= max, got ${input.minSize}..${input.maxSize}`);
    }
    const perInstance = allowedBacklogPerInstance(latencyObjectiveSeconds, input.secondsPerVideo);
    const busy = input.backlog > 0 || input.recentWork;
    const wanted = busy ? Math.max(Math.ceil(input.backlog / perInstance) + 1, MIN_WHILE_BUSY) : 0;
    return Math.min(input.maxSize, Math.max(input.minSize, wanted));
}

/** One ExactCapacity step, bounds relative to the alarm threshold, as EC2 Auto Scaling takes them. */
export interface ExactStep {
    lowerBound: number;
    upperBound?: number;
    capacity: number;
}

/** The scale-out alarm's metric math over the ids "needed" and "desired": InstancesNeeded when above desired. */
export const SCALE_OUT_EXPRESSION = "IF(needed > desired, needed, 0)";
/** Alarm threshold of the scale-out alarm (GreaterThanOrEqualToThreshold). */
export const SCALE_OUT_THRESHOLD = 1;
/** The scale-in alarm's metric math; it alarms at >= SCALE_IN_THRESHOLD on SCALE_IN_DATAPOINTS datapoints. */
export const SCALE_IN_EXPRESSION = "desired - needed";
export const SCALE_IN_THRESHOLD = 1;

/**
 * The capacities the scale-out policy can set. Up to 20 (the step quota) every size 1..maxSize; beyond,
 * 1..10 and then 10 sizes spread geometrically up to maxSize (a need between two is rounded up).
 */
export function scaleOutCapacities(maxSize: number): number[] {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RuleInputError(`maxSize must be an integer >= 1, got ${maxSize}`);
    if (maxSize <= MAX_STEP_ADJUSTMENTS) return Array.from({ length: maxSize }, (_, i) => i + 1);
    const exact = MAX_STEP_ADJUSTMENTS / 2;
    const sizes = new Set<number>();
    for (let k = 1; k <= exact; k++) sizes.add(k);
    const rest = MAX_STEP_ADJUSTMENTS - exact;
    for (let i = 1; i <= rest; i++) sizes.add(Math.min(maxSize, Math.ceil(exact * Math.pow(maxSize / exact, i / rest))));
    sizes.add(maxSize);
    return [...sizes].sort((a, b) => a - b);
}

/** The step table of the scale-out policy: a need in (c[i-1], c[i]] sets the group to exactly c[i]. */
export function scaleOutSteps(maxSize: number): ExactStep[] {
    const caps = scaleOutCapacities(maxSize);
    return caps.map((capacity, i) => {
        const previous = i === 0 ? 0 : caps[i - 1];
        // Needs are whole instances; relative to the threshold the need lies in [previous+1, capacity+1).
        const lowerBound = previous + 1 - SCALE_OUT_THRESHOLD;
        return i === caps.length - 1 ? { lowerBound, capacity } : { lowerBound, upperBound: capacity + 1 - SCALE_OUT_THRESHOLD, capacity };
    });
}

/** What the scale-out policy sets the group to for a need, reading the step table as AWS does. */
export function capacityForNeed(maxSize: number, needed: number): number {
    const value = needed - SCALE_OUT_THRESHOLD;
    for (const step of scaleOutSteps(maxSize)) {
        if (value >= step.lowerBound && (step.upperBound === undefined || value < step.upperBound)) return step.capacity;
    }
    return 0;
}
