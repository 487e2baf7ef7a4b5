// npm start's options and where its street video comes from (the cache, or why not).
import { strict as assert } from "node:assert";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../ops/args";
import { parseDemoArgs } from "../demo/demo";
import { cacheDir, sampleVideo } from "../demo/sample-video";

describe("npm start: options and the street video", () => {
    let dir: string;
    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "demo-test-"));
    });
    after(async () => {
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("runs the real detector by default, sampling 4 frames a second at score 0.3; the emulator on every frame at 0.5", () => {
        assert.deepEqual(parseDemoArgs([]), {
            model: "centernet",
            video: undefined,
            sampleFps: 4,
            threshold: 0.3,
            threads: undefined,
            out: "demo-output",
        });
        const emulator = parseDemoArgs(["--model", "emulator"]);
        assert.deepEqual([emulator.sampleFps, emulator.threshold], [undefined, 0.5]);
        assert.equal(parseDemoArgs(["--sample-fps", "0"]).sampleFps, undefined, "0 = every frame");
        assert.throws(
            () => parseDemoArgs(["--model", "ssd"]),
            (e: unknown) => e instanceof UsageError && /--model must be one of centernet, emulator/.test(e.message),
        );
        assert.throws(
            () => parseDemoArgs(["--threshold", "1.5"]),
            (e: unknown) => e instanceof UsageError && /--threshold/.test(e.message),
        );
    });

    it("uses the cached video, and says why it cannot fetch one (apt-get failing) instead of failing", async () => {
        const cache = join(dir, "cache");
        const bin = join(dir, "bin");
        await mkdir(bin);
        await writeFile(join(bin, "apt-get"), '#!/bin/sh\necho "E: Unable to locate package opencv-doc" >&2\nexit 100\n');
        await chmod(join(bin, "apt-get"), 0o755);
        const path = process.env.PATH;
        process.env.PATH = `${bin}:${path}`;
        try {
            const failed = await sampleVideo(cache);
            assert.deepEqual(failed, {
                error: "apt-get download opencv-doc failed: E: Unable to locate package opencv-doc (run apt-get update first?)",
            });
        } finally {
            process.env.PATH = path;
        }
        await writeFile(join(cache, "vtest.avi"), "not really a video");
        assert.deepEqual(await sampleVideo(cache), { path: join(cache, "vtest.avi"), cached: true });
        assert.equal(cacheDir({ EKS_INFERENCE_CACHE: "/x" }), "/x");
        assert.equal(cacheDir({ XDG_CACHE_HOME: "/c" }), "/c/eks-inference");
    });
});
