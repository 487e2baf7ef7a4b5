// probe.ts (issue 17): what the worker accepts as a video, which stream it analyses, how ffprobe failures
// read, and that nothing but the uploaded file is ever opened. Real ffprobe on files made with ffmpeg.
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestVideo, runFfmpeg } from "../../testing/ffmpeg";
import { decodeBatches } from "../src/decode";
import { JobError } from "../src/errors";
import { mainVideoStream, probeVideo } from "../src/probe";
import { alive, childrenNamed, scratchDir, secretFifo, withFakeTools } from "./support/processes";

const signal = new AbortController().signal;
const testsrc = (size: string, seconds: number, fps = 10): string[] => [
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=${fps}:duration=${seconds}`,
];
const x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];

/** probeVideo's JobError for this file (fails the test when it probes fine). */
async function refusal(path: string, timeoutMs?: number): Promise<JobError> {
    try {
        const info = await probeVideo(path, signal, { timeoutMs });
        assert.fail(`${path} was accepted as a video: ${JSON.stringify(info)}`);
    } catch (err) {
        if (!(err instanceof JobError)) throw err;
        return err;
    }
}

describe("worker probeVideo (issue 17)", function () {
    this.timeout(60_000);
    const dir = scratchDir("probe-test-");
    after(() => rmSync(dir, { recursive: true, force: true }));
    /** Make a file with ffmpeg and return its path under a name without extension, as the worker stores uploads. */
    const media = async (name: string, args: string[]): Promise<string> => {
        const made = join(dir, name);
        await runFfmpeg([...args, made]);
        const input = join(dir, `${name}.input`);
        writeFileSync(input, readFileSync(made));
        return input;
    };

    it("item 12: refuses still images and audio, cover art included, naming what they are; a one-frame video is a video", async () => {
        const cover = join(dir, "cover.png");
        await runFfmpeg([...testsrc("64x64", 1), "-frames:v", "1", cover]);
        const sine = ["-f", "lavfi", "-i", "sine=duration=2"];
        const cases: [string, string[], RegExp][] = [
            ["icon.ico", [...testsrc("64x64", 1), "-frames:v", "1"], /^not a video \(ICO image\)$/],
            ["still.png", [...testsrc("64x64", 1), "-frames:v", "1"], /^not a video \(PNG image\)$/],
            ["song.mp3", [...sine, "-c:a", "libmp3lame"], /^not a video: MP3 audio \(mp3\)$/],
            [
                "song-with-cover.mp3",
                [...sine, "-i", cover, "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic"],
                /^not a video: MP3 audio \(mp3\)$/,
            ],
            [
                "song-with-cover.m4a",
                [...sine, "-i", cover, "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic"],
                /^not a video: aac audio with a cover picture \(png, an attached picture, not a video stream\)$/,
            ],
            ["song.m4a", [...sine, "-c:a", "aac"], /^not a video: audio only \(aac in mov,mp4,m4a,3gp,3g2,mj2\)$/],
        ];
        for (const [name, args, message] of cases) {
            const err = await refusal(await media(name, args));
            assert.equal(err.code, "NOT_A_VIDEO", `${name}: ${err.message}`);
            assert.equal(err.permanent, true);
            assert.match(err.message, message, name);
        }
        // A genuine video of one frame (40 ms) is still a video, and decodes to its frame.
        const one = await media("one-frame.mp4", [...testsrc("160x120", 1, 25), "-frames:v", "1", ...x264]);
        const info = await probeVideo(one, signal);
        assert.equal(info.frameCount, 1);
        let frames = 0;
        for await (const b of decodeBatches({ path: one, width: 32, height: 32, batchSize: 4, signal, info })) frames += b.count;
        assert.equal(frames, 1);
    });

    it("item 15: picks the main video stream: never a small preview track listed first (even marked default), else the default, else the largest", async () => {
        const preview = await media("preview-first.mp4", [
            ...testsrc("80x60", 0.5),
            ...testsrc("320x240", 2),
            "-map",
            "0:v",
            "-map",
            "1:v",
            ...x264,
            "-disposition:v:0",
            "default",
            "-disposition:v:1",
            "0",
        ]);
        const info = await probeVideo(preview, signal);
        assert.deepEqual([info.streamIndex, info.width, info.height, info.frameCount], [1, 320, 240, 20]);
        const twoViews = await media("two-views.mkv", [
            ...testsrc("320x240", 1),
            ...testsrc("320x200", 2),
            "-map",
            "0:v",
            "-map",
            "1:v",
            ...x264,
            "-disposition:v:0",
            "0",
            "-disposition:v:1",
            "default",
        ]);
        assert.equal((await probeVideo(twoViews, signal)).streamIndex, 1, "the default one of two similar streams");
        const pick = (streams: Parameters<typeof mainVideoStream>[0]): number | undefined => mainVideoStream(streams)?.index;
        const v = (index: number, width: number, height: number, disposition: Record<string, number> = {}) => ({
            index,
            codec_type: "video",
            width,
            height,
            disposition,
        });
        assert.equal(pick([v(0, 640, 480), v(1, 1280, 720)]), 1, "no default: the largest");
        assert.equal(pick([v(0, 640, 480, { default: 1 }), v(1, 1280, 720)]), 0, "the default when it is not small");
        assert.equal(pick([v(0, 1920, 1080, { attached_pic: 1 }), v(1, 320, 240)]), 1, "never cover art");
        assert.equal(pick([v(0, 1920, 1080, { timed_thumbnails: 1 })]), undefined, "a thumbnail track is not a video");
    });

    it("item 15: a truncated MP4 (its moov at the end missing) and a Matroska file cut in its headers are TRUNCATED_VIDEO, without addresses", async () => {
        const mp4 = await media("whole.mp4", [...testsrc("160x120", 2), ...x264]);
        const mkv = await media("whole.mkv", [...testsrc("160x120", 2), ...x264]);
        const cut = (from: string, bytes: number): string => {
            const path = `${from}.cut${bytes}`;
            writeFileSync(path, readFileSync(from).subarray(0, bytes));
            return path;
        };
        const mp4Bytes = readFileSync(mp4).length;
        for (const bytes of [Math.floor(mp4Bytes / 2), 2000]) {
            const err = await refusal(cut(mp4, bytes));
            assert.equal(err.code, "TRUNCATED_VIDEO", err.message);
            assert.match(err.message, /^truncated video: the MP4\/MOV file has no index \(moov box\)/);
            assert.doesNotMatch(err.message, /0x[0-9a-f]{6,}|probe-test-/, "no addresses or scratch paths");
        }
        const err = await refusal(cut(mkv, 100));
        assert.equal(err.code, "TRUNCATED_VIDEO", err.message);
        assert.match(
            err.message,
            /^truncated video: the Matroska\/WebM file ends inside its headers; ffprobe says matroska,webm: File ended prematurely/,
        );
        assert.doesNotMatch(err.message, /0x[0-9a-f]{6,}|probe-test-/);
        // Not a video at all stays NOT_A_VIDEO.
        const noise = join(dir, "noise");
        writeFileSync(noise, "this is not a video\n".repeat(50));
        assert.equal((await refusal(noise)).code, "NOT_A_VIDEO");
    });

    it("item 3: ffprobe killed by a signal (an OOM kill) is transient, naming the signal", async () => {
        const video = await makeTestVideo({ path: join(dir, "ok.mp4"), seconds: 1, fps: 10, width: 160, height: 120 });
        const err = await withFakeTools({ ffprobe: "kill -KILL $$" }, () => refusal(video));
        assert.equal(err.code, "DECODER_KILLED", err.message);
        assert.equal(err.permanent, false);
        assert.match(err.message, /^ffprobe was killed by SIGKILL/);
    });

    it("item 8: a hung ffprobe is stopped at its deadline: transient PROBE_TIMEOUT, no process left", async () => {
        const video = await makeTestVideo({ path: join(dir, "ok2.mp4"), seconds: 1, fps: 10, width: 160, height: 120 });
        // Stops itself: no output, no exit, until killed.
        const err = await withFakeTools({ ffprobe: 'kill -STOP $$\nexec real(ffprobe) "$@"' }, () => refusal(video, 500));
        assert.equal(err.code, "PROBE_TIMEOUT", err.message);
        assert.equal(err.permanent, false);
        assert.match(err.message, /PROBE_TIMEOUT_SECONDS=0.5/);
        assert.deepEqual(childrenNamed("ffprobe"), [], "the stopped ffprobe was killed and reaped");
    });

    describe("item 13: playlists, concat lists and other indirections are refused; what they name is never opened", () => {
        const jobDir = join(dir, "job");
        const secretDir = join(dir, "secret-files");
        let secretTs: Buffer;
        let secret: ReturnType<typeof secretFifo>;
        let sideSecret: ReturnType<typeof secretFifo>;
        before(async () => {
            mkdirSync(jobDir, { recursive: true });
            mkdirSync(secretDir, { recursive: true });
            secretTs = await runFfmpeg([...testsrc("160x120", 1), ...x264, "-f", "mpegts", "-"]);
            // A local video on the worker's disk, and one next to the upload in its job directory.
            secret = secretFifo(join(secretDir, "secret.ts"), secretTs);
            sideSecret = secretFifo(join(jobDir, "secret.ts"), secretTs);
        });
        after(() => {
            secret?.stop();
            sideSecret?.stop();
        });
        const S = (): string => join(secretDir, "secret.ts");
        const hls = (entry: string): string => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n${entry}\n#EXT-X-ENDLIST\n`;
        const cases: { name: string; body: () => string; kind: RegExp }[] = [
            { name: "HLS playlist naming a local file", body: () => hls(S()), kind: /HLS playlist/ },
            { name: "HLS playlist with a file:// URL", body: () => hls(`file://${S()}`), kind: /HLS playlist/ },
            { name: "HLS playlist naming a file next to the upload", body: () => hls("secret.ts"), kind: /HLS playlist/ },
            {
                name: "HLS master playlist",
                body: () => {
                    writeFileSync(join(secretDir, "media.m3u8"), hls(S()));
                    return `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n${join(secretDir, "media.m3u8")}\n`;
                },
                kind: /HLS playlist/,
            },
            { name: "HLS playlist with a subfile: segment", body: () => hls(`subfile,,start,0,end,0,,:${S()}`), kind: /HLS playlist/ },
            { name: "HLS playlist with a concat: segment", body: () => hls(`concat:${S()}|${S()}`), kind: /HLS playlist/ },
            {
                name: "HLS playlist with a data: URI",
                body: () => hls(`data:video/mp2t;base64,${secretTs.toString("base64")}`),
                kind: /HLS playlist/,
            },
            {
                name: "ffconcat list naming a file next to the upload",
                body: () => "ffconcat version 1.0\nfile secret.ts\n",
                kind: /ffconcat list/,
            },
            { name: "ffconcat list naming a local file", body: () => `ffconcat version 1.0\nfile ${S()}\n`, kind: /ffconcat list/ },
            {
                name: "DASH manifest",
                body: () =>
                    `<?xml version="1.0" encoding="utf-8"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S"><Period><AdaptationSet mimeType="video/mp2t"><Representation id="1" bandwidth="100000"><BaseURL>file://${S()}</BaseURL><SegmentBase/></Representation></AdaptationSet></Period></MPD>\n`,
                kind: /DASH manifest/,
            },
            {
                name: "SDP session description",
                body: () =>
                    "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n",
                kind: /SDP session description/,
            },
        ];
        for (const c of cases) {
            it(c.name, async () => {
                const input = join(jobDir, "input");
                writeFileSync(input, c.body());
                const err = await refusal(input, 10_000);
                assert.equal(err.code, "NOT_A_VIDEO", err.message);
                assert.match(err.message, /^not a video: the file is /);
                assert.match(err.message, c.kind);
                // The decoder, given the same file without a probe, refuses it too.
                await assert.rejects(
                    (async () => {
                        for await (const b of decodeBatches({ path: input, width: 16, height: 16, batchSize: 1, signal })) void b;
                    })(),
                    (e: unknown) => e instanceof JobError && e.code === "DECODE_FAILED" && /not on whitelist/.test(e.message),
                );
                await new Promise((r) => setTimeout(r, 30)); // the FIFO watchers look every 5 ms
                assert.equal(secret.opened() + sideSecret.opened(), 0, "the secret file was opened");
                assert.deepEqual(childrenNamed("ffprobe"), []);
            });
        }
    });

    it("children are gone after every probe", () => {
        for (const pid of [...childrenNamed("ffprobe"), ...childrenNamed("ffmpeg")]) assert.fail(`left running: ${pid} (${alive(pid)})`);
    });
});
