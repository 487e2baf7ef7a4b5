// Measure the shipped scaler bundle against moto: bundle size, cold start (require + first beat) and
// warm beats, in this process. Run: npx tsx scaler/bench/warm.ts [--beats N]
// Not a test: timings depend on the machine, and Lambda at 128 MB gets only a fraction of a vCPU.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from "@aws-sdk/client-auto-scaling";
import { CreateQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { numberFlag, parseFlags } from "../../ops/args";
import { startMoto, useMotoInThisProcess } from "../../testing/moto";
import { ensureScalerBundle } from "../test/bundle";

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
    const usage = "usage: npx tsx scaler/bench/warm.ts [--beats 20]";
    const flags = parseFlags(process.argv.slice(2), { beats: { type: "string" } }, usage);
    const beats = numberFlag(flags.beats, "--beats", { min: 1, integer: true }, usage, 20);
    const bundle = ensureScalerBundle();
    const moto = await startMoto();
    const restore = useMotoInThisProcess(moto);
    try {
        const sqs = new SQSClient({});
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "bench-jobs" }));
        if (!QueueUrl) throw new Error("moto returned no queue URL");
        for (let i = 0; i < 5; i++) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `{"n":${i}}` }));
        const asg = new AutoScalingClient({});
        await asg.send(
            new CreateLaunchConfigurationCommand({
                LaunchConfigurationName: "bench-lc",
                ImageId: "ami-12c6146b",
                InstanceType: "t3.micro",
            }),
        );
        await asg.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: "bench-video",
                LaunchConfigurationName: "bench-lc",
                MinSize: 0,
                MaxSize: 6,
                DesiredCapacity: 3,
                AvailabilityZones: [`${moto.env.AWS_REGION}a`],
            }),
        );
        // The bundle runs in its own Node process (as in Lambda), so its memory is measured alone.
        const probe = `
            const t0 = performance.now();
            const { handler } = require(${JSON.stringify(bundle)});
            const loadMs = performance.now() - t0;
            console.log = () => undefined;
            (async () => {
                const t1 = performance.now();
                await handler({});
                const firstMs = performance.now() - t1;
                const warm = [];
                for (let i = 0; i < ${beats}; i++) { const t = performance.now(); await handler({}); warm.push(performance.now() - t); }
                process.stdout.write(JSON.stringify({ loadMs, firstMs, warm, rss: process.memoryUsage().rss }));
            })().catch((e) => { process.stderr.write(String(e)); process.exit(1); });`;
        const out = execFileSync(process.execPath, ["--no-warnings", "-e", probe], {
            env: {
                ...process.env,
                QUEUE_URL: QueueUrl,
                ASG_NAME: "bench-video",
                METRIC_NAMESPACE: "bench/scaling",
                LATENCY_OBJECTIVE_SECONDS: "600",
                SECONDS_PER_VIDEO: "60",
            },
            encoding: "utf8",
        });
        const r = JSON.parse(out) as { loadMs: number; firstMs: number; warm: number[]; rss: number };
        const round = (x: number) => Math.round(x * 10) / 10;
        console.log(
            JSON.stringify(
                {
                    bundleBytes: fs.statSync(bundle).size,
                    requireMs: round(r.loadMs),
                    firstBeatMs: round(r.firstMs),
                    warmBeats: beats,
                    warmMedianMs: round(median(r.warm)),
                    warmMaxMs: round(Math.max(...r.warm)),
                    processRssMiB: Math.round(r.rss / 2 ** 20),
                    note:
                        "against moto on loopback; real AWS adds network latency. No SecondsPerVideo published: the slow path, " +
                        "GetQueueAttributes, DescribeAutoScalingGroups and GetMetricData in parallel, a second GetMetricData " +
                        "(the last day) after the first, then PutMetricData",
                },
                null,
                2,
            ),
        );
    } finally {
        restore();
        await moto.stop();
    }
}

main().catch((err: unknown) => {
    console.error(`scaler bench: ${(err as Error).message}`);
    process.exit(1);
});
