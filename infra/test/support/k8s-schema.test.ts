import * as assert from "node:assert/strict";
import { isKubernetesObjectType, validateKubernetesObject } from "./k8s-schema";

const validDaemonSet = {
    metadata: { name: "video-inference", namespace: "video" },
    spec: {
        selector: { matchLabels: { app: "video" } },
        template: {
            metadata: { labels: { app: "video" } },
            spec: { containers: [{ name: "worker", image: "worker:1", ports: [{ name: "metrics", containerPort: 9102 }] }] },
        },
    },
};

describe("k8s schema helper", () => {
    it("accepts a valid DaemonSet, Service and PodDisruptionBudget", () => {
        validateKubernetesObject("kubernetes:apps/v1:DaemonSet", validDaemonSet);
        validateKubernetesObject("kubernetes:core/v1:Service", {
            metadata: { name: "s" },
            spec: { ports: [{ name: "grpc", port: 8500 }] },
        });
        validateKubernetesObject("kubernetes:policy/v1:PodDisruptionBudget", {
            metadata: { name: "p" },
            spec: { maxUnavailable: 1, selector: { matchLabels: { a: "b" } } },
        });
    });

    it("rejects an invalid object, naming it and quoting the schema error", () => {
        const broken = structuredClone(validDaemonSet);
        (broken.spec.template.spec.containers[0].ports[0] as { containerPort: unknown }).containerPort = "9102";
        assert.throws(
            () => validateKubernetesObject("kubernetes:apps/v1:DaemonSet", broken),
            /DaemonSet video\/video-inference does not match the Kubernetes apps\/v1 DaemonSet schema: .*containerPort must be integer/,
        );
        assert.throws(
            () => validateKubernetesObject("kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { n: 1 } }),
            /ConfigMap c .*must be string/,
        );
        assert.throws(
            () => validateKubernetesObject("kubernetes:apps/v1:Deployment", { metadata: { name: "d" }, spec: { template: {} } }),
            /Deployment d .*selector/,
        );
    });

    it("throws for Kubernetes types it does not know, so nothing slips through", () => {
        assert.throws(
            () => validateKubernetesObject("kubernetes:apps/v1:DaemonSett", {}),
            /unknown Kubernetes type kubernetes:apps\/v1:DaemonSett/,
        );
        assert.throws(() => validateKubernetesObject("kubernetes:helm.sh/v3:Release", {}), /unknown Kubernetes type/);
    });

    it("tells API objects from Pulumi machinery", () => {
        for (const t of [
            "kubernetes:apps/v1:DaemonSet",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Namespace",
            "kubernetes:policy/v1:PodDisruptionBudget",
            "kubernetes:scheduling.k8s.io/v1:PriorityClass",
        ]) {
            assert.equal(isKubernetesObjectType(t), true, t);
        }
        for (const t of [
            "kubernetes:helm.sh/v3:Release",
            "kubernetes:yaml:ConfigFile",
            "pulumi:providers:kubernetes",
            "aws:s3/bucket:Bucket",
            "kubernetes:apps/v1:DaemonSetPatch",
            "eks-inference:workloads:BertInferenceService",
        ]) {
            assert.equal(isKubernetesObjectType(t), false, t);
        }
    });
});
