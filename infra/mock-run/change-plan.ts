// What `pulumi up` (or `pulumi destroy`) would do to a deployed stack, from two recorded mock runs: the
// stack as it was deployed (before) and the program's new declaration (after; empty for destroy). A model
// of the engine's step generation plus each provider's diff (replace-rules.ts), and the checks a real
// account would fail on:
// - two live resources with one physical identity at once (an AWS name, a Kubernetes object, a bucket's one
//   policy): Pulumi creates every new resource (and every create-before-delete replacement) before it deletes
//   anything, so a new copy under a new URN meets the old one still alive;
// - a Namespace deleted while objects this run declares live in it (Kubernetes deletes them with it);
// - a delete AWS refuses: a bucket with objects without forceDestroy, a repository with images without
//   forceDelete (what the stack holds is derived from the before state: see holdsData), or a protected resource;
// - resources that must not be replaced or deleted unless the change asks for it (the caller compares `gone`).
//
// Engine behaviour modelled (pulumi/pulumi pkg/resource/deploy/step_generator.go): a new URN, or an alias
// of it, present in the old state is the same resource (renamed); ignoreChanges keeps the old value; a
// provider replacement is create-before-delete unless the resource has deleteBeforeReplace or the provider
// asks for it; resources no longer declared are deleted after all creates and updates; retainOnDelete drops
// a resource from the state without deleting it; a replaced resource gets a new id (and a new auto-name),
// so every input that came from it changes, which can replace its dependents in turn.
import type { RecordedResource } from "./mock-run";
import { RESOURCE_RULES, ResourceRule } from "./replace-rules";
import { UNKNOWN_AT_PREVIEW } from "./mock-world";

type Inputs = Record<string, unknown>;

export type StepOp = "same" | "update" | "replace" | "create" | "delete";

export interface PlanStep {
    op: StepOp;
    type: string;
    name: string;
    /** The URN the resource has after the run (its old URN for a delete). */
    urn: string;
    /** The old URN when the resource takes over another one through an alias. */
    from?: string;
    /** Input paths that change (indices dropped). */
    changed?: string[];
    /** The changed paths that force the replacement. */
    replaceBecause?: string[];
    deleteBeforeReplace?: boolean;
    /** A delete that leaves the resource in the account (retainOnDelete). */
    retained?: boolean;
}

export interface ChangeReport {
    steps: PlanStep[];
    /** Everything a real account or the engine would refuse, or lose silently. Empty when the change is safe. */
    problems: string[];
    /** Resources of the kinds that must survive unrelated changes (see GUARDED_TYPES) that are replaced or deleted: `type::name`. */
    gone: string[];
    /** One line per step that is not `same`, for a failure message. */
    summary: string;
}

/** The cluster, buckets, queues and node groups: replaced or deleted only when the change asks for it. */
export const GUARDED_TYPES: readonly string[] = [
    "eks:index:Cluster",
    "aws:s3/bucket:Bucket",
    "aws:sqs/queue:Queue",
    "aws:eks/nodeGroup:NodeGroup",
];

const NEW_SUFFIX = "~replaced";

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Leaf paths (dot-separated, array indices dropped) where two input values differ. */
export function changedPaths(before: unknown, after: unknown, prefix = ""): string[] {
    if (before === undefined && after === undefined) return [];
    if (Array.isArray(before) && Array.isArray(after)) {
        if (before.length !== after.length) return [prefix];
        const out = new Set<string>();
        before.forEach((b, i) => changedPaths(b, after[i], prefix).forEach((p) => out.add(p)));
        return [...out];
    }
    if (isObject(before) && isObject(after)) {
        const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
        return [...keys].flatMap((k) => changedPaths(before[k], after[k], prefix === "" ? k : `${prefix}.${k}`));
    }
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

/** Does a changed path fall under (or contain) a listed path? */
function matches(changed: string, listed: string): boolean {
    const c = changed.replace(/\[\d+\]/g, "");
    const l = listed.replace(/\[\d+\]/g, "");
    return c === l || c.startsWith(`${l}.`) || l.startsWith(`${c}.`) || c === "";
}

function replaceString(value: unknown, token: string, by: string): unknown {
    if (typeof value === "string") return value.split(token).join(by);
    if (Array.isArray(value)) return value.map((v) => replaceString(v, token, by));
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceString(v, token, by)]));
    return value;
}

function containsString(value: unknown, token: string): boolean {
    if (typeof value === "string") return value.includes(token);
    if (Array.isArray(value)) return value.some((v) => containsString(v, token));
    if (isObject(value)) return Object.values(value).some((v) => containsString(v, token));
    return false;
}

interface Pair {
    before?: RecordedResource;
    after?: RecordedResource;
    /** The after inputs as the provider sees them, once replaced resources' outputs are substituted. */
    inputs?: Inputs;
    op?: StepOp;
    changed?: string[];
    replaceBecause?: string[];
    dbr?: boolean;
}

/** What the resource's id, ARN or auto-name looked like in the before run (they change when it is re-created). */
function freshTokens(r: RecordedResource, rule: ResourceRule | undefined): string[] {
    const tokens: string[] = [];
    const autoNamed = rule?.autoNamed?.(r, r.inputs) ?? false;
    if (r.id !== undefined && (!rule?.idIsName || autoNamed)) tokens.push(r.id);
    if (autoNamed) {
        if (r.physicalName !== undefined) tokens.push(r.physicalName);
        // Kubernetes auto-names (mock: `<name>-0123abcd`).
        if (r.type.startsWith("kubernetes:")) tokens.push(`${r.name}-0123abcd`);
    }
    return tokens;
}

/**
 * Which buckets and repositories hold data in the deployed stack: a bucket that receives uploads (an S3
 * notification on it) or whose name a workload is given (pods, Jobs, the Lambda), and every repository an
 * Image pushed to (the pushed tags stay after each rebuild, and the BuildKit cache tag stays after the
 * Image's own delete).
 */
export function holdsData(r: RecordedResource, state: readonly RecordedResource[]): boolean {
    if (r.type === "aws:ecr/repository:Repository") {
        return state.some(
            (o) =>
                o.type === "docker-build:index:Image" &&
                r.physicalName !== undefined &&
                containsString(o.inputs.tags, `/${r.physicalName}:`),
        );
    }
    if (r.type === "aws:s3/bucket:Bucket") {
        if (state.some((o) => o.type === "aws:s3/bucketNotification:BucketNotification" && o.inputs.bucket === r.id)) return true;
        const workload = (o: RecordedResource): boolean => o.type.startsWith("kubernetes:") || o.type === "aws:lambda/function:Function";
        return state.some((o) => workload(o) && r.physicalName !== undefined && containsString(o.inputs, r.physicalName));
    }
    return false;
}

function namespaceOf(r: RecordedResource, inputs: Inputs): string | undefined {
    if (!r.type.startsWith("kubernetes:") || r.type === "kubernetes:core/v1:Namespace") return undefined;
    const metadata = inputs.metadata;
    if (isObject(metadata) && typeof metadata.namespace === "string") return metadata.namespace;
    return typeof inputs.namespace === "string" ? inputs.namespace : undefined;
}

function namespaceName(inputs: Inputs): string | undefined {
    const metadata = inputs.metadata;
    return isObject(metadata) && typeof metadata.name === "string" ? metadata.name : undefined;
}

/** The engine's plan for moving a stack from `before` to `after` (pass [] as `after` for `pulumi destroy`). */
export function planChange(before: readonly RecordedResource[], after: readonly RecordedResource[]): ChangeReport {
    const problems: string[] = [];
    for (const r of [...before, ...after]) {
        if (r.custom && RESOURCE_RULES[r.type] === undefined) {
            const line = `no replace rule for ${r.type} (add it to infra/mock-run/replace-rules.ts from the provider's source)`;
            if (!problems.includes(line)) problems.push(line);
        }
    }

    // ---- Pair old and new by URN, then by alias (step_generator.go getOldResource: the resource's own URN first,
    // then its aliases in order; the first one the old state holds is the resource it continues). One old resource
    // continued by two new ones is an error there (GetDuplicateResourceAliasError / GetDuplicateResourceAliasedError:
    // an alias another resource of the run also claims, or registers as its own URN), whatever the order.
    const beforeByUrn = new Map(before.map((r) => [r.urn, r]));
    const claimed = new Map<string, RecordedResource>();
    const pairs: Pair[] = [];
    for (const a of after) {
        let b = beforeByUrn.get(a.urn) ?? (a.aliasUrns ?? []).map((u) => beforeByUrn.get(u)).find((o) => o !== undefined);
        const other = b === undefined ? undefined : claimed.get(b.urn);
        if (b !== undefined && other !== undefined) {
            problems.push(
                `${a.type} ${a.name} and ${other.type} ${other.name} both continue ${b.urn} (own URN or alias): ` +
                    "the engine refuses the run (duplicate resource alias)",
            );
            b = undefined;
        }
        if (b !== undefined) claimed.set(b.urn, a);
        pairs.push({ before: b, after: a, inputs: structuredClone(a.inputs) });
    }
    for (const b of before) if (!claimed.has(b.urn)) pairs.push({ before: b, op: "delete" });

    const rule = (r: RecordedResource): ResourceRule | undefined => RESOURCE_RULES[r.type];
    const substituted = new Set<string>();

    /** A resource created anew: every input taken from its old incarnation's id or auto-name changes. */
    const propagate = (fresh: RecordedResource): boolean => {
        if (substituted.has(fresh.urn)) return false;
        substituted.add(fresh.urn);
        const tokens = freshTokens(fresh, rule(fresh));
        let touched = false;
        for (const p of pairs) {
            if (p.after === undefined || p.inputs === undefined) continue;
            for (const [prop, urns] of Object.entries(p.after.propertyDependencies ?? {})) {
                if (!urns.includes(fresh.urn)) continue;
                for (const token of tokens) {
                    if (containsString(p.inputs[prop], token)) {
                        p.inputs[prop] = replaceString(p.inputs[prop], token, `${token}${NEW_SUFFIX}`);
                        touched = true;
                    }
                }
            }
        }
        return touched;
    };

    // ---- Classify, replacing dependents of replaced resources until nothing more changes.
    for (const p of pairs) if (p.after !== undefined && p.before === undefined) p.op = "create";
    for (const p of pairs) if (p.op === "create" && p.after?.custom) propagate(p.after);
    for (let again = true; again;) {
        again = false;
        for (const p of pairs) {
            if (p.before === undefined || p.after === undefined || p.inputs === undefined || p.op === "replace") continue;
            if (!p.after.custom) {
                p.op = "same";
                continue;
            }
            const r = rule(p.after);
            const ignore = p.after.ignoreChanges ?? [];
            const changed = changedPaths(p.before.inputs, p.inputs).filter((c) => !ignore.some((i) => matches(c, i) && c.startsWith(i)));
            const replaceOn = [...(r?.replaceOn ?? []), ...(p.after.options?.replaceOnChanges ?? [])];
            const because = changed.filter((c) => replaceOn.some((l) => matches(c, l)));
            if (r?.replaceWhen?.(p.before.inputs, p.inputs)) because.push("(provider configuration)");
            p.changed = changed;
            if (because.length > 0) {
                p.op = "replace";
                p.replaceBecause = because;
                p.dbr =
                    p.after.options?.deleteBeforeReplace === true ||
                    (r?.deleteBeforeReplace?.(p.before.inputs, p.inputs, p.after) ?? false);
                if (propagate(p.after)) again = true;
            } else {
                p.op = changed.length > 0 ? "update" : "same";
            }
        }
    }

    // ---- Two live copies of one physical identity.
    // An identity a preview does not know yet (it holds an output of a resource to be created) is checked by the apply.
    const identityOf = (r: RecordedResource, inputs: Inputs): string | undefined => {
        const id = rule(r)?.identity?.(r, inputs);
        return id?.includes(UNKNOWN_AT_PREVIEW) === true ? undefined : id;
    };
    const autoNamed = (r: RecordedResource, inputs: Inputs): boolean => rule(r)?.autoNamed?.(r, inputs) ?? false;
    const live = new Map<string, RecordedResource>();
    for (const p of pairs) {
        if (p.before === undefined || !p.before.custom) continue;
        if (p.op === "replace" && p.dbr) continue; // deleted just before its replacement is created
        const id = identityOf(p.before, p.before.inputs);
        if (id !== undefined) live.set(id, p.before);
    }
    const declared = new Map<string, RecordedResource>();
    for (const p of pairs) {
        if (p.after === undefined || p.inputs === undefined || !p.after.custom) continue;
        const id = identityOf(p.after, p.inputs);
        if (id === undefined) continue;
        const fresh = p.op === "create" || p.op === "replace";
        if (!(fresh && autoNamed(p.after, p.inputs))) {
            const other = declared.get(id);
            if (other !== undefined)
                problems.push(`${p.after.type} ${p.after.name} and ${other.type} ${other.name} are both declared as ${id}`);
            declared.set(id, p.after);
        }
        if (!fresh || autoNamed(p.after, p.inputs)) continue;
        const holder = live.get(id);
        if (holder === undefined) continue;
        const how =
            p.op === "create"
                ? `is created under ${p.after.urn}`
                : `is replaced create-before-delete (${(p.replaceBecause ?? []).join(", ")} changed)`;
        problems.push(
            `${p.after.type} ${p.after.name} ${how} while ${holder.urn} still holds ${id} (deleted only after every create): ` +
                (p.after.type.startsWith("kubernetes:")
                    ? "the API server answers AlreadyExists"
                    : "AWS refuses it, or the old copy's delete undoes the new one"),
        );
    }

    // ---- Namespaces deleted with objects this run declares in them.
    const liveAfter = pairs.filter((p) => p.after !== undefined && p.inputs !== undefined);
    for (const p of pairs) {
        const ns = p.before;
        if (ns === undefined || ns.type !== "kubernetes:core/v1:Namespace") continue;
        const deleted = p.op === "delete" || p.op === "replace";
        if (!deleted) continue;
        const name = namespaceName(ns.inputs);
        const inside = liveAfter.filter((o) => {
            if (namespaceOf(o.after as RecordedResource, o.inputs as Inputs) !== name) return false;
            // Objects re-created after the namespace came back are fine only when the namespace is replaced first.
            return !(p.op === "replace" && p.dbr && (o.op === "create" || o.op === "replace"));
        });
        if (inside.length > 0) {
            problems.push(
                `Namespace ${name} (${ns.urn}) is ${p.op === "delete" ? "deleted" : "replaced"}, and Kubernetes deletes everything in it: ` +
                    inside.map((o) => `${(o.after as RecordedResource).type} ${(o.after as RecordedResource).name}`).join(", "),
            );
        }
    }

    // ---- Deletes AWS (or the engine) refuses.
    for (const p of pairs) {
        const b = p.before;
        if (b === undefined || !(p.op === "delete" || p.op === "replace")) continue;
        if (b.options?.protect) {
            problems.push(`${b.type} ${b.name} is protected: the engine refuses to ${p.op} it`);
            continue;
        }
        if (b.options?.retainOnDelete) continue;
        const holds = rule(b)?.holds;
        if (holds !== undefined && holdsData(b, before) && b.inputs[holds.force] !== true) {
            problems.push(
                `${b.type} ${b.name} (${b.physicalName ?? ""}) is ${p.op === "delete" ? "deleted" : "replaced"} while it holds ${holds.what}, ` +
                    `and its state has ${holds.force}: ${String(b.inputs[holds.force] ?? false)}: AWS refuses the delete`,
            );
        }
    }

    // ---- Declarations EC2 refuses: an interface endpoint takes one subnet per zone (CreateVpcEndpoint and
    // ModifyVpcEndpoint answer DuplicateSubnetsInSameZone). A subnet's zone is the one in its (state) inputs.
    const subnetZone = new Map(
        after
            .filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.id !== undefined)
            .map((r) => [r.id as string, r.inputs.availabilityZoneId ?? r.inputs.availabilityZone]),
    );
    for (const r of after) {
        if (r.type !== "aws:ec2/vpcEndpoint:VpcEndpoint" || r.inputs.vpcEndpointType !== "Interface") continue;
        const subnets = Array.isArray(r.inputs.subnetIds) ? (r.inputs.subnetIds as unknown[]).map(String) : [];
        const byZone = new Map<string, string[]>();
        for (const subnet of subnets) {
            const zone = subnetZone.get(subnet);
            if (typeof zone === "string") byZone.set(zone, [...(byZone.get(zone) ?? []), subnet]);
        }
        for (const [zone, inZone] of byZone) {
            if (inZone.length > 1)
                problems.push(
                    `${r.type} ${r.name} is given ${inZone.length} subnets in ${zone} (${inZone.join(", ")}): ` +
                        "EC2 takes one subnet per zone for an interface endpoint (DuplicateSubnetsInSameZone)",
                );
        }
    }

    // ---- Steps and the guarded resources that go.
    const steps: PlanStep[] = pairs.map((p) => {
        const r = (p.after ?? p.before) as RecordedResource;
        return {
            op: p.op as StepOp,
            type: r.type,
            name: r.name,
            urn: r.urn,
            ...(p.before !== undefined && p.after !== undefined && p.before.urn !== p.after.urn ? { from: p.before.urn } : {}),
            ...(p.changed !== undefined && p.changed.length > 0 ? { changed: p.changed } : {}),
            ...(p.replaceBecause !== undefined ? { replaceBecause: p.replaceBecause, deleteBeforeReplace: p.dbr === true } : {}),
            ...(p.op === "delete" && p.before?.options?.retainOnDelete ? { retained: true } : {}),
        };
    });
    const gone = steps
        .filter((s) => GUARDED_TYPES.includes(s.type) && (s.op === "replace" || s.op === "delete"))
        .map((s) => `${s.type}::${s.name}`)
        .sort();
    const summary = steps
        .filter((s) => s.op !== "same")
        .map(
            (s) =>
                `${s.op.padEnd(7)} ${s.type} ${s.name}` +
                (s.from ? ` (from ${s.from})` : "") +
                (s.replaceBecause ? ` [${s.replaceBecause.join(", ")}${s.deleteBeforeReplace ? "; delete first" : ""}]` : "") +
                (s.op === "update" && s.changed ? ` [${s.changed.join(", ")}]` : "") +
                (s.retained ? " (retained)" : ""),
        )
        .join("\n");
    return { steps, problems, gone, summary };
}
