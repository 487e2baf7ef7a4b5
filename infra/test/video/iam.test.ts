// The video pod's IAM document (pure functions: resolved strings in, JSON out).
import * as assert from "assert";
import { videoWorkerPolicy } from "../../video/iam";

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
        assert.strictEqual(
            protect?.Resource,
            "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:*:autoScalingGroupName/eks-video-asg",
        );
        assert.strictEqual(doc.Statement.filter((s) => s.Resource === "*").length, 2);
    });
});
