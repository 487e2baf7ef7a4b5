// Issue 17 item 14: a full WORK_DIR on a real (tmpfs) filesystem. A result file short-written on a full
// disk is an error naming DISK_FULL, never a smaller file reported as whole; a download that meets ENOSPC
// is DISK_FULL at once, not "the transfer stalled" after three downloads.
import { strict as assert } from "node:assert";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { mountTmpfs, type Tmpfs } from "../../testing/tmpfs";
import { diskSpace, resumeBytes, workDirRoom, type WorkDirLimits } from "../src/disk";
import { GiveBackError, JobError } from "../src/errors";
import { ResultFileWriter } from "../src/results";
import { downloadVideo } from "../src/source";

/** Fills `dir`'s filesystem until `leave` bytes are free. */
async function fill(dir: string, leave: number): Promise<void> {
    const { free } = await diskSpace(dir);
    await writeFile(join(dir, "filler"), Buffer.alloc(Math.max(0, free - leave)));
}

describe("worker on a full disk (issue 17 item 14; tmpfs)", () => {
    let disk: Tmpfs;
    beforeEach(async () => {
        disk = await mountTmpfs(512 * 1024);
    });
    afterEach(async () => {
        await disk?.unmount();
    });

    it("a result that does not fit is DISK_FULL, not a short file reported as whole", async () => {
        const job = join(disk.dir, "video-job-1-x");
        await mkdir(job);
        await fill(disk.dir, 64 * 1024);
        const writer = await ResultFileWriter.create(join(job, "result.json"), {
            source: { bucket: "b", key: "k", etag: "e" },
            model: { name: "m", signature: "s", version: 1 },
            frameSize: { width: 1, height: 1 },
            sampleFps: null,
            scoreThreshold: 0.5,
        });
        const detections = Array.from({ length: 5 }, (_, i) => ({
            label: "person",
            classId: 1,
            score: 0.9,
            box: [0.1, 0.1, 0.1 * i, 0.5] as [number, number, number, number],
        }));
        let finished: number | undefined;
        try {
            await assert.rejects(
                (async () => {
                    for (let i = 0; i < 2000; i++) await writer.addFrame({ index: i, timestampMs: i * 40, detections });
                    finished = await writer.finish();
                })(),
                (err: unknown) => {
                    assert.ok(err instanceof GiveBackError, String(err));
                    assert.equal(err.code, "DISK_FULL");
                    assert.match(err.message, new RegExp(`^WORK_DIR="${disk.dir}" has no room for the result: `));
                    return true;
                },
            );
        } finally {
            await writer.close();
        }
        assert.equal(finished, undefined, "no byte count for a result that is not all on disk");
    });

    it("a download that fills the disk is DISK_FULL after one attempt (even when S3 sends no length)", async () => {
        const job = join(disk.dir, "video-job-1-y");
        await mkdir(job);
        await fill(disk.dir, 64 * 1024);
        let gets = 0;
        const s3 = {
            send: async () => {
                gets++;
                return { ETag: '"abc"', Body: Readable.from([Buffer.alloc(100 * 1024), Buffer.alloc(100 * 1024)]) };
            },
        } as unknown as S3Client;
        await assert.rejects(
            downloadVideo(s3, { bucket: "b", key: "k" }, join(job, "input"), 1e9, new AbortController().signal),
            (err: unknown) => {
                assert.ok(err instanceof GiveBackError, String(err));
                assert.equal(err.code, "DISK_FULL");
                assert.match(err.message, /has no room for the video/);
                return true;
            },
        );
        assert.equal(gets, 1, "not fetched again");
        assert.ok((await stat(join(job, "input"))).size < 200 * 1024);
    });

    it("a download whose length does not fit is DISK_FULL before a byte is written", async () => {
        const job = join(disk.dir, "video-job-1-z");
        await mkdir(job);
        await fill(disk.dir, 64 * 1024);
        const s3 = {
            send: async () => ({ ETag: '"abc"', ContentLength: 200 * 1024, Body: Readable.from([Buffer.alloc(200 * 1024)]) }),
        } as unknown as S3Client;
        await assert.rejects(
            downloadVideo(s3, { bucket: "b", key: "k" }, join(job, "input"), 1e9, new AbortController().signal),
            (err: unknown) => {
                assert.ok(err instanceof GiveBackError && err.code === "DISK_FULL", String(err));
                assert.match(err.message, /has no room for a video of 204800 bytes \(\d+ bytes free\)/);
                return true;
            },
        );
    });

    describe("what the kubelet allows, not only ENOSPC: WORK_DIR_RESERVE_PERCENT and WORK_DIR_LIMIT_BYTES", () => {
        const video = (bytes: number) =>
            ({
                send: async () => ({ ETag: '"abc"', ContentLength: bytes, Body: Readable.from([Buffer.alloc(bytes)]) }),
            }) as unknown as S3Client;
        const download = (dir: string, bytes: number, limits: WorkDirLimits) =>
            downloadVideo(
                video(bytes),
                { bucket: "b", key: "k" },
                join(dir, "input"),
                1e9,
                new AbortController().signal,
                undefined,
                limits,
            );

        it("a video that would leave less free than the reserve (the node's eviction threshold) is DISK_FULL before a byte is written", async () => {
            const job = join(disk.dir, "video-job-1-r");
            await mkdir(job);
            const { free, total } = await diskSpace(disk.dir);
            assert.ok(free > 300 * 1024, `${free} bytes free`);
            // 50 % reserved: 256 KiB of this 512 KiB filesystem; the video fits the free space, not the room above the reserve.
            const bytes = free - 200 * 1024;
            await assert.rejects(download(job, bytes, { reservePercent: 50 }), (err: unknown) => {
                assert.ok(err instanceof GiveBackError && err.code === "DISK_FULL", String(err));
                assert.match(
                    err.message,
                    new RegExp(
                        `has no room for a video of ${bytes} bytes \\(\\d+ bytes free \\(WORK_DIR_RESERVE_PERCENT=50 of its filesystem kept free\\)\\)`,
                    ),
                );
                return true;
            });
            assert.equal((await workDirRoom(disk.dir, { reservePercent: 50 })).room, Math.max(0, free - total / 2));
            const got = await download(job, bytes, { reservePercent: 0 });
            assert.equal(got.bytes, bytes, "without a reserve the same video is downloaded");
        });

        it("a video that would take WORK_DIR over its limit (the emptyDir's sizeLimit) is DISK_FULL; one over the limit itself is TOO_LARGE", async () => {
            const job = join(disk.dir, "video-job-1-l");
            await mkdir(job);
            await writeFile(join(disk.dir, "video-job-2-left-behind"), Buffer.alloc(100 * 1024));
            const limits = { reservePercent: 0, limitBytes: 200 * 1024 };
            const room = await workDirRoom(disk.dir, limits);
            assert.equal(room.used, 100 * 1024, "what WORK_DIR holds, in allocated blocks");
            assert.equal(room.room, 100 * 1024);
            await assert.rejects(download(job, 150 * 1024, limits), (err: unknown) => {
                assert.ok(err instanceof GiveBackError && err.code === "DISK_FULL", String(err));
                assert.match(err.message, /\(102400 bytes free \(WORK_DIR_LIMIT_BYTES=204800\)\)$/);
                return true;
            });
            await assert.rejects(download(job, 250 * 1024, limits), (err: unknown) => {
                assert.ok(err instanceof JobError && err.code === "TOO_LARGE" && err.permanent, String(err));
                assert.match(err.message, /more than WORK_DIR may ever hold \(WORK_DIR_LIMIT_BYTES=204800\)/);
                return true;
            });
            assert.equal((await download(job, 90 * 1024, limits)).bytes, 90 * 1024, "a video that fits is downloaded");
        });

        it("a worker that found WORK_DIR full resumes at 5 % of the filesystem or of WORK_DIR_LIMIT_BYTES, whichever is smaller, at most 1 GiB", () => {
            assert.equal(resumeBytes(100 * 1024 ** 3), 1024 ** 3);
            assert.equal(resumeBytes(10 * 1024 ** 3), Math.ceil(0.05 * 10 * 1024 ** 3));
            assert.equal(resumeBytes(100 * 1024 ** 3, 4 * 1024 ** 3), Math.ceil(0.05 * 4 * 1024 ** 3));
        });
    });
});
