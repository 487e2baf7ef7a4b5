// Switching bertServer (triton <-> tf-serving) swaps one server component for the other. Both declare the same
// Kubernetes objects under the same names (the Namespace, the serving ServiceAccount, the Deployment, both
// Services, the PodDisruptionBudget), so that clients and the Pod Identity association never see a change of
// address. Declared as new resources they would fail: the engine creates every new resource before it deletes
// the old ones, pulumi-kubernetes (>= 4.29) creates objects client-side (AlreadyExists), and the old Namespace's
// delete would then take the new objects with it. So each server's children carry, as an alias, the URN the
// same child has under the other server's component: the engine sees one object, updated in place (the
// Deployment rolls its pods from one server to the other; the Services change ports).
import * as pulumi from "@pulumi/pulumi";
import type { BertServer } from "./settings";

/** The component type each server is declared with. */
export const BERT_SERVER_COMPONENT_TYPES: Readonly<Record<BertServer, string>> = {
    triton: "eks-inference:workloads:BertTritonService",
    "tf-serving": "eks-inference:workloads:BertInferenceService",
};

/** Resource options for a server component's children: itself as parent, the other server's component as an alias parent. */
export function serverChildOptions(
    component: pulumi.ComponentResource,
    name: string,
    server: BertServer,
    opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.CustomResourceOptions {
    const aliases = (Object.keys(BERT_SERVER_COMPONENT_TYPES) as BertServer[])
        .filter((other) => other !== server)
        .map((other): pulumi.Alias => ({ parent: pulumi.createUrn(name, BERT_SERVER_COMPONENT_TYPES[other], opts?.parent) }));
    return { parent: component, aliases };
}
