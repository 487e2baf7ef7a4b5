// VideoPipeline under Pulumi mocks: its parts keep the names they had as top-level resources, and carry
// the aliases that let a stack deployed before the component existed adopt them (no replacement of the
// bucket, queues, Lambda or roles). The aliases are read from the options each resource is declared with.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { parseConfig } from "../../config/config";
import { nodeSelector, tolerations } from "../../platform/accelerators";
import { VideoPipeline } from "../../video/pipeline";

interface Declared {
    type: string;
    name: string;
    parentType?: string;
    aliases: pulumi.Input<pulumi.Alias | string>[];
}

describe("VideoPipeline component", function () {
    this.timeout(30_000);
    const declared: Declared[] = [];
    let pipeline: VideoPipeline;
    /** Declared directly inside the pipeline (not inside one of its parts). */
    const aliasesOf = (type: string): Declared[] => declared.filter((d) => d.type === type && d.parentType === "VideoPipeline");

    before(async () => {
        pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    const inputs = args.inputs as Record<string, unknown>;
                    const name = (inputs.name as string | undefined) ?? args.name;
                    const extra =
                        args.type === "aws:sqs/queue:Queue"
                            ? {
                                  name,
                                  url: `https://sqs.us-west-2.amazonaws.com/123456789012/${name}`,
                                  arn: `arn:aws:sqs:us-west-2:123456789012:${name}`,
                              }
                            : { arn: `arn:aws:mock:::${name}` };
                    return { id: `${args.name}-id`, state: { ...inputs, ...extra } };
                },
                call: (args) => ({ partition: "aws", accountId: "123456789012", ...args.inputs }),
            },
            "eks-inference",
            "pipeline-test",
            false,
        );
        const config = parseConfig({ values: {}, secretKeys: [], region: "us-west-2", stack: "pipeline-test" });
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        pipeline = new VideoPipeline(
            "eks-inference-dev",
            {
                config,
                clusterName: "eks-inference-dev",
                asgName: "eks-nodegroup-video",
                workerImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/worker:1",
                modelServerImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/tf-serving-cpu:1",
                scheduling: { nodeSelector: nodeSelector("video", "cpu"), tolerations: tolerations("video", "cpu") },
            },
            {
                providers: { kubernetes: provider },
                transformations: [
                    (args) => {
                        declared.push({
                            type: args.type,
                            name: args.name,
                            parentType: args.opts.parent?.constructor.name,
                            aliases: args.opts.aliases ?? [],
                        });
                        return undefined;
                    },
                ],
            },
        );
        await new Promise((resolve) => pipeline.daemonSet.daemonSetName.apply(resolve));
    });

    it("keeps each part's former name: jobs, alarms and DaemonSet <name>-video, scaling and dashboard <name>, role <name>-video-worker", () => {
        const names = (type: string): string[] => aliasesOf(type).map((d) => d.name);
        assert.deepEqual(names("eks-inference:platform:VideoJobs"), ["eks-inference-dev-video"]);
        assert.deepEqual(names("eks-inference:alarms:VideoQueueAlarms"), ["eks-inference-dev-video"]);
        assert.deepEqual(names("eks-inference:workloads:VideoInferenceDaemonSet"), ["eks-inference-dev-video"]);
        assert.deepEqual(names("eks-inference:scaling:VideoQueueScaling"), ["eks-inference-dev"]);
        assert.deepEqual(names("eks-inference:ops:OperationsDashboard"), ["eks-inference-dev"]);
        assert.deepEqual(names("aws:iam/role:Role"), ["eks-inference-dev-video-worker"]);
    });

    it("the parts that were top-level resources alias to no parent (the stack)", () => {
        for (const type of [
            "eks-inference:platform:VideoJobs",
            "eks-inference:alarms:VideoQueueAlarms",
            "eks-inference:workloads:VideoInferenceDaemonSet",
            "eks-inference:scaling:VideoQueueScaling",
            "eks-inference:ops:OperationsDashboard",
        ]) {
            const [part] = aliasesOf(type);
            assert.equal(part.parentType, "VideoPipeline", type);
            assert.equal(part.aliases.length, 1, type);
            const alias = part.aliases[0] as pulumi.Alias;
            assert.ok(
                Object.prototype.hasOwnProperty.call(alias, "parent") && alias.parent === pulumi.rootStackResource,
                `${type}: { parent: rootStackResource }`,
            );
        }
    });

    it("the worker's role, policy and Pod Identity association alias to the former WorkloadRoles component", async () => {
        for (const type of [
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        ]) {
            const [part] = aliasesOf(type);
            assert.equal(part.aliases.length, 1, type);
            const parent = (part.aliases[0] as pulumi.Alias).parent as pulumi.Output<string>;
            const urn = await new Promise<string>((resolve) => parent.apply(resolve));
            assert.equal(urn, "urn:pulumi:pipeline-test::eks-inference::eks-inference:platform:WorkloadRoles::eks-inference-dev", type);
        }
    });
});
