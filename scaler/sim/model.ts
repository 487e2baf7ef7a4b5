// A deterministic discrete-time model of the video pipeline's scaling loop: SQS (visible / in flight,
// visibility timeouts), an Auto Scaling group (pending -> InService after a start-up delay, desired
// capacity, scale-in with or without instance protection), one worker per node processing one video at
// a time, and a once-a-minute metric publisher whose datapoints drive a scaling rule.
import type { Job } from "./trace";

/** What the once-a-minute function sees (and the group's state at that moment). */
export interface Observation {
    t: number;
    visible: number;
    inFlight: number;
    inService: number;
    pending: number;
    desired: number;
    /** Processing seconds of the jobs finished since the previous beat (what the workers published). */
    processedSeconds: readonly number[];
}

/** A scaling rule: the alarms and policies of one design, evaluated once a minute. */
export interface ScalingRule {
    readonly name: string;
    readonly minSize: number;
    readonly maxSize: number;
    readonly initialDesired: number;
    /** Launch -> worker processing, seconds; default SimParams.startupSeconds. */
    readonly startupSeconds?: number;
    /** Whether Auto Scaling honours the worker's protection at scale-in (Auto Scaling instance protection) or not (EC2 termination protection). */
    readonly scaleInProtection: boolean;
    /** When a message held by an interrupted worker becomes visible again. */
    messageReturnsAt(receivedAt: number, interruptedAt: number): number;
    /**
     * Called once a minute, after this minute's datapoint is published (history includes it).
     * Returns the new desired capacity (before min/max clamping) or undefined for no change.
     */
    decide(history: readonly Observation[], t: number): number | undefined;
}

export interface SimParams {
    stepSeconds: number;
    /** Launch -> node joined, worker pod running (the instance is Pending until then). */
    startupSeconds: number;
    horizonSeconds: number;
}

export const DEFAULT_PARAMS: SimParams = { stepSeconds: 10, startupSeconds: 180, horizonSeconds: 4 * 3600 };

interface Instance {
    id: number;
    launchedAt: number;
    inServiceAt: number;
    terminatedAt?: number;
    protectedFromScaleIn: boolean;
    job?: { jobId: number; receivedAt: number; endsAt: number };
}

type JobState =
    | { kind: "pending-arrival" }
    | { kind: "visible"; since: number }
    | { kind: "processing"; instanceId: number }
    | { kind: "returning"; visibleAt: number }
    | { kind: "done" };

export interface Termination {
    t: number;
    instanceId: number;
    busy: boolean;
    protectedFromScaleIn: boolean;
    jobId?: number;
    /** When the interrupted worker had received its message. */
    jobReceivedAt?: number;
}

export interface ScalingActivity {
    t: number;
    from: number;
    to: number;
}

export interface SimResult {
    design: string;
    jobs: number;
    /** Completions per job id (exactly-once means every entry is 1). */
    completionsPerJob: number[];
    completedAt: number[];
    terminations: Termination[];
    activities: ScalingActivity[];
    timeline: Observation[];
    instanceSeconds: number;
    wastedWorkSeconds: number;
    peakBacklog: number;
    peakInstances: number;
    horizonSeconds: number;
}

export function simulate(rule: ScalingRule, trace: readonly Job[], params: SimParams = DEFAULT_PARAMS): SimResult {
    const { stepSeconds, horizonSeconds } = params;
    const startupSeconds = rule.startupSeconds ?? params.startupSeconds;
    if (60 % stepSeconds !== 0) throw new Error("stepSeconds must divide 60");
    const states: JobState[] = trace.map(() => ({ kind: "pending-arrival" }));
    const completions = trace.map(() => 0);
    const completedAt = trace.map(() => Number.NaN);
    const byArrival = [...trace].sort((a, b) => a.arrival - b.arrival || a.id - b.id);
    let nextArrival = 0;
    const instances: Instance[] = [];
    const terminations: Termination[] = [];
    const activities: ScalingActivity[] = [];
    const timeline: Observation[] = [];
    let desired = rule.initialDesired;
    let wastedWorkSeconds = 0;
    let peakBacklog = 0;
    let peakInstances = 0;
    let processedSinceBeat: number[] = [];

    const active = () => instances.filter((i) => i.terminatedAt === undefined);
    const launch = (t: number) => {
        instances.push({ id: instances.length, launchedAt: t, inServiceAt: t + startupSeconds, protectedFromScaleIn: false });
    };
    for (let i = 0; i < desired; i++) launch(-startupSeconds); // the group starts at its initial size, InService

    for (let t = 0; t < horizonSeconds; t += stepSeconds) {
        // 1. Arrivals.
        while (nextArrival < byArrival.length && byArrival[nextArrival].arrival <= t) {
            states[byArrival[nextArrival].id] = { kind: "visible", since: byArrival[nextArrival].arrival };
            nextArrival++;
        }
        // 2. Messages of interrupted workers come back after their visibility timeout.
        states.forEach((s, id) => {
            if (s.kind === "returning" && s.visibleAt <= t) states[id] = { kind: "visible", since: s.visibleAt };
        });
        // 3. Finished jobs: delete the message, clear protection.
        for (const inst of active()) {
            if (inst.job && inst.job.endsAt <= t) {
                completions[inst.job.jobId]++;
                completedAt[inst.job.jobId] = inst.job.endsAt;
                processedSinceBeat.push(inst.job.endsAt - inst.job.receivedAt);
                states[inst.job.jobId] = { kind: "done" };
                inst.job = undefined;
                inst.protectedFromScaleIn = false;
            }
        }
        // 4. The once-a-minute publisher and the alarms/policies.
        if (t % 60 === 0) {
            const running = active();
            const obs: Observation = {
                t,
                visible: states.filter((s) => s.kind === "visible").length,
                inFlight: states.filter((s) => s.kind === "processing" || s.kind === "returning").length,
                inService: running.filter((i) => i.inServiceAt <= t).length,
                pending: running.filter((i) => i.inServiceAt > t).length,
                desired,
                processedSeconds: processedSinceBeat,
            };
            processedSinceBeat = [];
            timeline.push(obs);
            const proposed = rule.decide(timeline, t);
            if (proposed !== undefined) {
                const clamped = Math.min(rule.maxSize, Math.max(rule.minSize, proposed));
                if (clamped !== desired) {
                    activities.push({ t, from: desired, to: clamped });
                    desired = clamped;
                }
            }
        }
        // 5. The group converges on desired capacity.
        let running = active();
        for (let n = running.length; n < desired; n++) launch(t);
        running = active();
        let excess = running.length - desired;
        if (excess > 0) {
            // OldestInstance termination policy; protected instances are skipped only when protection is honoured.
            const candidates = running
                .filter((i) => !(rule.scaleInProtection && i.protectedFromScaleIn))
                .sort((a, b) => a.launchedAt - b.launchedAt || a.id - b.id);
            for (const victim of candidates) {
                if (excess === 0) break;
                victim.terminatedAt = t;
                terminations.push({
                    t,
                    instanceId: victim.id,
                    busy: victim.job !== undefined,
                    protectedFromScaleIn: victim.protectedFromScaleIn,
                    jobId: victim.job?.jobId,
                    jobReceivedAt: victim.job?.receivedAt,
                });
                if (victim.job) {
                    wastedWorkSeconds += t - victim.job.receivedAt;
                    states[victim.job.jobId] = { kind: "returning", visibleAt: rule.messageReturnsAt(victim.job.receivedAt, t) };
                    victim.job = undefined;
                }
                excess--;
            }
        }
        // 6. Idle InService workers protect themselves, then receive the oldest visible message.
        const waiting = states
            .map((s, id) => ({ s, id }))
            .filter((x): x is { s: Extract<JobState, { kind: "visible" }>; id: number } => x.s.kind === "visible")
            .sort((a, b) => a.s.since - b.s.since || a.id - b.id);
        for (const inst of active()) {
            if (waiting.length === 0) break;
            if (inst.inServiceAt > t || inst.job) continue;
            const next = waiting.shift();
            if (!next) break;
            inst.protectedFromScaleIn = true;
            inst.job = { jobId: next.id, receivedAt: t, endsAt: t + trace[next.id].processingSeconds };
            states[next.id] = { kind: "processing", instanceId: inst.id };
        }
        const backlog = states.filter((s) => s.kind === "visible" || s.kind === "processing" || s.kind === "returning").length;
        peakBacklog = Math.max(peakBacklog, backlog);
        peakInstances = Math.max(peakInstances, active().length);
    }

    const instanceSeconds = instances.reduce(
        (sum, i) => sum + Math.max(0, Math.min(i.terminatedAt ?? horizonSeconds, horizonSeconds) - Math.max(i.launchedAt, 0)),
        0,
    );
    return {
        design: rule.name,
        jobs: trace.length,
        completionsPerJob: completions,
        completedAt,
        terminations,
        activities,
        timeline,
        instanceSeconds,
        wastedWorkSeconds,
        peakBacklog,
        peakInstances,
        horizonSeconds,
    };
}
