// The BERT pods' IAM documents (pure functions: resolved strings in, JSON out).
import * as assert from "assert";
import { bertServingPolicy } from "../../bert/iam";
import { runStackUnderMocks } from "../../mock-run/mock-run";

describe("BERT IAM documents", () => {
    it("grants model reads under the prefix only, with a prefix-conditioned list", () => {
        assert.deepStrictEqual(bertServingPolicy("aws", { bucket: "models", prefix: "bert" }).Statement, [
            { Sid: "BertReadModel", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::models/bert/*" },
            {
                Sid: "BertListModel",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::models",
                Condition: { StringLike: { "s3:prefix": ["bert", "bert/*"] } },
            },
        ]);
        const whole = bertServingPolicy("aws-cn", { bucket: "models", prefix: "" }).Statement;
        assert.strictEqual(whole[0]?.Resource, "arn:aws-cn:s3:::models/*");
    });
});

describe("BERT serving role in the program (legacy tf-serving, mocked AWS)", function () {
    this.timeout(120_000);
    // model-fetch streams an s3 archive with one GetObject of that key; a prefix rule would grant <key>/* (AccessDenied).
    it("reads exactly the one archive bertModelUri names, and bertModelLocation names it", async () => {
        const run = await runStackUnderMocks("prod", {
            config: { bertServer: "tf-serving", bertModelUri: "s3://models-bucket/bert/neuron.tar.gz", kubernetesVersion: "1.35" },
        });
        const policy = run.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.includes("bert-serving"));
        assert.ok(
            policy,
            run.resources
                .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy")
                .map((r) => r.name)
                .join(", "),
        );
        const doc = JSON.parse(String(policy.inputs.policy)) as { Statement: { Action: string[]; Resource: string }[] };
        assert.deepStrictEqual(
            doc.Statement.map((s) => [s.Action, s.Resource]),
            [[["s3:GetObject"], "arn:aws:s3:::models-bucket/bert/neuron.tar.gz"]],
        );
        assert.strictEqual(run.outputs.bertModelLocation, "s3://models-bucket/bert/neuron.tar.gz");
    });
});
