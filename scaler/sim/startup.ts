// How long a new video node takes from the Auto Scaling activity to a worker that receives jobs, built up
// from what each step moves and how fast (nvidia profile, g6.xlarge, EKS AL2023 NVIDIA AMI). The scaling
// simulation takes this design's start-up from here, so the figure follows the stack's real settings: the
// inputs that are stack settings (gp3 throughput, image compression, the image pre-pull DaemonSet, the
// startup-probe period) are read from the same constants the Pulumi program declares.
//
// Every number below is an estimate with its reasoning; none was measured on AWS here (no account).
// Sources:
// - EC2 + boot + join: awslabs/amazon-eks-ami#1099 (c5.xlarge: VM initialised 12 s, kubelet registered
//   39 s after the request, AL2), #1751 (AL2023: nodeadm-config ~20 s before cloud-init), and "GPU
//   instance types often take much longer to boot" (#1099); aws/karpenter-provider-aws#6128 (~70-80 s
//   launch -> registration). Taken as 75 s to a Ready node, VPC CNI included.
// - Image pulls: kubelet pulls images of one pod's containers one after another (init containers run in
//   order); nodeadm sets serializeImagePulls=false, so two pods pull in parallel
//   (amazon-eks-ami nodeadm/internal/kubelet/config.go). containerd writes each compressed layer to its
//   content store, unpacks it to the snapshotter, then discards the blob (discard_unpacked_layers in
//   nodeadm's containerd template): about compressed + unpacked bytes hit the root volume.
// - TF Serving 2.20.0-gpu: FROM nvidia/cuda:12.5.1-base, plus cuda-libraries-12-5, cuDNN 9, TensorRT 8.6,
//   NCCL, nvcc and build-essential in one apt layer (tensorflow/serving Dockerfile.gpu); GPU TF Serving
//   images passed 4 GB at TF 1.15 (aws/sagemaker-tensorflow-serving-container#95) and doubled at 2.4
//   (tensorflow/serving#1813). Estimated 3.2 GB compressed, 8 GB unpacked, 6.5 GB of it in that layer.
// - Worker: node:24 bookworm-slim + Debian ffmpeg 5.1 + two esbuild bundles: ~0.2 GB / 0.55 GB.
// - Model: ssd_mobilenet_v2_coco_2018_03_29.tar.gz, ~0.18 GB from download.tensorflow.org through the NAT.
// - Decompression: zstd decompresses several times faster than zlib on one core (facebook/zstd README
//   benchmark: ~1,500 vs ~400 MB/s); a cloud vCPU taken as 900 vs 250 MB/s. ECR accepts zstd layers and
//   containerd unpacks them (AWS Containers blog, "Reducing AWS Fargate startup times with zstd
//   compressed container images", 2022).
// - gp3: 125 MiB/s baseline, up to 1,000 MiB/s provisioned (with >= 0.25 MiB/s per provisioned IOPS).
// Cuts not taken (the model shows what they would buy):
// - zstd layers (buildx compression=zstd,force-compression=true): ~9 s more, but ECR basic scan-on-push
//   support for zstd layers is unverified here, and recompressing the 3 GB CUDA base on every build is slow.
// - SOCI parallel pull (nodeadm feature gate FastImagePull): only on instances with >= 4 vCPU and >= 7 GiB
//   (amazon-eks-ami nodeadm/internal/containerd/config.go), so not on g6f.large; with gzip the single
//   large layer is still decompressed by one core.
// - The model cached on a hostPath: a new node has an empty disk, so it only helps pod restarts (~5 s).
// - Pre-baked images (custom AMI or an EBS snapshot of containerd's store): the largest remaining cut
//   after the boot itself, but a custom AMI per image build, kept in step with the EKS AMI releases.

import { STARTUP_PROBE_PERIOD_SECONDS } from "../../infra/kube/tf-serving";
import { VIDEO_VOLUME_THROUGHPUT_MIBPS } from "../../infra/platform/node-pools";

const MB = 1e6;
const MIB = 1024 * 1024;

export interface ImageWeight {
    compressedBytes: number;
    unpackedBytes: number;
    /** The biggest single layer, unpacked (one gzip/zstd stream is decompressed by one core). */
    largestLayerUnpackedBytes: number;
}

export const MODEL_SERVER_IMAGE: ImageWeight = {
    compressedBytes: 3200 * MB,
    unpackedBytes: 8000 * MB,
    largestLayerUnpackedBytes: 6500 * MB,
};
export const WORKER_IMAGE: ImageWeight = { compressedBytes: 200 * MB, unpackedBytes: 550 * MB, largestLayerUnpackedBytes: 300 * MB };

export interface StartupSettings {
    /** Root volume throughput, MiB/s (gp3 baseline 125). */
    diskMiBps: number;
    compression: "gzip" | "zstd";
    /** A separate pod pulls the model-server image as soon as the node is Ready. */
    prePullModelServer: boolean;
    /** Period of TF Serving's startup probe: on average half a period passes after the model is loaded. */
    startupProbePeriodSeconds: number;
}

export const ESTIMATES = {
    /** Auto Scaling activity -> EC2 instance running. */
    launchSeconds: 15,
    /** Running -> node Ready (AL2023 boot, nodeadm, containerd, kubelet, VPC CNI). */
    bootAndJoinSeconds: 60,
    /** NVIDIA device plugin pod started and nvidia.com/gpu advertised (the video pod needs it to schedule). */
    devicePluginSeconds: 10,
    /** Aggregate registry download rate with containerd's 3 concurrent layer downloads, bytes/s. */
    downloadBytesPerSecond: 300 * MB,
    /** Single-stream decompression, bytes of output per second. */
    decompressBytesPerSecond: { gzip: 250 * MB, zstd: 900 * MB },
    /** Model tarball download and unpack into the emptyDir. */
    modelFetchSeconds: 5,
    /** TF Serving process start, CUDA/cuDNN init, SavedModel load. */
    modelServerLoadSeconds: 12,
    /** Worker start and its preflight checks (queue, bucket, model AVAILABLE). */
    workerStartSeconds: 2,
} as const;

/** Seconds to pull one image when `sharedBytes` more bytes are written to the same disk at the same time. */
export function pullSeconds(image: ImageWeight, s: StartupSettings, sharedBytes = 0): number {
    const download = image.compressedBytes / ESTIMATES.downloadBytesPerSecond;
    // containerd unpacks layers in order, one stream at a time.
    const decompress = image.unpackedBytes / ESTIMATES.decompressBytesPerSecond[s.compression];
    const disk = (image.compressedBytes + image.unpackedBytes + sharedBytes) / (s.diskMiBps * MIB);
    return Math.max(download, decompress, disk);
}

export interface StartupBreakdown {
    settings: StartupSettings;
    steps: { step: string; seconds: number }[];
    /** Launch -> the worker receives its first job. */
    totalSeconds: number;
}

/** The critical path from the scaling activity to a worker that takes jobs. */
export function startupBreakdown(s: StartupSettings): StartupBreakdown {
    const e = ESTIMATES;
    const ready = e.launchSeconds + e.bootAndJoinSeconds;
    const workerPull = pullSeconds(WORKER_IMAGE, s);
    // The video pod: scheduled once the GPU is advertised; init model-fetch (worker image), then TF Serving.
    const modelsInPlace = ready + e.devicePluginSeconds + workerPull + e.modelFetchSeconds;
    const serverImage = s.prePullModelServer
        ? ready + pullSeconds(MODEL_SERVER_IMAGE, s, WORKER_IMAGE.compressedBytes + WORKER_IMAGE.unpackedBytes)
        : modelsInPlace + pullSeconds(MODEL_SERVER_IMAGE, s);
    const serverStarts = Math.max(modelsInPlace, serverImage);
    const available = serverStarts + e.modelServerLoadSeconds + s.startupProbePeriodSeconds / 2;
    const total = available + e.workerStartSeconds;
    const steps = [
        { step: "EC2 launch", seconds: e.launchSeconds },
        { step: "boot and join (node Ready)", seconds: e.bootAndJoinSeconds },
        { step: "device plugin advertises the GPU", seconds: e.devicePluginSeconds },
        { step: "worker image pull", seconds: workerPull },
        { step: "model fetch", seconds: e.modelFetchSeconds },
        {
            step: s.prePullModelServer ? "model-server image pull (pre-pull pod from node Ready): wait left" : "model-server image pull",
            seconds: serverStarts - modelsInPlace,
        },
        { step: "model load", seconds: e.modelServerLoadSeconds },
        { step: "startup probe (half a period)", seconds: s.startupProbePeriodSeconds / 2 },
        { step: "worker start", seconds: e.workerStartSeconds },
    ];
    return { settings: s, steps, totalSeconds: Math.round(total) };
}

/** The stack as it was before issue 19: 125 MiB/s, gzip, no pre-pull, a 10 s probe period. */
export const BEFORE: StartupSettings = { diskMiBps: 125, compression: "gzip", prePullModelServer: false, startupProbePeriodSeconds: 10 };

/**
 * The stack as declared now: the video group's gp3 throughput (infra/platform/node-pools.ts), gzip layers
 * (the buildx default), the pre-pull DaemonSet (infra/video/daemonset.ts), TF Serving's startup-probe
 * period (infra/kube/tf-serving.ts).
 */
export const DECLARED: StartupSettings = {
    diskMiBps: VIDEO_VOLUME_THROUGHPUT_MIBPS,
    compression: "gzip",
    prePullModelServer: true,
    startupProbePeriodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
};
