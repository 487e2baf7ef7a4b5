// Runs the real program under Pulumi mocks once per checked-in stack file and once per accelerator
// profile, and checks the platform resources, their wiring, IAM and outputs.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ACCELERATOR_PROFILES, AcceleratorProfileName, PROFILES, Workload, nodeSelector, tolerations } from "../platform/accelerators";
import { INTERFACE_ENDPOINT_SERVICES } from "../platform/network";
import { EKS_UNSUPPORTED_ZONE_IDS } from "../platform/zones";
import { BERT_MODEL_BUILDER_IDENTITY, BERT_SERVING_IDENTITY, VIDEO_WORKER_IDENTITY } from "../platform/identities";
import { BERT_TRITON_IMAGE, CACHE_TAG, SERVING_IMAGE, contentTag, readContext, stagingDir } from "../platform/images";
import { compiledModelPrefix, DEFAULT_BERT_MODEL_ID, neuronNodeRelease } from "../bert/settings";
import { driverRuntimeProblems } from "../bert/neuron-releases";
import { DEFAULT_KUBERNETES_VERSION } from "../config/kubernetes-versions";
import { MockRunResult, RecordedResource, runStackUnderMocks } from "../mock-run/mock-run";
import { CONFIG_KEYS } from "../config/config";
import { PREPULL_DAEMONSET_NAME } from "../video/daemonset";
import * as policy from "../../scaler/src/policy";
import { DECLARED } from "../../scaler/sim/startup";
import { isKubernetesObjectType, validateKubernetesObject } from "./support/k8s-schema";
import { videoScratchGiB } from "../video/scratch";

const ROOT = path.resolve(__dirname, "..", "..");
const ACCOUNT = "123456789012";
const CLUSTER_SG = "sg-cluster0123";
/** How the Pulumi SDK marks a secret value in resource inputs (pulumi/runtime/rpc.ts specialSigKey). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

type Inputs = Record<string, unknown>;

function ofType(run: MockRunResult, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}
/** A node group pinned to an AMI release carries it in its name (nodeGroupResourceName): `<name>-ami-v<date>`. */
const PINNED_SUFFIX = /-ami-v\d{8}$/;
function one(run: MockRunResult, type: string, name?: string): RecordedResource {
    const matches = (r: RecordedResource): boolean =>
        r.name === name || (type === "aws:eks/nodeGroup:NodeGroup" && r.name.replace(PINNED_SUFFIX, "") === name);
    const found = ofType(run, type).filter((r) => name === undefined || matches(r));
    assert.strictEqual(
        found.length,
        1,
        `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.map((r) => r.name).join(", ")}`,
    );
    return found[0] as RecordedResource;
}
/** The name AWS will show for a recorded resource (explicit name, else the provider's auto-name). */
function awsName(r: RecordedResource): string {
    assert.ok(r.physicalName, `${r.type} ${r.name} has an AWS name`);
    return r.physicalName;
}
/** EKS names a node group's Auto Scaling group eks-<node group name>-<uuid>. */
function asgNameOf(run: MockRunResult, group: string): string {
    return `eks-${awsName(one(run, "aws:eks/nodeGroup:NodeGroup", group))}-0123abcd-4567-89ab-cdef-0123456789ab`;
}
function json(value: unknown): Inputs {
    assert.strictEqual(typeof value, "string", "expected a JSON document");
    return JSON.parse(value as string) as Inputs;
}
interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Principal?: unknown;
    Condition?: Record<string, Record<string, unknown>>;
}
function statements(doc: Inputs): Statement[] {
    return doc.Statement as Statement[];
}
function list(v: string | string[]): string[] {
    return Array.isArray(v) ? v : [v];
}

/** Does a Kubernetes toleration list tolerate this taint (key, value, effect)? */
function tolerated(taint: { key: string; value: string; effect: string }, tols: ReturnType<typeof tolerations>): boolean {
    const effect = taint.effect === "NO_SCHEDULE" ? "NoSchedule" : taint.effect;
    return tols.some((t) => t.key === taint.key && t.effect === effect && (t.operator === "Exists" || t.value === taint.value));
}

function stackFiles(): { stack: string; config: Record<string, unknown> }[] {
    return fs
        .readdirSync(ROOT)
        .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
        .map((f) => ({
            stack: f.slice(7, -5),
            config: (YAML.parse(fs.readFileSync(path.join(ROOT, f), "utf8")) as { config: Record<string, unknown> }).config,
        }));
}

/**
 * BERT per run: inf2 and cpu on Triton with the stack compiling the model; inf1 on legacy TF Serving
 * (the only server Inf1 has); the nvidia run (BERT has no NVIDIA image) serves a user's own CPU model.
 */
const BERT_OVERRIDES: Readonly<Record<AcceleratorProfileName, Record<string, string>>> = {
    inf2: { bertAccelerator: "inf2" },
    inf1: { bertServer: "tf-serving", bertAccelerator: "inf1", bertModelUri: "s3://models-bucket/bert/neuron/" },
    nvidia: { bertAccelerator: "cpu", bertModelUri: "s3://models-bucket/bert/cpu-v3/", bertBatchSizes: "1,2", bertSequenceLength: "64" },
    cpu: { bertAccelerator: "cpu" },
};

const PROFILE_OVERRIDES = (profile: AcceleratorProfileName): Record<string, string> => ({
    videoAccelerator: profile,
    bertEnabled: "true",
    ...BERT_OVERRIDES[profile],
    videoModelUri: "s3://models-bucket/ssd/",
    ...(profile === "nvidia" ? { nvidiaTimeSlicingReplicas: "4" } : {}),
    // Image tags with a label in front of the content hash (the checked-in stacks use none).
    imageTag: `r1.${profile}`,
    // A non-default version, so "node groups follow the cluster version" cannot pass by both defaulting.
    // ... and the one run without interface endpoints (nodes reach AWS APIs through the NAT gateway).
    // (On the nvidia run: the inf2 runs' pinned node AMIs (legacy TF Serving) exist only up to Kubernetes 1.35.)
    ...(profile === "nvidia" ? { kubernetesVersion: "1.36", interfaceEndpoints: "false" } : {}),
    ...(profile === "cpu"
        ? {
              // One run samples, so the pass-through of a non-default rate is covered too.
              videoSampleFps: "2.5",
              clusterAdminPrincipalArns: '["arn:aws:iam::111122223333:role/platform-admins"]',
          }
        : {}),
});

/** What a run's BERT config means: server, accelerator, whether the stack builds the model, its location. */
function bertShape(cfg: (key: string) => string | undefined, run: MockRunResult) {
    const baseName = `eks-inference-${run.stack}`;
    const modelsBucket = run.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === `${baseName}-models`);
    const server = cfg("bertServer") ?? "triton";
    const accelerator = (cfg("bertAccelerator") ?? "inf2") as AcceleratorProfileName;
    const target = accelerator === "cpu" ? ("cpu" as const) : ("neuronx" as const);
    const own = cfg("bertModelUri");
    const builds = server === "triton" && own === undefined;
    const [, , ownBucket, ...rest] = (own ?? "").split("/");
    const location =
        own !== undefined
            ? { bucket: ownBucket as string, prefix: rest.join("/") }
            : {
                  bucket: modelsBucket === undefined ? "(no models bucket)" : awsName(modelsBucket),
                  prefix: compiledModelPrefix({
                      modelId: cfg("bertModelId") ?? DEFAULT_BERT_MODEL_ID,
                      sequenceLength: Number(cfg("bertSequenceLength") ?? 128),
                      batchSizes: (cfg("bertBatchSizes") ?? "1,4,8").split(",").map(Number),
                      target,
                  }),
              };
    const images = server === "triton" ? [BERT_TRITON_IMAGE[target]] : ["worker", SERVING_IMAGE[accelerator]];
    return { server, accelerator, target, builds, location, images };
}

/** The video worker container's plain env values by name. */
function workerEnv(podSpec: Inputs): Record<string, string | undefined> {
    const worker = (podSpec.containers as { name: string; env?: { name: string; value?: string }[] }[]).find((c) => c.name === "worker");
    assert.ok(worker, "video pods run a worker container");
    return Object.fromEntries((worker.env ?? []).map((e) => [e.name, e.value]));
}

/** Checks every run shares: the platform invariants, whatever the config. */
function checkPlatform(run: MockRunResult, cfg: (key: string) => string | undefined): void {
    const baseName = `eks-inference-${run.stack}`;
    const azCount = Number(cfg("azCount") ?? 2);
    const videoOn = (cfg("videoEnabled") ?? "true") === "true";
    const bertOn = (cfg("bertEnabled") ?? "false") === "true";
    const region = cfg("aws:region") as string;

    // Tags on everything via the provider.
    const provider = one(run, "pulumi:providers:aws");
    assert.strictEqual(provider.inputs.region, region);
    assert.deepStrictEqual(json(provider.inputs.defaultTags).tags, { project: "eks-inference", stack: run.stack, "managed-by": "pulumi" });
    assert.deepStrictEqual(run.unmockedCalls, []);

    // Network.
    assert.strictEqual(one(run, "aws:ec2/vpc:Vpc").inputs.cidrBlock, cfg("vpcCidr") ?? "10.0.0.0/16");
    const subnets = ofType(run, "aws:ec2/subnet:Subnet");
    const privateSubnets = subnets.filter((s) => s.name.includes("-private-"));
    assert.strictEqual(privateSubnets.length, azCount);
    assert.strictEqual(subnets.length, 2 * azCount);
    assert.strictEqual(new Set(subnets.map((s) => s.inputs.cidrBlock)).size, subnets.length, "subnet CIDRs overlap");
    const subnetZones = privateSubnets.map((s) => s.inputs.availabilityZoneId as string);
    assert.strictEqual(new Set(subnetZones).size, azCount, "private subnets span the AZs");
    for (const s of subnets) {
        assert.strictEqual(s.inputs.availabilityZone, undefined, `${s.name}: placed by zone ID, not by an account-specific zone name`);
        assert.ok(!EKS_UNSUPPORTED_ZONE_IDS.includes(s.inputs.availabilityZoneId as string), `${s.name} is in a zone EKS refuses`);
        assert.deepStrictEqual(s.ignoreChanges, ["availabilityZoneId", "availabilityZone"], `${s.name} keeps its zone`);
    }
    const privateIds = privateSubnets.map((s) => `${s.name}-id`);
    assert.strictEqual(ofType(run, "aws:ec2/natGateway:NatGateway").length, cfg("natGateways") === "onePerAz" ? azCount : 1);
    const endpoints = ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint");
    const s3 = endpoints.find((e) => e.inputs.serviceName === `com.amazonaws.${region}.s3`);
    assert.ok(s3 && s3.inputs.vpcEndpointType === "Gateway", "S3 gateway endpoint");
    assert.strictEqual((s3.inputs.routeTableIds as string[]).length, azCount);
    if ((cfg("interfaceEndpoints") ?? "true") === "false") {
        assert.deepStrictEqual(
            endpoints.filter((e) => e.inputs.vpcEndpointType !== "Gateway"),
            [],
            "interfaceEndpoints false: no interface endpoints",
        );
        assert.deepStrictEqual(ofType(run, "aws:ec2/securityGroup:SecurityGroup"), [], "no endpoint security group without endpoints");
        assert.deepStrictEqual(
            ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
            [],
            "no ingress rule without endpoints",
        );
    } else {
        const endpointSg = one(run, "aws:ec2/securityGroup:SecurityGroup");
        assert.ok(!endpointSg.inputs.ingress || (endpointSg.inputs.ingress as unknown[]).length === 0, "endpoint SG has no inline ingress");
        for (const service of INTERFACE_ENDPOINT_SERVICES) {
            const e = endpoints.find((x) => x.inputs.serviceName === `com.amazonaws.${region}.${service}`);
            assert.ok(e, `interface endpoint ${service}`);
            assert.strictEqual(e.inputs.vpcEndpointType, "Interface");
            assert.strictEqual(e.inputs.privateDnsEnabled, true);
            assert.deepStrictEqual(e.inputs.subnetIds, privateIds);
            assert.deepStrictEqual(e.inputs.securityGroupIds, [`${endpointSg.name}-id`]);
        }
        assert.strictEqual(
            endpoints.length,
            INTERFACE_ENDPOINT_SERVICES.length + 1,
            "the S3 gateway and the interface endpoints, nothing else",
        );
        const ingress = one(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.deepStrictEqual(
            {
                sg: ingress.inputs.securityGroupId,
                from: ingress.inputs.referencedSecurityGroupId,
                proto: ingress.inputs.ipProtocol,
                ports: [ingress.inputs.fromPort, ingress.inputs.toPort],
                cidr: ingress.inputs.cidrIpv4,
            },
            { sg: `${endpointSg.name}-id`, from: CLUSTER_SG, proto: "tcp", ports: [443, 443], cidr: undefined },
        );
    }

    // Cluster.
    const cluster = one(run, "eks:index:Cluster").inputs;
    const kms = one(run, "aws:kms/key:Key", `${baseName}-secrets`);
    assert.strictEqual(kms.inputs.enableKeyRotation, true);
    assert.strictEqual(cluster.name, baseName);
    assert.strictEqual(cluster.authenticationMode, "API");
    assert.strictEqual(cluster.encryptionConfigKeyArn, `arn:aws:kms:${region}:${ACCOUNT}:key/${kms.name}`);
    assert.deepStrictEqual(cluster.enabledClusterLogTypes, JSON.parse(cfg("clusterLogTypes") ?? '["api","audit","authenticator"]'));
    assert.strictEqual(cluster.endpointPrivateAccess, true);
    assert.strictEqual(cluster.endpointPublicAccess, true);
    assert.deepStrictEqual(cluster.publicAccessCidrs, JSON.parse(cfg("publicAccessCidrs") ?? '["0.0.0.0/0"]'));
    assert.strictEqual(cluster.skipDefaultNodeGroup, true);
    assert.strictEqual(cluster.createOidcProvider, false);
    assert.strictEqual((cluster.corednsAddonOptions as Inputs).enabled, false);
    assert.deepStrictEqual(cluster.privateSubnetIds, privateIds);
    assert.strictEqual(cluster.version, cfg("kubernetesVersion") ?? "1.35");
    assert.deepStrictEqual(
        cluster.upgradePolicy,
        { supportType: cfg("upgradeSupportType") ?? "STANDARD" },
        "no paid extended support by default",
    );
    const admins = JSON.parse(cfg("clusterAdminPrincipalArns") ?? "[]") as string[];
    const entries = Object.values(
        (cluster.accessEntries ?? {}) as Record<
            string,
            { principalArn: string; accessPolicies: Record<string, { policyArn: string; accessScope: unknown }> }
        >,
    );
    assert.deepStrictEqual(
        entries.map((e) => e.principalArn),
        admins,
    );
    for (const e of entries) {
        assert.deepStrictEqual(Object.values(e.accessPolicies), [
            { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } },
        ]);
    }
    const logGroup = ofType(run, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.inputs.name === `/aws/eks/${baseName}/cluster`);
    assert.ok(logGroup, "control-plane log group");
    assert.strictEqual(logGroup.inputs.retentionInDays, Number(cfg("logRetentionDays") ?? 30));
    const addons = ofType(run, "aws:eks/addon:Addon")
        .map((a) => a.inputs.addonName)
        .sort();
    assert.deepStrictEqual(addons, ["coredns", "eks-pod-identity-agent", "vpc-cni"]);

    // The VPC CNI has its own Pod Identity role; the node role does not carry the CNI's ENI permissions.
    assert.strictEqual(cluster.useDefaultVpcCni, true, "the component does not declare a vpc-cni add-on of its own");
    const vpcCni = one(run, "aws:eks/addon:Addon", `${baseName}-vpc-cni`);
    const cniRole = one(run, "aws:iam/role:Role", `${baseName}-vpc-cni`);
    assert.deepStrictEqual(vpcCni.inputs.podIdentityAssociations, [
        { serviceAccount: "aws-node", roleArn: `arn:aws:iam::${ACCOUNT}:role/${awsName(cniRole)}` },
    ]);
    // NetworkPolicy enforcement is on: without it the stack's NetworkPolicies would be accepted and do nothing.
    assert.deepStrictEqual(json(vpcCni.inputs.configurationValues), { enableNetworkPolicy: "true" });
    assert.deepStrictEqual(statements(json(cniRole.inputs.assumeRolePolicy)), [
        { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
    ]);
    assert.deepStrictEqual(
        one(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", `${baseName}-vpc-cni`).inputs.policyArn,
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    );
    assert.deepStrictEqual(
        vpcCni.aliases,
        [
            `urn:pulumi:${run.stack}::eks-inference::eks-inference:platform:Cluster$eks:index:Cluster$eks:index:VpcCniAddon$aws:eks/addon:Addon::${baseName}-vpc-cni`,
        ],
        "takes over the add-on @pulumi/eks declared before (a second CreateAddon would fail)",
    );
    const agentUrn = `urn:pulumi:${run.stack}::eks-inference::eks-inference:platform:Addons$aws:eks/addon:Addon::${baseName}-eks-pod-identity-agent`;
    assert.ok(vpcCni.dependsOn?.includes(agentUrn), "the CNI's credentials come through the Pod Identity agent");

    // Node role: exactly the node policies, no AmazonEKS_CNI_Policy (pods reaching IMDS could use it).
    const attachments = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) =>
        a.name.startsWith(`${baseName}-node-`),
    );
    assert.deepStrictEqual(attachments.map((a) => String(a.inputs.policyArn).replace("arn:aws:iam::aws:policy/", "")).sort(), [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]);

    // Node groups: general + one per enabled workload, each with its own launch template.
    const groups = ofType(run, "aws:eks/nodeGroup:NodeGroup");
    assert.deepStrictEqual(
        groups.map((g) => g.name.replace(PINNED_SUFFIX, "")).sort(),
        [`${baseName}-general`, ...(bertOn ? [`${baseName}-bert`] : []), ...(videoOn ? [`${baseName}-video`] : [])].sort(),
    );
    for (const group of groups) {
        const ltName = group.name.replace(PINNED_SUFFIX, "");
        const lt = one(run, "aws:ec2/launchTemplate:LaunchTemplate", ltName).inputs;
        assert.deepStrictEqual(group.inputs.launchTemplate, { id: `${ltName}-id`, version: "1" });
        const meta = lt.metadataOptions as Inputs;
        assert.strictEqual(meta.httpTokens, "required", `${group.name} IMDSv2`);
        // Hop limit 1 on every group, video included: no pod reaches the node role's credentials.
        assert.strictEqual(meta.httpPutResponseHopLimit, 1, `${group.name} hop limit`);
        assert.strictEqual(lt.imageId, undefined, "the amiType picks the AMI");
        assert.strictEqual(lt.vpcSecurityGroupIds, undefined, "nodes keep the cluster security group");
        const ebs = (lt.blockDeviceMappings as { ebs: Inputs }[])[0]?.ebs as Inputs;
        assert.deepStrictEqual([ebs.encrypted, ebs.volumeType], ["true", "gp3"]);
        assert.deepStrictEqual(group.inputs.subnetIds, privateIds);
        assert.strictEqual(group.inputs.clusterName, baseName);
        assert.strictEqual(group.inputs.version, cluster.version, `${group.name} runs the cluster's Kubernetes version`);
        // desiredSize is not ignored (Pulumi would then send the creation-time value): the live one is sent,
        // and on a fresh account (these runs) that is the configured initial size.
        assert.strictEqual(group.ignoreChanges, undefined, `${group.name}: no ignoreChanges`);
        const vpcCniUrn = `urn:pulumi:${run.stack}::eks-inference::eks-inference:platform:Addons$aws:eks/addon:Addon::${baseName}-vpc-cni`;
        assert.ok(
            group.dependsOn?.includes(vpcCniUrn) && group.dependsOn.includes(agentUrn),
            `${group.name} waits for the CNI and the Pod Identity agent`,
        );
    }
    const general = one(run, "aws:eks/nodeGroup:NodeGroup", `${baseName}-general`).inputs;
    assert.strictEqual(general.amiType, "AL2023_x86_64_STANDARD");
    assert.deepStrictEqual(general.instanceTypes, [cfg("generalInstanceType") ?? "m7i.large"]);
    assert.deepStrictEqual(general.taints ?? [], [], "no taints on the general group");

    for (const workload of ["video", "bert"] as Workload[]) {
        const on = workload === "video" ? videoOn : bertOn;
        if (!on) continue;
        const profile = (cfg(`${workload}Accelerator`) ?? (workload === "video" ? "nvidia" : "inf2")) as AcceleratorProfileName;
        const group = one(run, "aws:eks/nodeGroup:NodeGroup", `${baseName}-${workload}`).inputs;
        assert.strictEqual(group.amiType, PROFILES[profile].amiType);
        const capacity = cfg(`${workload}CapacityType`) ?? "ON_DEMAND";
        const listed = JSON.parse(cfg(`${workload}InstanceTypes`) ?? "[]") as string[];
        assert.deepStrictEqual(
            group.instanceTypes,
            listed.length > 0
                ? listed
                : capacity === "SPOT"
                  ? PROFILES[profile].spotInstanceTypes
                  : [PROFILES[profile].defaultInstanceType],
        );
        if (capacity === "SPOT")
            assert.ok((group.instanceTypes as string[]).length >= 2, `${workload}: a Spot group spans two or more pools`);
        // Every inf2 group pins the AMI release that ships its runtime's Neuron driver (infra/bert/neuron-releases.ts):
        // Triton to the Triton release's, TF Serving Neuronx (legacy BERT, video) to the final TF build's. Inf1 groups
        // take the newest AMI (it installs the Inf1 driver at boot); so do NVIDIA and CPU groups.
        const runtime = workload === "bert" ? (bertShape(cfg, run).server as "triton" | "tf-serving") : "tf-serving";
        const pinned = neuronNodeRelease(runtime, profile);
        assert.strictEqual(
            group.releaseVersion,
            pinned?.ami.releaseVersions[cfg("kubernetesVersion") ?? DEFAULT_KUBERNETES_VERSION],
            `${workload} releaseVersion`,
        );
        if (pinned !== undefined) {
            assert.deepStrictEqual(driverRuntimeProblems(pinned.ami.driver, pinned.components.runtimeLib), [], `${workload}`);
            assert.strictEqual(pinned.ami.driver, pinned.components.driver, `${workload}: the driver its runtime was released with`);
        }
        assert.strictEqual(group.capacityType, cfg(`${workload}CapacityType`) ?? "ON_DEMAND");
        const sizing = group.scalingConfig as Inputs;
        for (const k of ["minSize", "desiredSize", "maxSize"]) {
            const key = `${workload}${k[0]?.toUpperCase()}${k.slice(1)}`;
            if (cfg(key) !== undefined) assert.strictEqual(sizing[k], Number(cfg(key)), key);
        }
        // Labels, taints, selectors and tolerations agree.
        const labels = group.labels as Record<string, string>;
        for (const [k, v] of Object.entries(nodeSelector(workload, profile))) assert.strictEqual(labels[k], v, `${workload} label ${k}`);
        const taints = group.taints as { key: string; value: string; effect: string }[];
        assert.ok(
            taints.some((t) => t.key === "eks-inference/workload" && t.value === workload && t.effect === "NO_SCHEDULE"),
            "workload taint",
        );
        for (const taint of taints) assert.ok(tolerated(taint, tolerations(workload, profile)), `${workload} pods tolerate ${taint.key}`);
        const resource = PROFILES[profile].resourceName;
        assert.strictEqual(
            taints.some((t) => t.key === resource),
            resource !== undefined,
        );
        // The other workload's pods are kept off this group.
        const other: Workload = workload === "video" ? "bert" : "video";
        assert.ok(
            taints.some((t) => !tolerated(t, tolerations(other, profile))),
            `${other} pods stay off the ${workload} group`,
        );
    }

    // Pod Identity: trust, associations, least privilege.
    const roles = ofType(run, "aws:iam/role:Role").filter((r) => /-(video-worker|bert-serving|bert-model-builder)$/.test(r.name));
    for (const role of roles) {
        assert.deepStrictEqual(statements(json(role.inputs.assumeRolePolicy)), [
            { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
        ]);
    }
    const associations = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
    const bertBuilds = bertOn && bertShape(cfg, run).builds;
    const expectedIdentities = [
        ...(videoOn ? [VIDEO_WORKER_IDENTITY] : []),
        ...(bertOn ? [BERT_SERVING_IDENTITY] : []),
        ...(bertBuilds ? [BERT_MODEL_BUILDER_IDENTITY] : []),
    ];
    assert.deepStrictEqual(
        associations.map((a) => ({ namespace: a.inputs.namespace, serviceAccount: a.inputs.serviceAccount })),
        expectedIdentities,
    );
    for (const a of associations) {
        assert.strictEqual(a.inputs.clusterName, baseName);
        const role = one(run, "aws:iam/role:Role", a.name);
        assert.strictEqual(a.inputs.roleArn, `arn:aws:iam::${ACCOUNT}:role/${awsName(role)}`);
    }
    // No IAM user or access key is ever created.
    assert.strictEqual(ofType(run, "aws:iam/user:User").length + ofType(run, "aws:iam/accessKey:AccessKey").length, 0);

    // Images: only those the enabled profiles need, each in its own hardened repository.
    const needed = new Set<string>();
    if (videoOn) needed.add("worker").add(SERVING_IMAGE[(cfg("videoAccelerator") ?? "nvidia") as AcceleratorProfileName]);
    if (bertOn) for (const image of bertShape(cfg, run).images) needed.add(image);
    const repos = ofType(run, "aws:ecr/repository:Repository");
    assert.deepStrictEqual(repos.map((r) => r.inputs.name).sort(), [...needed].map((n) => `eks-inference/${run.stack}/${n}`).sort());
    for (const repo of repos) {
        // Content tags are immutable; only the BuildKit cache tag may be rewritten.
        assert.strictEqual(repo.inputs.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
        assert.deepStrictEqual(repo.inputs.imageTagMutabilityExclusionFilters, [{ filter: CACHE_TAG, filterType: "WILDCARD" }]);
        assert.deepStrictEqual(repo.inputs.imageScanningConfiguration, { scanOnPush: true });
        assert.ok((repo.inputs.encryptionConfigurations as unknown[]).length === 1);
        const lifecycle = one(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy", repo.name);
        const rules = json(lifecycle.inputs.policy).rules as { selection: Inputs }[];
        assert.ok(
            rules.some(
                (r) => r.selection.countType === "imageCountMoreThan" && r.selection.countNumber === Number(cfg("ecrKeepImages") ?? 10),
            ),
        );
    }
    assert.strictEqual(ofType(run, "docker:index/image:Image").length, 0, "docker.Image (v4) is gone");
    const builds = ofType(run, "docker-build:index:Image");
    assert.deepStrictEqual(builds.map((b) => b.name.replace(`${baseName}-`, "")).sort(), [...needed].sort());
    for (const image of builds) {
        const imageDir = image.name.replace(`${baseName}-`, "");
        const repoUrl = `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/eks-inference/${run.stack}/${imageDir}`;
        assert.deepStrictEqual(image.inputs.platforms, ["linux/amd64"]);
        // The staged copy of the image's context (the allowlisted files with git's modes), narrowed again by
        // the Dockerfile's own .dockerignore (see images.test.ts): a relative path, the same on every machine.
        const staged = path.relative(process.cwd(), stagingDir(readContext(imageDir)));
        assert.match(staged, new RegExp(`^node_modules/\\.cache/eks-inference/image-contexts/${imageDir}-[0-9a-f]{16}$`));
        assert.deepStrictEqual(image.inputs.context, { location: staged });
        assert.deepStrictEqual(image.inputs.dockerfile, { location: `${staged}/images/${imageDir}/Dockerfile` });
        const label = cfg("imageTag");
        assert.deepStrictEqual(image.inputs.tags, [`${repoUrl}:${label ? `${label}-` : ""}${contentTag(imageDir)}`]);
        assert.strictEqual(image.inputs.push, true);
        assert.strictEqual(image.inputs.buildOnPreview, false, "previews build nothing");
        const cacheRef = `${repoUrl}:${CACHE_TAG}`;
        assert.deepStrictEqual(image.inputs.cacheFrom, [{ registry: { ref: cacheRef } }]);
        assert.deepStrictEqual(image.inputs.cacheTo, [
            { registry: { ref: cacheRef, mode: "max", imageManifest: true, ociMediaTypes: true, ignoreError: true } },
        ]);
        // The ECR token makes the registry list a secret: the recorded input is wrapped.
        const wrapped = image.inputs.registries as Inputs;
        assert.strictEqual(wrapped[SECRET_SIG], SECRET_VALUE, "registry credentials are a secret");
        const registries = wrapped.value as Inputs[];
        assert.strictEqual(registries.length, 1);
        assert.strictEqual(registries[0]?.address, repoUrl);
        assert.strictEqual(registries[0]?.username, "AWS", "ECR's token user");
        // Pods pull by digest, the one the push produced.
        assert.match(
            String((run.outputs.imageRefs as Record<string, string>)[imageDir]),
            new RegExp(`^${repoUrl.replace(/\./g, "\\.")}@sha256:[0-9a-f]{64}$`),
        );
    }
    assert.deepStrictEqual(Object.keys(run.outputs.imageRefs as Inputs).sort(), [...needed].sort());

    // Kubernetes: every object validates; pods land on (and only tolerate) their own node group.
    const k8sObjects = run.resources.filter((r) => isKubernetesObjectType(r.type));
    for (const object of k8sObjects) validateKubernetesObject(object.type, object.inputs);
    const podSpecOf = (type: string): Inputs | undefined => {
        // The video pods, not the model-server pre-pull DaemonSet beside them.
        const found = ofType(run, type).find(
            (r) => type !== "kubernetes:apps/v1:DaemonSet" || (r.inputs.metadata as Inputs).name === "video-inference",
        );
        return found ? (((found.inputs.spec as Inputs).template as Inputs).spec as Inputs) : undefined;
    };
    const workloadKinds: [Workload, boolean, string][] = [
        ["video", videoOn, "kubernetes:apps/v1:DaemonSet"],
        ["bert", bertOn, "kubernetes:apps/v1:Deployment"],
    ];
    for (const [workload, on, kind] of workloadKinds) {
        const spec = podSpecOf(kind);
        if (!on) {
            assert.strictEqual(spec, undefined, `no ${kind} when ${workload} is off`);
            continue;
        }
        assert.ok(spec, `${workload} ${kind}`);
        const group = one(run, "aws:eks/nodeGroup:NodeGroup", `${baseName}-${workload}`).inputs;
        const labels = group.labels as Record<string, string>;
        for (const [k, v] of Object.entries(spec.nodeSelector as Record<string, string>))
            assert.strictEqual(labels[k], v, `${workload} pods select node label ${k}=${v}`);
        const podTolerations = spec.tolerations as ReturnType<typeof tolerations>;
        for (const taint of group.taints as { key: string; value: string; effect: string }[])
            assert.ok(tolerated(taint, podTolerations), `${workload} pods tolerate ${taint.key}`);
        const identity = workload === "video" ? VIDEO_WORKER_IDENTITY : BERT_SERVING_IDENTITY;
        assert.strictEqual(spec.serviceAccountName, identity.serviceAccount);
        if (workload === "bert") {
            const accelerator = (cfg("bertAccelerator") ?? "inf2") as AcceleratorProfileName;
            const server = (spec.containers as Inputs[])[0] as Inputs;
            const requests = ((server.resources as Inputs).requests ?? {}) as Record<string, string>;
            assert.strictEqual(requests["aws.amazon.com/neuron"], accelerator === "cpu" ? undefined : "1", "BERT Neuron request");
            assert.strictEqual(server.name, bertShape(cfg, run).server === "triton" ? "triton" : "tf-serving");
        }
        const sa = ofType(run, "kubernetes:core/v1:ServiceAccount")
            .map((r) => r.inputs.metadata as Inputs)
            .find((m) => m.name === identity.serviceAccount);
        assert.strictEqual(sa?.namespace, identity.namespace, `${identity.serviceAccount} lives in ${identity.namespace}`);
        const images = [...((spec.initContainers ?? []) as Inputs[]), ...(spec.containers as Inputs[])].map((c) => c.image);
        const refs = run.outputs.imageRefs as Record<string, string>;
        for (const image of images)
            assert.ok(Object.values(refs).includes(image as string), `${workload} runs a built image (${String(image)})`);
        if (workload === "video") {
            // videoSampleFps "0" (the default) means every frame: the worker then needs SAMPLE_FPS unset.
            const sampleFps = Number(cfg("videoSampleFps") ?? "0");
            assert.deepStrictEqual(workerEnv(spec).SAMPLE_FPS, sampleFps === 0 ? undefined : String(sampleFps), "worker SAMPLE_FPS");
        }
    }
    const releases = ofType(run, "kubernetes:helm.sh/v3:Release")
        .map((r) => r.inputs.name)
        .sort();
    const profilesOn = [
        ...(videoOn ? [cfg("videoAccelerator") ?? "nvidia"] : []),
        ...(bertOn ? [cfg("bertAccelerator") ?? "inf2"] : []),
    ] as AcceleratorProfileName[];
    // The compile Job runs exactly when the stack builds the model: on the BERT nodes on inf2, else on the general nodes.
    const jobs = ofType(run, "kubernetes:batch/v1:Job");
    assert.strictEqual(jobs.length, bertBuilds ? 1 : 0, "one compile Job when the stack builds the BERT model");
    for (const job of jobs) {
        const spec = ((job.inputs.spec as Inputs).template as Inputs).spec as Inputs;
        const bertAccelerator = (cfg("bertAccelerator") ?? "inf2") as AcceleratorProfileName;
        assert.deepStrictEqual(
            spec.nodeSelector,
            bertAccelerator === "inf2" ? nodeSelector("bert", "inf2") : { "eks-inference/node-role": "general" },
        );
        assert.strictEqual(spec.serviceAccountName, BERT_MODEL_BUILDER_IDENTITY.serviceAccount);
        const image = (spec.containers as Inputs[])[0]?.image;
        assert.strictEqual(
            image,
            (run.outputs.imageRefs as Record<string, string>)[bertShape(cfg, run).images[0] as string],
            "the Job runs the Triton image",
        );
    }
    assert.strictEqual(run.outputs.bertModelBuildJob === undefined, !bertBuilds);
    const modelsBucket = ofType(run, "aws:s3/bucket:Bucket").filter((b) => b.name === `${baseName}-models`);
    assert.strictEqual(modelsBucket.length, bertOn ? 1 : 0, "a models bucket exactly when BERT is on");
    assert.strictEqual(run.outputs.modelsBucketName, modelsBucket[0] === undefined ? undefined : awsName(modelsBucket[0]));
    const plugins = new Set(profilesOn.map((p) => PROFILES[p].devicePlugin).filter((p) => p !== "none"));
    assert.deepStrictEqual(releases, [...plugins].map((p) => `${p}-device-plugin`).sort());

    // Outputs.
    assert.ok(run.secretOutputs.includes("kubeconfig"), "kubeconfig is secret");
    assert.strictEqual(run.outputs.clusterName, baseName);
    assert.strictEqual(JSON.parse(String(run.outputs.kubeconfig)).kind, "Config");
    assert.strictEqual(run.outputs.videoAsgName, videoOn ? asgNameOf(run, `${baseName}-video`) : undefined);
    assert.strictEqual(run.outputs.bertAsgName, bertOn ? asgNameOf(run, `${baseName}-bert`) : undefined);
}

function checkVideoPlumbing(run: MockRunResult, cfg: (key: string) => string | undefined): void {
    const baseName = `eks-inference-${run.stack}`;
    const region = cfg("aws:region") as string;
    const inputPrefix = cfg("inputPrefix") ?? "input/";
    const resultsPrefix = cfg("resultsPrefix") ?? "results/";
    const bucket = one(run, "aws:s3/bucket:Bucket", `${baseName}-video`);
    const bucketName = awsName(bucket);
    const bucketArn = `arn:aws:s3:::${bucketName}`;
    const bucketId = `${bucket.name}-id`;
    assert.deepStrictEqual(one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${baseName}-video`).inputs, {
        bucket: bucketId,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
    });
    assert.deepStrictEqual(one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", `${baseName}-video`).inputs.rule, {
        objectOwnership: "BucketOwnerEnforced",
    });
    assert.deepStrictEqual(
        one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${baseName}-video`).inputs
            .rules,
        [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    );
    const tls = statements(json(one(run, "aws:s3/bucketPolicy:BucketPolicy", `${baseName}-video`).inputs.policy));
    assert.deepStrictEqual(tls, [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ]);
    const lifecycle = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${baseName}-video`).inputs
        .rules as Inputs[];
    assert.ok(lifecycle.some((r) => (r.abortIncompleteMultipartUpload as Inputs | undefined)?.daysAfterInitiation === 1));
    const expiry = Number(cfg("resultsExpiryDays") ?? 30);
    assert.deepStrictEqual(
        lifecycle.find((r) => r.id === "expire-results"),
        { id: "expire-results", status: "Enabled", filter: { prefix: resultsPrefix }, expiration: { days: expiry } },
    );
    // Uploads expire too (default: the dead-letter queue's 14 days), and `destroy` empties the bucket unless protectData keeps it.
    assert.deepStrictEqual(
        lifecycle.find((r) => r.id === "expire-inputs"),
        {
            id: "expire-inputs",
            status: "Enabled",
            filter: { prefix: inputPrefix },
            expiration: { days: Number(cfg("inputExpiryDays") ?? 14) },
        },
    );
    const protectData = cfg("protectData") === "true";
    assert.strictEqual(bucket.inputs.forceDestroy, !protectData);
    assert.strictEqual(bucket.options?.retainOnDelete === true, protectData);

    const queueRecord = one(run, "aws:sqs/queue:Queue", `${baseName}-video-jobs`);
    const dlqRecord = one(run, "aws:sqs/queue:Queue", `${baseName}-video-dlq`);
    const queue = queueRecord.inputs;
    const dlq = dlqRecord.inputs;
    const queueArn = `arn:aws:sqs:${region}:${ACCOUNT}:${awsName(queueRecord)}`;
    const dlqArn = `arn:aws:sqs:${region}:${ACCOUNT}:${awsName(dlqRecord)}`;
    assert.strictEqual(queue.visibilityTimeoutSeconds, Number(cfg("queueVisibilityTimeoutSeconds") ?? 300));
    assert.strictEqual(queue.receiveWaitTimeSeconds, 20);
    assert.strictEqual(queue.sqsManagedSseEnabled, true);
    assert.strictEqual(dlq.sqsManagedSseEnabled, true);
    assert.deepStrictEqual(json(queue.redrivePolicy), {
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: Number(cfg("maxReceiveCount") ?? 3),
    });
    assert.strictEqual(dlq.messageRetentionSeconds, 1209600);

    const queuePolicy = statements(json(one(run, "aws:sqs/queuePolicy:QueuePolicy").inputs.policy));
    const allows = queuePolicy.filter((s) => s.Effect === "Allow");
    assert.deepStrictEqual(allows, [
        {
            Sid: "AllowJobBucketNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: queueArn,
            Condition: { ArnEquals: { "aws:SourceArn": bucketArn }, StringEquals: { "aws:SourceAccount": ACCOUNT } },
        },
    ]);
    const notification = one(run, "aws:s3/bucketNotification:BucketNotification").inputs;
    assert.strictEqual(notification.bucket, bucketId);
    assert.deepStrictEqual(notification.queues, [{ queueArn, events: ["s3:ObjectCreated:*"], filterPrefix: inputPrefix }]);

    // The worker role: exactly these statements.
    const policy = statements(json(one(run, "aws:iam/rolePolicy:RolePolicy", `${baseName}-video-worker`).inputs.policy));
    const asgName = asgNameOf(run, `${baseName}-video`);
    const namespace = cfg("metricNamespace") ?? "EksInference/VideoQueue";
    const expected: Statement[] = [
        {
            Sid: "ConsumeJobs",
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            Resource: queueArn,
        },
        { Sid: "GiveBackJobs", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: queueArn },
        { Sid: "DeadLetterJobs", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlqArn },
        { Sid: "ReadInputs", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucketArn}/${inputPrefix}*` },
        { Sid: "WriteResults", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${bucketArn}/${resultsPrefix}*` },
        {
            Sid: "ProtectOwnNodeFromScaleIn",
            Effect: "Allow",
            Action: ["autoscaling:SetInstanceProtection"],
            Resource: `arn:aws:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/${asgName}`,
        },
        {
            Sid: "FindOwnInstance",
            Effect: "Allow",
            Action: ["ec2:DescribeInstances"],
            Resource: "*",
            Condition: { StringEquals: { "ec2:Region": region } },
        },
        { Sid: "FindOwnAutoScalingGroup", Effect: "Allow", Action: ["autoscaling:DescribeAutoScalingInstances"], Resource: "*" },
        {
            Sid: "PublishWorkerMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
        },
    ];
    const modelUri = cfg("videoModelUri");
    if (modelUri?.startsWith("s3://")) {
        const [, , modelBucket, ...rest] = modelUri.split("/");
        const prefix = rest.join("/");
        expected.push(
            { Sid: "VideoReadModel", Effect: "Allow", Action: ["s3:GetObject"], Resource: `arn:aws:s3:::${modelBucket}/${prefix}*` },
            {
                Sid: "VideoListModel",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: `arn:aws:s3:::${modelBucket}`,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
        );
    }
    assert.deepStrictEqual(policy, expected);
    // "*" only where AWS offers nothing narrower.
    for (const s of policy) {
        if (list(s.Resource).includes("*"))
            assert.ok(
                ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances", "cloudwatch:PutMetricData"].includes(
                    list(s.Action)[0] as string,
                ),
                s.Sid,
            );
        for (const a of list(s.Action)) assert.ok(!a.includes("*"), `${s.Sid} has a wildcard action ${a}`);
    }

    // The worker takes jobs only for this bucket and prefix, and writes results where its role may (issue 17 item 9).
    const videoPods = ofType(run, "kubernetes:apps/v1:DaemonSet").filter((r) => (r.inputs.metadata as Inputs).name === "video-inference");
    assert.strictEqual(videoPods.length, 1, "one video-inference DaemonSet");
    const ds = videoPods[0] as RecordedResource;
    const env = workerEnv(((ds.inputs.spec as Inputs).template as Inputs).spec as Inputs);
    assert.deepStrictEqual(
        {
            INPUT_BUCKET: env.INPUT_BUCKET,
            INPUT_PREFIX: env.INPUT_PREFIX,
            RESULTS_BUCKET: env.RESULTS_BUCKET,
            RESULTS_PREFIX: env.RESULTS_PREFIX,
        },
        { INPUT_BUCKET: bucketName, INPUT_PREFIX: inputPrefix, RESULTS_BUCKET: bucketName, RESULTS_PREFIX: resultsPrefix },
    );
    // The worker knows what the kubelet allows its scratch emptyDir and the node's disk, so a video that does
    // not fit is given back DISK_FULL instead of getting the pod evicted (issue 17 item 14).
    const podSpec = ((ds.inputs.spec as Inputs).template as Inputs).spec as Inputs;
    const scratch = (podSpec.volumes as { name: string; emptyDir?: { sizeLimit?: string } }[]).find((v) => v.name === "scratch");
    const scratchGiB = videoScratchGiB(Number(env.MAX_VIDEO_BYTES));
    assert.deepStrictEqual(
        {
            sizeLimit: scratch?.emptyDir?.sizeLimit,
            WORK_DIR_LIMIT_BYTES: env.WORK_DIR_LIMIT_BYTES,
            WORK_DIR_RESERVE_PERCENT: env.WORK_DIR_RESERVE_PERCENT,
        },
        { sizeLimit: `${scratchGiB}Gi`, WORK_DIR_LIMIT_BYTES: String(scratchGiB * 1024 ** 3), WORK_DIR_RESERVE_PERCENT: "15" },
    );
    assert.strictEqual(env.MAX_VIDEO_BYTES, String(Number(cfg("videoMaxBytes") ?? 2147483648)));
    assert.ok(Number(env.WORK_DIR_LIMIT_BYTES) >= Number(env.MAX_VIDEO_BYTES) + 4 * 1024 ** 3, "room for the largest video and its result");

    assert.strictEqual(run.outputs.bucketName, bucketName);
    assert.strictEqual(run.outputs.inputPrefix, inputPrefix);
    assert.strictEqual(run.outputs.resultsPrefix, resultsPrefix);
    assert.strictEqual(run.outputs.jobQueueUrl, `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${awsName(queueRecord)}`);
    assert.strictEqual(run.outputs.deadLetterQueueUrl, `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${awsName(dlqRecord)}`);
    assert.match(String(run.outputs.videoWorkerRoleArn), /^arn:aws:iam::123456789012:role\/eks-inference-.*-video-worker/);
}

/**
 * The video group's scaling alarms and policies, as declared, against the constants and step table of
 * scaler/src/policy.ts that the simulation's rule uses (scaler/sim/designs.ts latencyObjectiveRule).
 * Returns the alarms checked.
 */
function checkDeployedRule(run: MockRunResult, baseName: string, maxSize: number): RecordedResource[] {
    const asg = run.outputs.videoAsgName;
    const policies = ofType(run, "aws:autoscaling/policy:Policy");
    assert.deepStrictEqual(policies.map((p) => p.name).sort(), [`${baseName}-scale-in`, `${baseName}-scale-out`]);
    for (const p of policies) assert.strictEqual(p.inputs.autoscalingGroupName, asg, `${p.name} scales the video group`);
    const out = one(run, "aws:autoscaling/policy:Policy", `${baseName}-scale-out`).inputs;
    assert.deepStrictEqual([out.policyType, out.adjustmentType, out.estimatedInstanceWarmup], ["StepScaling", "ExactCapacity", 0]);
    assert.deepStrictEqual(
        (out.stepAdjustments as Inputs[]).map((s) => ({
            lowerBound: Number(s.metricIntervalLowerBound),
            ...(s.metricIntervalUpperBound === undefined ? {} : { upperBound: Number(s.metricIntervalUpperBound) }),
            capacity: s.scalingAdjustment,
        })),
        policy.scaleOutSteps(maxSize),
        "the scale-out steps are the simulation's step table for the group's max size",
    );
    const inPolicy = one(run, "aws:autoscaling/policy:Policy", `${baseName}-scale-in`).inputs;
    assert.deepStrictEqual(
        [inPolicy.policyType, inPolicy.adjustmentType, inPolicy.scalingAdjustment, inPolicy.cooldown],
        ["SimpleScaling", "ChangeInCapacity", -1, policy.SCALE_IN_COOLDOWN_SECONDS],
    );
    const alarms = [
        {
            name: `${baseName}-scale-out`,
            expression: policy.SCALE_OUT_EXPRESSION,
            datapoints: policy.SCALE_OUT_DATAPOINTS,
            threshold: policy.SCALE_OUT_THRESHOLD,
        },
        {
            name: `${baseName}-scale-in`,
            expression: policy.SCALE_IN_EXPRESSION,
            datapoints: policy.SCALE_IN_DATAPOINTS,
            threshold: policy.SCALE_IN_THRESHOLD,
        },
    ];
    const queueName = awsName(one(run, "aws:sqs/queue:Queue", `${baseName}-video-jobs`));
    return alarms.map((expected) => {
        const alarm = one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", expected.name);
        const a = alarm.inputs;
        const queries = a.metricQueries as { id: string; expression?: string; returnData?: boolean; metric?: Inputs }[];
        assert.deepStrictEqual(
            queries.map(
                (q) => q.expression ?? `${(q.metric as Inputs).metricName} ${(q.metric as Inputs).stat} ${(q.metric as Inputs).period}`,
            ),
            [
                `${policy.METRICS.needed} Maximum ${policy.PERIOD_SECONDS}`,
                `${policy.METRICS.desired} Maximum ${policy.PERIOD_SECONDS}`,
                expected.expression,
            ],
        );
        for (const q of queries.filter((x) => x.metric)) assert.deepStrictEqual((q.metric as Inputs).dimensions, { QueueName: queueName });
        assert.deepStrictEqual(
            [a.evaluationPeriods, a.datapointsToAlarm, a.threshold, a.comparisonOperator, a.treatMissingData],
            [expected.datapoints, expected.datapoints, expected.threshold, "GreaterThanOrEqualToThreshold", "notBreaching"],
        );
        return alarm;
    });
}

function checkBertRoles(run: MockRunResult, cfg: (key: string) => string | undefined): void {
    const baseName = `eks-inference-${run.stack}`;
    const { builds, location } = bertShape(cfg, run);
    const bucketArn = `arn:aws:s3:::${location.bucket}`;
    const prefix = location.prefix;
    const policy = statements(json(one(run, "aws:iam/rolePolicy:RolePolicy", `${baseName}-bert-serving`).inputs.policy));
    assert.deepStrictEqual(policy, [
        { Sid: "BertReadModel", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucketArn}/${prefix}*` },
        {
            Sid: "BertListModel",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
        },
    ]);
    const builder = ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((r) => r.name === `${baseName}-bert-model-builder`);
    assert.strictEqual(builder.length, builds ? 1 : 0, "a builder role exactly when the stack compiles the model");
    if (builds) {
        assert.deepStrictEqual(statements(json(builder[0]?.inputs.policy)), [
            {
                Sid: "WriteCompiledModel",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "ListCompiledModel",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
        ]);
    }
    assert.strictEqual(run.outputs.bertModelLocation, `s3://${location.bucket}/${prefix}`);
}

/** The stack's models bucket: private, encrypted, TLS only. */
function checkModelsBucket(run: MockRunResult): void {
    const name = `eks-inference-${run.stack}-models`;
    const bucketArn = `arn:aws:s3:::${awsName(one(run, "aws:s3/bucket:Bucket", name))}`;
    assert.strictEqual(one(run, "aws:s3/bucket:Bucket", name).inputs.forceDestroy, true);
    assert.deepStrictEqual(one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name).inputs, {
        bucket: `${name}-id`,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
    });
    assert.deepStrictEqual(
        one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name).inputs.rules,
        [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    );
    assert.deepStrictEqual(one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name).inputs.rule, {
        objectOwnership: "BucketOwnerEnforced",
    });
    assert.deepStrictEqual(statements(json(one(run, "aws:s3/bucketPolicy:BucketPolicy", name).inputs.policy)), [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ]);
}

describe("platform under Pulumi mocks", function () {
    this.timeout(180_000);
    const stacks = stackFiles();
    const runs = new Map<string, Promise<MockRunResult>>();
    const configs = new Map<string, (key: string) => string | undefined>();

    before(() => {
        for (const { stack, config } of stacks) {
            runs.set(`stack:${stack}`, runStackUnderMocks(stack));
            configs.set(`stack:${stack}`, (key) => {
                const v = config[key.includes(":") ? key : `eks-inference:${key}`];
                return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
            });
        }
        const dev = stacks.find((s) => s.stack === "dev");
        assert.ok(dev, "Pulumi.dev.yaml exists");
        for (const profile of ACCELERATOR_PROFILES) {
            const overrides = PROFILE_OVERRIDES(profile);
            runs.set(`profile:${profile}`, runStackUnderMocks("dev", { config: overrides }));
            configs.set(`profile:${profile}`, (key) => overrides[key] ?? configs.get("stack:dev")?.(key));
        }
        // Legacy TF Serving on inf2 too (the profile runs cover it on inf1).
        const legacyInf2 = {
            bertEnabled: "true",
            bertServer: "tf-serving",
            bertAccelerator: "inf2",
            bertModelUri: "s3://models-bucket/bert/neuronx/",
        };
        runs.set("bert:tf-serving-inf2", runStackUnderMocks("dev", { config: legacyInf2 }));
        configs.set("bert:tf-serving-inf2", (key) => (legacyInf2 as Record<string, string>)[key] ?? configs.get("stack:dev")?.(key));
        // Keep rejections observed until the tests await them.
        for (const p of runs.values()) p.catch(() => undefined);
    });

    for (const { stack } of stackFiles()) {
        describe(`Pulumi.${stack}.yaml`, () => {
            it("declares the platform: network, cluster, node groups, identities, images, outputs", async () => {
                const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
                checkPlatform(run, configs.get(`stack:${stack}`) as (key: string) => string | undefined);
            });
            it("wires the video job plumbing and the worker's least-privilege role", async function () {
                const cfg = configs.get(`stack:${stack}`) as (key: string) => string | undefined;
                if ((cfg("videoEnabled") ?? "true") !== "true") {
                    const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
                    assert.strictEqual(ofType(run, "aws:sqs/queue:Queue").length, 0, "no queues when video is off");
                    return;
                }
                checkVideoPlumbing(await (runs.get(`stack:${stack}`) as Promise<MockRunResult>), cfg);
            });
        });
    }

    for (const profile of ACCELERATOR_PROFILES) {
        describe(`profile ${profile} (video and BERT)`, () => {
            it("declares the platform with this profile's AMI, instance type, labels and taints", async () => {
                const run = await (runs.get(`profile:${profile}`) as Promise<MockRunResult>);
                checkPlatform(run, configs.get(`profile:${profile}`) as (key: string) => string | undefined);
            });
            it("grants the video and BERT roles exactly their resources (model read from S3 included)", async () => {
                const run = await (runs.get(`profile:${profile}`) as Promise<MockRunResult>);
                const cfg = configs.get(`profile:${profile}`) as (key: string) => string | undefined;
                checkVideoPlumbing(run, cfg);
                checkBertRoles(run, cfg);
                checkModelsBucket(run);
            });
        });
    }

    it("legacy tf-serving on inf2: pinned node AMI, the user's SavedModel, no compile Job", async () => {
        const run = await (runs.get("bert:tf-serving-inf2") as Promise<MockRunResult>);
        const cfg = configs.get("bert:tf-serving-inf2") as (key: string) => string | undefined;
        checkPlatform(run, cfg);
        checkBertRoles(run, cfg);
        const legacy = one(run, "aws:eks/nodeGroup:NodeGroup", "eks-inference-dev-bert");
        assert.strictEqual(legacy.inputs.releaseVersion, "1.35.2-20260403");
        assert.strictEqual(legacy.inputs.amiType, "AL2023_x86_64_NEURON");
        // Switching bertServer replaces the group: the pin is part of its name, so tf-serving <-> triton (two
        // AMI releases, two drivers) is another resource with another EKS name.
        assert.strictEqual(legacy.name, "eks-inference-dev-bert-ami-v20260403");
        const triton = one(
            await (runs.get("profile:inf2") as Promise<MockRunResult>),
            "aws:eks/nodeGroup:NodeGroup",
            "eks-inference-dev-bert",
        );
        // Triton on inf2 is pinned too: to the AMI release that ships driver 2.29.0.0, Neuron 2.31.1's.
        assert.strictEqual(triton.name, "eks-inference-dev-bert-ami-v20260714");
        assert.strictEqual(triton.inputs.releaseVersion, "1.35.6-20260714");
        assert.match(awsName(legacy), /^eks-inference-dev-bert-ami-v20260403-[0-9a-f]{7}$/);
        assert.match(awsName(triton), /^eks-inference-dev-bert-ami-v20260714-[0-9a-f]{7}$/);
        assert.notStrictEqual(awsName(legacy), awsName(triton));
        // A group that drops its pin (bertAccelerator inf2 -> cpu) is another resource that sends no releaseVersion
        // (the provider would never clear a dropped, Optional+Computed releaseVersion in place).
        const cpu = one(await (runs.get("profile:cpu") as Promise<MockRunResult>), "aws:eks/nodeGroup:NodeGroup", "eks-inference-dev-bert");
        assert.strictEqual(cpu.name, "eks-inference-dev-bert");
        assert.ok(!("releaseVersion" in cpu.inputs), "an unpinned group sends no releaseVersion");
    });

    it("the compile Job runs on the BERT nodes on inf2 (disk sized for its image and scratch, no Neuron device), on general nodes on cpu", async () => {
        type PodSpec = {
            nodeSelector?: Inputs;
            tolerations?: Inputs[];
            containers: { resources?: { requests?: Inputs; limits?: Inputs } }[];
        };
        const jobSpec = (run: MockRunResult): PodSpec =>
            ((one(run, "kubernetes:batch/v1:Job").inputs.spec as Inputs).template as { spec: PodSpec }).spec;
        const inf2 = jobSpec(await (runs.get("profile:inf2") as Promise<MockRunResult>));
        assert.deepStrictEqual(inf2.nodeSelector, nodeSelector("bert", "inf2"));
        assert.deepStrictEqual(inf2.tolerations, tolerations("bert", "inf2"));
        for (const c of inf2.containers)
            assert.ok(!JSON.stringify(c.resources ?? {}).includes("aws.amazon.com/neuron"), "no Neuron device");
        const cpu = jobSpec(await (runs.get("profile:cpu") as Promise<MockRunResult>));
        assert.deepStrictEqual(cpu.nodeSelector, { "eks-inference/node-role": "general" });
        assert.deepStrictEqual(cpu.tolerations, []);
    });

    it("video on inf2 runs TF Serving Neuronx: its group gets the legacy AMI pin; inf1 (driver installed at boot), nvidia and cpu stay unpinned", async () => {
        for (const profile of ACCELERATOR_PROFILES) {
            const run = await (runs.get(`profile:${profile}`) as Promise<MockRunResult>);
            const video = one(run, "aws:eks/nodeGroup:NodeGroup", "eks-inference-dev-video");
            if (profile === "inf2") {
                assert.strictEqual(video.inputs.releaseVersion, "1.35.2-20260403", profile);
                assert.strictEqual(video.name, "eks-inference-dev-video-ami-v20260403", profile);
            } else {
                assert.ok(!("releaseVersion" in video.inputs), profile);
                assert.strictEqual(video.name, "eks-inference-dev-video", profile);
            }
            if (profile === "inf1") {
                // Legacy BERT on inf1 as well: no pin, so the group keeps receiving AMI security updates.
                const bert = one(run, "aws:eks/nodeGroup:NodeGroup", "eks-inference-dev-bert");
                assert.strictEqual(bert.name, "eks-inference-dev-bert");
                assert.ok(!("releaseVersion" in bert.inputs));
            }
        }
    });

    it("cpu run: admin access entry exists; no run creates a Kubernetes Secret or an AWS key", async () => {
        const run = await (runs.get("profile:cpu") as Promise<MockRunResult>);
        const cluster = one(run, "eks:index:Cluster").inputs;
        assert.strictEqual(Object.keys(cluster.accessEntries as Inputs).length, 1);
        for (const key of runs.keys()) {
            const r = await (runs.get(key) as Promise<MockRunResult>);
            assert.strictEqual(ofType(r, "kubernetes:core/v1:Secret").length, 0, `${key}: no Secret`);
        }
    });

    it("every checked-in stack with BERT on deploys as it is: the stack's own bucket, the model built by the stack", async () => {
        for (const { stack } of stacks) {
            const cfg = configs.get(`stack:${stack}`) as (key: string) => string | undefined;
            if ((cfg("bertEnabled") ?? "false") !== "true") continue;
            assert.strictEqual(cfg("bertModelUri"), undefined, `Pulumi.${stack}.yaml points BERT at a bucket a fresh account lacks`);
            const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
            checkBertRoles(run, cfg);
            checkModelsBucket(run);
        }
    });

    it("the checked-in stacks keep the default frame sampling: a video DaemonSet without SAMPLE_FPS", async () => {
        for (const { stack, config } of stacks) {
            assert.strictEqual(config["eks-inference:videoSampleFps"], undefined, `Pulumi.${stack}.yaml sets videoSampleFps`);
            const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
            const ds = one(run, "kubernetes:apps/v1:DaemonSet", `eks-inference-${stack}-video-daemonset`);
            const env = workerEnv(((ds.inputs.spec as Inputs).template as Inputs).spec as Inputs);
            assert.ok(!("SAMPLE_FPS" in env), `${stack}: SAMPLE_FPS must be unset (every frame)`);
            assert.ok("BATCH_SIZE" in env, `${stack}: the worker env is present`);
        }
    });

    it("dev is the cheapest sensible setup: the video group scales to zero and wakes on work, one general node stays", async () => {
        const run = await (runs.get("stack:dev") as Promise<MockRunResult>);
        const group = (name: string) => one(run, "aws:eks/nodeGroup:NodeGroup", `eks-inference-dev-${name}`).inputs.scalingConfig;
        assert.deepStrictEqual(group("video"), { minSize: 0, desiredSize: 0, maxSize: 2 });
        assert.strictEqual((group("general") as Inputs).minSize, 1);
        // With no instance, only the scale-out step policy can start one: it targets the video group, and a
        // need of one (its first step) sets it to exactly one.
        const scaleOut = one(run, "aws:autoscaling/policy:Policy", "eks-inference-dev-scale-out");
        assert.strictEqual(scaleOut.inputs.autoscalingGroupName, run.outputs.videoAsgName);
        assert.strictEqual(scaleOut.inputs.adjustmentType, "ExactCapacity");
        assert.deepStrictEqual((scaleOut.inputs.stepAdjustments as Inputs[])[0], {
            metricIntervalLowerBound: "0",
            metricIntervalUpperBound: "1",
            scalingAdjustment: 1,
        });
        const alarm = one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "eks-inference-dev-scale-out");
        const actions = alarm.inputs.alarmActions as string[];
        assert.strictEqual(actions.length, 1);
        assert.ok(
            actions[0]?.endsWith(`:${awsName(scaleOut)}`),
            `the scale-out alarm triggers the scale-out policy (${actions.join(", ")})`,
        );
    });

    it("every stack deploys the scaling rule and start-up the simulation plays (scaler/src/policy.ts, scaler/sim/startup.ts)", async () => {
        for (const { stack } of stacks) {
            const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
            const cfg = configs.get(`stack:${stack}`) as (key: string) => string | undefined;
            const baseName = `eks-inference-${stack}`;
            const maxSize = (one(run, "aws:eks/nodeGroup:NodeGroup", `${baseName}-video`).inputs.scalingConfig as Inputs).maxSize as number;
            const expected = checkDeployedRule(run, baseName, maxSize);
            const fn = one(run, "aws:lambda/function:Function", `${baseName}-scaler`).inputs;
            const fnEnv = (fn.environment as { variables: Record<string, string> }).variables;
            assert.strictEqual(
                fnEnv.LATENCY_OBJECTIVE_SECONDS,
                cfg("videoLatencyObjectiveSeconds") ?? String(CONFIG_KEYS.videoLatencyObjectiveSeconds.default),
            );
            assert.strictEqual(fnEnv.SECONDS_PER_VIDEO, cfg("secondsPerVideo") ?? String(CONFIG_KEYS.secondsPerVideo.default));
            assert.ok(expected.length > 0);
            // Start-up: the settings scaler/sim/startup.ts models are the ones declared.
            const lt = one(run, "aws:ec2/launchTemplate:LaunchTemplate", `${baseName}-video`).inputs;
            const ebs = (lt.blockDeviceMappings as { ebs: Inputs }[])[0]?.ebs as Inputs;
            assert.strictEqual(ebs.throughput, DECLARED.diskMiBps, `${stack}: video root volume throughput`);
            const generalLt = one(run, "aws:ec2/launchTemplate:LaunchTemplate", `${baseName}-general`).inputs;
            assert.strictEqual(((generalLt.blockDeviceMappings as { ebs: Inputs }[])[0]?.ebs as Inputs).throughput, undefined);
            const daemonSets = ofType(run, "kubernetes:apps/v1:DaemonSet").map((d) => d.inputs as Inputs);
            const podOf = (name: string) => {
                const found = daemonSets.find((d) => (d.metadata as Inputs).name === name);
                assert.ok(found, `${stack}: DaemonSet ${name}`);
                return ((found.spec as Inputs).template as Inputs).spec as { containers: Inputs[]; initContainers?: Inputs[] };
            };
            const server = (podOf("video-inference").initContainers ?? []).find((c) => c.name === "tf-serving") as Inputs;
            assert.strictEqual((server.startupProbe as Inputs).periodSeconds, DECLARED.startupProbePeriodSeconds);
            assert.strictEqual(DECLARED.prePullModelServer, true);
            assert.strictEqual(
                podOf(PREPULL_DAEMONSET_NAME).containers[0]?.image,
                server.image,
                `${stack}: the pre-pull holds the model-server image`,
            );
        }
    });

    it("names what AWS will show: the scaler Lambda is <project>-<stack>-scaler, explicit names win over resource names", async () => {
        for (const { stack } of stacks) {
            const run = await (runs.get(`stack:${stack}`) as Promise<MockRunResult>);
            const fn = one(run, "aws:lambda/function:Function");
            assert.strictEqual(awsName(fn), `eks-inference-${stack}-scaler`, "the stack appears once");
            assert.strictEqual(fn.autoNamed, false);
            assert.strictEqual(run.outputs.scalerFunctionName, `eks-inference-${stack}-scaler`);
            // The log group Lambda writes to is named after the function's real name.
            assert.ok(
                ofType(run, "aws:cloudwatch/logGroup:LogGroup").some((g) => g.inputs.name === `/aws/lambda/eks-inference-${stack}-scaler`),
            );
            // Auto-named resources carry the provider's random suffix, and outputs show that name.
            const queue = one(run, "aws:sqs/queue:Queue", `eks-inference-${stack}-video-jobs`);
            assert.match(awsName(queue), new RegExp(`^eks-inference-${stack}-video-jobs-[0-9a-f]{7}$`));
            assert.strictEqual(queue.autoNamed, true);
        }
    });

    it("a config error fails the program with its own message", async () => {
        await assert.rejects(
            runStackUnderMocks("dev", { config: { videoAccelerator: "ei" } }),
            /eks-inference:videoAccelerator is 'ei'.*retired/,
        );
    });
});
