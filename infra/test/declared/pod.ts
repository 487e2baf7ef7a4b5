// A planned pod, run on this machine: the pod template of a workload in the mock plan, its volumes as
// temp directories, its ports as free local ports, and each container's declared command, args and env
// turned into a child process. What Kubernetes, EKS or the node would supply is given explicitly here
// (see PodHost), never taken from the test's own environment.
import type { IContainer, IEnvVar, IPodSpec, IVolume } from "kubernetes-models/v1";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { freePort } from "../../../testing/moto";
import type { PodIdentityAgent } from "../../../testing/pod-identity";
import { REPO_ROOT, type MockRunResult, type RecordedResource } from "../../mock-run/mock-run";
import { imageLayout, repoPathOf, type ImageLayout } from "./image";

export const WORKLOAD_TYPES = [
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
];

export interface PlannedPod {
    resource: RecordedResource;
    kind: string;
    namespace: string;
    name: string;
    spec: IPodSpec;
}

type Obj = Record<string, unknown>;

/** Every pod template the plan declares (Helm releases aside: their charts are not this project's code). */
export function plannedPods(plan: MockRunResult): PlannedPod[] {
    return plan.resources
        .filter((r) => WORKLOAD_TYPES.includes(r.type))
        .map((resource) => {
            const metadata = (resource.inputs.metadata ?? {}) as Obj;
            let spec = resource.inputs.spec as Obj;
            if (resource.type.endsWith(":CronJob")) spec = (spec.jobTemplate as Obj).spec as Obj;
            const podSpec = (resource.type.endsWith(":Pod") ? spec : (spec.template as Obj).spec) as IPodSpec;
            return {
                resource,
                kind: resource.type.split(":").pop() as string,
                namespace: String(metadata.namespace ?? "default"),
                name: String(metadata.name ?? resource.name),
                spec: podSpec,
            };
        });
}

export function allContainers(spec: IPodSpec): IContainer[] {
    return [...(spec.initContainers ?? []), ...spec.containers];
}

export function envValue(container: IContainer, name: string): string | undefined {
    return container.env?.find((e) => e.name === name)?.value;
}

/**
 * The Dockerfile (repository path, images/<name>/Dockerfile) of the image a container runs, from the plan's
 * docker-build Image with that repository. The program builds from a staged copy of the build context
 * (infra/platform/images.ts), which holds the repository's files under their own paths.
 */
export function dockerfileOf(plan: MockRunResult, image: string): string | undefined {
    const repository = image.split("@")[0].replace(/:[^/:]+$/, "");
    const built = plan.resources.find(
        (r) =>
            r.type === "docker-build:index:Image" &&
            ((r.inputs.tags as string[] | undefined) ?? []).some((tag) => tag.replace(/:[^/:]+$/, "") === repository),
    );
    const location = (built?.inputs.dockerfile as { location?: string } | undefined)?.location;
    return location === undefined ? undefined : (/(?:^|\/)(images\/[^/]+\/Dockerfile)$/.exec(location)?.[1] ?? location);
}

/** What the node, the cluster and AWS give a pod, as test equivalents. */
export interface PodHost {
    /** The pod's directory: volumes, token files, scratch. */
    root: string;
    /** spec.nodeName through the downward API. */
    nodeName: string;
    /** EKS Pod Identity: injects the credentials endpoint for service accounts with an association. */
    podIdentity: PodIdentityAgent;
    /** Variables every container gets on top of its declared env (AWS_ENDPOINT_URL for moto, ...), named by the caller. */
    extraEnv: Record<string, string>;
}

export interface LaunchSpec {
    file: string;
    args: string[];
    env: Record<string, string>;
    cwd: string;
}

export interface RunningContainer {
    child: ChildProcess;
    /** stdout and stderr so far. */
    output(): string;
    /** Resolves with the exit code (or the signal's name). */
    exited: Promise<number | string>;
}

export class PodSandbox {
    private readonly volumes = new Map<string, string>();
    private readonly ports = new Map<number, number>();

    constructor(
        readonly plan: MockRunResult,
        readonly pod: PlannedPod,
        readonly host: PodHost,
    ) {}

    /** The local port standing for a containerPort of this pod (allocated on first use). */
    async port(containerPort: number): Promise<number> {
        let local = this.ports.get(containerPort);
        if (local === undefined) {
            local = await freePort();
            this.ports.set(containerPort, local);
        }
        return local;
    }

    /** A containerPort served by something already listening on this machine (a stand-in server). */
    bindPort(containerPort: number, localPort: number): void {
        this.ports.set(containerPort, localPort);
    }

    /** The local port of a named port of a container (probes name them). */
    async namedPort(container: IContainer, port: string | number): Promise<number> {
        if (typeof port === "number") return this.port(port);
        const declared = container.ports?.find((p) => p.name === port);
        if (declared === undefined) throw new Error(`${this.where(container)}: no port named ${port}`);
        return this.port(declared.containerPort);
    }

    private where(container: IContainer): string {
        return `${this.pod.kind} ${this.pod.namespace}/${this.pod.name} container ${container.name}`;
    }

    /** A volume as a directory: emptyDir empty, configMap with the plan's ConfigMap data. */
    volumeDir(name: string): string {
        const existing = this.volumes.get(name);
        if (existing !== undefined) return existing;
        const volume = (this.pod.spec.volumes ?? []).find((v: IVolume) => v.name === name);
        if (volume === undefined) throw new Error(`${this.pod.kind} ${this.pod.namespace}/${this.pod.name}: no volume ${name}`);
        const dir = path.join(this.host.root, "volumes", name);
        mkdirSync(dir, { recursive: true });
        if (volume.configMap !== undefined) {
            const wanted = volume.configMap.name ?? "";
            const map = this.plan.resources.find((r) => {
                if (r.type !== "kubernetes:core/v1:ConfigMap") return false;
                const metadata = (r.inputs.metadata ?? {}) as Obj;
                const sameNamespace = (metadata.namespace ?? "default") === this.pod.namespace;
                // An auto-named ConfigMap gets <resource name>-<suffix> from the provider.
                return sameNamespace && (metadata.name === wanted || (metadata.name === undefined && wanted.startsWith(`${r.name}-`)));
            });
            if (map === undefined) throw new Error(`volume ${name}: the plan has no ConfigMap ${wanted} in ${this.pod.namespace}`);
            for (const [file, text] of Object.entries((map.inputs.data ?? {}) as Record<string, string>)) {
                writeFileSync(path.join(dir, file), text);
            }
        } else if (volume.emptyDir === undefined) {
            throw new Error(`volume ${name}: only emptyDir and configMap volumes are emulated`);
        }
        this.volumes.set(name, dir);
        return dir;
    }

    /** A container path on this machine: through the container's volume mounts, else the image's own files. */
    mapPath(container: IContainer, layout: ImageLayout | undefined, containerPath: string): string {
        const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
        for (const mount of mounts) {
            const base = mount.mountPath.replace(/\/+$/, "");
            if (containerPath === base || containerPath.startsWith(`${base}/`)) {
                return path.join(this.volumeDir(mount.name), containerPath.slice(base.length));
            }
        }
        const fromImage = layout === undefined ? undefined : repoPathOf(layout, containerPath);
        if (fromImage !== undefined) return path.join(REPO_ROOT, fromImage);
        throw new Error(
            `${this.where(container)}: ${containerPath} is neither on a volume nor a file the image copies in (${layout?.dockerfile ?? "no Dockerfile"}); ` +
                `the root filesystem is read-only`,
        );
    }

    private async envValue(container: IContainer, layout: ImageLayout | undefined, variable: IEnvVar): Promise<string> {
        if (variable.valueFrom !== undefined) {
            const field = variable.valueFrom.fieldRef?.fieldPath;
            // The downward API, answered as the kubelet would for this pod on its node.
            if (field === "spec.nodeName") return this.host.nodeName;
            if (field === "metadata.namespace") return this.pod.namespace;
            if (field === "metadata.name") return `${this.pod.name}-0`;
            if (field === "status.podIP") return "127.0.0.1";
            throw new Error(`${this.where(container)}: env ${variable.name} from ${JSON.stringify(variable.valueFrom)} is not emulated`);
        }
        const value = variable.value ?? "";
        if (value.startsWith("/")) return this.mapPath(container, layout, value);
        // A loopback URL of a port in this pod: the port stands in for it here.
        const url = /^([a-z]+:\/\/)(127\.0\.0\.1|localhost):(\d+)(.*)$/.exec(value);
        if (url !== null && this.declaresPort(Number(url[3]))) return `${url[1]}127.0.0.1:${await this.port(Number(url[3]))}${url[4]}`;
        if (variable.name.endsWith("_PORT") && (container.ports ?? []).some((p) => String(p.containerPort) === value)) {
            return String(await this.port(Number(value)));
        }
        return value;
    }

    private declaresPort(port: number): boolean {
        return allContainers(this.pod.spec).some((c) => (c.ports ?? []).some((p) => p.containerPort === port));
    }

    /** The child process a container amounts to: its declared command and args, its image's and its declared env. */
    async launchSpec(container: IContainer, layout: ImageLayout | undefined): Promise<LaunchSpec> {
        const argv = [...(container.command ?? []), ...(container.args ?? [])];
        if (container.command === undefined || argv.length === 0)
            throw new Error(`${this.where(container)}: no command declared (image entrypoint)`);
        const interpreters: Record<string, string> = { node: process.execPath, python3: "python3" };
        const file = interpreters[argv[0]];
        if (file === undefined) throw new Error(`${this.where(container)}: command ${argv[0]} is not one this test runs`);
        const args = argv.slice(1).map((a) => (a.startsWith("/") ? this.mapPath(container, layout, a) : a));
        const env: Record<string, string> = {
            // The interpreter comes from this machine (Node 24 that runs the tests; python3 with boto3).
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            // The images' user (uid 10001) has no home; this machine's ~/.aws must not be read either.
            HOME: path.join(this.host.root, "nonexistent-home"),
        };
        for (const [name, value] of Object.entries(layout?.env ?? {})) {
            env[name] = value.startsWith("/") ? this.mapPath(container, layout, value) : value;
        }
        for (const variable of container.env ?? []) env[variable.name] = await this.envValue(container, layout, variable);
        if (container.envFrom !== undefined) throw new Error(`${this.where(container)}: envFrom is not emulated`);
        const serviceAccount = this.pod.spec.serviceAccountName ?? "default";
        const associated = this.plan.resources.some(
            (r) =>
                r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" &&
                r.inputs.namespace === this.pod.namespace &&
                r.inputs.serviceAccount === serviceAccount,
        );
        if (associated) Object.assign(env, await this.host.podIdentity.envFor(this.pod.namespace, serviceAccount, this.host.root));
        Object.assign(env, this.host.extraEnv);
        const cwd = container.workingDir === undefined ? this.host.root : this.mapPath(container, layout, container.workingDir);
        return { file, args, env, cwd };
    }

    /** Starts a container of this pod: `extra` adds variables for this container only (named by the caller). */
    async start(container: IContainer, extra: Record<string, string> = {}): Promise<RunningContainer> {
        const dockerfile = dockerfileOf(this.plan, container.image ?? "");
        const layout = dockerfile === undefined ? undefined : imageLayout(REPO_ROOT, dockerfile);
        const spec = await this.launchSpec(container, layout);
        const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: { ...spec.env, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const exited = new Promise<number | string>((resolve, reject) => {
            child.once("error", reject);
            child.once("close", (code, signal) => resolve(code ?? signal ?? "unknown"));
        });
        return { child, output: () => output, exited };
    }

    /** Runs a container to its end (an init container or a Job's), failing with its output when it does not exit 0. */
    async runToCompletion(container: IContainer, timeoutMs: number, extra: Record<string, string> = {}): Promise<string> {
        const running = await this.start(container, extra);
        const timer = setTimeout(() => running.child.kill("SIGKILL"), timeoutMs);
        try {
            const code = await running.exited;
            if (code !== 0) throw new Error(`${this.where(container)} exited ${code}:\n${running.output()}`);
            return running.output();
        } finally {
            clearTimeout(timer);
        }
    }
}
