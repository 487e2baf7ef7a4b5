// The GitHub workflows cannot run here, so they are checked statically: GitHub's own workflow
// parser (schema + expressions), then the properties the delivery design depends on.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { parse } from "yaml";
import { listStacks, REPO_ROOT, stackClusterName } from "../plan/stacks";
import { runStackUnderMocks } from "../mock-run/mock-run";
import {
    buildDiskGiB,
    DEPLOY_SESSION_SECONDS,
    DeployTarget,
    deployTargets,
    HOSTED_RUNNER_DISK_GIB,
    LONGEST_UP_MINUTES,
    UP_JOB_TIMEOUT_MINUTES,
} from "../plan/deploy-runner";
import type { ImageName } from "../platform/images";

const WORKFLOW_DIR = path.join(REPO_ROOT, ".github", "workflows");

interface Step {
    id?: string;
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}
interface Job {
    "runs-on"?: string | string[];
    needs?: string | string[];
    if?: string;
    environment?: unknown;
    concurrency?: { group?: string; "cancel-in-progress"?: boolean };
    permissions?: Record<string, string>;
    strategy?: { matrix?: Record<string, unknown> };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}

function read(name: string): { text: string; doc: Workflow } {
    const text = fs.readFileSync(path.join(WORKFLOW_DIR, name), "utf8");
    return { text, doc: parse(text) as Workflow };
}

function needsOf(job: Job): string[] {
    return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

function stepUsing(job: Job, action: string): Step | undefined {
    return job.steps?.find((s) => s.uses?.split("@")[0] === action);
}

/** Runs the workflow's stack-listing step here, as the runner would, and returns its output. */
function runStackListing(doc: Workflow, cwd: string = REPO_ROOT): string[] {
    const step = doc.jobs.stacks?.steps?.find((s) => s.id === "list");
    assert.ok(step?.run, "a `stacks` job with a step `id: list` derives the matrix");
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gh-output-")), "out");
    fs.writeFileSync(out, "");
    execFileSync("bash", ["-e", "-c", step.run], { cwd, env: { ...process.env, GITHUB_OUTPUT: out } });
    const line = fs
        .readFileSync(out, "utf8")
        .split("\n")
        .find((l) => l.startsWith("stacks="));
    assert.ok(line, "the listing writes stacks=... to GITHUB_OUTPUT");
    return JSON.parse(line.slice("stacks=".length)) as string[];
}

type WorkflowParser = typeof import("@actions/workflow-parser");

/**
 * @actions/workflow-parser ships as ESM that imports its JSON schema without an import attribute,
 * which Node's own loader refuses; esbuild bundles it into one CommonJS file we can require.
 */
function loadWorkflowParser(): WorkflowParser {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-parser-"));
    const outfile = path.join(dir, "workflow-parser.cjs");
    buildSync({
        entryPoints: [path.join(REPO_ROOT, "node_modules", "@actions", "workflow-parser", "dist", "index.js")],
        bundle: true,
        platform: "node",
        format: "cjs",
        outfile,
        logLevel: "silent",
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the bundle built just above
    return require(outfile) as WorkflowParser;
}

/**
 * Every action the workflows use, at the major pinned, with the runtime its action.yml declares at that
 * tag (`runs.using`), read from the action's own repository (December 2026; see the README's CI notes).
 * GitHub's runners dropped Node 20 in September 2026: a new action or a new major is added here only
 * after reading its action.yml.
 */
const VERIFIED_ACTIONS: Record<string, { pin: string; runs: string }> = {
    // actions/checkout v5 (tag commit fbc6f39): runs.using node24.
    "actions/checkout": { pin: "v5", runs: "node24" },
    // actions/setup-node v5 (a0853c2): node24.
    "actions/setup-node": { pin: "v5", runs: "node24" },
    // aws-actions/configure-aws-credentials v6 (v6.2.3, e6de054): node24; v5 was node20.
    "aws-actions/configure-aws-credentials": { pin: "v6", runs: "node24" },
    // pulumi/actions v7 (v7.0.0, 8e5e406, "update Action runtime to node 24"); v6 was node20.
    "pulumi/actions": { pin: "v7", runs: "node24" },
    // actions/upload-artifact v7 (v7.0.0, bbbca2d): node24 (v6 too); v4 and v5 were node20. `archive` defaults to true.
    "actions/upload-artifact": { pin: "v7", runs: "node24" },
};

const FILES = ["pull-request.yml", "deploy.yml", "fork-plan-comment.yml"];
const DEPLOYING = ["pull-request.yml", "deploy.yml"];

describe("GitHub workflows", () => {
    let wp: WorkflowParser;
    before(() => {
        wp = loadWorkflowParser();
    });

    for (const file of FILES) {
        it(`${file} passes GitHub's workflow parser with no errors`, async () => {
            const { text } = read(file);
            const result = wp.parseWorkflow({ name: file, content: text }, new wp.NoOperationTraceWriter());
            assert.deepEqual(
                result.context.errors.getErrors().map((e) => e.message),
                [],
            );
            assert.ok(result.value, "parser produced a template");
            const template = await wp.convertWorkflowTemplate(result.context, result.value);
            assert.deepEqual(
                (template.errors ?? []).map((e) => e.Message),
                [],
            );
        });

        it(`${file} references no static AWS keys and pins every action to a major version or a commit`, () => {
            const { text, doc } = read(file);
            assert.doesNotMatch(text, /AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|aws-secret-access-key|aws-access-key-id/i);
            for (const job of Object.values(doc.jobs)) {
                for (const step of job.steps ?? []) {
                    if (step.uses === undefined) continue;
                    assert.match(step.uses, /^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/, `unpinned action ${step.uses}`);
                }
            }
        });
    }

    it("every action is pinned to a major whose action.yml was read and runs on Node 24 (GitHub removed Node 20)", () => {
        for (const file of fs.readdirSync(WORKFLOW_DIR)) {
            for (const [name, job] of Object.entries(read(file).doc.jobs)) {
                for (const step of job.steps ?? []) {
                    if (step.uses === undefined) continue;
                    const [action, ref] = step.uses.split("@");
                    const verified = VERIFIED_ACTIONS[action];
                    assert.ok(verified, `${file} ${name}: ${step.uses} is not among the verified actions`);
                    assert.equal(ref, verified.pin, `${file} ${name}: ${action} pinned to ${ref}, verified ${verified.pin}`);
                    assert.equal(verified.runs, "node24", `${action}@${ref} runs on ${verified.runs}`);
                }
            }
        }
    });

    for (const file of DEPLOYING) {
        it(`${file} derives its stack matrix from Pulumi.<stack>.yaml file names`, () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
            for (const f of ["Pulumi.yaml", "Pulumi.prod-eu.yaml", "Pulumi.dev.yaml", "README.md"]) fs.writeFileSync(path.join(dir, f), "");
            assert.deepEqual(runStackListing(read(file).doc, dir), ["dev", "prod-eu"]);
        });

        it(`${file} builds its matrix from exactly the checked-in Pulumi.<stack>.yaml files`, () => {
            const stacks = listStacks();
            assert.ok(stacks.length > 0, "at least one Pulumi.<stack>.yaml is checked in");
            assert.deepEqual(runStackListing(read(file).doc), stacks);
        });
    }

    it("pull requests: checks first, then a commented preview per stack over OIDC, and a mock plan for forks", () => {
        const { doc } = read("pull-request.yml");
        assert.ok("pull_request" in doc.on);
        const checks = doc.jobs.checks;
        const runs = (checks.steps ?? []).map((s) => s.run ?? "");
        const at = (re: RegExp): number => runs.findIndex((r) => re.test(r));
        assert.ok(at(/apt-get install .*ffmpeg/) >= 0, "installs ffmpeg for the tests");
        assert.ok(at(/^npm ci$/) >= 0 && at(/^npm ci$/) < at(/^npm run lint$/) && at(/^npm run lint$/) < at(/^npm test$/));

        const preview = doc.jobs.preview;
        assert.ok(needsOf(preview).includes("checks"), "preview waits for lint, build and tests");
        assert.equal(preview.permissions?.["id-token"], "write");
        assert.equal(preview.permissions?.contents, "read");
        assert.equal(preview.permissions?.["pull-requests"], "write");
        assert.match(String(preview.strategy?.matrix?.stack), /needs\.stacks\.outputs\.stacks/);
        const creds = stepUsing(preview, "aws-actions/configure-aws-credentials");
        assert.match(String(creds?.with?.["role-to-assume"]), /vars\.AWS_PREVIEW_ROLE_ARN/);
        const pulumi = stepUsing(preview, "pulumi/actions");
        assert.equal(pulumi?.with?.command, "preview");
        assert.equal(pulumi?.with?.["comment-on-pr"], true);
        assert.match(String(pulumi?.with?.["stack-name"]), /matrix\.stack/);
        const steps = preview.steps ?? [];
        assert.ok(steps.indexOf(creds!) < steps.indexOf(pulumi!), "credentials before preview");

        const fork = doc.jobs["plan-for-fork"];
        assert.match(String(fork.if), /head\.repo\.full_name != github\.repository/);
        assert.match(String(preview.if), /head\.repo\.full_name == github\.repository/);
        assert.ok((fork.steps ?? []).some((s) => /npm run --silent plan -- --stack/.test(s.run ?? "")));
        assert.equal(stepUsing(fork, "aws-actions/configure-aws-credentials"), undefined, "forks get no AWS role");
    });

    it("fork plans are commented by a trusted workflow that never checks out the fork's code", () => {
        const { doc, text } = read("fork-plan-comment.yml");
        assert.ok("workflow_run" in doc.on);
        const job = doc.jobs.comment;
        assert.match(String(job.if), /head_repository\.full_name != github\.repository/);
        assert.equal(job.permissions?.["pull-requests"], "write");
        assert.equal(stepUsing(job, "actions/checkout"), undefined);
        assert.doesNotMatch(text, /npm |npx |tsx /, "runs nothing from the repository");
        assert.ok(
            (job.steps ?? []).some((s) => /\^\[0-9\]\+\$/.test(s.run ?? "")),
            "validates the PR number from the artifact",
        );
        const pr = read("pull-request.yml").doc.jobs["plan-for-fork"];
        assert.ok(stepUsing(pr, "actions/upload-artifact"), "the fork job uploads its plan");
    });

    it("deploys: on push to main, pulumi up per stack in its own environment, serialised and never cancelled", () => {
        const { doc } = read("deploy.yml");
        const push = doc.on.push as { branches?: string[] };
        assert.deepEqual(push.branches, ["main"]);
        const up = doc.jobs.up;
        assert.ok(needsOf(up).includes("checks"));
        assert.match(String(up.environment), /matrix\.stack/);
        assert.match(String(up.concurrency?.group), /matrix\.stack/);
        assert.equal(up.concurrency?.["cancel-in-progress"], false);
        assert.equal(up.permissions?.["id-token"], "write");
        assert.match(String(stepUsing(up, "aws-actions/configure-aws-credentials")?.with?.["role-to-assume"]), /vars\.AWS_DEPLOY_ROLE_ARN/);
        assert.equal(stepUsing(up, "pulumi/actions")?.with?.command, "up");
        const checkRuns = (doc.jobs.checks.steps ?? []).map((s) => s.run);
        for (const cmd of ["npm ci", "npm run lint", "npm test"]) assert.ok(checkRuns.includes(cmd), `deploy checks run ${cmd}`);
    });

    describe("PR preview refresh (issue 16, item 2)", () => {
        const preview = () => read("pull-request.yml").doc.jobs.preview;
        const accessStep = () => (preview().steps ?? []).find((s) => s.id === "access");

        /**
         * Runs the `access` step here as the runner would, with an `aws` CLI stand-in on PATH that answers
         * DescribeCluster and DescribeAccessEntry as the real CLI does (exit 254 and the service's error on stderr).
         */
        function runAccessStep(cluster: "exists" | "missing" | "denied", entry: "exists" | "missing" | "denied") {
            const step = accessStep();
            assert.ok(step?.run, "a step `id: access` decides whether the preview refreshes");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-access-"));
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            const calls = path.join(dir, "calls.txt");
            fs.writeFileSync(
                path.join(bin, "aws"),
                [
                    "#!/usr/bin/env bash",
                    `echo "$*" >> ${JSON.stringify(calls)}`,
                    'err() { echo "" >&2; echo "An error occurred ($1) when calling the $2 operation: $3" >&2; exit 254; }',
                    'case "$1 $2" in',
                    '  "eks describe-cluster")',
                    '    case "$FAKE_CLUSTER" in exists) echo ACTIVE ;; missing) err ResourceNotFoundException DescribeCluster "No cluster found for name: $4." ;;',
                    '      *) err AccessDeniedException DescribeCluster "User is not authorized to perform: eks:DescribeCluster" ;; esac ;;',
                    '  "eks describe-access-entry")',
                    '    case "$FAKE_ENTRY" in exists) echo "{}" ;; missing) err ResourceNotFoundException DescribeAccessEntry "The specified access entry resource is not found." ;;',
                    '      *) err AccessDeniedException DescribeAccessEntry "User is not authorized to perform: eks:DescribeAccessEntry" ;; esac ;;',
                    '  *) echo "unexpected aws $*" >&2; exit 2 ;;',
                    "esac",
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const output = path.join(dir, "output");
            const summary = path.join(dir, "summary");
            fs.writeFileSync(output, "");
            fs.writeFileSync(summary, "");
            const env = {
                ...process.env,
                PATH: `${bin}:${process.env.PATH ?? ""}`,
                GITHUB_OUTPUT: output,
                GITHUB_STEP_SUMMARY: summary,
                STACK: "prod",
                CLUSTER: "eks-inference-prod",
                PREVIEW_ROLE_ARN: "arn:aws:iam::123456789012:role/eks-inference-preview",
                FAKE_CLUSTER: cluster,
                FAKE_ENTRY: entry,
            };
            // stdin from /dev/null: bash reads ~/.bashrc when its stdin is a socket (its rshd heuristic, SHLVL < 2),
            // and Node's default stdin pipe is a socketpair; a ~/.bashrc that prepends to PATH would hide the stand-in.
            const result = spawnSync("bash", ["--norc", "-e", "-c", step.run], {
                cwd: dir,
                env,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
            return {
                status: result.status,
                stdout: result.stdout,
                stderr: result.stderr,
                output: fs.readFileSync(output, "utf8"),
                summary: fs.readFileSync(summary, "utf8"),
                calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "",
            };
        }

        it("the preview refreshes exactly when the access step says so, after the credentials and before pulumi", () => {
            const job = preview();
            const steps = job.steps ?? [];
            const creds = stepUsing(job, "aws-actions/configure-aws-credentials")!;
            const pulumi = stepUsing(job, "pulumi/actions")!;
            const access = steps.find((s) => s.id === "access")!;
            assert.match(String(access.env?.CLUSTER), /steps\.region\.outputs\.cluster/);
            assert.equal(pulumi.with?.refresh, "${{ steps.access.outputs.refresh }}");
            assert.ok(steps.indexOf(creds) < steps.indexOf(access) && steps.indexOf(access) < steps.indexOf(pulumi));
            assert.match(String(access.env?.PREVIEW_ROLE_ARN), /vars\.AWS_PREVIEW_ROLE_ARN/);
            assert.match(String(access.env?.STACK), /matrix\.stack/);
        });

        it("refreshes when the preview role has its access entry on the stack's cluster", () => {
            const r = runAccessStep("exists", "exists");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.output, /^refresh=true$/m);
            assert.match(
                r.calls,
                /eks describe-access-entry --cluster-name eks-inference-prod --principal-arn arn:aws:iam::123456789012:role\/eks-inference-preview/,
            );
            assert.equal(r.summary, "");
        });

        it("names the stack's cluster as the program does (region step, stacks.ts --cluster-of)", () => {
            const step = (preview().steps ?? []).find((s) => s.id === "region");
            assert.ok(step?.run);
            const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gh-output-")), "out");
            fs.writeFileSync(out, "");
            execFileSync("bash", ["-e", "-c", step.run.replaceAll("${{ matrix.stack }}", "prod")], {
                cwd: REPO_ROOT,
                env: { ...process.env, GITHUB_OUTPUT: out },
            });
            const text = fs.readFileSync(out, "utf8");
            assert.match(text, /^region=us-east-1$/m);
            assert.match(text, new RegExp(`^cluster=${stackClusterName("prod")}$`, "m"));
            assert.equal(stackClusterName("prod"), "eks-inference-prod");
        });

        it("refreshes before the first deploy (no cluster: no Kubernetes object to read)", () => {
            const r = runAccessStep("missing", "missing");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.output, /^refresh=true$/m);
        });

        it("previews without refresh, and says why and what to set, when the role has no access entry yet", () => {
            const r = runAccessStep("exists", "missing");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.output, /^refresh=false$/m);
            assert.match(
                r.stdout,
                /::warning title=preview without refresh \(prod\)::the preview role has no access entry on cluster eks-inference-prod: set previewRoleArn in Pulumi\.prod\.yaml/,
            );
            assert.match(r.summary, /Preview of `prod` without refresh/);
        });

        it("fails, with AWS's message, when the role may not ask (a missing permission is not 'no entry')", () => {
            for (const [cluster, entry] of [
                ["denied", "exists"],
                ["exists", "denied"],
            ] as const) {
                const r = runAccessStep(cluster, entry);
                assert.notEqual(r.status, 0);
                assert.match(r.stderr, /AccessDeniedException/);
                assert.doesNotMatch(r.output, /refresh=/);
            }
        });

        it("the README's preview role allows the calls the step makes", () => {
            const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
            for (const action of ["eks:DescribeCluster", "eks:DescribeAccessEntry"]) assert.ok(readme.includes(`\`${action}\``), action);
        });
    });

    it("the jobs that reach the cluster (up, preview) run on a chosen runner label, GitHub-hosted by default", () => {
        // A narrowed publicAccessCidrs cuts GitHub-hosted runners off the API endpoint (README, Configuration).
        assert.equal(read("pull-request.yml").doc.jobs.preview?.["runs-on"], "${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}");
        // `up` runs where the stacks job's matrix says: DEPLOY_RUNNER (default ubuntu-latest), or IMAGE_BUILD_RUNNER for big images.
        assert.equal(read("deploy.yml").doc.jobs.up?.["runs-on"], "${{ matrix.runner }}");
        for (const stack of listStacks()) assert.equal(deployTargets([stack], {})[0].runner, "ubuntu-latest");
        for (const stack of listStacks()) assert.equal(deployTargets([stack], { deployRunner: "in-vpc" })[0].runner, "in-vpc");
    });

    describe("deploy runners and sessions (issue 16, item 10)", () => {
        const deploy = () => read("deploy.yml").doc;

        /** Runs a step's script here with stand-ins on PATH; returns its status, output and what the stand-ins saw. */
        function runStep(step: Step, env: Record<string, string>, standIns: Record<string, string>) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-step-"));
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            const seen = path.join(dir, "seen.txt");
            fs.writeFileSync(seen, "");
            for (const [name, body] of Object.entries(standIns))
                fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> ${JSON.stringify(seen)}\n${body}\n`, {
                    mode: 0o755,
                });
            const output = path.join(dir, "output");
            fs.writeFileSync(output, "");
            // --norc and stdin from /dev/null: bash must never source a ~/.bashrc (its rshd heuristic) that could put the
            // real docker or sudo before the stand-ins; the disk step's `sudo rm -rf` must only ever reach the stand-in.
            const result = spawnSync("bash", ["--norc", "-e", "-c", step.run ?? ""], {
                cwd: REPO_ROOT,
                env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, GITHUB_OUTPUT: output, ...env },
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
            return {
                status: result.status,
                out: result.stdout + result.stderr,
                output: fs.readFileSync(output, "utf8"),
                seen: fs.readFileSync(seen, "utf8"),
                dir,
            };
        }

        it("the stacks job gives each stack its runner: IMAGE_BUILD_RUNNER when its images outgrow a standard runner", () => {
            const step = (deploy().jobs.stacks.steps ?? []).find((s) => s.id === "runners");
            assert.ok(step, "a step `id: runners` computes the matrix");
            assert.match(String(step.env?.DEPLOY_RUNNER), /vars\.DEPLOY_RUNNER/);
            assert.match(String(step.env?.IMAGE_BUILD_RUNNER), /vars\.IMAGE_BUILD_RUNNER/);
            const r = runStep(step, { DEPLOY_RUNNER: "in-vpc", IMAGE_BUILD_RUNNER: "big-disk" }, {});
            assert.equal(r.status, 0, r.out);
            const line = r.output.split("\n").find((l) => l.startsWith("matrix="));
            assert.ok(line, r.output);
            const matrix = JSON.parse(line.slice("matrix=".length)) as { include: DeployTarget[] };
            assert.deepEqual(
                matrix.include.map((t) => t.stack),
                listStacks(),
            );
            for (const t of matrix.include) {
                assert.equal(t.runner, t.buildDiskGiB > HOSTED_RUNNER_DISK_GIB ? "big-disk" : "in-vpc", t.stack);
                assert.equal(t.buildDiskGiB, buildDiskGiB(t.images.split(", ") as ImageName[]));
            }
            const prod = matrix.include.find((t) => t.stack === "prod")!;
            assert.match(prod.images, /triton-neuronx/);
            assert.equal(prod.runner, "big-disk", "the Triton image (~20 GB unpacked) does not fit a standard runner");
            assert.equal(deploy().jobs.stacks.steps?.findIndex((s) => s.run === "npm ci") !== -1, true, "npm ci before tsx");
        });

        it("the matrix's images are exactly what the program builds for each stack", async () => {
            for (const stack of listStacks()) {
                const run = await runStackUnderMocks(stack);
                const built = Object.keys(run.outputs.imageRefs as Record<string, string>).sort();
                assert.deepEqual(deployTargets([stack], {})[0].images.split(", ").sort(), built, stack);
            }
        });

        it("up measures the free disk before anything else and stops, naming what to set, when it is short", () => {
            const up = deploy().jobs.up;
            const step = up.steps?.[0];
            assert.ok(step?.run && /DockerRootDir/.test(step.run), "the first step measures Docker's disk");
            assert.match(String(step.env?.NEED_GIB), /matrix\.buildDiskGiB/);
            const docker = 'echo "$FAKE_ROOT"';
            const sudo = "exit 0";
            const base = { STACK: "prod", IMAGES: "worker, triton-neuronx", RUNNER_LABEL: "ubuntu-latest" };

            const ok = runStep(step, { ...base, NEED_GIB: "1", HOSTED: "false", FAKE_ROOT: os.tmpdir() }, { docker, sudo });
            assert.equal(ok.status, 0, ok.out);
            assert.match(ok.out, /GiB free under .*; building worker, triton-neuronx needs about 1 GiB/);

            const short = runStep(step, { ...base, NEED_GIB: "99999999", HOSTED: "false", FAKE_ROOT: os.tmpdir() }, { docker, sudo });
            assert.notEqual(short.status, 0);
            assert.match(
                short.out,
                /::error title=not enough disk to build the images of prod::building worker, triton-neuronx needs about 99999999 GiB/,
            );
            assert.match(short.out, /Set the repository variable IMAGE_BUILD_RUNNER to a runner with at least 99999999 GiB free/);
            assert.doesNotMatch(short.seen, /^sudo/m, "a self-hosted runner's disk is left alone");

            // GitHub-hosted and short: the step removes FREEABLE (here two scratch directories, so the test can never
            // delete anything else), then measures again.
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "freeable-"));
            const freeable = [path.join(scratch, "android"), path.join(scratch, "dotnet")];
            for (const d of freeable) fs.mkdirSync(d);
            const hosted = runStep(
                step,
                { ...base, NEED_GIB: "99999999", HOSTED: "true", FAKE_ROOT: os.tmpdir(), FREEABLE: freeable.join(" ") },
                { docker, sudo: '"$@"' },
            );
            assert.notEqual(hosted.status, 0);
            assert.match(hosted.seen, new RegExp(`^sudo rm -rf ${freeable.join(" ")}$`, "m"));
            for (const d of freeable) assert.equal(fs.existsSync(d), false, `${d} removed`);
            assert.equal(
                step.env?.FREEABLE,
                "/usr/local/lib/android /usr/share/dotnet /opt/ghc /usr/local/.ghcup /opt/hostedtoolcache/CodeQL",
            );

            const steps = up.steps ?? [];
            const creds = steps.indexOf(stepUsing(up, "aws-actions/configure-aws-credentials")!);
            assert.ok(creds > 0, "credentials only after the disk check");
        });

        it("the deploy session outlasts the longest up: role-duration-seconds > job timeout > the slow estimate", () => {
            const up = deploy().jobs.up as Job & { "timeout-minutes"?: number };
            const creds = stepUsing(up, "aws-actions/configure-aws-credentials")!;
            assert.equal(Number(creds.with?.["role-duration-seconds"]), DEPLOY_SESSION_SECONDS);
            assert.equal(up["timeout-minutes"], UP_JOB_TIMEOUT_MINUTES);
            assert.ok(UP_JOB_TIMEOUT_MINUTES >= LONGEST_UP_MINUTES.slow + 15, "room for install, build and a slow up");
            assert.ok(UP_JOB_TIMEOUT_MINUTES * 60 <= DEPLOY_SESSION_SECONDS, "credentials outlive the job");
            assert.ok(DEPLOY_SESSION_SECONDS <= 43_200, "IAM allows at most 12 hours");
            const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
            assert.ok(
                readme.includes(`--max-session-duration ${DEPLOY_SESSION_SECONDS}`),
                "README sets the deploy roles' MaxSessionDuration to match",
            );
        });
    });

    it("every job runs a supported Node.js LTS (Node 20 reached end of life in April 2026)", () => {
        for (const file of fs.readdirSync(WORKFLOW_DIR)) {
            for (const [name, job] of Object.entries(read(file).doc.jobs)) {
                const setup = stepUsing(job, "actions/setup-node");
                if (setup)
                    assert.ok(
                        [22, 24].includes(Number(setup.with?.["node-version"])),
                        `${file} ${name}: node-version ${String(setup.with?.["node-version"])}`,
                    );
            }
        }
    });
});
