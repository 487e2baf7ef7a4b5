import { strict as assert } from "node:assert";
import { ModelServerError } from "../../model-client/tfserving";

/** Await a call that must fail, and return its ModelServerError (any other outcome fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<ModelServerError> {
    try {
        await promise;
    } catch (err) {
        assert.ok(err instanceof ModelServerError, `expected ModelServerError, got ${String(err)}`);
        return err;
    }
    assert.fail("expected the call to fail");
}
