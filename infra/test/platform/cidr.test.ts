// The CIDR split the network uses for its subnets.
import * as assert from "assert";
import { cidrSubnet } from "../../platform/cidr";

describe("cidrSubnet", () => {
    it("splits like Terraform's cidrsubnet", () => {
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 0), "10.0.0.0/20");
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 1), "10.0.16.0/20");
        assert.strictEqual(cidrSubnet("10.0.0.0/16", 4, 8), "10.0.128.0/20");
        assert.strictEqual(cidrSubnet("172.16.32.0/20", 4, 11), "172.16.43.0/24");
        assert.throws(() => cidrSubnet("10.0.0.0/16", 4, 16), /out of range/);
    });
});
