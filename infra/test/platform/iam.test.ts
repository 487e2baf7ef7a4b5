// The workload IAM documents (pure functions: resolved strings in, JSON out).
import * as assert from "assert";
import { bertServingPolicy, videoWorkerPolicy } from "../../platform/iam";

describe("workload IAM documents", () => {
    const base = {
        partition: "aws",
        region: "us-west-2",
        accountId: "123456789012",
        queueArn: "arn:aws:sqs:us-west-2:123456789012:jobs",
        deadLetterQueueArn: "arn:aws:sqs:us-west-2:123456789012:dlq",
        bucketArn: "arn:aws:s3:::videos",
        inputPrefix: "input/",
        resultsPrefix: "results/",
        asgName: "eks-video-asg",
        metricNamespace: "EksInference/VideoQueue",
    };

    it("scopes scale-in protection to the video group's ASG only", () => {
        const doc = videoWorkerPolicy(base);
        const protect = doc.Statement.find((s) => s.Sid === "ProtectOwnNodeFromScaleIn");
        assert.strictEqual(protect?.Resource, "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:*:autoScalingGroupName/eks-video-asg");
        assert.strictEqual(doc.Statement.filter((s) => s.Resource === "*").length, 2);
    });

    it("grants model reads under the prefix only, with a prefix-conditioned list", () => {
        assert.deepStrictEqual(bertServingPolicy("aws", { bucket: "models", prefix: "bert" }).Statement, [
            { Sid: "BertReadModel", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::models/bert/*" },
            { Sid: "BertListModel", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::models", Condition: { StringLike: { "s3:prefix": ["bert", "bert/*"] } } },
        ]);
        const whole = bertServingPolicy("aws-cn", { bucket: "models", prefix: "" }).Statement;
        assert.strictEqual(whole[0]?.Resource, "arn:aws-cn:s3:::models/*");
    });
});
