import { strict as assert } from "node:assert";
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startMoto, type MotoServer } from "../moto";

describe("testing/moto", () => {
    let moto: MotoServer;
    before(async () => {
        moto = await startMoto();
    });
    after(async () => {
        await moto.stop();
    });

    it("serves SQS on loopback and forgets everything on reset", async () => {
        assert.match(moto.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
        const sqs = new SQSClient({
            endpoint: moto.endpoint,
            region: moto.env.AWS_REGION,
            credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        });
        await sqs.send(new CreateQueueCommand({ QueueName: "probe" }));
        const before = await sqs.send(new ListQueuesCommand({}));
        assert.equal(before.QueueUrls?.length, 1);
        await moto.reset();
        const after = await sqs.send(new ListQueuesCommand({}));
        assert.equal(after.QueueUrls?.length ?? 0, 0);
    });
});
