// results.ts writeResult (issue 17 item 10) against moto: a result describes the object version it was
// computed from and never replaces the result of a newer version, also when another worker writes between
// this worker's check and its write (S3 conditional writes: If-None-Match "*", If-Match <etag>).
import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startMoto, useMotoInThisProcess, type MotoServer } from "../../testing/moto";
import { writeResult } from "../src/results";

describe("worker results.writeResult (conditional, never over a newer version's result)", function () {
    this.timeout(60_000);
    let moto: MotoServer;
    let restore: () => void;
    let s3: S3Client;
    let dir: string;
    const bucket = "videos";
    const input = "input/clip.mp4";
    const result = { bucket, key: "results/input/clip.mp4.json" };

    before(async () => {
        moto = await startMoto();
        restore = useMotoInThisProcess(moto);
        s3 = new S3Client({ forcePathStyle: true });
        dir = await mkdtemp(join(tmpdir(), "results-write-"));
    });
    after(async () => {
        s3?.destroy();
        restore?.();
        await moto?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
        await moto.reset();
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    });

    async function put(key: string, body: string): Promise<string> {
        const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        return (out.ETag ?? "").replace(/"/g, "");
    }
    async function text(key: string): Promise<string> {
        return (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ?? "";
    }
    async function file(body: string): Promise<{ path: string; bytes: number }> {
        const path = join(dir, `r-${Math.random()}.json`);
        await writeFile(path, body);
        return { path, bytes: Buffer.byteLength(body) };
    }

    it("writes a first result, and writes again over a result of the same version (a re-run)", async () => {
        const v1 = await put(input, "version 1");
        assert.deepEqual(await writeResult(s3, result, { bucket, key: input, etag: v1 }, await file("r1")), { outcome: "written" });
        assert.deepEqual(await writeResult(s3, result, { bucket, key: input, etag: v1 }, await file("r1 again")), { outcome: "written" });
        assert.equal(await text(result.key), "r1 again");
    });

    it("does not write when the input has been replaced since it was read", async () => {
        const v1 = await put(input, "version 1");
        const v2 = await put(input, "version 2");
        await put(result.key, "r2");
        assert.deepEqual(await writeResult(s3, result, { bucket, key: input, etag: v1 }, await file("r1")), {
            outcome: "superseded",
            currentEtag: v2,
        });
        assert.equal(await text(result.key), "r2");
    });

    it("another worker replacing the input and writing its result between this worker's check and its write: the write is refused, then superseded", async () => {
        const v1 = await put(input, "version 1");
        let raced = false;
        // S3 as this worker sees it, with the other worker acting right before this worker's first PutObject.
        const racing = {
            send: async (command: unknown, options?: unknown) => {
                if (command instanceof PutObjectCommand && !raced) {
                    raced = true;
                    await put(input, "version 2");
                    await put(result.key, "r2");
                }
                return (s3.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
            },
        } as unknown as S3Client;
        const outcome = await writeResult(racing, result, { bucket, key: input, etag: v1 }, await file("r1"));
        assert.ok(raced);
        assert.equal(outcome.outcome, "superseded");
        assert.equal(await text(result.key), "r2", "version 2's result stands");
    });

    it("the same race with the same version (another worker re-running the job): the result is written over it, conditionally on its ETag", async () => {
        const v1 = await put(input, "version 1");
        let raced = false;
        let theirs = "";
        const puts: { ifMatch?: string; ifNoneMatch?: string }[] = [];
        const racing = {
            send: async (command: unknown, options?: unknown) => {
                if (command instanceof PutObjectCommand) {
                    puts.push({ ifMatch: command.input.IfMatch, ifNoneMatch: command.input.IfNoneMatch });
                    if (!raced) {
                        raced = true;
                        theirs = await put(result.key, "r1 by the other worker");
                    }
                }
                return (s3.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
            },
        } as unknown as S3Client;
        assert.deepEqual(await writeResult(racing, result, { bucket, key: input, etag: v1 }, await file("r1")), { outcome: "written" });
        assert.equal(await text(result.key), "r1");
        assert.deepEqual(puts, [
            { ifMatch: undefined, ifNoneMatch: "*" },
            { ifMatch: `"${theirs}"`, ifNoneMatch: undefined },
        ]);
    });
});
