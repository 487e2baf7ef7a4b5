// Auto Scaling scale-in protection for this worker's own instance, so a scale-in never picks a node in
// the middle of a video. (EC2 termination protection does not stop Auto Scaling; this does.)
// Instance identity: INSTANCE_ID, else IMDSv2 only (token first; IMDSv1 is never tried).
import { AutoScalingClient, DescribeAutoScalingInstancesCommand, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling";
import { errorMessage, type Logger } from "./log";

const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";

/** The instance id from the instance metadata service, IMDSv2 (session token) only. */
export async function instanceIdFromImds(
    endpoint = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_IMDS_ENDPOINT,
    timeoutMs = 2_000,
): Promise<string> {
    const base = endpoint.replace(/\/+$/, "");
    const tokenRes = await fetch(`${base}/latest/api/token`, {
        method: "PUT",
        headers: { "X-aws-ec2-metadata-token-ttl-seconds": "300" },
        signal: AbortSignal.timeout(timeoutMs),
    });
    if (!tokenRes.ok) throw new Error(`IMDSv2 token request to ${base} failed: HTTP ${tokenRes.status}`);
    const token = (await tokenRes.text()).trim();
    const idRes = await fetch(`${base}/latest/meta-data/instance-id`, {
        headers: { "X-aws-ec2-metadata-token": token },
        signal: AbortSignal.timeout(timeoutMs),
    });
    if (!idRes.ok) throw new Error(`IMDSv2 instance-id request to ${base} failed: HTTP ${idRes.status}`);
    const id = (await idRes.text()).trim();
    if (!/^i-[0-9a-f]+$/.test(id)) throw new Error(`IMDSv2 at ${base} returned "${id}", which is not an EC2 instance id`);
    return id;
}

export interface ProtectionOptions {
    autoScaling: AutoScalingClient;
    log: Logger;
    /** Known instance id (INSTANCE_ID); otherwise looked up through IMDSv2. */
    instanceId?: string;
    imdsEndpoint?: string;
}

export class ScaleInProtection {
    private state: boolean | undefined;

    private constructor(
        private readonly autoScaling: AutoScalingClient | undefined,
        readonly instanceId: string | undefined,
        readonly groupName: string | undefined,
        private readonly log: Logger,
    ) {}

    /** SCALE_IN_PROTECTION=off, or not on an Auto Scaling instance. */
    static disabled(log: Logger): ScaleInProtection {
        return new ScaleInProtection(undefined, undefined, undefined, log);
    }

    static async discover(options: ProtectionOptions): Promise<ScaleInProtection> {
        const { log } = options;
        let instanceId = options.instanceId;
        if (instanceId === undefined) {
            try {
                instanceId = await instanceIdFromImds(options.imdsEndpoint);
            } catch (err) {
                log.warn("scale-in protection disabled: cannot find this instance's id through IMDSv2", { error: errorMessage(err) });
                return ScaleInProtection.disabled(log);
            }
        }
        const out = await options.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
        const groupName = out.AutoScalingInstances?.[0]?.AutoScalingGroupName;
        if (groupName === undefined) {
            log.warn("scale-in protection disabled: this instance is not in an Auto Scaling group", { instanceId });
            return ScaleInProtection.disabled(log);
        }
        log.info("scale-in protection enabled", { instanceId, autoScalingGroup: groupName });
        return new ScaleInProtection(options.autoScaling, instanceId, groupName, log);
    }

    get enabled(): boolean {
        return this.autoScaling !== undefined;
    }

    /** Last state we set successfully (undefined before the first call). */
    get current(): boolean | undefined {
        return this.state;
    }

    /**
     * Turn protection on or off. One call: the client's own retry strategy retries what is retryable
     * (throttling, 5xx, network) up to its maxAttempts and nothing else (AccessDenied is final). Never
     * throws: a failure is logged (as an error when clearing fails, since a stuck protection blocks
     * scale-in) and reported as false.
     */
    async set(on: boolean): Promise<boolean> {
        if (this.autoScaling === undefined || this.instanceId === undefined || this.groupName === undefined) return true;
        try {
            await this.autoScaling.send(
                new SetInstanceProtectionCommand({
                    AutoScalingGroupName: this.groupName,
                    InstanceIds: [this.instanceId],
                    ProtectedFromScaleIn: on,
                }),
            );
            this.state = on;
            this.log.debug(on ? "scale-in protection on" : "scale-in protection off", { instanceId: this.instanceId });
            return true;
        } catch (err) {
            const fields = {
                instanceId: this.instanceId,
                autoScalingGroup: this.groupName,
                attempts: (err as { $metadata?: { attempts?: number } }).$metadata?.attempts,
                error: errorMessage(err),
            };
            if (on)
                this.log.warn(
                    "could not turn on scale-in protection; working unprotected (the message returns to the queue if the node goes)",
                    fields,
                );
            else this.log.error("could not clear scale-in protection; it will be retried after the next job and at shutdown", fields);
            return false;
        }
    }
}
