// Stack configuration: the ONLY module that reads pulumi.Config.
// `parseConfig` is pure (raw strings in, one typed object or one error listing every problem out);
// `readConfig` is the thin reader the program calls.
import * as pulumi from "@pulumi/pulumi";
import {
    BERT_ACCELERATORS,
    BERT_SERVERS,
    BertAccelerator,
    BertServer,
    DEFAULT_BERT_MODEL_ID,
    LEGACY_TF_SERVING,
    amiKubernetesVersions,
    isHuggingFaceModelId,
    legacyTfServingNotice,
    neuronNodeRelease,
    parseBatchSizes,
} from "../bert/settings";
import {
    ACCELERATOR_PROFILES,
    AcceleratorProfile,
    AcceleratorProfileName,
    PROFILES,
    RETIRED_PROFILES,
    Workload,
    instanceFamily,
} from "../platform/accelerators";
import { checkModelUri, LOOPBACK_HOSTS } from "../../worker/model-fetch/model-uri";
import { DLQ_RETENTION_SECONDS } from "../video/retention";
import { DEFAULT_KUBERNETES_VERSION, SUPPORT_TYPES, SupportType, checkKubernetesVersion } from "./kubernetes-versions";
import { samePrincipal } from "../platform/admins";
import { KUBELET_DISK_RESERVE_PERCENT, minVideoVolumeGiB, videoScratchGiB } from "../video/scratch";
import type { PodPeer } from "../kube/network-policies";

export const PROJECT = "eks-inference";

type KeyType = "string" | "integer" | "boolean" | "array";
export interface ConfigKeySpec {
    type: KeyType;
    default: string | number | boolean | string[];
    description: string;
    /** Must be set as a Pulumi secret (`pulumi config set --secret`). */
    secret?: boolean;
}

/**
 * Every project config key. Pulumi.yaml declares the same keys and defaults (a test checks they agree):
 * the CLI applies Pulumi.yaml defaults, and this table applies them when the program runs without it.
 */
export const CONFIG_KEYS = {
    // Workload switches and accelerators
    videoEnabled: {
        type: "boolean",
        default: true,
        description: "Deploy the video object-detection pipeline (bucket, queue, workers, accelerated node group).",
    },
    bertEnabled: {
        type: "boolean",
        default: false,
        description: "Deploy the BERT service and its node group; the stack compiles the model itself unless bertModelUri is set.",
    },
    videoAccelerator: {
        type: "string",
        default: "nvidia",
        description: "Accelerator profile of the video node group: inf2, inf1, nvidia or cpu (ei is retired).",
    },
    bertAccelerator: {
        type: "string",
        default: "inf2",
        description: "Accelerator of the BERT node group: inf2 or cpu; inf1 only with bertServer tf-serving (legacy).",
    },
    videoInstanceTypes: {
        type: "array",
        default: [],
        description:
            "Instance types of the video node group, all of the accelerator profile; empty means the profile default (ON_DEMAND: one type; SPOT: two or more types, so one empty Spot pool does not stall the group).",
    },
    bertInstanceTypes: {
        type: "array",
        default: [],
        description:
            "Instance types of the BERT node group, all of the accelerator profile; empty means the profile default (ON_DEMAND: one type; SPOT: two or more types).",
    },
    // Cluster
    kubernetesVersion: {
        type: "string",
        default: DEFAULT_KUBERNETES_VERSION,
        description:
            "EKS Kubernetes version (major.minor). Versions past their end of support are refused with the date; the program warns 90 days ahead (see infra/config/kubernetes-versions.ts).",
    },
    upgradeSupportType: {
        type: "string",
        default: "STANDARD",
        description:
            "EKS version support policy: STANDARD (EKS upgrades the cluster when standard support ends) or EXTENDED (stay on the version, billed at 6x the cluster price after standard support ends).",
    },
    clusterAdminPrincipalArns: {
        type: "array",
        default: [],
        description:
            "IAM principal ARNs given cluster-admin through EKS access entries (AmazonEKSClusterAdminPolicy). Listing the deploying principal is fine: EKS already makes the cluster's creator an admin, so no second entry is declared for it (nor for a listed principal that has an entry this stack did not make).",
    },
    previewRoleArn: {
        type: "string",
        default: "",
        description:
            "IAM role the pull-request preview assumes (the repository variable AWS_PREVIEW_ROLE_ARN). When set, the stack gives it a read-only EKS access entry (get and list of the objects the stack manages, through the Kubernetes group eks-inference-preview), so a preview can refresh the Kubernetes objects; it can change nothing. Empty: previews leave Kubernetes objects unrefreshed.",
    },
    clusterLogTypes: {
        type: "array",
        default: ["api", "audit", "authenticator"],
        description: "EKS control-plane log types sent to CloudWatch Logs (api, audit, authenticator, controllerManager, scheduler).",
    },
    publicAccessCidrs: {
        type: "array",
        default: ["0.0.0.0/0"],
        description:
            "CIDRs allowed to reach the public Kubernetes API endpoint (the private endpoint is always on). Narrowing it cuts deploy.yml off from the cluster on GitHub-hosted runners, whose addresses are not fixed: run the deploy job and the PR preview on a runner whose address is listed, chosen with the repository variable DEPLOY_RUNNER (for example a self-hosted runner in the VPC).",
    },
    monitoringNamespace: {
        type: "string",
        default: "",
        description:
            "Namespace whose pods may scrape the workloads' metrics ports (video worker 9102, Triton 8002); empty: no pod may. The stack's NetworkPolicies refuse every other pod.",
    },
    logRetentionDays: {
        type: "integer",
        default: 30,
        description: "Retention of the control-plane and platform CloudWatch log groups, in days.",
    },
    // Network
    vpcCidr: { type: "string", default: "10.0.0.0/16", description: "IPv4 CIDR of the VPC (a /16 to /20)." },
    azCount: { type: "integer", default: 2, description: "Availability zones to spread subnets over (2 to 4)." },
    natGateways: {
        type: "string",
        default: "single",
        description: "NAT gateways: 'single' (cheapest) or 'onePerAz' (survives an AZ outage).",
    },
    interfaceEndpoints: {
        type: "boolean",
        default: true,
        description:
            "Create the VPC interface endpoints (SQS, ECR, STS, CloudWatch, EC2, Auto Scaling, EKS Auth) so node traffic to AWS APIs stays in the VPC. false drops their hourly cost (9 endpoints x AZs) and sends that traffic through the NAT gateway; the free S3 gateway endpoint stays.",
    },
    // Node groups
    generalInstanceType: {
        type: "string",
        default: "m7i.large",
        description: "Instance type of the general node group (system pods, CoreDNS, controllers).",
    },
    generalMinSize: { type: "integer", default: 1, description: "General node group minimum size." },
    generalDesiredSize: {
        type: "integer",
        default: 2,
        description:
            "General node group desired size when the group is created; afterwards every deploy keeps the live desired capacity (clamped into min..max).",
    },
    generalMaxSize: { type: "integer", default: 3, description: "General node group maximum size." },
    videoMinSize: { type: "integer", default: 1, description: "Video node group minimum size." },
    videoDesiredSize: {
        type: "integer",
        default: 1,
        description:
            "Video node group desired size when the group is created; afterwards the queue-backlog scaling owns it and every deploy keeps the live desired capacity (clamped into min..max).",
    },
    videoMaxSize: { type: "integer", default: 4, description: "Video node group maximum size." },
    videoCapacityType: { type: "string", default: "ON_DEMAND", description: "Video node group capacity type: ON_DEMAND or SPOT." },
    bertMinSize: { type: "integer", default: 1, description: "BERT node group minimum size." },
    bertDesiredSize: {
        type: "integer",
        default: 1,
        description:
            "BERT node group desired size when the group is created; afterwards every deploy keeps the live desired capacity (clamped into min..max).",
    },
    bertMaxSize: { type: "integer", default: 2, description: "BERT node group maximum size." },
    bertCapacityType: { type: "string", default: "ON_DEMAND", description: "BERT node group capacity type: ON_DEMAND or SPOT." },
    generalVolumeGiB: { type: "integer", default: 40, description: "Root volume of general nodes, GiB (encrypted gp3)." },
    acceleratedVolumeGiB: {
        type: "integer",
        default: 100,
        description: "Root volume of accelerated nodes, GiB (encrypted gp3; model-server images are large).",
    },
    // Video job plumbing
    inputPrefix: {
        type: "string",
        default: "input/",
        description: "Bucket key prefix where videos are uploaded; uploads here become jobs.",
    },
    resultsPrefix: { type: "string", default: "results/", description: "Bucket key prefix where detection results are written." },
    resultsExpiryDays: { type: "integer", default: 30, description: "Days after which results expire (0 = keep forever)." },
    inputExpiryDays: {
        type: "integer",
        default: 14,
        description:
            "Days after which uploaded videos (under inputPrefix) expire (0 = keep forever). The default is the dead-letter queue's retention, so a dead-lettered job can be replayed while its video exists.",
    },
    protectData: {
        type: "boolean",
        default: false,
        description:
            "Keep the video bucket and the models bucket, with their objects, when `pulumi destroy` or turning their feature off removes them: Pulumi then drops them from the stack without deleting them (retainOnDelete). false: they are emptied and deleted with the stack.",
    },
    queueVisibilityTimeoutSeconds: {
        type: "integer",
        default: 300,
        description: "Job queue visibility timeout; the worker extends it while a video is in progress.",
    },
    maxReceiveCount: { type: "integer", default: 3, description: "Receives before a job moves to the dead-letter queue." },
    // Video model and worker
    videoModelUri: {
        type: "string",
        default: "https://storage.googleapis.com/download.tensorflow.org/models/object_detection/ssd_mobilenet_v2_coco_2018_03_29.tar.gz",
        description:
            "Where the model-fetch init container gets the detection model: an https:// .tar.gz/.tgz/.tar archive, an s3:// archive or an s3:// prefix (plain http is refused). The default, the TF1 model zoo SSD MobileNet v2 COCO archive, is not Neuron-compiled: inf1/inf2 need the URI of a Neuron-compiled SavedModel.",
    },
    videoModelName: {
        type: "string",
        default: "object-detection",
        description: "TF Serving model name of the detection model (a DNS label: it also names Kubernetes objects).",
    },
    videoBatchSize: { type: "integer", default: 8, description: "Frames per inference request." },
    videoFrameWidth: { type: "integer", default: 300, description: "Frame width sent to the model, pixels." },
    videoFrameHeight: { type: "integer", default: 300, description: "Frame height sent to the model, pixels." },
    videoSampleFps: { type: "string", default: "0", description: "Frames per second sampled from each video (decimal; 0 = every frame)." },
    videoScoreThreshold: { type: "string", default: "0.5", description: "Minimum detection score kept in results (decimal, 0 to 1)." },
    videoMaxBytes: {
        type: "integer",
        default: 2147483648,
        description:
            "Largest video accepted, bytes; bigger ones are dead-lettered. The video pod's scratch volume is sized from it (plus 4 GiB, at least 12 GiB), and acceleratedVolumeGiB must hold that with the images under the kubelet's 15 % eviction threshold (at least 42 GiB at the default).",
    },
    videoMaxSeconds: { type: "integer", default: 3600, description: "Longest video accepted, seconds; longer ones are dead-lettered." },
    nvidiaTimeSlicingReplicas: {
        type: "integer",
        default: 1,
        description: "NVIDIA GPU time-slicing replicas per GPU (1 = off; nvidia profile only).",
    },
    // Scaling and alarms
    videoLatencyObjectiveSeconds: {
        type: "integer",
        default: 600,
        description:
            "Seconds from upload to result the video group is sized for: each instance may carry floor(this / measured mean seconds per video) videos (scaler/src/policy.ts).",
    },
    secondsPerVideo: {
        type: "integer",
        default: 60,
        description:
            "Seconds one video takes on one node, used by the scaler until the workers have published SecondsPerVideo measurements.",
    },
    metricNamespace: {
        type: "string",
        default: "EksInference/VideoQueue",
        description: "CloudWatch namespace of the backlog and worker metrics.",
    },
    oldestMessageAlarmSeconds: {
        type: "integer",
        default: 1800,
        description: "Alarm when the oldest queued job is older than this, seconds.",
    },
    alarmEmail: { type: "string", default: "", description: "E-mail subscribed to alarm notifications (empty = no subscription)." },
    // ---- BERT (issue 13; parsed by readBert() at the end of this file) ----
    bertServer: {
        type: "string",
        default: "triton",
        description:
            "BERT model server: triton (KServe v2, torch-neuronx or CPU PyTorch) or tf-serving (legacy: TF Serving Neuron, inf2 on a pinned node AMI, or inf1).",
    },
    bertModelId: {
        type: "string",
        default: "google-bert/bert-base-cased-finetuned-mrpc",
        description: "Hugging Face id of the sequence-classification model the stack compiles (triton).",
    },
    bertSequenceLength: {
        type: "integer",
        default: 128,
        description: "Tokens per sequence the model is compiled for (fixed shape; 8 to 512).",
    },
    bertBatchSizes: {
        type: "string",
        default: "1,4,8",
        description:
            "Batch sizes the model is compiled for, increasing, comma-separated (1 to 4 sizes, each 1 to 64); the largest is Triton's max_batch_size.",
    },
    bertModelUri: {
        type: "string",
        default: "",
        description:
            "Your own compiled model instead of the one the stack builds. triton: s3://bucket/prefix/ holding manifest.json and the model-b<N>.pt files. tf-serving (required): the Neuron SavedModel, fetched by model-fetch like videoModelUri: an s3:// prefix, or an s3:// or https:// .tar.gz/.tgz/.tar archive.",
    },
    bertModelName: {
        type: "string",
        default: "bert",
        description: "Model name the server serves (a DNS label: it also names Kubernetes objects).",
    },
    bertReplicas: { type: "integer", default: 1, description: "Replicas of the BERT serving Deployment." },
    bertClients: {
        type: "array",
        default: [],
        description:
            "Pods outside the bert namespace allowed to call BERT's gRPC and HTTP ports: '<namespace>' (every pod of it) or '<namespace>/<label>=<value>' (its pods with that label). Pods in the bert namespace labelled eks-inference/bert-client=true may always call it; empty: nobody else (NetworkPolicy).",
    },
    // Images
    imageTag: {
        type: "string",
        default: "",
        description:
            "Optional label put in front of each image tag (`<label>-<hash>`); the hash of the image's build context always follows, since ECR tags are immutable.",
    },
    ecrKeepImages: { type: "integer", default: 10, description: "Images kept per ECR repository by the lifecycle policy." },
} satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export interface RawConfig {
    /** Project config values as the CLI stores them (strings; arrays as JSON), keys without the project prefix. */
    values: Readonly<Record<string, string | undefined>>;
    /** Project keys (without prefix) whose values are secrets. */
    secretKeys: readonly string[];
    /** `aws:region`. */
    region: string | undefined;
    stack: string;
    /** The date the Kubernetes version is checked against; default now. */
    today?: Date;
}

/** Keys this project no longer reads, and what to do instead (a stack still setting one gets this message). */
export const RETIRED_KEYS: Readonly<Record<string, string>> = {
    videoInstanceType: `was replaced by ${PROJECT}:videoInstanceTypes, a list: for example videoInstanceTypes: ["g6.xlarge"]`,
    bertInstanceType: `was replaced by ${PROJECT}:bertInstanceTypes, a list: for example bertInstanceTypes: ["inf2.xlarge"]`,
    allowUnlistedAcceleratorRegion:
        "is no longer needed: the program asks EC2 which zones of the region offer the node groups' instance types; remove it",
    // BERT (issue 13): the pods use their EKS Pod Identity role; static keys cannot be configured any more.
    bertAwsAccessKeyId:
        "was removed: static AWS keys are no longer accepted. The BERT pods use their EKS Pod Identity role; " +
        "run `pulumi config rm bertAwsAccessKeyId` (and deactivate that access key in IAM)",
    bertAwsSecretAccessKey:
        "was removed: static AWS keys are no longer accepted. The BERT pods use their EKS Pod Identity role; " +
        "run `pulumi config rm bertAwsSecretAccessKey`",
    // Scaling (issue 19): the objective is the time to the result, and the scaler measures seconds per video.
    acceptableLatencySeconds:
        `was replaced by ${PROJECT}:videoLatencyObjectiveSeconds, the seconds from upload to RESULT (this key was to the start ` +
        "of processing); the scaler now measures seconds per video itself. Run `pulumi config rm acceptableLatencySeconds` " +
        `and set videoLatencyObjectiveSeconds (default 600)`,
    scalerSchedule:
        "was removed: the scaling alarms evaluate one datapoint per minute, so the scaler runs every minute (rate(1 minute), " +
        "the EventBridge minimum). Run `pulumi config rm scalerSchedule`",
};

export interface Sizing {
    minSize: number;
    desiredSize: number;
    maxSize: number;
}

export type CapacityType = "ON_DEMAND" | "SPOT";

export interface AcceleratedGroupConfig {
    workload: Workload;
    profile: AcceleratorProfile;
    /** The first of instanceTypes (the one priced by `npm run cost`). */
    instanceType: string;
    /** Every instance type the group may launch, all of the profile's families. */
    instanceTypes: string[];
    capacityType: CapacityType;
    sizing: Sizing;
}

export interface S3Location {
    bucket: string;
    /** Key prefix without a leading slash ("" = whole bucket). */
    prefix: string;
    /** One object (a model archive) instead of everything under `prefix`. */
    objectKey?: string;
}

export interface PlatformConfig {
    project: string;
    stack: string;
    region: string;
    kubernetesVersion: string;
    /** upgradePolicy.supportType of the cluster. */
    supportType: SupportType;
    network: { vpcCidr: string; azCount: number; natGateways: "single" | "onePerAz"; interfaceEndpoints: boolean };
    cluster: {
        adminPrincipalArns: string[];
        /** The PR preview's role (read-only access entry); undefined when previewRoleArn is empty. */
        previewRoleArn?: string;
        logTypes: string[];
        publicAccessCidrs: string[];
        logRetentionDays: number;
    };
    general: { instanceType: string; sizing: Sizing; volumeGiB: number };
    acceleratedVolumeGiB: number;
    /** Keep the video and models buckets (and their objects) when the stack or the feature is removed. */
    protectData: boolean;
    jobs: {
        inputPrefix: string;
        resultsPrefix: string;
        resultsExpiryDays: number;
        /** Days after which uploads under inputPrefix expire; 0 = never. */
        inputExpiryDays: number;
        visibilityTimeoutSeconds: number;
        maxReceiveCount: number;
    };
    video: {
        enabled: boolean;
        nodes: AcceleratedGroupConfig;
        modelUri: string;
        /** Set when modelUri is s3://: the worker role may read it. */
        modelS3?: S3Location;
        modelName: string;
        batchSize: number;
        frameWidth: number;
        frameHeight: number;
        sampleFps: number;
        scoreThreshold: number;
        maxVideoBytes: number;
        maxVideoSeconds: number;
        nvidiaTimeSlicingReplicas: number;
        /**
         * inf2: the node group's pinned AMI releaseVersion. The video model server there is TF Serving Neuronx,
         * the final TensorFlow Neuron build, which needs that release's driver (infra/bert/neuron-releases.ts).
         */
        nodeReleaseVersion?: string;
    };
    scaling: {
        /** Seconds from upload to result the video group is sized for. */
        latencyObjectiveSeconds: number;
        /** The scaler's seconds per video before the workers have published any. */
        secondsPerVideo: number;
        metricNamespace: string;
        oldestMessageAlarmSeconds: number;
        alarmEmail?: string;
    };
    bert: BertConfig;
    /** Who may connect to the workloads' pods besides their own (NetworkPolicies). */
    access: {
        /** Callers of BERT's API ports outside its namespace (bertClients). */
        bertClients: PodPeer[];
        /** The namespace allowed to scrape metrics ports (monitoringNamespace); undefined: none. */
        monitoringNamespace?: string;
    };
    images: { tag?: string; keepImages: number };
    /** Things worth telling the operator (not errors). */
    warnings: string[];
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`,
        );
        this.name = "ConfigError";
    }
}

/** Reads values by key with the table's defaults, recording every problem instead of stopping at the first. */
class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: RawConfig) {}

    private text(key: ConfigKey): string | undefined {
        const v = this.raw.values[key];
        return v === undefined ? undefined : v;
    }

    fail(key: string, message: string): void {
        this.problems.push(`${PROJECT}:${key} ${message}`);
    }

    string(key: ConfigKey): string {
        const v = this.text(key);
        return v === undefined ? String(CONFIG_KEYS[key].default) : v.trim();
    }

    oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T {
        const v = this.string(key);
        if ((allowed as readonly string[]).includes(v)) return v as T;
        this.fail(key, `is '${v}'; valid values: ${allowed.join(", ")}`);
        return CONFIG_KEYS[key].default as T;
    }

    boolean(key: ConfigKey): boolean {
        const v = this.text(key);
        if (v === undefined) return CONFIG_KEYS[key].default as boolean;
        if (v === "true") return true;
        if (v === "false") return false;
        this.fail(key, `is '${v}'; expected true or false`);
        return CONFIG_KEYS[key].default as boolean;
    }

    integer(key: ConfigKey, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const v = this.text(key);
        const fallback = CONFIG_KEYS[key].default as number;
        if (v === undefined) return fallback;
        if (!/^-?\d+$/.test(v.trim())) {
            this.fail(key, `is '${v}'; expected a whole number from ${min} to ${max}`);
            return fallback;
        }
        const n = Number(v);
        if (n < min || n > max) {
            this.fail(key, `is ${n}; expected a whole number from ${min} to ${max}`);
            return fallback;
        }
        return n;
    }

    decimal(key: ConfigKey, min: number, max: number): number {
        const v = this.string(key);
        const n = Number(v);
        if (v === "" || !Number.isFinite(n) || n < min || n > max) {
            this.fail(key, `is '${v}'; expected a number from ${min} to ${max}`);
            return Number(CONFIG_KEYS[key].default);
        }
        return n;
    }

    stringArray(key: ConfigKey): string[] {
        const v = this.text(key);
        if (v === undefined) return [...(CONFIG_KEYS[key].default as string[])];
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((e) => typeof e === "string")) {
            this.fail(key, `is '${v}'; expected a list of strings`);
            return [...(CONFIG_KEYS[key].default as string[])];
        }
        return parsed as string[];
    }

    isSecret(key: ConfigKey): boolean {
        return this.raw.secretKeys.includes(key);
    }
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
function cidrPrefix(cidr: string): number | undefined {
    const m = CIDR.exec(cidr);
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.some((o) => o > 255) || bits > 32) return undefined;
    return bits;
}

const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * A model URI that model-fetch will fetch, checked by model-fetch's own rule (worker/model-fetch/model-uri.ts),
 * so the stack refuses exactly what the init container would refuse at pod start; plus one refusal of its
 * own: a loopback URL (model-fetch allows it for local runs) would point at the pod itself. Returns the S3
 * location the pod's role must read, for s3:// sources.
 */
function readModelUri(r: Reader, key: ConfigKey, uri: string): S3Location | undefined {
    const checked = checkModelUri(uri);
    if (!checked.ok) {
        r.fail(key, `is '${uri}'; it ${checked.problem}`);
        return undefined;
    }
    const source = checked.source;
    switch (source.kind) {
        case "http-archive":
            if (LOOPBACK_HOSTS.has(source.url.hostname))
                r.fail(
                    key,
                    `is '${uri}'; a loopback host is the pod itself, where nothing serves a model: use an https:// URL or an s3:// location`,
                );
            return undefined;
        case "s3-archive":
            return { bucket: source.bucket, prefix: "", objectKey: source.key };
        case "s3-prefix":
            return { bucket: source.bucket, prefix: source.prefix };
    }
}

/** A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function labelKeyProblem(key: string): string | undefined {
    const slash = key.lastIndexOf("/");
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) return `label key prefix '${prefix}' is not a DNS subdomain`;
    if (!LABEL_NAME.test(name))
        return `label name '${name}' is not valid (letters, digits, '-', '_', '.', at most 63, starting and ending alphanumeric)`;
    return undefined;
}

/**
 * Pods named by '<namespace>' (all of its pods) or '<namespace>/<label>=<value>' (its pods with that label).
 * The namespace ends at the first '/' (a namespace has none; a label key may).
 */
function readPodPeers(r: Reader, key: ConfigKey): PodPeer[] {
    const peers: PodPeer[] = [];
    const usage = `expected '<namespace>' or '<namespace>/<label>=<value>', for example web or shop/app.kubernetes.io/name=frontend`;
    for (const entry of r.stringArray(key)) {
        const slash = entry.indexOf("/");
        const namespace = slash < 0 ? entry : entry.slice(0, slash);
        if (!DNS_LABEL.test(namespace)) {
            r.fail(key, `contains '${entry}'; '${namespace}' is not a namespace name (a DNS label); ${usage}`);
            continue;
        }
        if (slash < 0) {
            peers.push({ namespace });
            continue;
        }
        const selector = entry.slice(slash + 1);
        const eq = selector.indexOf("=");
        const [labelKey, value] = eq < 0 ? [selector, undefined] : [selector.slice(0, eq), selector.slice(eq + 1)];
        const problem =
            value === undefined
                ? "the label has no '=<value>'"
                : (labelKeyProblem(labelKey) ??
                  (value === "" || LABEL_NAME.test(value)
                      ? undefined
                      : `label value '${value}' is not valid (at most 63, alphanumeric at both ends)`));
        if (problem !== undefined || value === undefined) {
            r.fail(key, `contains '${entry}'; ${problem ?? ""}; ${usage}`);
            continue;
        }
        peers.push({ namespace, podLabels: { [labelKey]: value } });
    }
    return peers;
}

function readAccelerated(r: Reader, workload: Workload, enabled: boolean, warnings: string[]): AcceleratedGroupConfig {
    const profileKey: ConfigKey = workload === "video" ? "videoAccelerator" : "bertAccelerator";
    const typesKey: ConfigKey = workload === "video" ? "videoInstanceTypes" : "bertInstanceTypes";
    const profileText = r.string(profileKey);
    let profileName: AcceleratorProfileName = CONFIG_KEYS[profileKey].default as AcceleratorProfileName;
    const retired = RETIRED_PROFILES[profileText];
    if (retired !== undefined) {
        r.fail(profileKey, `is '${profileText}': ${retired}`);
    } else if ((ACCELERATOR_PROFILES as readonly string[]).includes(profileText)) {
        profileName = profileText as AcceleratorProfileName;
    } else {
        r.fail(profileKey, `is '${profileText}'; valid profiles: ${ACCELERATOR_PROFILES.join(", ")}`);
    }
    const profile = PROFILES[profileName];
    const capacityType = r.oneOf<CapacityType>(workload === "video" ? "videoCapacityType" : "bertCapacityType", ["ON_DEMAND", "SPOT"]);
    const given = r.stringArray(typesKey);
    const defaults = capacityType === "SPOT" ? [...profile.spotInstanceTypes] : [profile.defaultInstanceType];
    const instanceTypes = given.length === 0 ? defaults : given;
    for (const type of given) {
        if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type)) {
            r.fail(typesKey, `contains '${type}'; expected EC2 instance types such as ${profile.defaultInstanceType}`);
        } else if (!profile.instanceFamilies.includes(instanceFamily(type))) {
            r.fail(
                typesKey,
                `contains '${type}', which the '${profileName}' profile cannot run (families: ${profile.instanceFamilies.join(", ")})`,
            );
        }
    }
    if (new Set(given).size !== given.length) r.fail(typesKey, `lists an instance type twice (${given.join(", ")})`);
    if (enabled && capacityType === "SPOT" && instanceTypes.length < 2) {
        warnings.push(
            `${workload}: a Spot group with one instance type (${instanceTypes.join(", ")}) is a shallow pool: when it has no capacity no node arrives. ` +
                `List two or more types of the '${profileName}' profile in ${PROJECT}:${typesKey} (default: ${profile.spotInstanceTypes.join(", ")}).`,
        );
    }
    if (enabled && profile.warning !== undefined) warnings.push(`${workload}: ${profile.warning}`);
    const sizing = readSizing(r, workload);
    return { workload, profile, instanceType: instanceTypes[0] as string, instanceTypes, capacityType, sizing };
}

function readSizing(r: Reader, group: "general" | Workload): Sizing {
    const minKey = `${group}MinSize` as ConfigKey;
    const desiredKey = `${group}DesiredSize` as ConfigKey;
    const maxKey = `${group}MaxSize` as ConfigKey;
    const minFloor = group === "general" ? 1 : 0;
    const minSize = r.integer(minKey, minFloor, 100);
    const desiredSize = r.integer(desiredKey, minFloor, 100);
    const maxSize = r.integer(maxKey, 1, 100);
    if (desiredSize < minSize) r.fail(desiredKey, `is ${desiredSize}, below ${PROJECT}:${minKey} (${minSize}); need min <= desired <= max`);
    if (desiredSize > maxSize) r.fail(desiredKey, `is ${desiredSize}, above ${PROJECT}:${maxKey} (${maxSize}); need min <= desired <= max`);
    if (minSize > maxSize) r.fail(minKey, `is ${minSize}, above ${PROJECT}:${maxKey} (${maxSize}); need min <= max`);
    return { minSize, desiredSize, maxSize };
}

/** Parses and validates the whole configuration; throws one ConfigError naming every bad key. */
export function parseConfig(raw: RawConfig): PlatformConfig {
    const r = new Reader(raw);
    const warnings: string[] = [];
    const unknown = Object.keys(raw.values).filter((k) => !(k in CONFIG_KEYS));
    for (const k of unknown) r.fail(k, RETIRED_KEYS[k] ?? `is not a known key of this project (see Pulumi.yaml for the list)`);

    const region = raw.region ?? "";
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        r.problems.push(`aws:region is '${region}'; set it in Pulumi.${raw.stack}.yaml (for example us-west-2)`);
    }

    const videoEnabled = r.boolean("videoEnabled");
    const bertEnabled = r.boolean("bertEnabled");

    const supportType = r.oneOf<SupportType>("upgradeSupportType", SUPPORT_TYPES);
    const kubernetesVersion = r.string("kubernetesVersion");
    const verdict = checkKubernetesVersion(kubernetesVersion, supportType, raw.today ?? new Date());
    if (verdict.problem !== undefined) r.fail("kubernetesVersion", verdict.problem);
    if (verdict.warning !== undefined) warnings.push(verdict.warning);

    const vpcCidr = r.string("vpcCidr");
    const bits = cidrPrefix(vpcCidr);
    if (bits === undefined || bits < 16 || bits > 20)
        r.fail("vpcCidr", `is '${vpcCidr}'; expected an IPv4 CIDR from /16 to /20 such as 10.0.0.0/16`);
    const azCount = r.integer("azCount", 2, 4);
    const natGateways = r.oneOf<"single" | "onePerAz">("natGateways", ["single", "onePerAz"]);
    const interfaceEndpoints = r.boolean("interfaceEndpoints");

    const adminPrincipalArns = r.stringArray("clusterAdminPrincipalArns");
    for (const arn of adminPrincipalArns) {
        if (!IAM_PRINCIPAL_ARN.test(arn))
            r.fail("clusterAdminPrincipalArns", `contains '${arn}'; expected IAM role or user ARNs (arn:aws:iam::<account>:role/<name>)`);
    }
    const previewRoleArn = r.string("previewRoleArn");
    if (previewRoleArn !== "") {
        if (!IAM_ROLE_ARN.test(previewRoleArn))
            r.fail(
                "previewRoleArn",
                `is '${previewRoleArn}'; expected the ARN of the IAM role the PR preview assumes (arn:aws:iam::<account>:role/<name>, the repository variable AWS_PREVIEW_ROLE_ARN), or empty`,
            );
        else if (adminPrincipalArns.some((arn) => samePrincipal(arn, previewRoleArn)))
            r.fail(
                "previewRoleArn",
                `is '${previewRoleArn}', which clusterAdminPrincipalArns lists too; a principal has one access entry, and the preview role must stay read-only: use separate roles`,
            );
    }
    const logTypes = r.stringArray("clusterLogTypes");
    for (const t of logTypes) {
        if (!LOG_TYPES.includes(t)) r.fail("clusterLogTypes", `contains '${t}'; valid log types: ${LOG_TYPES.join(", ")}`);
    }
    const publicAccessCidrs = r.stringArray("publicAccessCidrs");
    if (publicAccessCidrs.length === 0) r.fail("publicAccessCidrs", "is empty; list at least one CIDR (the public endpoint is on)");
    for (const c of publicAccessCidrs) {
        if (cidrPrefix(c) === undefined) r.fail("publicAccessCidrs", `contains '${c}'; expected IPv4 CIDRs such as 203.0.113.0/24`);
    }
    const logRetentionDays = r.integer("logRetentionDays", 1, 3653);
    const monitoringNamespace = r.string("monitoringNamespace");
    if (monitoringNamespace !== "" && !DNS_LABEL.test(monitoringNamespace))
        r.fail(
            "monitoringNamespace",
            `is '${monitoringNamespace}'; expected a namespace name (a DNS label: lower-case letters, digits and '-', at most 63) such as monitoring, or empty`,
        );
    const bertClients = readPodPeers(r, "bertClients");

    const generalInstanceType = r.string("generalInstanceType");
    if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(generalInstanceType))
        r.fail("generalInstanceType", `is '${generalInstanceType}'; expected an EC2 instance type such as m7i.large`);
    const generalSizing = readSizing(r, "general");
    const generalVolumeGiB = r.integer("generalVolumeGiB", 20, 1000);
    const acceleratedVolumeGiB = r.integer("acceleratedVolumeGiB", 30, 2000);

    const inputPrefix = r.string("inputPrefix");
    const resultsPrefix = r.string("resultsPrefix");
    if (!PREFIX.test(inputPrefix)) r.fail("inputPrefix", `is '${inputPrefix}'; expected a key prefix ending in '/', such as input/`);
    if (!PREFIX.test(resultsPrefix))
        r.fail("resultsPrefix", `is '${resultsPrefix}'; expected a key prefix ending in '/', such as results/`);
    if (
        PREFIX.test(inputPrefix) &&
        PREFIX.test(resultsPrefix) &&
        (inputPrefix.startsWith(resultsPrefix) || resultsPrefix.startsWith(inputPrefix))
    ) {
        r.fail(
            "resultsPrefix",
            `('${resultsPrefix}') overlaps ${PROJECT}:inputPrefix ('${inputPrefix}'); results written under the input prefix would become new jobs`,
        );
    }
    const resultsExpiryDays = r.integer("resultsExpiryDays", 0, 3650);
    const inputExpiryDays = r.integer("inputExpiryDays", 0, 3650);
    const dlqDays = DLQ_RETENTION_SECONDS / 86400;
    if (inputExpiryDays > 0 && inputExpiryDays < dlqDays) {
        warnings.push(
            `${PROJECT}:inputExpiryDays is ${inputExpiryDays}: uploaded videos expire before the dead-letter queue drops a failed job (${dlqDays} days), ` +
                `so a job replayed after ${inputExpiryDays} days finds its video gone (OBJECT_NOT_FOUND)`,
        );
    }
    const protectData = r.boolean("protectData");
    const visibilityTimeoutSeconds = r.integer("queueVisibilityTimeoutSeconds", 30, 43200);
    const maxReceiveCount = r.integer("maxReceiveCount", 1, 1000);

    const videoNodes = readAccelerated(r, "video", videoEnabled, warnings);
    const videoModelUri = r.string("videoModelUri");
    const videoModelS3 = readModelUri(r, "videoModelUri", videoModelUri);
    if (videoEnabled && videoNodes.profile.devicePlugin === "neuron" && videoModelUri === CONFIG_KEYS.videoModelUri.default) {
        r.fail(
            "videoModelUri",
            `is the default (the TF1 model zoo SSD MobileNet v2 tarball), which is not Neuron-compiled: on the ` +
                `'${videoNodes.profile.name}' profile (${PROJECT}:videoAccelerator) TF Serving would not run it on Inferentia. ` +
                `A Neuron-compiled SavedModel URI is required: set ${PROJECT}:videoModelUri to the s3://<bucket>/<prefix> of a model compiled for ` +
                `${videoNodes.profile.name}, or use videoAccelerator nvidia or cpu for the default model`,
        );
    }
    const videoModelName = r.string("videoModelName");
    if (!DNS_LABEL.test(videoModelName))
        r.fail(
            "videoModelName",
            `is '${videoModelName}'; expected a DNS label (lower-case letters, digits and '-', at most 63) such as object-detection`,
        );
    const nvidiaTimeSlicingReplicas = r.integer("nvidiaTimeSlicingReplicas", 1, 48);
    if (nvidiaTimeSlicingReplicas > 1 && videoNodes.profile.name !== "nvidia") {
        r.fail(
            "nvidiaTimeSlicingReplicas",
            `is ${nvidiaTimeSlicingReplicas}, but ${PROJECT}:videoAccelerator is '${videoNodes.profile.name}'; time-slicing applies to the nvidia profile only (use 1)`,
        );
    }

    // The video model server on inf2 is TF Serving Neuronx: the final TensorFlow Neuron build (runtime-lib
    // 2.30), whose nrt_init fails on the newest Neuron AMI driver. Its node group gets the same pinned AMI
    // release, Kubernetes-version limit and warning as legacy BERT. On inf1 the AMI installs the Inf1 driver at
    // boot, so that group is not pinned (a pin would only stop its security updates).
    let videoNodeReleaseVersion: string | undefined;
    const videoNeuron = neuronNodeRelease("tf-serving", videoNodes.profile.name);
    if (videoNeuron !== undefined) {
        videoNodeReleaseVersion = videoNeuron.ami.releaseVersions[kubernetesVersion];
        if (videoEnabled && videoNodeReleaseVersion === undefined) {
            r.fail(
                "videoAccelerator",
                `is '${videoNodes.profile.name}', whose model server is the final TensorFlow Neuron build (TF Serving Neuron, ` +
                    `runtime-lib ${videoNeuron.components.runtimeLib}); its node AMI is pinned to release ${videoNeuron.ami.release} (Neuron driver ${videoNeuron.ami.driver}), ` +
                    `which has no build for Kubernetes ${kubernetesVersion} (${PROJECT}:kubernetesVersion). Valid with videoAccelerator ${videoNodes.profile.name}: ` +
                    `${amiKubernetesVersions(videoNeuron.ami).join(", ")}; or use videoAccelerator nvidia or cpu`,
            );
        }
    }
    const videoProfile = videoNodes.profile.name;
    if (videoEnabled && (videoProfile === "inf1" || (videoProfile === "inf2" && videoNodeReleaseVersion !== undefined))) {
        warnings.push(
            `video: ${legacyTfServingNotice(kubernetesVersion, `videoAccelerator '${videoProfile}' (TF Serving Neuron model server)`, "Move video to videoAccelerator nvidia or cpu", videoProfile)}`,
        );
    }

    const latencyObjectiveSeconds = r.integer("videoLatencyObjectiveSeconds", 30, 86400);
    const secondsPerVideo = r.integer("secondsPerVideo", 1, 86400);
    const metricNamespace = r.string("metricNamespace");
    if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(metricNamespace) || metricNamespace.startsWith("AWS/")) {
        r.fail(
            "metricNamespace",
            `is '${metricNamespace}'; expected a custom CloudWatch namespace (not AWS/...) such as EksInference/VideoQueue`,
        );
    }
    const alarmEmail = r.string("alarmEmail");
    if (alarmEmail !== "" && !EMAIL.test(alarmEmail)) r.fail("alarmEmail", `is '${alarmEmail}'; expected an e-mail address or empty`);

    const bertNodes = readAccelerated(r, "bert", bertEnabled, warnings);
    const bert = readBert(r, bertEnabled, bertNodes, kubernetesVersion, warnings);
    // The compile Job runs on the BERT nodes on inf2 (index.ts compileJobScheduling): their disk holds the
    // Triton + torch-neuronx + neuronx-cc image (~20 GB unpacked) and the Job's 30 GiB of scratch.
    if (
        bert.enabled &&
        bert.server === "triton" &&
        bert.accelerator === "inf2" &&
        bert.modelUri === undefined &&
        acceleratedVolumeGiB < MIN_VOLUME_GIB_WITH_COMPILE
    ) {
        r.fail(
            "acceleratedVolumeGiB",
            `is ${acceleratedVolumeGiB}, but the BERT nodes run the model compile Job (bertServer triton on inf2 without bertModelUri): ` +
                `the Triton + neuronx-cc image (~20 GB unpacked) and the Job's 30 GiB of scratch need at least ${MIN_VOLUME_GIB_WITH_COMPILE} (default 100)`,
        );
    }

    const imageTag = r.string("imageTag");
    // The tag is `<label>-<16 hex digits>`, and a Docker tag holds at most 128 characters.
    if (imageTag !== "" && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,110}$/.test(imageTag))
        r.fail(
            "imageTag",
            `is '${imageTag}'; expected a Docker tag label (letters, digits, '_', '.', '-', at most 111, so that '-<hash>' fits in a tag)`,
        );
    const keepImages = r.integer("ecrKeepImages", 1, 1000);

    const video = {
        enabled: videoEnabled,
        nodes: videoNodes,
        modelUri: videoModelUri,
        modelS3: videoModelS3,
        modelName: videoModelName,
        batchSize: r.integer("videoBatchSize", 1, 256),
        frameWidth: r.integer("videoFrameWidth", 16, 4096),
        frameHeight: r.integer("videoFrameHeight", 16, 4096),
        sampleFps: r.decimal("videoSampleFps", 0, 240),
        scoreThreshold: r.decimal("videoScoreThreshold", 0, 1),
        maxVideoBytes: r.integer("videoMaxBytes", 1, 5 * 1024 ** 4),
        maxVideoSeconds: r.integer("videoMaxSeconds", 1, 86400),
        nvidiaTimeSlicingReplicas,
        nodeReleaseVersion: videoNodeReleaseVersion,
    };
    // The video pod keeps one video (up to videoMaxBytes) in its scratch emptyDir, sized from it: with the
    // images, the model and the system it must fit the node's root volume under the kubelet's eviction
    // thresholds, or a big video gets the pod evicted instead of DISK_FULL (infra/video/scratch.ts).
    if (videoEnabled && acceleratedVolumeGiB < minVideoVolumeGiB(video.maxVideoBytes)) {
        r.fail(
            "acceleratedVolumeGiB",
            `is ${acceleratedVolumeGiB}, but the video nodes keep a video of up to videoMaxBytes=${video.maxVideoBytes} ` +
                `(a ${videoScratchGiB(video.maxVideoBytes)} GiB scratch volume) with the model-server image, the model and the system, ` +
                `and the kubelet evicts pods when less than ${KUBELET_DISK_RESERVE_PERCENT} % of the disk is free: ` +
                `set at least ${minVideoVolumeGiB(video.maxVideoBytes)}, or lower videoMaxBytes`,
        );
    }
    const oldestMessageAlarmSeconds = r.integer("oldestMessageAlarmSeconds", 60, 1209600);

    if (r.problems.length > 0) throw new ConfigError(r.problems);

    return {
        project: PROJECT,
        stack: raw.stack,
        region,
        kubernetesVersion,
        supportType,
        network: { vpcCidr, azCount, natGateways, interfaceEndpoints },
        cluster: {
            adminPrincipalArns,
            ...(previewRoleArn !== "" ? { previewRoleArn } : {}),
            logTypes,
            publicAccessCidrs,
            logRetentionDays,
        },
        general: { instanceType: generalInstanceType, sizing: generalSizing, volumeGiB: generalVolumeGiB },
        acceleratedVolumeGiB,
        protectData,
        jobs: { inputPrefix, resultsPrefix, resultsExpiryDays, inputExpiryDays, visibilityTimeoutSeconds, maxReceiveCount },
        video,
        scaling: {
            latencyObjectiveSeconds,
            secondsPerVideo,
            metricNamespace,
            oldestMessageAlarmSeconds,
            alarmEmail: alarmEmail === "" ? undefined : alarmEmail,
        },
        bert,
        access: { bertClients, ...(monitoringNamespace !== "" ? { monitoringNamespace } : {}) },
        images: { tag: imageTag === "" ? undefined : imageTag, keepImages },
        warnings,
    };
}

/** Secret keys as the Pulumi language host passes them (PULUMI_CONFIG_SECRET_KEYS, full keys). */
function secretProjectKeys(): string[] {
    const text = process.env.PULUMI_CONFIG_SECRET_KEYS;
    if (!text) return [];
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((k): k is string => typeof k === "string" && k.startsWith(`${PROJECT}:`)).map((k) => k.slice(PROJECT.length + 1));
}

/** Reads this stack's configuration from Pulumi and validates it (throws ConfigError). */
export function readConfig(): PlatformConfig {
    // Every key of this project the stack sets, known or not: unknown keys (typos) are errors too.
    const values: Record<string, string | undefined> = {};
    const all = pulumi.runtime.allConfig();
    for (const fullKey of Object.keys(all)) {
        if (fullKey.startsWith(`${PROJECT}:`)) values[fullKey.slice(PROJECT.length + 1)] = all[fullKey];
    }
    const config = parseConfig({
        values,
        secretKeys: secretProjectKeys(),
        region: new pulumi.Config("aws").get("region"),
        stack: pulumi.getStack(),
    });
    for (const w of config.warnings) pulumi.log.warn(w);
    return config;
}

// ---- BERT (issue 13) ------------------------------------------------------------------------------

export interface BertConfig {
    enabled: boolean;
    nodes: AcceleratedGroupConfig;
    server: BertServer;
    accelerator: BertAccelerator;
    /** Hugging Face id of the model the stack compiles (triton without bertModelUri). */
    modelId: string;
    sequenceLength: number;
    /** Increasing; the largest is the server's max batch size. */
    batchSizes: number[];
    /** The user's own compiled model; undefined means the stack builds it. */
    modelUri?: string;
    /** Where modelUri is in S3 (a prefix, or with legacy tf-serving one archive); undefined for an https archive. */
    modelS3?: S3Location;
    modelName: string;
    replicas: number;
    /** inf2: the node group's pinned AMI releaseVersion, the release shipping the server's Neuron driver (infra/bert/neuron-releases.ts). */
    nodeReleaseVersion?: string;
}

/** Root volume the BERT nodes need when they also run the compile Job: image ~20 + scratch 30 + system ~10 GiB. */
export const MIN_VOLUME_GIB_WITH_COMPILE = 60;

function readBert(r: Reader, enabled: boolean, nodes: AcceleratedGroupConfig, kubernetesVersion: string, warnings: string[]): BertConfig {
    const server = r.oneOf<BertServer>("bertServer", BERT_SERVERS);
    const profile = nodes.profile.name;
    let accelerator: BertAccelerator = "inf2";
    const allowed = BERT_ACCELERATORS[server];
    if ((allowed as readonly string[]).includes(profile)) {
        accelerator = profile as BertAccelerator;
    } else if (profile === "inf1") {
        r.fail(
            "bertAccelerator",
            `is 'inf1', which only bertServer 'tf-serving' (legacy) offers: Inf1 is at end of life in the Neuron SDK and ` +
                `the Triton image carries torch-neuronx for Inf2 only. Valid with bertServer '${server}': ${allowed.join(", ")}`,
        );
    } else if (profile === "cpu") {
        r.fail(
            "bertAccelerator",
            `is 'cpu' while ${PROJECT}:bertServer is 'tf-serving'; CPU serving runs Triton: set bertServer to triton ` +
                `(valid with tf-serving: ${allowed.join(", ")})`,
        );
    } else {
        r.fail(
            "bertAccelerator",
            `is '${profile}'; valid values: inf2, cpu, or inf1 with bertServer tf-serving (BERT has no NVIDIA image)`,
        );
    }

    const modelId = r.string("bertModelId");
    if (!isHuggingFaceModelId(modelId)) {
        r.fail(
            "bertModelId",
            `is '${modelId}'; expected a Hugging Face model id such as ${DEFAULT_BERT_MODEL_ID} (owner/name, letters, digits, '-', '_', '.')`,
        );
    }
    const sequenceLength = r.integer("bertSequenceLength", 8, 512);
    const batchText = r.string("bertBatchSizes");
    let batchSizes = parseBatchSizes(batchText);
    if (batchSizes === undefined) {
        r.fail("bertBatchSizes", `is '${batchText}'; expected 1 to 4 increasing batch sizes from 1 to 64, comma-separated, such as 1,4,8`);
        batchSizes = [1];
    }

    const modelUri = r.string("bertModelUri");
    let modelS3: S3Location | undefined;
    if (modelUri !== "" && server === "tf-serving") {
        // Legacy TF Serving: model-fetch fetches it (s3 prefix, s3 or https archive), by the rule videoModelUri follows.
        modelS3 = readModelUri(r, "bertModelUri", modelUri);
    } else if (modelUri !== "") {
        // Triton: fetch_model.py reads manifest.json and the model-b<N>.pt files under a prefix; no archive, no https.
        const checked = checkModelUri(modelUri);
        if (checked.ok && checked.source.kind === "s3-prefix") modelS3 = { bucket: checked.source.bucket, prefix: checked.source.prefix };
        else
            r.fail(
                "bertModelUri",
                `is '${modelUri}'; ${checked.ok ? "an archive or URL" : `it ${checked.problem}`}. With bertServer 'triton' expected ` +
                    `s3://<bucket>/<prefix>/ of a compiled model (manifest.json and model-b<N>.pt files), or empty to let the stack build it`,
            );
    } else if (enabled && server === "tf-serving") {
        r.fail(
            "bertModelUri",
            `is required with ${PROJECT}:bertServer 'tf-serving': TensorFlow left the Neuron SDK after ${LEGACY_TF_SERVING.neuronRelease}, ` +
                `so the stack cannot compile a SavedModel. Set it to the s3://<bucket>/<prefix>/ of your Neuron-compiled SavedModel, or use bertServer triton ` +
                `(the stack then compiles ${DEFAULT_BERT_MODEL_ID} itself)`,
        );
    }
    const modelName = r.string("bertModelName");
    if (!DNS_LABEL.test(modelName))
        r.fail("bertModelName", `is '${modelName}'; expected a DNS label (lower-case letters, digits and '-', at most 63) such as bert`);
    const replicas = r.integer("bertReplicas", 1, 100);

    // Inf2 nodes run the Neuron driver their image's runtime was released with: the group pins the AMI release
    // that ships it (infra/bert/neuron-releases.ts). Triton and legacy TF Serving use different releases.
    let nodeReleaseVersion: string | undefined;
    const neuron = neuronNodeRelease(server, accelerator);
    if (neuron !== undefined) {
        nodeReleaseVersion = neuron.ami.releaseVersions[kubernetesVersion];
        if (enabled && nodeReleaseVersion === undefined && server === "tf-serving") {
            r.fail(
                "bertServer",
                `is 'tf-serving', whose node AMI is pinned to release ${neuron.ami.release} (Neuron driver ${neuron.ami.driver}); ` +
                    `that release has no build for Kubernetes ${kubernetesVersion} (${PROJECT}:kubernetesVersion). Valid with tf-serving: ` +
                    `${amiKubernetesVersions(neuron.ami).join(", ")}; or set bertServer to triton`,
            );
        } else if (enabled && nodeReleaseVersion === undefined) {
            r.fail(
                "kubernetesVersion",
                `is ${kubernetesVersion}, but BERT on inf2 (bertServer '${server}') runs Neuron ${neuron.release} (runtime-lib ${neuron.components.runtimeLib}), ` +
                    `whose node AMI is pinned to release ${neuron.ami.release} (Neuron driver ${neuron.ami.driver}), which has no build for it. ` +
                    `Valid with BERT on inf2: ${amiKubernetesVersions(neuron.ami).join(", ")}; or set bertAccelerator to cpu`,
            );
        }
    }
    if (enabled && server === "tf-serving" && (accelerator === "inf2" || accelerator === "inf1")) {
        warnings.push(`bert: ${legacyTfServingNotice(kubernetesVersion, undefined, undefined, accelerator)}`);
    }
    return {
        enabled,
        nodes,
        server,
        accelerator,
        modelId,
        sequenceLength,
        batchSizes,
        modelUri: modelUri === "" ? undefined : modelUri,
        modelS3,
        modelName,
        replicas,
        nodeReleaseVersion,
    };
}
