// Auto Scaling scale-in protection for this worker's own instance, so a scale-in never picks a node in
// the middle of a video. (EC2 termination protection does not stop Auto Scaling; this does.)
// Instance identity, first that applies:
//   INSTANCE_ID                     given (tests, hosts outside EC2);
//   NODE_NAME (in the cluster)      the Kubernetes node name from the downward API, resolved once through EC2
//                                   DescribeInstances: no pod needs the instance metadata service, which the
//                                   nodes keep at hop limit 1 so that no pod reaches the node role's credentials;
//   IMDSv2 (outside Kubernetes)     a worker run straight on an EC2 instance (token first; IMDSv1 is never tried).
import { AutoScalingClient, DescribeAutoScalingInstancesCommand, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { errorMessage, type Logger } from "./log";

/** An EC2 instance id (8 or 17 hex digits). */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * The id of the EC2 instance a Kubernetes node runs on, from the node's name. EKS AL2023 nodes (nodeadm) name
 * the node after the instance's EC2 private DNS name (ip-10-0-1-23.us-west-2.compute.internal), or after the
 * instance id itself with nodeadm's InstanceIdNodeName feature gate (awslabs/amazon-eks-ami, nodeadm
 * internal/kubelet/config.go, withCloudProvider). An id is taken as it is; a DNS name is looked up with
 * DescribeInstances filtered by private-dns-name, among pending and running instances (a terminated
 * instance's address may be reused). Anything but exactly one match is an error naming the node.
 */
export async function instanceIdOfNode(ec2: EC2Client, nodeName: string): Promise<string> {
    if (INSTANCE_ID.test(nodeName)) return nodeName;
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
        const page = await ec2.send(
            new DescribeInstancesCommand({
                Filters: [
                    { Name: "private-dns-name", Values: [nodeName] },
                    { Name: "instance-state-name", Values: ["pending", "running"] },
                ],
                NextToken: nextToken,
            }),
        );
        for (const reservation of page.Reservations ?? [])
            for (const instance of reservation.Instances ?? []) if (instance.InstanceId !== undefined) ids.push(instance.InstanceId);
        nextToken = page.NextToken;
    } while (nextToken !== undefined);
    if (ids.length !== 1) {
        throw new Error(
            ids.length === 0
                ? `no running EC2 instance has the private DNS name of node "${nodeName}"`
                : `${ids.length} running EC2 instances (${ids.join(", ")}) have the private DNS name of node "${nodeName}"`,
        );
    }
    return ids[0] as string;
}

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
    /** Known instance id (INSTANCE_ID); otherwise looked up from nodeName, else through IMDSv2. */
    instanceId?: string;
    /** The Kubernetes node this worker runs on (NODE_NAME, from the downward API); needs `ec2`. */
    nodeName?: string;
    /** For the node name lookup (DescribeInstances). */
    ec2?: EC2Client;
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
        if (instanceId === undefined && options.nodeName !== undefined) {
            if (options.ec2 === undefined) throw new Error("ScaleInProtection.discover: nodeName needs an EC2 client");
            try {
                instanceId = await instanceIdOfNode(options.ec2, options.nodeName);
            } catch (err) {
                log.warn("scale-in protection disabled: cannot find this node's EC2 instance", {
                    node: options.nodeName,
                    error: errorMessage(err),
                });
                return ScaleInProtection.disabled(log);
            }
        } else if (instanceId === undefined) {
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
        log.info("scale-in protection enabled", {
            instanceId,
            autoScalingGroup: groupName,
            ...(options.nodeName ? { node: options.nodeName } : {}),
        });
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
