// The stack's models bucket: where the BERT compile Job writes traced models and the serving pods read
// them, so a fresh account needs no bucket made by hand (issue 10 item 9, issue 13).
//
// Decisions:
// - SSE-S3 (AES256): the Pod Identity roles then need no KMS grants.
// - forceDestroy: everything the stack writes here can be rebuilt from its Hugging Face id, so
//   `pulumi destroy` may empty the bucket. Keep your own models (bertModelUri) in a bucket of your own.
//   protectData keeps it instead (a compile takes a while): the bucket, its models and its settings stay in
//   the account, outside the stack (retainOnDelete).
// - Versioning off: a model prefix is written once (its key names model, shapes and toolchain).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransportStatement, hardenBucket } from "../platform/hardened-bucket";

export interface ModelsBucketArgs {
    /** Keep the bucket and its models when it is removed (retainOnDelete) instead of emptying and deleting it. */
    protectData: boolean;
}

export class ModelsBucket extends pulumi.ComponentResource {
    readonly bucket: aws.s3.Bucket;
    /** The bucket policy; writers should wait for it (it denies non-TLS access). */
    readonly policy: aws.s3.BucketPolicy;

    constructor(name: string, args: ModelsBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-inference:platform:ModelsBucket", name, {}, opts);
        const child: pulumi.CustomResourceOptions = { parent: this, retainOnDelete: args.protectData };
        this.bucket = new aws.s3.Bucket(name, { forceDestroy: !args.protectData }, child);
        const bucket = this.bucket;
        const { publicAccess } = hardenBucket(name, bucket, this, { retainOnDelete: args.protectData });
        new aws.s3.BucketLifecycleConfiguration(
            name,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "abort-incomplete-uploads",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                ],
            },
            child,
        );
        this.policy = new aws.s3.BucketPolicy(
            name,
            {
                bucket: bucket.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [denyInsecureTransportStatement(bucket)],
                }),
            },
            { ...child, dependsOn: [publicAccess] },
        );
        this.registerOutputs({ bucketName: bucket.bucket });
    }
}
