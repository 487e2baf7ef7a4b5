// `npm run plan -- --stack NAME`: what the program would declare for a stack, from the real program
// run under mocks (no cloud credentials). Useful where `pulumi preview` cannot run (fork PRs).
import { runStackUnderMocks } from "../mock-run/mock-run";
import { planArgs } from "./args";
import { formatPlan } from "./plan-format";
import { listStacks, secretConfigKeys } from "./stacks";

async function main(): Promise<void> {
    const args = planArgs(process.argv.slice(2));
    if (!listStacks().includes(args.stack))
        throw new Error(`unknown stack "${args.stack}" (checked-in stacks: ${listStacks().join(", ")})`);
    const run = await runStackUnderMocks(args.stack);
    console.log(formatPlan(run, secretConfigKeys()));
    if (run.unmockedCalls.length > 0) console.log(`\nwarning: calls the mocks did not answer: ${run.unmockedCalls.join(", ")}`);
}

main().catch((err: unknown) => {
    console.error(`plan: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
