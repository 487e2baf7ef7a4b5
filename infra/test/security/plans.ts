// The plans the security tests read: both checked-in stacks and the variants that declare other pods
// (BERT on CPU with its compile Job on the general nodes; legacy TF Serving on inf1 with video on inf2).
// Each is run once per test process and shared.
import { runStackUnderMocks, type MockRunResult } from "../../mock-run/mock-run";

export interface SecurityPlan {
    title: string;
    stack: string;
    config: Record<string, string>;
}

export const SECURITY_PLANS: readonly SecurityPlan[] = [
    { title: "Pulumi.dev.yaml", stack: "dev", config: {} },
    { title: "Pulumi.prod.yaml (BERT on inf2, compile Job on the BERT nodes)", stack: "prod", config: {} },
    {
        title: "dev with BERT on cpu (compile Job on the general nodes)",
        stack: "dev",
        config: { bertEnabled: "true", bertAccelerator: "cpu" },
    },
    {
        title: "dev with legacy TF Serving BERT on inf1 and video on inf2",
        stack: "dev",
        config: {
            bertEnabled: "true",
            bertServer: "tf-serving",
            bertAccelerator: "inf1",
            bertModelUri: "s3://models-bucket/bert/neuron/",
            videoAccelerator: "inf2",
            videoModelUri: "s3://models-bucket/ssd/",
        },
    },
];

const runs = new Map<string, Promise<MockRunResult>>();

/** The plan's mock run, started on first use and shared by every test file of this process. */
export function planOf(plan: SecurityPlan): Promise<MockRunResult> {
    const key = JSON.stringify([plan.stack, plan.config]);
    let run = runs.get(key);
    if (run === undefined) {
        run = runStackUnderMocks(plan.stack, { config: plan.config });
        run.catch(() => undefined); // observed by the tests that await it
        runs.set(key, run);
    }
    return run;
}
