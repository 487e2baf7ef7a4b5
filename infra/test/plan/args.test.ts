// The command lines of plan, cost and the stacks CLI, read with ops/args.ts: same errors as every tool.
import * as assert from "node:assert/strict";
import { COST_USAGE, costArgs, PLAN_USAGE, planArgs, STACKS_USAGE, stacksArgs } from "../../plan/args";
import { UsageError } from "../../../ops/args";

function throwsUsage(fn: () => unknown, message: string, usage: string): void {
    assert.throws(fn, (err: unknown) => err instanceof UsageError && err.message === `${message}\n${usage}`, message);
}

describe("plan, cost and stacks arguments (ops/args.ts)", () => {
    it("parses --stack, --fps, --source-fps and --prices", () => {
        assert.deepEqual(planArgs(["--stack", "dev"]), { stack: "dev" });
        assert.deepEqual(costArgs(["--stack", "dev", "--fps", "24.5"]), { stack: "dev", fps: 24.5 });
        assert.equal(costArgs(["--source-fps", "25", "--stack", "prod"]).sourceFps, 25);
    });

    it("takes --flag=value as well (node:util parseArgs)", () => {
        assert.deepEqual(planArgs(["--stack=dev"]), { stack: "dev" });
        assert.deepEqual(costArgs(["--stack=dev", "--fps=24.5", "--prices=p.json"]), { stack: "dev", fps: 24.5, prices: "p.json" });
        assert.deepEqual(stacksArgs(["--region-of=prod"]), { regionOf: "prod" });
        throwsUsage(() => planArgs(["--stack=dev", "extra"]), 'unexpected argument "extra"', PLAN_USAGE);
    });

    it("names what is wrong the way every other tool does, then the usage", () => {
        throwsUsage(() => planArgs([]), "--stack is required", PLAN_USAGE);
        throwsUsage(() => planArgs(["--stack"]), "--stack needs a value", PLAN_USAGE);
        throwsUsage(() => planArgs(["--stack", "dev", "--fps", "5"]), 'unknown option "--fps"', PLAN_USAGE);
        throwsUsage(() => planArgs(["--stack", "../x"]), '--stack must be a stack name (letters, digits, _ . -), got "../x"', PLAN_USAGE);
        throwsUsage(() => planArgs(["--stack", ".."]), '--stack must be a stack name (letters, digits, _ . -), got ".."', PLAN_USAGE);
        throwsUsage(() => costArgs(["--stack", "dev", "--fps", "0"]), '--fps must be a number > 0, got "0"', COST_USAGE);
        throwsUsage(() => costArgs(["--stack", "dev", "--fps", "fast"]), '--fps must be a number > 0, got "fast"', COST_USAGE);
        throwsUsage(() => costArgs(["--stack", "dev", "--source-fps", "-1"]), "--source-fps needs a value", COST_USAGE);
        throwsUsage(() => costArgs(["--stack", "dev", "--source-fps=-1"]), '--source-fps must be a number > 0, got "-1"', COST_USAGE);
        throwsUsage(() => costArgs(["--stak", "dev"]), 'unknown option "--stak"', COST_USAGE);
    });

    it("the stacks CLI takes --list, --region-of STACK, --cluster-of STACK or --deploy-matrix, one of them", () => {
        assert.deepEqual(stacksArgs(["--list"]), { list: true });
        assert.deepEqual(stacksArgs(["--region-of", "dev"]), { regionOf: "dev" });
        assert.deepEqual(stacksArgs(["--cluster-of", "prod"]), { clusterOf: "prod" });
        assert.deepEqual(stacksArgs(["--deploy-matrix"]), { deployMatrix: true });
        throwsUsage(() => stacksArgs([]), "give --list, --region-of STACK, --cluster-of STACK or --deploy-matrix", STACKS_USAGE);
        throwsUsage(() => stacksArgs(["--list", "--deploy-matrix"]), "--list and --deploy-matrix go alone, not together", STACKS_USAGE);
        throwsUsage(
            () => stacksArgs(["--region-of", "dev", "--cluster-of", "dev"]),
            "--region-of and --cluster-of go alone, not together",
            STACKS_USAGE,
        );
        throwsUsage(
            () => stacksArgs(["--cluster-of", "../x"]),
            '--cluster-of must be a stack name (letters, digits, _ . -), got "../x"',
            STACKS_USAGE,
        );
        throwsUsage(() => stacksArgs(["region", "dev"]), 'unexpected argument "region"', STACKS_USAGE);
        throwsUsage(() => stacksArgs(["--list=yes"]), "--list takes no value", STACKS_USAGE);
        throwsUsage(() => stacksArgs(["--list", "--region-of", "dev"]), "--list and --region-of go alone, not together", STACKS_USAGE);
    });
});
