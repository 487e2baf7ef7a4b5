// The video pod's disk budget: the worker's scratch emptyDir holds one downloaded video and its result, and
// the node's root volume must hold it with the images and the model while staying clear of the kubelet's
// disk-pressure evictions (a killed pod spends its job's receive; issue 17 item 14).

const GIB = 1024 ** 3;

/**
 * Percent of the node's filesystem the worker leaves free (WORK_DIR_RESERVE_PERCENT): the kubelet's default
 * hard eviction thresholds are nodefs.available 10 % and imagefs.available 15 %, and on EKS nodes the
 * container images and the pods' emptyDirs share the root filesystem, so 15 % applies to it.
 */
export const KUBELET_DISK_RESERVE_PERCENT = 15;

/** Room in the scratch emptyDir besides the video: the result file, ffmpeg's log, the job directory. */
export const SCRATCH_HEADROOM_GIB = 4;

/** The scratch emptyDir's size: the largest video accepted plus headroom, at least 12 GiB. */
export function videoScratchGiB(maxVideoBytes: number): number {
    return Math.max(12, Math.ceil(maxVideoBytes / GIB) + SCRATCH_HEADROOM_GIB);
}

/**
 * What the video pod's node keeps on its root volume besides the scratch: the model-server image (TF Serving
 * GPU ~7 GB unpacked, the largest of the video servers), the worker image (~1 GB), the model emptyDir (4 GiB)
 * and TF Serving's tmp (1 GiB), and the system (~10 GiB: OS, kubelet, containerd, logs).
 */
export const VIDEO_NODE_FIXED_GIB = 8 + 4 + 1 + 10;

/** The smallest root volume on which a video pod with this scratch never reaches the eviction thresholds. */
export function minVideoVolumeGiB(maxVideoBytes: number): number {
    return Math.ceil((VIDEO_NODE_FIXED_GIB + videoScratchGiB(maxVideoBytes)) / (1 - KUBELET_DISK_RESERVE_PERCENT / 100));
}
