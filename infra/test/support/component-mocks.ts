// Pulumi mocks for tests of one component (not the whole program: that is infra/mock-run), and the pod
// spec accessors the Kubernetes component tests share.
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";

export type Obj = Record<string, unknown>;

/** A resource the component declared, as the mock saw it. */
export interface Recorded {
    type: string;
    name: string;
    inputs: Obj;
    /** The provider reference the resource was declared with, if any. */
    provider?: string;
}

/** Region and account of the ARNs the mocks make up. */
export const MOCK_REGION = "us-west-2";
export const MOCK_ACCOUNT_ID = "123456789012";

/**
 * What the mocked provider returns for a new resource: its inputs, plus a name where the real provider
 * would make one up: an AWS resource's `name` (and an ARN of that name), a Kubernetes object's metadata.name
 * (`<resource name>-generated` when not given).
 */
export function mockedState(args: pulumi.runtime.MockResourceArgs): Obj {
    const inputs = args.inputs as Obj;
    const generated = `${args.name}-generated`;
    if (args.type.startsWith("aws:")) {
        const name = (inputs.name as string | undefined) ?? generated;
        const service = args.type.split(":")[1]?.split("/")[0] ?? "mock";
        return { ...inputs, name, arn: `arn:aws:${service}:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:${name}` };
    }
    if (args.type.startsWith("kubernetes:") && typeof inputs.metadata === "object" && inputs.metadata !== null) {
        const metadata = inputs.metadata as Obj;
        return { ...inputs, metadata: { ...metadata, name: metadata.name ?? generated } };
    }
    return { ...inputs };
}

/**
 * Mocks for a component test: every resource is appended to `recorded` and gets mockedState; invokes answer
 * with `call` (default: their own inputs).
 */
export function setComponentMocks(
    stack: string,
    recorded: Recorded[],
    call: (args: pulumi.runtime.MockCallArgs) => Obj = (args) => args.inputs as Obj,
): Promise<void> {
    return pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                recorded.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Obj,
                    ...(args.provider !== undefined && args.provider !== "" ? { provider: args.provider } : {}),
                });
                return { id: `${args.name}-id`, state: mockedState(args) };
            },
            call,
        },
        "eks-inference",
        stack,
        false,
    );
}

/** A container of a pod spec, with the fields the tests read. */
export interface Container {
    name: string;
    image?: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    envFrom?: { secretRef?: { name: string } }[];
    ports?: { name: string; containerPort: number }[];
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    securityContext?: Obj;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    readinessProbe?: { httpGet?: Obj } & Obj;
    startupProbe?: { httpGet?: Obj; failureThreshold?: number; periodSeconds?: number } & Obj;
    livenessProbe?: { httpGet?: Obj } & Obj;
    restartPolicy?: string;
    workingDir?: string;
}

export interface PodSpec {
    nodeSelector?: Record<string, string>;
    tolerations?: Obj[];
    securityContext?: Obj;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    restartPolicy?: string;
    initContainers?: Container[];
    containers: Container[];
    volumes?: { name: string; emptyDir?: { sizeLimit?: string } & Obj; configMap?: { name: string } }[];
    terminationGracePeriodSeconds?: number;
    hostNetwork?: boolean;
}

/** The pod template's spec of a Deployment, DaemonSet or Job. */
export function podSpec(r: Recorded): PodSpec {
    return ((r.inputs.spec as Obj).template as Obj).spec as PodSpec;
}

/** The pod template's labels. */
export function podLabels(r: Recorded): Record<string, string> {
    return ((((r.inputs.spec as Obj).template as Obj).metadata as Obj).labels ?? {}) as Record<string, string>;
}

/** The init or app container of that name; fails the test when there is none. */
export function containerOf(spec: PodSpec, name: string): Container {
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === name);
    assert.ok(c, `no container ${name}`);
    return c;
}

/** A container's literal env values by name (undefined for valueFrom). */
export function envOf(c: Container): Record<string, string | undefined> {
    return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}
