// Turns a mock run of the program into a reviewer-facing summary (pure): per resource the few
// properties that matter, counts per type, and the stack outputs with secrets withheld.

/** The parts of mock-run's result this module reads. */
export interface PlanInput {
    stack: string;
    resources: { type: string; name: string; inputs: Record<string, unknown>; physicalName?: string; autoNamed?: boolean }[];
    outputs: Record<string, unknown>;
    secretOutputs: string[];
    config: Record<string, string>;
}

type Picker = (inputs: Record<string, unknown>) => Record<string, unknown>;

function get(obj: unknown, path: string): unknown {
    let cur: unknown = obj;
    for (const key of path.split(".")) {
        if (typeof cur !== "object" || cur === null) return undefined;
        cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
}

/** Picks dotted paths, labelled by their last segment unless given as "label=path". */
function paths(...specs: string[]): Picker {
    return (inputs) => {
        const out: Record<string, unknown> = {};
        for (const spec of specs) {
            const [label, path] = spec.includes("=") ? spec.split("=", 2) : [spec.split(".").pop() as string, spec];
            const v = get(inputs, path);
            if (v !== undefined) out[label] = v;
        }
        return out;
    };
}

function count(path: string, label: string): Picker {
    return (inputs) => {
        const v = get(inputs, path);
        return Array.isArray(v) ? { [label]: v.length } : {};
    };
}

function combine(...pickers: Picker[]): Picker {
    return (inputs) => Object.assign({}, ...pickers.map((p) => p(inputs)));
}

/** IAM actions of an inline policy document (JSON string or object). */
function policyActions(path: string): Picker {
    return (inputs) => {
        let doc = get(inputs, path);
        if (typeof doc === "string") {
            try {
                doc = JSON.parse(doc);
            } catch {
                return {};
            }
        }
        const statements = get(doc, "Statement");
        if (!Array.isArray(statements)) return {};
        const actions = new Set<string>();
        for (const s of statements) {
            const a = get(s, "Action");
            for (const x of Array.isArray(a) ? a : [a]) if (typeof x === "string") actions.add(x);
        }
        return { actions: [...actions].sort() };
    };
}

/** Every container of a pod template (init containers and sidecars first): name=image and its limits. */
function containers(podSpecPath: string): Picker {
    return (inputs) => {
        const spec = get(inputs, podSpecPath);
        const all = [get(spec, "initContainers"), get(spec, "containers")].flatMap((l) => (Array.isArray(l) ? l : []));
        if (all.length === 0) return {};
        const out: Record<string, unknown> = {};
        for (const c of all) {
            const name = String(get(c, "name"));
            out[`${name}.image`] = get(c, "image");
            const limits = get(c, "resources.limits");
            if (limits !== undefined) out[`${name}.limits`] = limits;
        }
        return out;
    };
}

/** What a reviewer looks at, per resource type. Types not listed show only their name. */
export const PLAN_PROPERTIES: Readonly<Record<string, Picker>> = {
    "eks:index:Cluster": paths(
        "version",
        "supportType=upgradePolicy.supportType",
        "authenticationMode",
        "endpointPublicAccess",
        "endpointPrivateAccess",
        "publicAccessCidrs",
        "enabledClusterLogTypes",
        "skipDefaultNodeGroup",
    ),
    "aws:eks/nodeGroup:NodeGroup": paths(
        "instanceTypes",
        "amiType",
        "capacityType",
        "min=scalingConfig.minSize",
        "desired=scalingConfig.desiredSize",
        "max=scalingConfig.maxSize",
        "labels",
        "taints",
    ),
    "aws:eks/addon:Addon": combine(paths("addonName", "addonVersion"), count("podIdentityAssociations", "podIdentityAssociations")),
    "aws:ec2/launchTemplate:LaunchTemplate": paths(
        "httpTokens=metadataOptions.httpTokens",
        "hopLimit=metadataOptions.httpPutResponseHopLimit",
        "volumes=blockDeviceMappings",
    ),
    "aws:ec2/vpc:Vpc": paths("cidrBlock"),
    "aws:ec2/subnet:Subnet": paths("cidrBlock", "availabilityZoneId", "mapPublicIpOnLaunch"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": combine(paths("serviceName", "vpcEndpointType", "privateDnsEnabled"), count("subnetIds", "azs")),
    "aws:lambda/function:Function": paths("runtime", "handler", "memorySize", "timeout", "architectures", "reservedConcurrentExecutions"),
    "aws:cloudwatch/eventRule:EventRule": paths("scheduleExpression"),
    "aws:scheduler/schedule:Schedule": paths("scheduleExpression"),
    "aws:sqs/queue:Queue": paths(
        "visibilityTimeoutSeconds",
        "messageRetentionSeconds",
        "receiveWaitTimeSeconds",
        "sqsManagedSseEnabled",
        "kmsMasterKeyId",
        "redrivePolicy",
    ),
    "aws:s3/bucket:Bucket": paths("forceDestroy"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": paths(
        "sse=rules.0.applyServerSideEncryptionByDefault.sseAlgorithm",
        "bucketKey=rules.0.bucketKeyEnabled",
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": paths(
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ),
    "aws:s3/bucketNotification:BucketNotification": paths("queues"),
    "aws:ecr/repository:Repository": paths(
        "imageTagMutability",
        "scanOnPush=imageScanningConfiguration.scanOnPush",
        "encryption=encryptionConfigurations.0.encryptionType",
        "forceDelete",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": paths("namespace", "metricName", "comparisonOperator", "threshold", "evaluationPeriods"),
    "aws:cloudwatch/logGroup:LogGroup": paths("retentionInDays"),
    "aws:autoscaling/policy:Policy": paths("policyType", "target=targetTrackingConfiguration.targetValue", "scalingAdjustment"),
    "aws:iam/rolePolicy:RolePolicy": policyActions("policy"),
    "aws:iam/policy:Policy": policyActions("policy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": paths("policyArn"),
    "aws:kms/key:Key": paths("enableKeyRotation", "deletionWindowInDays"),
    "aws:cloudwatch/dashboard:Dashboard": (inputs) => {
        try {
            const widgets = get(JSON.parse(String(inputs.dashboardBody)), "widgets");
            return Array.isArray(widgets) ? { widgets: widgets.length } : {};
        } catch {
            return {};
        }
    },
    "docker-build:index:Image": paths("tag=tags.0", "platforms", "dockerfile=dockerfile.location", "push", "buildOnPreview"),
    "kubernetes:apps/v1:DaemonSet": combine(paths("nodeSelector=spec.template.spec.nodeSelector"), containers("spec.template.spec")),
    "kubernetes:apps/v1:Deployment": combine(
        paths("replicas=spec.replicas", "nodeSelector=spec.template.spec.nodeSelector"),
        containers("spec.template.spec"),
    ),
    "kubernetes:helm.sh/v3:Release": paths("chart", "version", "repo=repositoryOpts.repo"),
    "kubernetes:policy/v1:PodDisruptionBudget": paths("minAvailable=spec.minAvailable", "maxUnavailable=spec.maxUnavailable"),
};

const MAX_VALUE_CHARS = 400;

/**
 * The name AWS will show, when it is not the resource name: an explicit name as given, an auto-name
 * as its prefix and `-???????` (the provider picks 7 random hex characters at create time).
 */
function awsName(r: PlanInput["resources"][number]): string {
    if (r.physicalName === undefined) return "";
    const shown = r.autoNamed === true ? r.physicalName.replace(/-[0-9a-f]{7}$/, "-???????") : r.physicalName;
    return shown === r.name ? "" : ` -> ${shown}`;
}

function show(v: unknown): string {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

/** Strings that must never be printed: the values of secret config keys. */
export function secretValues(config: Record<string, string>, secretConfigKeys: readonly string[]): string[] {
    return secretConfigKeys.map((k) => config[k]).filter((v): v is string => typeof v === "string" && v.length >= 4);
}

function redact(line: string, secrets: readonly string[]): string {
    let out = line;
    for (const s of secrets) out = out.split(s).join("[secret]");
    return out;
}

/** Formats the plan. `secretConfigKeys` are full config keys whose values must not appear. */
export function formatPlan(run: PlanInput, secretConfigKeys: readonly string[] = []): string {
    const secrets = secretValues(run.config, secretConfigKeys);
    const byType = new Map<string, PlanInput["resources"]>();
    for (const r of run.resources) {
        const list = byType.get(r.type) ?? [];
        list.push(r);
        byType.set(r.type, list);
    }
    const types = [...byType.keys()].sort();
    const region = run.config["aws:region"] ?? "(no aws:region)";
    const lines: string[] = [
        `Plan for stack ${run.stack} (${region}), from the program under mocks: ${run.resources.length} resources`,
        "",
    ];
    for (const type of types) {
        const list = byType.get(type) ?? [];
        lines.push(`${type} (${list.length})`);
        const pick = PLAN_PROPERTIES[type];
        for (const r of [...list].sort((a, b) => a.name.localeCompare(b.name))) {
            const props = pick === undefined ? {} : pick(r.inputs);
            const shown = Object.entries(props)
                .map(([k, v]) => `${k}=${show(v)}`)
                .join(" ");
            lines.push(`  ${r.name}${awsName(r)}${shown ? `  ${shown}` : ""}`);
        }
    }
    lines.push("", "Resources per type:");
    const width = Math.max(...types.map((t) => t.length), 4);
    for (const type of types) lines.push(`  ${type.padEnd(width)}  ${byType.get(type)?.length ?? 0}`);
    lines.push(`  ${"total".padEnd(width)}  ${run.resources.length}`);
    lines.push("", "Outputs:");
    for (const name of Object.keys(run.outputs).sort()) {
        const value = run.secretOutputs.includes(name) ? "[secret]" : show(run.outputs[name]);
        lines.push(`  ${name} = ${value}`);
    }
    return lines.map((l) => redact(l, secrets)).join("\n");
}
