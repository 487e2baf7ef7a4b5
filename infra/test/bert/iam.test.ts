// The BERT pods' IAM documents (pure functions: resolved strings in, JSON out).
import * as assert from "assert";
import { bertServingPolicy } from "../../bert/iam";

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
