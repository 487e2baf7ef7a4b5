// Child process of mock-run.ts: runs infra/index.ts under pulumi.runtime.setMocks with realistic
// resource outputs, then writes every recorded resource and the stack outputs as JSON.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import type { RecordedResource } from "./mock-run";

const ACCOUNT = "123456789012";
const stack = process.env.MOCK_RUN_STACK ?? "test";
const resultFile = process.env.MOCK_RUN_RESULT;
const fullConfig = JSON.parse(process.env.PULUMI_CONFIG ?? "{}") as Record<string, string>;
const region = fullConfig["aws:region"] ?? "us-west-2";

type State = Record<string, unknown>;

function service(type: string): string {
    return /^aws:([a-z0-9]+)\//.exec(type)?.[1] ?? "unknown";
}

/** Outputs the real providers would compute, for the resources whose outputs the program reads. */
function computedState(type: string, name: string, inputs: State): State {
    const arn = `arn:aws:${service(type)}:${region}:${ACCOUNT}:${name}`;
    switch (type) {
        case "aws:sqs/queue:Queue":
            return { arn: `arn:aws:sqs:${region}:${ACCOUNT}:${name}`, url: `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${name}`, name };
        case "aws:s3/bucket:Bucket": {
            const bucket = `${name}-0123abcd`;
            return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` };
        }
        case "aws:iam/role:Role": {
            const roleName = (inputs.name as string | undefined) ?? `${name}-0123abcd`;
            return { name: roleName, arn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`, uniqueId: `AROA${name.length}` };
        }
        case "aws:kms/key:Key":
            return { arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${name}`, keyId: `${name}-key-id` };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return { arn, latestVersion: 1, defaultVersion: 1 };
        case "aws:eks/nodeGroup:NodeGroup":
            return {
                arn: `arn:aws:eks:${region}:${ACCOUNT}:nodegroup/${String(inputs.clusterName)}/${name}/0123`,
                resources: [{ autoscalingGroups: [{ name: `eks-${name}-asg` }], remoteAccessSecurityGroupId: "" }],
                status: "ACTIVE",
            };
        case "aws:ecr/repository:Repository":
            return {
                arn: `arn:aws:ecr:${region}:${ACCOUNT}:repository/${String(inputs.name)}`,
                registryId: ACCOUNT,
                repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${String(inputs.name)}`,
            };
        case "docker-build:index:Image": {
            // As the provider's Create: the digest exists only once the image is exported (push), and
            // `ref` is the first tag with that digest. The digest follows the (content-hash) tags.
            const tags = (inputs.tags as string[] | undefined) ?? [];
            if (inputs.push !== true) return { digest: "", ref: tags[0] ?? "" };
            const digest = `sha256:${createHash("sha256").update(JSON.stringify(tags)).digest("hex")}`;
            return { digest, ref: tags[0] === undefined ? "" : `${tags[0]}@${digest}` };
        }
        case "aws:lambda/function:Function":
            return { arn: `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`, invokeArn: `arn:aws:apigateway:${region}:lambda:path/${name}`, name };
        case "aws:cloudwatch/logGroup:LogGroup":
            return { arn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:${String(inputs.name ?? name)}`, name: inputs.name ?? name };
        case "aws:sns/topic:Topic":
            return { arn: `arn:aws:sns:${region}:${ACCOUNT}:${name}`, name };
        case "eks:index:Cluster": {
            const clusterName = String(inputs.name ?? name);
            const kubeconfig = {
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name: clusterName, cluster: { server: `https://${clusterName}.eks.example`, "certificate-authority-data": "Q0E=" } }],
                contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
                "current-context": "aws",
                users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName] } } }],
            };
            const eksCluster = {
                name: clusterName,
                arn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${clusterName}`,
                endpoint: `https://${clusterName}.eks.example`,
                version: inputs.version,
                certificateAuthority: { data: "Q0E=" },
                vpcConfig: { clusterSecurityGroupId: "sg-cluster0123", vpcId: inputs.vpcId },
                identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/0123` }] }],
            };
            return {
                kubeconfig,
                kubeconfigJson: JSON.stringify(kubeconfig),
                eksCluster,
                clusterSecurityGroupId: "sg-cluster0123",
                core: { cluster: eksCluster, endpoint: eksCluster.endpoint, vpcId: inputs.vpcId, subnetIds: inputs.privateSubnetIds, kubeconfig },
            };
        }
        default:
            if (type.startsWith("kubernetes:") && typeof inputs.metadata === "object" && inputs.metadata !== null) {
                const metadata = inputs.metadata as State;
                return { metadata: { ...metadata, name: metadata.name ?? `${name}-0123abcd` } };
            }
            return type.startsWith("aws:") ? { arn, name: inputs.name ?? name } : {};
    }
}

const resources: RecordedResource[] = [];
const unmockedCalls: string[] = [];
const parents = new Map<string, string>();
const ignoredChanges = new Map<string, string[]>();

const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
        const inputs = (args.inputs ?? {}) as State;
        const key = `${args.type}::${args.name}`;
        const parent = parents.get(key);
        const ignoreChanges = ignoredChanges.get(key);
        resources.push({ type: args.type, name: args.name, inputs, ...(parent ? { parent } : {}), ...(ignoreChanges ? { ignoreChanges } : {}) });
        return { id: args.type.startsWith("pulumi:providers:") ? `${args.name}-provider-id` : `${args.name}-id`, state: { ...inputs, ...computedState(args.type, args.name, inputs) } };
    },
    call(args) {
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: "AIDAMOCK", id: ACCOUNT };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
            case "aws:index/getRegion:getRegion":
                return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const names = ["a", "b", "c", "d"].map((s) => `${region}${s}`);
                return { names, zoneIds: names.map((_, i) => `zone-${i}`), id: region };
            }
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return { userName: "AWS", password: "mock-ecr-password", authorizationToken: "QVdTOm1vY2s=", proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${region}.amazonaws.com`, id: region };
            default:
                unmockedCalls.push(args.token);
                return {};
        }
    },
};

interface PatchableMonitor {
    registerResource(req: { getType(): string; getName(): string; getParent(): string; getIgnorechangesList(): string[] }, callback: unknown): unknown;
}

function write(result: object): void {
    if (resultFile === undefined) process.stdout.write(JSON.stringify(result));
    else fs.writeFileSync(resultFile, JSON.stringify(result));
}

const asyncErrors: string[] = [];
process.on("unhandledRejection", (reason) => asyncErrors.push(reason instanceof Error ? reason.message : String(reason)));
process.on("uncaughtException", (error) => asyncErrors.push(error.message));

function resolved<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

async function main(): Promise<void> {
    await pulumi.runtime.setMocks(mocks, "eks-inference", stack, false);
    // Record each resource's parent: the mock API does not pass it on, the monitor request has it.
    const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const key = `${req.getType()}::${req.getName()}`;
        if (req.getParent()) parents.set(key, req.getParent());
        if (req.getIgnorechangesList().length > 0) ignoredChanges.set(key, req.getIgnorechangesList());
        return register(req, callback);
    };

    let program: Record<string, unknown>;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after the mocks are set
        program = require("../index") as Record<string, unknown>;
    } catch (error) {
        write({ error: error instanceof Error ? error.message : String(error) });
        return;
    }
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, value] of Object.entries(program)) {
        const out = pulumi.output(value);
        outputs[name] = await resolved(out);
        if (await pulumi.isSecret(out)) secretOutputs.push(name);
    }
    await pulumi.runtime.disconnect();
    if (asyncErrors.length > 0) {
        write({ error: asyncErrors.join("\n") });
        return;
    }
    write({ stack, resources, outputs, secretOutputs, unmockedCalls });
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        write({ error: error instanceof Error ? error.stack ?? error.message : String(error) });
        process.exit(1);
    },
);
