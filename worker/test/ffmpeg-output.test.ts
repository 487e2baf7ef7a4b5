// ffmpeg-output.ts: ffmpeg's words made fit for error messages and results.
import { strict as assert } from "node:assert";
import { cleanFfmpegText, killedBy, signalName, tail } from "../src/ffmpeg-output";

describe("worker ffmpeg-output", () => {
    it("drops log-context addresses and the scratch path (issue 17, item 15)", () => {
        const path = "/tmp/video-job-1-abc/input";
        assert.equal(
            cleanFfmpegText(
                `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c04e2f00] moov atom not found\nfile:${path}: Invalid data found when processing input`,
                path,
            ),
            "mov,mp4,m4a,3gp,3g2,mj2: moov atom not found\nthe input: Invalid data found when processing input",
        );
        assert.equal(
            cleanFfmpegText("[h264 @ 0x7f00aa] error while decoding MB 3 2, bytestream -5"),
            "h264: error while decoding MB 3 2, bytestream -5",
        );
        assert.equal(cleanFfmpegText("Last message repeated 1 times @ 0xdeadbeef in context"), "Last message repeated 1 times in context");
        assert.equal(tail("x".repeat(700)).length, 603);
    });
    it("names signals", () => {
        assert.equal(signalName(9), "SIGKILL");
        assert.equal(signalName("SIGTERM"), "SIGTERM");
        assert.equal(killedBy("SIGKILL"), "was killed by SIGKILL (the out-of-memory killer does that)");
        assert.equal(killedBy("SIGSEGV"), "was killed by SIGSEGV");
    });
});
