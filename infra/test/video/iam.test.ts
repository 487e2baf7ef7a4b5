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
        assert.strictEqual(doc.Statement.filter((s) => s.Resource === "*").length, 3);
    });

    it("finds its own instance through EC2 (not the node's metadata service): DescribeInstances only, in the stack's region", () => {
        const doc = videoWorkerPolicy(base);
        const find = doc.Statement.filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).some((a) => a.startsWith("ec2:")));
        assert.deepStrictEqual(find, [
            {
                Sid: "FindOwnInstance",
                Effect: "Allow",
                Action: ["ec2:DescribeInstances"],
                // EC2 Describe* actions take no resource ARN; the region condition is the narrowing AWS offers.
                Resource: "*",
                Condition: { StringEquals: { "ec2:Region": "us-west-2" } },
            },
        ]);
    });

    it("lets the worker read its model: everything under an s3 prefix, or exactly the one s3 archive", () => {
        const prefix = videoWorkerPolicy({ ...base, modelS3: { bucket: "models", prefix: "ssd/" } });
        assert.deepStrictEqual(
            prefix.Statement.filter((s) => s.Sid?.startsWith("Video")).map((s) => [s.Action, s.Resource]),
            [
                [["s3:GetObject"], "arn:aws:s3:::models/ssd/*"],
                [["s3:ListBucket"], "arn:aws:s3:::models"],
            ],
        );
        // model-fetch streams an archive with one GetObject of that key (a prefix rule would grant models/zoo/ssd.tar.gz/*).
        const archive = videoWorkerPolicy({ ...base, modelS3: { bucket: "models", prefix: "", objectKey: "zoo/ssd.tar.gz" } });
        assert.deepStrictEqual(
            archive.Statement.filter((s) => s.Sid?.startsWith("Video")).map((s) => [s.Action, s.Resource]),
            [[["s3:GetObject"], "arn:aws:s3:::models/zoo/ssd.tar.gz"]],
        );
    });
});
