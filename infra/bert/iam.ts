// The BERT pods' IAM policies: serving reads its model; the compile Job writes it.
import type { S3Location } from "../config/config";
import { modelReadStatements, type PolicyDocument } from "../platform/pod-identity";

/** The BERT serving pod: read its model from S3, nothing else. */
export function bertServingPolicy(partition: string, model: S3Location): PolicyDocument {
    return { Version: "2012-10-17", Statement: modelReadStatements("Bert", partition, model) };
}

/**
 * The BERT compile Job: look for the finished model (HEAD needs s3:GetObject; ListBucket under the
 * prefix makes a missing key a 404 rather than a 403) and write it, only under its own key prefix.
 */
export function bertModelBuilderPolicy(partition: string, model: S3Location): PolicyDocument {
    const bucketArn = `arn:${partition}:s3:::${model.bucket}`;
    const prefix = model.prefix.endsWith("/") ? model.prefix : `${model.prefix}/`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteCompiledModel",
                Effect: "Allow",
                // Multipart uploads (large traced files) need AbortMultipartUpload to clean up after a failure.
                Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "ListCompiledModel",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
        ],
    };
}
