// Listing yourself in clusterAdminPrincipalArns must work: the cluster creator's entry comes from EKS.
import * as assert from "assert";
import { planAdminEntries, principalOf, samePrincipal } from "../../platform/admins";
import { MockRunOptions, MockRunResult, prefetchStackRuns, runStackUnderMocks } from "../../mock-run/mock-run";
import { MOCK_ACCOUNT, MOCK_CALLER_ARN } from "../../mock-run/mock-world";

const DEPLOYER_WITH_PATH = `arn:aws:iam::${MOCK_ACCOUNT}:role/ci/deploy/Deployer`;
const OTHER = "arn:aws:iam::111122223333:role/platform-admins";

function entryArns(run: MockRunResult): Record<string, string> {
    const cluster = run.resources.find((r) => r.type === "eks:index:Cluster");
    assert.ok(cluster);
    const entries = (cluster.inputs.accessEntries ?? {}) as Record<string, { principalArn: string }>;
    return Object.fromEntries(Object.entries(entries).map(([k, e]) => [k, e.principalArn]));
}

describe("cluster admins (pure)", () => {
    it("reads the principal of role, user and assumed-role ARNs, paths included", () => {
        assert.deepStrictEqual(principalOf(MOCK_CALLER_ARN), { account: MOCK_ACCOUNT, kind: "role", name: "Deployer" });
        assert.deepStrictEqual(principalOf(DEPLOYER_WITH_PATH), { account: MOCK_ACCOUNT, kind: "role", name: "Deployer" });
        assert.deepStrictEqual(principalOf("arn:aws:iam::111122223333:user/people/alice"), {
            account: "111122223333",
            kind: "user",
            name: "alice",
        });
        assert.deepStrictEqual(
            principalOf("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com"),
            { account: "111122223333", kind: "role", name: "AWSReservedSSO_Admin_0123456789abcdef" },
        );
        assert.strictEqual(principalOf("arn:aws:iam::111122223333:root"), undefined);
        assert.ok(
            samePrincipal(DEPLOYER_WITH_PATH, MOCK_CALLER_ARN),
            "an assumed-role session is its issuer role, whatever the role's path",
        );
        assert.ok(!samePrincipal(`arn:aws:iam::${MOCK_ACCOUNT}:user/Deployer`, MOCK_CALLER_ARN), "a user is not a role of the same name");
        assert.ok(!samePrincipal(`arn:aws:iam::111122223333:role/Deployer`, MOCK_CALLER_ARN), "another account's role");
    });

    it("on a new cluster skips the deploying principal, keeping the other entries' names", () => {
        const plan = planAdminEntries([OTHER, DEPLOYER_WITH_PATH], MOCK_CALLER_ARN, false, new Map());
        assert.deepStrictEqual(plan.declare, [{ index: 0, principalArn: OTHER }]);
        assert.match(
            plan.skipped[0] as string,
            /Deployer: the deploying principal .* gets the cluster creator's admin access entry from EKS/,
        );
    });

    it("on an existing cluster skips entries it did not make and keeps its own, whoever deploys", () => {
        const ci = `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/CiDeployer/run-42`;
        const existing = new Map([
            [DEPLOYER_WITH_PATH, { managedByThisStack: false }],
            [OTHER, { managedByThisStack: true }],
        ]);
        const plan = planAdminEntries([OTHER, DEPLOYER_WITH_PATH, `arn:aws:iam::${MOCK_ACCOUNT}:role/new-admin`], ci, true, existing);
        assert.deepStrictEqual(
            plan.declare.map((d) => d.index),
            [0, 2],
        );
        // This stack's own entry for the caller stays declared (dropping it would delete the caller's access mid-update).
        assert.deepStrictEqual(
            planAdminEntries([DEPLOYER_WITH_PATH], MOCK_CALLER_ARN, true, new Map([[DEPLOYER_WITH_PATH, { managedByThisStack: true }]]))
                .declare.length,
            1,
        );
    });
});

describe("cluster admins in the program (mocked EKS)", function () {
    this.timeout(120_000);

    const stackTags = { project: "eks-inference", stack: "dev", "managed-by": "pulumi" };
    const third = "arn:aws:iam::111122223333:role/oncall";
    const FRESH: MockRunOptions = { config: { clusterAdminPrincipalArns: JSON.stringify([DEPLOYER_WITH_PATH, OTHER]) } };
    const LATER_BY_ANOTHER: MockRunOptions = {
        config: { clusterAdminPrincipalArns: JSON.stringify([DEPLOYER_WITH_PATH, OTHER]) },
        world: {
            callerArn: `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/CiDeployer/run-42`,
            accessEntries: {
                "eks-inference-dev": [
                    { principalArn: DEPLOYER_WITH_PATH, tags: {} },
                    { principalArn: OTHER, tags: stackTags },
                ],
            },
        },
    };
    const SECOND_BY_SAME: MockRunOptions = {
        config: { clusterAdminPrincipalArns: JSON.stringify([OTHER, third]) },
        world: {
            accessEntries: {
                "eks-inference-dev": [
                    { principalArn: OTHER, tags: stackTags },
                    { principalArn: third, tags: { ...stackTags, team: "ops" } },
                ],
            },
        },
    };
    const ONE_ADDED: MockRunOptions = {
        config: { clusterAdminPrincipalArns: JSON.stringify([OTHER, third]) },
        world: { accessEntries: { "eks-inference-dev": [{ principalArn: OTHER, tags: stackTags }] } },
    };
    const REFUSED: MockRunOptions = {
        config: { clusterAdminPrincipalArns: JSON.stringify([OTHER]) },
        world: { clusters: { "eks-inference-dev": [] }, accessEntryDenied: [OTHER] },
    };
    before(() => prefetchStackRuns([FRESH, LATER_BY_ANOTHER, SECOND_BY_SAME, ONE_ADDED, REFUSED].map((o) => ["dev", o])));

    it("a fresh deploy that lists the deploying role (with its path) declares no entry for it", async () => {
        const run = await runStackUnderMocks("dev", FRESH);
        assert.deepStrictEqual(entryArns(run), { "admin-1": OTHER });
    });

    it("a later deploy by another role skips the creator's bootstrap entry but keeps the stack's own", async () => {
        const run = await runStackUnderMocks("dev", LATER_BY_ANOTHER);
        assert.deepStrictEqual(entryArns(run), { "admin-1": OTHER });
    });

    it("a second deploy by the same deployer keeps every entry it made (read from the data source's tags)", async () => {
        const run = await runStackUnderMocks("dev", SECOND_BY_SAME);
        assert.deepStrictEqual(entryArns(run), { "admin-0": OTHER, "admin-1": third });
        // A principal with no entry yet on the existing cluster ("couldn't find resource") is declared too.
        const added = await runStackUnderMocks("dev", ONE_ADDED);
        assert.deepStrictEqual(entryArns(added), { "admin-0": OTHER, "admin-1": third });
    });

    it("a refused DescribeAccessEntry stops the deploy, naming the principal, instead of passing for 'no entry'", async () => {
        await assert.rejects(
            runStackUnderMocks("dev", REFUSED),
            /clusterAdminPrincipalArns: cannot read the access entry of arn:aws:iam::111122223333:role\/platform-admins in cluster eks-inference-dev \(eks:DescribeAccessEntry\): .*AccessDeniedException/,
        );
    });
});
