// The worker's logger (also model-fetch's): an error keeps its name, code, stack and chain of causes.
import { strict as assert } from "node:assert";
import { createLogger } from "../src/log";

describe("worker logger", () => {
    it("writes an error with its stack and causes, not just its message", () => {
        const lines: Record<string, unknown>[] = [];
        const log = createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }, { component: "test" });
        const root = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
        log.error("upload failed", { error: new Error("could not send the message", { cause: root }), bucket: "b" });
        const error = lines[0].error as {
            name: string;
            message: string;
            stack: string;
            cause: { message: string; code: string; stack: string };
        };
        assert.equal(error.message, "could not send the message");
        assert.match(error.stack, /log\.test\.ts/);
        assert.equal(error.cause.message, "connect ECONNREFUSED 127.0.0.1:9");
        assert.equal(error.cause.code, "ECONNREFUSED");
        assert.match(error.cause.stack, /^Error: connect ECONNREFUSED/);
        assert.deepEqual([lines[0].msg, lines[0].component, lines[0].bucket], ["upload failed", "test", "b"]);
    });
});
