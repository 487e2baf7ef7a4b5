// A stand-in for the EKS Pod Identity agent, for tests that run a pod's programs on this machine.
// In EKS the Pod Identity webhook gives every container of a pod whose service account has an
// association two variables: AWS_CONTAINER_CREDENTIALS_FULL_URI (the node-local agent,
// http://169.254.170.23/v1/credentials) and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (the pod's projected
// service-account token). The AWS SDKs (JavaScript v3 and botocore) send that token to the agent and
// get the associated role's temporary credentials back. Here the agent listens on 127.0.0.1 (both SDKs
// accept a loopback URI), each pod gets a token file, and a service account without an association
// gets the agent's refusal instead of credentials, as in EKS.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

export interface PodIdentityAssociation {
    namespace: string;
    serviceAccount: string;
    roleArn: string;
}

export interface CredentialRequest {
    namespace: string;
    serviceAccount: string;
    roleArn: string;
}

export interface PodIdentityAgent {
    /** The URI the webhook would inject (here on loopback). */
    readonly url: string;
    /** Every credential request answered, in order. */
    readonly requests: CredentialRequest[];
    /**
     * The variables the webhook injects into a container of a pod running as namespace/serviceAccount,
     * with the token written into `dir`. Throws when the plan has no association for it: EKS injects nothing then.
     */
    envFor(namespace: string, serviceAccount: string, dir: string): Promise<Record<string, string>>;
    stop(): Promise<void>;
}

export async function startPodIdentityAgent(associations: readonly PodIdentityAssociation[]): Promise<PodIdentityAgent> {
    const tokens = new Map<string, { namespace: string; serviceAccount: string }>();
    const requests: CredentialRequest[] = [];
    const server: Server = createServer((req, res) => {
        const identity = tokens.get(req.headers.authorization ?? "");
        const association =
            identity && associations.find((a) => a.namespace === identity.namespace && a.serviceAccount === identity.serviceAccount);
        if (req.method !== "GET" || req.url !== "/v1/credentials" || identity === undefined || association === undefined) {
            res.writeHead(identity === undefined ? 401 : 400, { "content-type": "application/json" });
            res.end(
                JSON.stringify({
                    message:
                        identity === undefined
                            ? "missing or unknown service account token"
                            : `no Pod Identity association for ${identity.namespace}/${identity.serviceAccount}`,
                }),
            );
            return;
        }
        requests.push({ ...identity, roleArn: association.roleArn });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
            JSON.stringify({
                AccessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
                SecretAccessKey: randomBytes(20).toString("base64"),
                Token: randomBytes(32).toString("base64"),
                AccountId: /^arn:[^:]+:iam::(\d{12}):/.exec(association.roleArn)?.[1] ?? "",
                Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
            }),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/credentials`;
    return {
        url,
        requests,
        async envFor(namespace, serviceAccount, dir) {
            if (!associations.some((a) => a.namespace === namespace && a.serviceAccount === serviceAccount)) {
                throw new Error(`no Pod Identity association for ${namespace}/${serviceAccount}: EKS gives such a pod no AWS credentials`);
            }
            const token = randomBytes(24).toString("hex");
            tokens.set(token, { namespace, serviceAccount });
            const tokenFile = path.join(dir, `eks-pod-identity-token-${namespace}-${serviceAccount}`);
            await writeFile(tokenFile, token);
            return { AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile };
        },
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
