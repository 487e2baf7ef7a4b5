// How a change of the video pod (a new worker or TF Serving image, a model URI, a worker setting) rolls
// over the video DaemonSet, and how long `pulumi up` may wait for it.
//
// pulumi-kubernetes waits for a DaemonSet until kstatus calls it Current: every node that should run the
// pod runs an updated, available, ready one (desiredNumberScheduled = updatedNumberScheduled =
// numberAvailable = numberReady). It waits 10 minutes unless the resource's customTimeouts say otherwise
// (provider/pkg/await/daemonset.go and await.go). Kubernetes replaces at most maxUnavailable pods at a
// time (a percentage is rounded up); each node's turn is: the old pod stops (the kubelet waits up to its
// grace period), then the new pod pulls its images, model-fetch fetches the model, TF Serving loads it
// (its startup probe allows that long), and the worker turns ready; then the next node's turn starts.

/** rollingUpdate.maxUnavailable of the video DaemonSet, percent of the nodes running it (Kubernetes rounds up, so at least 1). */
export const VIDEO_MAX_UNAVAILABLE_PERCENT = 25;

/**
 * Allowances for the steps of a node's turn that the pod spec does not bound itself, seconds. Pulling: the
 * TF Serving GPU image is ~3.2 GB compressed and ~8 GB unpacked, the worker image ~0.2 GB (scaler/sim/startup.ts
 * estimates about a minute and 10 s at the video nodes' disk throughput); the pre-pull DaemonSet usually has
 * the model server image in place already. Model fetch: the default archive is ~0.18 GB (about 5 s); this
 * allows a model of a few GB at 40 MB/s. Both are estimates, not measurements.
 */
export const ROLLOUT_ALLOWANCES = { imagePullSeconds: 180, modelFetchSeconds: 120 } as const;

/** One node's turn in a rollout, each step at the most it may take, seconds. */
export interface NodeTurn {
    /** The old pod's terminationGracePeriodSeconds. */
    terminationGraceSeconds: number;
    imagePullSeconds: number;
    modelFetchSeconds: number;
    /** The model server's startup probe budget (failureThreshold x periodSeconds): past it the kubelet restarts it. */
    modelLoadSeconds: number;
    /** The worker's readiness probe (failureThreshold x periodSeconds). */
    workerReadySeconds: number;
}

export function nodeTurnSeconds(turn: NodeTurn): number {
    return turn.terminationGraceSeconds + turn.imagePullSeconds + turn.modelFetchSeconds + turn.modelLoadSeconds + turn.workerReadySeconds;
}

/** Pods replaced at once on `nodes` nodes for maxUnavailable `percent`%: rounded up, at least 1. */
export function podsAtOnce(nodes: number, percent: number): number {
    return Math.max(1, Math.ceil((nodes * percent) / 100));
}

/** Turns a rollout over `nodes` nodes takes (the most any one slot works through). */
export function rolloutTurns(nodes: number, percent: number): number {
    return nodes <= 0 ? 0 : Math.ceil(nodes / podsAtOnce(nodes, percent));
}

/** The most turns at any group size from 1 to maxNodes: the autoscaler decides the live size. */
export function worstCaseTurns(maxNodes: number, percent: number): number {
    let worst = 1;
    for (let n = 1; n <= maxNodes; n++) worst = Math.max(worst, rolloutTurns(n, percent));
    return worst;
}

/** How long `pulumi up` waits for the video DaemonSet, seconds: every turn of the largest group at its full budget. */
export function rolloutTimeoutSeconds(maxNodes: number, percent: number, turn: NodeTurn): number {
    return worstCaseTurns(maxNodes, percent) * nodeTurnSeconds(turn);
}

/** Seconds as a Pulumi customTimeouts string (whole minutes, rounded up): "70m". */
export function timeoutString(seconds: number): string {
    return `${Math.ceil(seconds / 60)}m`;
}
