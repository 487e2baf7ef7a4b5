// The two scaling designs compared by the simulation, each as AWS documents its mechanics.
import { computeBacklog } from "../src/backlog";
import * as policy from "../src/policy";
import type { Observation, ScalingRule } from "./model";

function lastN<T>(xs: readonly T[], n: number): T[] | undefined {
    return xs.length >= n ? xs.slice(xs.length - n) : undefined;
}

/**
 * The first reference design (aws-samples/amazon-elastic-inference-eks, stack.cfn.yml): the function
 * publishes ApproximateNumberOfMessages (visible only); simple scaling +2 when the 60 s average is > 2
 * (1 evaluation period), -1 when the 300 s average is < 2 (1 evaluation period), both policies with a
 * 60 s cooldown; min 2 / max 6; OldestInstance termination. The worker's EC2 termination protection does
 * not stop Auto Scaling, so a busy node can be terminated; its message returns when the 600 s visibility
 * the worker set at receipt runs out.
 */
export function originalRule(opts: { minSize?: number; maxSize?: number } = {}): ScalingRule {
    const cooldownSeconds = 60;
    const startupSeconds = 180; // the cooldown starts when the launch activity completes
    let blockedUntil = -Infinity;
    return {
        name: "original: simple +2/-1 on visible messages",
        minSize: opts.minSize ?? 2,
        maxSize: opts.maxSize ?? 6,
        initialDesired: opts.minSize ?? 2,
        scaleInProtection: false,
        messageReturnsAt: (receivedAt) => receivedAt + 600,
        decide(history: readonly Observation[], t: number) {
            if (t < blockedUntil) return undefined;
            const now = history[history.length - 1];
            if (now.visible > 2) {
                blockedUntil = t + startupSeconds + cooldownSeconds;
                return now.desired + 2;
            }
            const fiveMinutes = lastN(history, 5);
            if (fiveMinutes && fiveMinutes.reduce((s, o) => s + o.visible, 0) / 5 < 2) {
                blockedUntil = t + cooldownSeconds;
                return now.desired - 1;
            }
            return undefined;
        },
    };
}

export interface LatencyRuleOptions {
    /** Seconds from upload to result (videoLatencyObjectiveSeconds). */
    latencyObjectiveSeconds: number;
    /** Seconds per video before the workers have published any (secondsPerVideo). */
    fallbackSecondsPerVideo: number;
    minSize: number;
    maxSize: number;
    /** Launch -> worker processing (scaler/sim/startup.ts). */
    startupSeconds: number;
    /** How long the worker's visibility heartbeat keeps a message hidden after the worker stops. */
    heartbeatVisibilitySeconds?: number;
}

/**
 * This design (scaler/src/policy.ts, declared by infra/video/scaling.ts). Every minute the scaler
 * publishes InstancesNeeded, computed as the Lambda does: the backlog now, whether an earlier beat of the
 * last SPARE_MINUTES saw work (its own QueueBacklog datapoints), and the mean SecondsPerVideo the workers
 * published in the last hour (or day). One datapoint above DesiredCapacity sets the group to exactly that
 * (through the step table); SCALE_IN_DATAPOINTS datapoints below it remove one instance, then a cooldown.
 * Busy nodes are protected from scale-in.
 */
export function latencyObjectiveRule(o: LatencyRuleOptions): ScalingRule {
    let scaleInBlockedUntil = -Infinity;
    const published: { needed: number; desired: number }[] = [];
    const beatsIn = (minutes: number) => (minutes * 60) / policy.PERIOD_SECONDS;
    return {
        name: "this design: latency objective on measured seconds per video",
        minSize: o.minSize,
        maxSize: o.maxSize,
        initialDesired: o.minSize,
        startupSeconds: o.startupSeconds,
        scaleInProtection: true,
        messageReturnsAt: (_receivedAt, interruptedAt) => interruptedAt + (o.heartbeatVisibilitySeconds ?? 120),
        decide(history: readonly Observation[], t: number) {
            const now = history[history.length - 1];
            const windows = policy.SECONDS_PER_VIDEO_WINDOWS_MINUTES.map((minutes) => {
                const values = history.slice(-beatsIn(minutes)).flatMap((h) => h.processedSeconds);
                return { sum: values.reduce((a, b) => a + b, 0), count: values.length };
            });
            const secondsPerVideo = policy.secondsPerVideoToUse(windows, o.fallbackSecondsPerVideo).seconds;
            const backlogOf = (h: Observation) => h.visible + h.inFlight;
            const earlier = history.slice(Math.max(0, history.length - 1 - beatsIn(policy.SPARE_MINUTES)), -1);
            const needed = policy.instancesNeeded(o.latencyObjectiveSeconds, {
                backlog: backlogOf(now),
                recentWork: earlier.some((h) => backlogOf(h) > 0),
                secondsPerVideo,
                minSize: o.minSize,
                maxSize: o.maxSize,
            });
            published.push({ needed, desired: now.desired });
            // Scale-out alarm: SCALE_OUT_DATAPOINTS datapoints of the expression at or above its threshold.
            const out = published.slice(-policy.SCALE_OUT_DATAPOINTS);
            const breachesOut = (p: { needed: number; desired: number }) =>
                (p.needed > p.desired ? p.needed : 0) >= policy.SCALE_OUT_THRESHOLD;
            if (out.length === policy.SCALE_OUT_DATAPOINTS && out.every(breachesOut)) {
                const capacity = policy.capacityForNeed(o.maxSize, needed);
                if (capacity > now.desired) return capacity;
            }
            // Scale-in alarm: SCALE_IN_DATAPOINTS datapoints of desired - needed >= 1; simple scaling, cooldown.
            const quiet = published.slice(-policy.SCALE_IN_DATAPOINTS);
            if (
                quiet.length === policy.SCALE_IN_DATAPOINTS &&
                t >= scaleInBlockedUntil &&
                quiet.every((p) => p.desired - p.needed >= policy.SCALE_IN_THRESHOLD)
            ) {
                scaleInBlockedUntil = t + policy.SCALE_IN_COOLDOWN_SECONDS;
                return now.desired - 1;
            }
            return undefined;
        },
    };
}

export interface BacklogRuleOptions {
    /** Acceptable backlog per instance = acceptable latency / seconds per video. */
    target: number;
    /** Launch -> worker processing; default the simulation's. */
    startupSeconds?: number;
    minSize?: number;
    maxSize?: number;
    /** Target tracking's high alarm: consecutive one-minute datapoints above target. */
    highAlarmDatapoints?: number;
    /** The scale-in alarm: consecutive one-minute datapoints below half the target. */
    scaleInDatapoints?: number;
    scaleInCooldownSeconds?: number;
    /** How long the worker's visibility heartbeat keeps a message hidden after the worker stops. */
    heartbeatVisibilitySeconds?: number;
}

/**
 * This design before issue 19, kept for the simulation's "what each change bought" rows: the scaler published backlog (visible + in flight), backlog per
 * InService instance and desired capacity. Scale-out is target tracking: when the high alarm has seen
 * `highAlarmDatapoints` datapoints above target, desired = ceil(metric x InService / target) (never
 * lower than the current desired, which already counts warming instances). Scale-from-zero: +1 when
 * backlog > 0 and desired = 0. Scale-in: -1 after `scaleInDatapoints` datapoints below target/2, then a
 * cooldown, never while a scale-out is in progress (instances pending). Busy nodes are protected.
 */
export function previousTargetTrackingRule(o: BacklogRuleOptions): ScalingRule {
    const high = o.highAlarmDatapoints ?? 3;
    const low = o.scaleInDatapoints ?? 15;
    const cooldown = o.scaleInCooldownSeconds ?? 300;
    let scaleInBlockedUntil = -Infinity;
    return {
        name: "before issue 19: target tracking on backlog per instance",
        minSize: o.minSize ?? 0,
        maxSize: o.maxSize ?? 6,
        initialDesired: o.minSize ?? 0,
        startupSeconds: o.startupSeconds,
        scaleInProtection: true,
        messageReturnsAt: (_receivedAt, interruptedAt) => interruptedAt + (o.heartbeatVisibilitySeconds ?? 120),
        decide(history: readonly Observation[], t: number) {
            const samples = history.map((h) =>
                computeBacklog({ visible: h.visible, inFlight: h.inFlight, inServiceInstances: h.inService, desiredCapacity: h.desired }),
            );
            const now = samples[samples.length - 1];
            let wanted = now.desiredCapacity;
            if (now.backlog > 0 && now.desiredCapacity === 0) wanted = 1; // wake-from-zero step policy
            const recent = lastN(samples, high);
            if (recent && now.inServiceInstances > 0 && recent.every((s) => s.backlogPerInstance > o.target)) {
                wanted = Math.max(wanted, Math.ceil((now.backlogPerInstance * now.inServiceInstances) / o.target));
            }
            if (wanted > now.desiredCapacity) return wanted;
            const quiet = lastN(samples, low);
            const scaleOutInProgress = history[history.length - 1].pending > 0;
            if (quiet && t >= scaleInBlockedUntil && !scaleOutInProgress && quiet.every((s) => s.backlogPerInstance < o.target / 2)) {
                scaleInBlockedUntil = t + cooldown;
                return now.desiredCapacity - 1;
            }
            return undefined;
        },
    };
}
