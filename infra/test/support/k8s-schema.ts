// Validate the inputs of a Pulumi Kubernetes resource against the Kubernetes OpenAPI schema, using the
// kubernetes-models classes (v4, CommonJS): `kubernetes:apps/v1:DaemonSet` ->
// require("kubernetes-models/apps/v1/DaemonSet").DaemonSet.

/** `kubernetes:<group>/<version>:<Kind>`; core objects use the group "core". */
const OBJECT_TYPE = /^kubernetes:([a-z0-9.-]+)\/(v[0-9a-z]+):([A-Z][A-Za-z0-9]*)$/;

/** Groups in the kubernetes: namespace that are Pulumi machinery rather than API objects. */
const NON_OBJECT_GROUPS = new Set(["helm.sh", "yaml", "kustomize"]);

/** Pulumi's envelope for a secret value in serialized resource inputs: { [SECRET_SIG]: SECRET_VALUE_SIG, value }. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A copy of `value` with every Pulumi secret envelope replaced by the value inside it. */
export function unwrapPulumiSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapPulumiSecrets);
    if (typeof value !== "object" || value === null) return value;
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] === SECRET_VALUE_SIG) return unwrapPulumiSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapPulumiSecrets(v)]));
}

interface ModelInstance {
    validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => ModelInstance;

/**
 * True for a type token that denotes a Kubernetes API object (and so must validate). False for Helm
 * releases, YAML/Kustomize groups, providers, and anything not from the kubernetes package.
 * Server-side-apply patch types (`...Patch`) are partial objects by design and are not validated.
 */
export function isKubernetesObjectType(type: string): boolean {
    const match = OBJECT_TYPE.exec(type);
    if (match === null) return false;
    const [, group, , kind] = match;
    return !NON_OBJECT_GROUPS.has(group) && !kind.endsWith("Patch") && !kind.endsWith("List");
}

function loadModel(group: string, version: string, kind: string, type: string): ModelClass {
    const modulePath = group === "core" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
    let loaded: Record<string, unknown>;
    try {
        // A dynamic require: the module path is computed from the type token.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        loaded = require(modulePath) as Record<string, unknown>;
    } catch {
        throw new Error(`unknown Kubernetes type ${type}: kubernetes-models has no ${modulePath}`);
    }
    const model = loaded[kind];
    if (typeof model !== "function") throw new Error(`unknown Kubernetes type ${type}: ${modulePath} exports no ${kind}`);
    return model as ModelClass;
}

/**
 * Throws unless `inputs` (a Pulumi resource's resolved inputs; secret envelopes are unwrapped) form a
 * valid object of `type`.
 * The error names the object (kind/namespace/name) and quotes the schema error.
 */
export function validateKubernetesObject(type: string, inputs: Record<string, unknown>): void {
    const match = OBJECT_TYPE.exec(type);
    if (match === null || !isKubernetesObjectType(type)) {
        throw new Error(`unknown Kubernetes type ${type}: not a Kubernetes API object type token`);
    }
    const [, group, version, kind] = match;
    const Model = loadModel(group, version, kind, type);
    const apiVersion = group === "core" ? version : `${group}/${version}`;
    const metadata = (inputs.metadata ?? {}) as { name?: string; namespace?: string };
    const label = `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ""}${metadata.name ?? "(auto-named)"}`;
    try {
        new Model({ ...(unwrapPulumiSecrets(inputs) as Record<string, unknown>), apiVersion, kind }).validate();
    } catch (err) {
        throw new Error(
            `${label} does not match the Kubernetes ${apiVersion} ${kind} schema: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
        );
    }
}
