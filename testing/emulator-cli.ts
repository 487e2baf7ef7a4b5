// The command-line shell both protocol emulators share: start one in this process, print one JSON line with
// its URLs when it is ready, and stop it on SIGTERM or SIGINT. A failure to start prints its message, exit 2.

/** Options with the flags that were not given left out (so the emulator's own defaults apply). */
export function givenOptions<T extends object>(candidates: T): T {
    return Object.fromEntries(Object.entries(candidates).filter(([, v]) => v !== undefined)) as T;
}

export function runEmulatorCli<E extends { stop(): Promise<void> }>(
    start: () => Promise<E>,
    urls: (emulator: E) => Record<string, string>,
): void {
    const main = async (): Promise<void> => {
        const emulator = await start();
        process.stdout.write(JSON.stringify(urls(emulator)) + "\n");
        const shutdown = (): void => void emulator.stop().then(() => process.exit(0));
        process.on("SIGTERM", shutdown);
        process.on("SIGINT", shutdown);
    };
    main().catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
    });
}
