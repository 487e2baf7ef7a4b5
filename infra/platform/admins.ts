// Which of clusterAdminPrincipalArns get an access entry from this stack (pure).
//
// @pulumi/eks 4.x creates the cluster with accessConfig.bootstrapClusterCreatorAdminPermissions = true
// (pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts): EKS itself then gives the principal that creates the
// cluster an access entry with AmazonEKSClusterAdminPolicy. Declaring a second entry for that principal
// makes CreateAccessEntry fail with ResourceInUseException. So the creator is skipped:
// - on a cluster that does not exist yet, the deploying principal (for an assumed-role session, the role
//   that issued it) is skipped: EKS is about to make it an admin;
// - on an existing cluster, a listed principal that already has an access entry this stack does not manage
//   (the creator's bootstrap entry, or one made by hand) is skipped; entries this stack made stay declared.

/** An IAM principal as far as access entries care: account, role or user, and name (paths ignored). */
export interface Principal {
    account: string;
    kind: "role" | "user";
    name: string;
}

/**
 * The IAM principal behind an ARN: `arn:aws:iam::ACCT:role/path/NAME`, `arn:aws:iam::ACCT:user/path/NAME`,
 * or an STS session `arn:aws:sts::ACCT:assumed-role/NAME/SESSION` (whose issuer is the role NAME; the
 * session ARN never carries the role's path). Undefined for anything else (root, federated users).
 */
export function principalOf(arn: string): Principal | undefined {
    const iam = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[^/]+\/)*([^/]+)$/.exec(arn);
    if (iam) return { account: iam[1] as string, kind: iam[2] as "role" | "user", name: iam[3] as string };
    const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
    if (session) return { account: session[1] as string, kind: "role", name: session[2] as string };
    return undefined;
}

/** Same principal? Role and user names are unique per account whatever their path. */
export function samePrincipal(a: string, b: string): boolean {
    const pa = principalOf(a);
    const pb = principalOf(b);
    return pa !== undefined && pb !== undefined && pa.account === pb.account && pa.kind === pb.kind && pa.name === pb.name;
}

/**
 * Why previewRoleArn cannot get the preview's read-only access entry, or undefined when it can. EKS keeps one
 * access entry per principal (CreateAccessEntry answers ResourceInUseException for a second one), so the
 * preview role must be none of: the deploying principal (EKS's bootstrap entry for the cluster creator, and the
 * preview role must not be the one that writes), a principal this stack makes an admin, or a principal that
 * already has an entry on the live cluster that this stack did not make.
 */
export function previewRoleProblem(
    previewRoleArn: string,
    callerArn: string,
    adminArns: readonly string[],
    clusterName: string,
    existing: ExistingEntry | undefined,
): string | undefined {
    const value = `previewRoleArn is '${previewRoleArn}'`;
    if (samePrincipal(previewRoleArn, callerArn))
        return (
            `${value}, the principal deploying this stack (caller ${callerArn}). EKS gives the cluster's creator an admin access ` +
            `entry of its own (bootstrapClusterCreatorAdminPermissions) and a principal has one access entry, so the preview's ` +
            `entry would fail with ResourceInUseException; and the preview role must be read-only. Use a separate role for the ` +
            `pull-request preview (README, "Review and deploy"), or leave previewRoleArn empty`
        );
    const admin = adminArns.find((arn) => samePrincipal(arn, previewRoleArn));
    if (admin !== undefined)
        return `${value}, which clusterAdminPrincipalArns lists too ('${admin}'); a principal has one access entry, and the preview role must stay read-only: use separate roles`;
    if (existing !== undefined && !existing.managedByThisStack)
        return (
            `${value}, which already has an access entry on cluster ${clusterName} not made by this stack (the cluster creator's, ` +
            `or one made by hand); a principal has one access entry, so the preview's would fail with ResourceInUseException. ` +
            `Use another role, or remove that entry (aws eks delete-access-entry --cluster-name ${clusterName} --principal-arn ${previewRoleArn})`
        );
    return undefined;
}

/** An access entry that exists on the live cluster for a listed principal. */
export interface ExistingEntry {
    /** Made by this stack (carries its project/stack tags), so it stays declared. */
    managedByThisStack: boolean;
}

export interface AdminPlan {
    /** Index in clusterAdminPrincipalArns (keeps each entry's resource name stable) and ARN, for each entry to declare. */
    declare: { index: number; principalArn: string }[];
    /** Principals left out, with why (shown to the operator). */
    skipped: string[];
}

export function planAdminEntries(
    adminArns: readonly string[],
    callerArn: string,
    clusterExists: boolean,
    existing: ReadonlyMap<string, ExistingEntry>,
): AdminPlan {
    const plan: AdminPlan = { declare: [], skipped: [] };
    adminArns.forEach((principalArn, index) => {
        if (!clusterExists && samePrincipal(principalArn, callerArn)) {
            plan.skipped.push(
                `${principalArn}: the deploying principal (${callerArn}) gets the cluster creator's admin access entry from EKS`,
            );
            return;
        }
        const entry = existing.get(principalArn);
        if (clusterExists && entry !== undefined && !entry.managedByThisStack) {
            plan.skipped.push(
                `${principalArn}: already has an access entry not made by this stack (the cluster creator's, or one made by hand)`,
            );
            return;
        }
        plan.declare.push({ index, principalArn });
    });
    return plan;
}
