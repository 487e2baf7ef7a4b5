// The children every bucket of this stack gets: bucket-owner-enforced ownership (ACLs off), all four
// public-access blocks, SSE-S3 (AES256) by default, and the TLS-only policy statement. One place, so
// the models bucket and the video jobs bucket cannot drift apart.
//
// The children take the caller's Pulumi name, type and parent unchanged: moving a bucket onto this
// helper must not change any URN (existing stacks would otherwise see replacements).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface HardenedBucketChildren {
    ownership: aws.s3.BucketOwnershipControls;
    /** Callers make their bucket policy depend on it. */
    publicAccess: aws.s3.BucketPublicAccessBlock;
    encryption: aws.s3.BucketServerSideEncryptionConfiguration;
}

/**
 * Ownership controls, public-access block and default encryption for `bucket`, each named `name`, under `parent`.
 * `opts.retainOnDelete` with a retained bucket: a bucket kept in the account keeps its protections too.
 */
export function hardenBucket(
    name: string,
    bucket: aws.s3.Bucket,
    parent: pulumi.Resource,
    opts: { retainOnDelete?: boolean } = {},
): HardenedBucketChildren {
    const child: pulumi.CustomResourceOptions = { parent, ...(opts.retainOnDelete ? { retainOnDelete: true } : {}) };
    const ownership = new aws.s3.BucketOwnershipControls(
        name,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        child,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
        name,
        {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        },
        child,
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        },
        child,
    );
    return { ownership, publicAccess, encryption };
}

/** The bucket policy statement that denies every request not made over TLS, to the bucket and its objects. */
export function denyInsecureTransportStatement(bucket: aws.s3.Bucket): Record<string, unknown> {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}
