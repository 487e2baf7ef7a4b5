// BertService under Pulumi mocks: its parts keep the names they had as top-level resources, and carry the
// aliases that let a stack deployed before the component existed adopt them (no new models bucket, no
// replaced roles). The aliases are read from the options each resource is declared with.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { BertService } from "../../bert/service";
import { parseConfig } from "../../config/config";
import { GENERAL_NODE_LABELS, nodeSelector, tolerations } from "../../platform/accelerators";

interface Declared {
    type: string;
    name: string;
    parentType?: string;
    aliases: pulumi.Input<pulumi.Alias | string>[];
}

describe("BertService component", function () {
    this.timeout(30_000);
    const declared: Declared[] = [];
    /** Declared directly inside the service (not inside one of its parts). */
    const direct = (type: string): Declared[] => declared.filter((d) => d.type === type && d.parentType === "BertService");

    before(async () => {
        pulumi.runtime.setMocks(
            {
                newResource: (args) => ({
                    id: `${args.name}-id`,
                    state: {
                        ...(args.inputs as Record<string, unknown>),
                        bucket: `${args.name}-0123abcd`,
                        arn: `arn:aws:mock:::${args.name}`,
                    },
                }),
                call: (args) => ({ partition: "aws", accountId: "123456789012", ...args.inputs }),
            },
            "eks-inference",
            "bert-service-test",
            false,
        );
        const config = parseConfig({ values: { bertEnabled: "true" }, secretKeys: [], region: "us-west-2", stack: "bert-service-test" });
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        const service = new BertService(
            "eks-inference-dev",
            {
                config,
                clusterName: "eks-inference-dev",
                serverImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/triton-neuronx:1",
                scheduling: { nodeSelector: nodeSelector("bert", "inf2"), tolerations: tolerations("bert", "inf2") },
                accelerator: { resourceName: "aws.amazon.com/neuron", count: 1 },
                buildScheduling: { nodeSelector: { ...GENERAL_NODE_LABELS }, tolerations: [] },
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
        await new Promise((resolve) => service.grpcUrl.apply(resolve));
    });

    it("keeps each part's former name: <name>-models, <name>-bert, roles <name>-bert-serving and <name>-bert-model-builder", () => {
        assert.deepEqual(
            direct("eks-inference:platform:ModelsBucket").map((d) => d.name),
            ["eks-inference-dev-models"],
        );
        assert.deepEqual(
            direct("eks-inference:workloads:BertTritonService").map((d) => d.name),
            ["eks-inference-dev-bert"],
        );
        assert.deepEqual(
            direct("aws:iam/role:Role")
                .map((d) => d.name)
                .sort(),
            ["eks-inference-dev-bert-model-builder", "eks-inference-dev-bert-serving"],
        );
    });

    it("the bucket and the server alias to no parent (the stack); the roles to the former WorkloadRoles component", async () => {
        for (const type of ["eks-inference:platform:ModelsBucket", "eks-inference:workloads:BertTritonService"]) {
            const alias = direct(type)[0].aliases[0] as pulumi.Alias;
            assert.ok(Object.prototype.hasOwnProperty.call(alias, "parent") && alias.parent === pulumi.rootStackResource, type);
        }
        const roleParts = [
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        ].flatMap(direct);
        assert.equal(roleParts.length, 6);
        for (const part of roleParts) {
            const parent = (part.aliases[0] as pulumi.Alias).parent as pulumi.Output<string>;
            const urn = await new Promise<string>((resolve) => parent.apply(resolve));
            assert.equal(
                urn,
                "urn:pulumi:bert-service-test::eks-inference::eks-inference:platform:WorkloadRoles::eks-inference-dev",
                `${part.type} ${part.name}`,
            );
        }
    });
});
