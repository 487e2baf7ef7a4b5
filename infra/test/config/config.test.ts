import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEYS, ConfigError, RawConfig, parseConfig } from "../../config/config";
import { EKS_VERSIONS } from "../../config/kubernetes-versions";
import { parseModelUri } from "../../../worker/model-fetch/source";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** The day these tests check versions against (the support dates must not make them rot). */
const TODAY = new Date("2026-12-02T09:00:00Z");

function raw(values: Record<string, string> = {}, extra: Partial<RawConfig> = {}): RawConfig {
    return { values, secretKeys: [], region: "us-west-2", stack: "test", today: TODAY, ...extra };
}

/** The problems parseConfig reports for these values (fails the test if it accepts them). */
function problems(values: Record<string, string>, extra: Partial<RawConfig> = {}): string[] {
    try {
        parseConfig(raw(values, extra));
    } catch (error) {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        return error.problems;
    }
    assert.fail(`config ${JSON.stringify(values)} was accepted`);
}

function assertProblem(values: Record<string, string>, ...patterns: RegExp[]): void {
    assertProblemOn({}, values, ...patterns);
}

function assertProblemOn(extra: Partial<RawConfig>, values: Record<string, string>, ...patterns: RegExp[]): void {
    const found = problems(values, extra);
    for (const pattern of patterns) {
        assert.ok(
            found.some((p) => pattern.test(p)),
            `no problem matches ${pattern}; got:\n${found.join("\n")}`,
        );
    }
}

describe("config: Pulumi.yaml and config.ts agree", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
        name: string;
        runtime: { name: string };
        main: string;
        config: Record<string, { type: string; description?: string; default?: unknown; secret?: boolean; items?: { type: string } }>;
    };

    it("names the project eks-inference, nodejs, main in infra/", () => {
        assert.strictEqual(project.name, "eks-inference");
        assert.strictEqual(project.runtime.name, "nodejs");
        assert.match(project.main, /^infra\/?$/);
    });

    it("declares exactly the keys config.ts reads, with the same type, description and default", () => {
        assert.deepStrictEqual(Object.keys(project.config).sort(), Object.keys(CONFIG_KEYS).sort());
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            const declared = project.config[key];
            assert.ok(declared, key);
            assert.strictEqual(declared.type, spec.type, `${key} type`);
            assert.ok((declared.description ?? "").length > 10, `${key} needs a description`);
            // `pulumi config` shows the project's text; the README table and config.ts carry the same one.
            assert.strictEqual(declared.description, spec.description, `${key} description`);
            if ("secret" in spec && spec.secret) {
                // Pulumi does not allow defaults on secret keys; unset means "not given" in config.ts.
                assert.strictEqual(declared.secret, true, `${key} must be declared secret`);
                assert.strictEqual(spec.default, "", `${key}: config.ts default must mean unset`);
            } else {
                assert.deepStrictEqual(declared.default, spec.default, `${key} default`);
            }
            if (spec.type === "array") assert.deepStrictEqual(declared.items, { type: "string" }, `${key} items`);
        }
    });

    it("the defaults alone (plus a region) form a valid configuration", () => {
        const config = parseConfig(raw());
        assert.strictEqual(config.video.enabled, true);
        assert.strictEqual(config.bert.enabled, false);
        assert.strictEqual(config.video.nodes.instanceType, "g6f.large");
        assert.strictEqual(
            config.video.modelUri,
            "https://storage.googleapis.com/download.tensorflow.org/models/object_detection/ssd_mobilenet_v2_coco_2018_03_29.tar.gz",
        );
        assert.deepStrictEqual([config.scaling.latencyObjectiveSeconds, config.scaling.secondsPerVideo], [600, 60]);
        assert.deepStrictEqual(config.general.sizing, { minSize: 1, desiredSize: 2, maxSize: 3 });
    });

    it("the README's configuration reference lists every key with its type, default and description", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const start = readme.indexOf("| key | type | default | meaning |", readme.indexOf("## Configuration reference"));
        assert.ok(start > 0, "README has a configuration table");
        const section = readme.slice(start, readme.indexOf("\n## ", start));
        const rows = new Map<string, string[]>();
        for (const line of section.split("\n")) {
            const m = /^\| `([A-Za-z]+)` \| (.+) \|$/.exec(line);
            if (m) rows.set(m[1] as string, (m[2] as string).split(" | "));
        }
        assert.deepStrictEqual([...rows.keys()].sort(), Object.keys(CONFIG_KEYS).sort(), "README rows vs CONFIG_KEYS");
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            const secret = "secret" in spec && spec.secret === true;
            const expected = [
                secret ? `${spec.type}, secret` : spec.type,
                secret ? "(none)" : `\`${JSON.stringify(spec.default)}\``,
                spec.description,
            ];
            assert.deepStrictEqual(rows.get(key), expected, `README row for ${key}`);
        }
    });

    it("checked-in stacks set only declared keys, no encrypted secrets, and an aws:region", () => {
        const stacks = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
        assert.ok(stacks.length >= 2, "at least two stacks");
        const regions = new Set<string>();
        for (const file of stacks) {
            const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
            for (const [key, value] of Object.entries(doc.config)) {
                if (key.startsWith("eks-inference:")) assert.ok(key.slice(14) in CONFIG_KEYS, `${file}: unknown key ${key}`);
                assert.ok(!(typeof value === "object" && value !== null && "secure" in value), `${file}: ${key} is an encrypted secret`);
            }
            assert.ok(typeof doc.config["aws:region"] === "string", `${file}: aws:region`);
            regions.add(doc.config["aws:region"] as string);
        }
        assert.ok(regions.size >= 2, "stacks in at least two regions");
    });
});

describe("config: parsing", () => {
    it("applies overrides, the latency objective and the fallback seconds per video among them", () => {
        const config = parseConfig(
            raw({
                videoAccelerator: "inf2",
                videoInstanceTypes: '["inf2.8xlarge"]',
                videoModelUri: "s3://models-bucket/ssd-neuronx/",
                videoLatencyObjectiveSeconds: "300",
                secondsPerVideo: "120",
                clusterAdminPrincipalArns: '["arn:aws:iam::111122223333:role/admins"]',
                videoScoreThreshold: "0.3",
            }),
        );
        assert.strictEqual(config.video.nodes.profile.name, "inf2");
        assert.strictEqual(config.video.nodes.instanceType, "inf2.8xlarge");
        assert.deepStrictEqual([config.scaling.latencyObjectiveSeconds, config.scaling.secondsPerVideo], [300, 120]);
        assert.deepStrictEqual(config.cluster.adminPrincipalArns, ["arn:aws:iam::111122223333:role/admins"]);
        assert.strictEqual(config.video.scoreThreshold, 0.3);
    });

    it("refuses a latency objective under 30 s, and says what replaced acceptableLatencySeconds and scalerSchedule", () => {
        assertProblem({ videoLatencyObjectiveSeconds: "10" }, /videoLatencyObjectiveSeconds is 10/);
        assertProblem(
            { acceptableLatencySeconds: "600" },
            /acceptableLatencySeconds was replaced by eks-inference:videoLatencyObjectiveSeconds, the seconds from upload to RESULT/,
        );
        assertProblem(
            { scalerSchedule: "rate(1 minute)" },
            /scalerSchedule was removed: the scaling alarms evaluate one datapoint per minute/,
        );
    });

    it("parses s3:// model URIs for the IAM grants", () => {
        const config = parseConfig(
            raw({ videoModelUri: "s3://models-bucket/ssd/v2/", bertEnabled: "true", bertModelUri: "s3://models-bucket/bert" }),
        );
        assert.deepStrictEqual(config.video.modelS3, { bucket: "models-bucket", prefix: "ssd/v2/" });
        assert.deepStrictEqual(config.bert.modelS3, { bucket: "models-bucket", prefix: "bert/" });
    });

    it("needs a root volume on the video nodes that holds the scratch for videoMaxBytes clear of the kubelet's disk evictions (issue 17 item 14)", () => {
        assert.ok(parseConfig(raw({ acceleratedVolumeGiB: "42" })), "the default videoMaxBytes (2 GiB: 12 GiB scratch) fits 42 GiB");
        assertProblem(
            { acceleratedVolumeGiB: "41" },
            /eks-inference:acceleratedVolumeGiB is 41, but the video nodes keep a video of up to videoMaxBytes=2147483648 \(a 12 GiB scratch volume\) .* less than 15 % of the disk is free: set at least 42, or lower videoMaxBytes/,
        );
        const big = String(80 * 1024 ** 3);
        assertProblem(
            { videoMaxBytes: big },
            /acceleratedVolumeGiB is 100, .*videoMaxBytes=85899345920 \(a 84 GiB scratch volume\).*set at least 126/,
        );
        assert.ok(parseConfig(raw({ videoMaxBytes: big, acceleratedVolumeGiB: "126" })));
        assert.ok(parseConfig(raw({ acceleratedVolumeGiB: "30", videoEnabled: "false" })), "no video nodes, no video scratch");
    });

    it("warns (does not fail) that inf1 is end of life", () => {
        const config = parseConfig(raw({ videoAccelerator: "inf1", videoModelUri: "s3://models-bucket/ssd-neuron/" }));
        assert.ok(config.warnings.some((w) => /Inf1 is at end of life/.test(w)));
    });
});

describe("config: who may connect to the workloads (bertClients, monitoringNamespace)", () => {
    it("defaults to nobody: no BERT clients outside its namespace, no metrics scraper", () => {
        assert.deepStrictEqual(parseConfig(raw()).access, { bertClients: [] });
    });

    it("reads namespaces and namespace/label=value entries (label keys may have a prefix with '/')", () => {
        const config = parseConfig(
            raw({
                bertClients: '["web", "shop/app.kubernetes.io/name=frontend", "batch/tier=", "ml/team_a.x=Blue-1"]',
                monitoringNamespace: "monitoring",
            }),
        );
        assert.deepStrictEqual(config.access, {
            bertClients: [
                { namespace: "web" },
                { namespace: "shop", podLabels: { "app.kubernetes.io/name": "frontend" } },
                { namespace: "batch", podLabels: { tier: "" } },
                { namespace: "ml", podLabels: { "team_a.x": "Blue-1" } },
            ],
            monitoringNamespace: "monitoring",
        });
    });

    it("names the key, the bad entry and the form expected", () => {
        assertProblem(
            { bertClients: '["Web", "shop/app", "shop/-x=y", "shop/app=bad value", "Bad.Prefix/app=x", "/app=x"]' },
            /bertClients contains 'Web'; 'Web' is not a namespace name \(a DNS label\); expected '<namespace>' or '<namespace>\/<label>=<value>'/,
            /bertClients contains 'shop\/app'; the label has no '=<value>'/,
            /bertClients contains 'shop\/-x=y'; label name '-x' is not valid/,
            /bertClients contains 'shop\/app=bad value'; label value 'bad value' is not valid/,
            /bertClients contains 'Bad.Prefix\/app=x'; 'Bad.Prefix' is not a namespace name/,
            /bertClients contains '\/app=x'; '' is not a namespace name/,
        );
        assertProblem({ bertClients: '"web"' }, /bertClients is '"web"'; expected a list of strings/);
        assertProblem(
            { monitoringNamespace: "Monitoring" },
            /monitoringNamespace is 'Monitoring'; expected a namespace name \(a DNS label/,
        );
    });
});

describe("config: Kubernetes version and support policy", () => {
    it("defaults to 1.35 on STANDARD support (no paid extended support by surprise)", () => {
        const config = parseConfig(raw());
        assert.strictEqual(config.kubernetesVersion, "1.35");
        assert.strictEqual(config.supportType, "STANDARD");
        assert.deepStrictEqual(config.warnings, []);
        assert.strictEqual(parseConfig(raw({ upgradeSupportType: "EXTENDED" })).supportType, "EXTENDED");
        assertProblem({ upgradeSupportType: "LONG" }, /upgradeSupportType is 'LONG'; valid values: STANDARD, EXTENDED/);
    });

    it("refuses versions whose support has ended, naming the date", () => {
        assertProblem(
            { kubernetesVersion: "1.31" },
            /kubernetesVersion is 1.31, whose EKS support ended on 2026-11-26.*EKS refuses it; use 1.35 or newer/,
        );
        assertProblem(
            { kubernetesVersion: "1.30", upgradeSupportType: "EXTENDED" },
            /kubernetesVersion is 1.30, whose EKS support ended on 2026-07-23/,
        );
        assertProblem({ kubernetesVersion: "1.29" }, /ended on 2026-03-23/);
        assertProblem(
            { kubernetesVersion: "1.40" },
            /kubernetesVersion is '1.40', which is not in the EKS version table \(known: 1.36, 1.35/,
        );
        assertProblem({ kubernetesVersion: "latest" }, /kubernetesVersion is 'latest'/);
    });

    it("refuses a version past standard support on STANDARD (EKS would upgrade it), warns on EXTENDED", () => {
        assertProblem(
            { kubernetesVersion: "1.34" },
            /kubernetesVersion is 1.34, whose standard support ended on 2026-12-02: with upgradeSupportType STANDARD, EKS upgrades/,
        );
        const extended = parseConfig(raw({ kubernetesVersion: "1.33", upgradeSupportType: "EXTENDED" }));
        assert.ok(
            extended.warnings.some((w) => /1.33 is in extended support since 2026-07-29 \(billed at 6x/.test(w)),
            extended.warnings.join("\n"),
        );
    });

    it("1.36 carries dates derived from its EKS release (2026-06-02 + 14/26 months): it warns on them but is never refused by them, and is not the default", () => {
        const entry = EKS_VERSIONS.find((v) => v.version === "1.36");
        assert.deepStrictEqual(entry, {
            version: "1.36",
            endOfStandardSupport: "2027-08-02",
            endOfExtendedSupport: "2028-08-02",
            datesFrom: "derived",
        });
        const on = (today: string, values: Record<string, string> = {}) =>
            parseConfig(raw({ kubernetesVersion: "1.36", ...values }, { today: new Date(`${today}T00:00:00Z`) }));
        assert.deepStrictEqual(on("2026-12-06").warnings, []);
        assert.ok(on("2027-06-01").warnings.some((w) => /Kubernetes 1\.36: standard support ends on 2027-08-02 \(in 62 days\)/.test(w)));
        const late = on("2027-08-10");
        assert.strictEqual(late.kubernetesVersion, "1.36", "not refused on a derived date");
        assert.ok(
            late.warnings.some((w) =>
                /Kubernetes 1\.36: its standard support ended on 2027-08-02 by dates derived from its EKS release, not yet confirmed by the EKS calendar/.test(
                    w,
                ),
            ),
            late.warnings.join("\n"),
        );
        assert.ok(on("2028-08-10").warnings.some((w) => /its extended support ended on 2028-08-02/.test(w)));
        // The default is the newest version whose dates the EKS calendar confirms.
        const confirmed = EKS_VERSIONS.filter((v) => v.endOfStandardSupport !== undefined && v.datesFrom !== "derived");
        assert.strictEqual(parseConfig(raw()).kubernetesVersion, confirmed[0]?.version);
        // A calendar date still refuses.
        assertProblemOn({ today: new Date("2027-04-01T00:00:00Z") }, { kubernetesVersion: "1.35" }, /standard support ended on 2027-03-27/);
    });

    it("warns within 90 days of the end that applies, not before", () => {
        const warned = parseConfig(raw({}, { today: new Date("2027-01-01T00:00:00Z") }));
        assert.ok(
            warned.warnings.some((w) => /Kubernetes 1.35: standard support ends on 2027-03-27 \(in 85 days\)/.test(w)),
            warned.warnings.join("\n"),
        );
        assert.deepStrictEqual(parseConfig(raw({}, { today: new Date("2026-12-26T00:00:00Z") })).warnings, [], "91 days ahead: no warning");
        const lastYear = parseConfig(
            raw({ kubernetesVersion: "1.32", upgradeSupportType: "EXTENDED" }, { today: new Date("2027-02-01T00:00:00Z") }),
        );
        assert.ok(
            lastYear.warnings.some((w) => /extended support ends on 2027-03-23 \(in 50 days\)/.test(w)),
            lastYear.warnings.join("\n"),
        );
        assertProblemOn({ today: new Date("2027-03-27T00:00:00Z") }, {}, /1.35, whose standard support ended on 2027-03-27/);
    });

    it("the table is dated and ordered newest first, every default version has dates", () => {
        const versions = EKS_VERSIONS.map((v) => Number(v.version.split(".")[1]));
        assert.deepStrictEqual(
            versions,
            [...versions].sort((a, b) => b - a),
        );
        for (const v of EKS_VERSIONS) {
            if (v.endOfStandardSupport === undefined) continue;
            assert.ok(v.endOfExtendedSupport !== undefined && v.endOfExtendedSupport > v.endOfStandardSupport, v.version);
        }
        assert.ok(EKS_VERSIONS.find((v) => v.version === CONFIG_KEYS.kubernetesVersion.default)?.endOfStandardSupport);
    });
});

describe("config: every error names the key, the value and what is valid", () => {
    it("rejects ei as retired and names its replacements", () => {
        assertProblem(
            { videoAccelerator: "ei" },
            /eks-inference:videoAccelerator is 'ei'.*retired.*April 2024.*'nvidia'.*g6f.*time-slicing/,
        );
        assertProblem(
            { bertEnabled: "true", bertModelUri: "s3://models/b/", bertAccelerator: "ei" },
            /eks-inference:bertAccelerator is 'ei'.*retired/,
        );
    });

    it("rejects unknown profiles listing the valid ones", () => {
        assertProblem({ videoAccelerator: "tpu" }, /videoAccelerator is 'tpu'; valid profiles: inf2, inf1, nvidia, cpu/);
    });

    it("rejects an instance type the profile cannot run", () => {
        assertProblem(
            { videoAccelerator: "inf2", videoInstanceTypes: '["inf2.xlarge","g5.xlarge"]' },
            /videoInstanceTypes contains 'g5.xlarge', which the 'inf2' profile cannot run/,
        );
        assertProblem(
            { videoInstanceTypes: '["not an instance"]' },
            /videoInstanceTypes contains 'not an instance'; expected EC2 instance types/,
        );
        assertProblem({ videoInstanceTypes: '["g6.xlarge","g6.xlarge"]' }, /videoInstanceTypes lists an instance type twice/);
        assertProblem({ videoInstanceTypes: "g6.xlarge" }, /videoInstanceTypes is 'g6.xlarge'; expected a list of strings/);
    });

    it("names the replacement of a retired key", () => {
        assertProblem(
            { videoInstanceType: "g6.xlarge" },
            /eks-inference:videoInstanceType was replaced by eks-inference:videoInstanceTypes, a list/,
        );
        assertProblem(
            { allowUnlistedAcceleratorRegion: "true" },
            /allowUnlistedAcceleratorRegion is no longer needed: the program asks EC2/,
        );
    });

    it("leaves regions to EC2: a region or family missing from the hand-kept table is no config error", () => {
        const config = parseConfig(raw({ videoInstanceTypes: '["g6e.xlarge"]' }, { region: "sa-east-1" }));
        assert.strictEqual(config.region, "sa-east-1");
    });

    it("Spot groups get two or more instance types of the profile by default; one explicit type is warned about", () => {
        const spot = parseConfig(raw({ videoCapacityType: "SPOT" }));
        assert.deepStrictEqual(spot.video.nodes.instanceTypes, ["g6f.large", "g6.xlarge"]);
        assert.strictEqual(spot.video.nodes.instanceType, "g6f.large");
        assert.ok(!spot.warnings.some((w) => /shallow pool/.test(w)));
        const inf2 = parseConfig(raw({ bertEnabled: "true", bertModelUri: "s3://models-bucket/bert/", bertCapacityType: "SPOT" }));
        assert.deepStrictEqual(inf2.bert.nodes.instanceTypes, ["inf2.xlarge", "inf2.8xlarge"]);
        const onDemand = parseConfig(raw());
        assert.deepStrictEqual(onDemand.video.nodes.instanceTypes, ["g6f.large"]);
        const single = parseConfig(raw({ videoCapacityType: "SPOT", videoInstanceTypes: '["g6f.large"]' }));
        assert.ok(
            single.warnings.some((w) =>
                /video: a Spot group with one instance type \(g6f.large\) is a shallow pool.*videoInstanceTypes/.test(w),
            ),
            single.warnings.join("\n"),
        );
    });

    it("lets the video group scale to zero (min 0, desired 0) but keeps max at least 1", () => {
        const config = parseConfig(raw({ videoMinSize: "0", videoDesiredSize: "0", videoMaxSize: "2" }));
        assert.deepStrictEqual(config.video.nodes.sizing, { minSize: 0, desiredSize: 0, maxSize: 2 });
        assertProblem(
            { videoMinSize: "0", videoDesiredSize: "0", videoMaxSize: "0" },
            /videoMaxSize is 0; expected a whole number from 1 to 100/,
        );
    });

    it("rejects inconsistent node group sizes naming the key", () => {
        assertProblem(
            { videoMinSize: "3", videoDesiredSize: "2", videoMaxSize: "4" },
            /videoDesiredSize is 2, below eks-inference:videoMinSize \(3\)/,
        );
        assertProblem(
            { generalDesiredSize: "5", generalMaxSize: "4" },
            /generalDesiredSize is 5, above eks-inference:generalMaxSize \(4\)/,
        );
        assertProblem(
            { bertMinSize: "3", bertDesiredSize: "3", bertMaxSize: "2" },
            /bertMinSize is 3, above eks-inference:bertMaxSize \(2\)/,
        );
        assertProblem({ generalMinSize: "0", generalDesiredSize: "0" }, /generalMinSize is 0; expected a whole number from 1 to 100/);
    });

    it("rejects malformed numbers and booleans", () => {
        assertProblem({ videoBatchSize: "eight" }, /videoBatchSize is 'eight'; expected a whole number from 1 to 256/);
        assertProblem({ videoEnabled: "yes" }, /videoEnabled is 'yes'; expected true or false/);
        assertProblem({ videoScoreThreshold: "1.5" }, /videoScoreThreshold is '1.5'; expected a number from 0 to 1/);
        assertProblem({ azCount: "1" }, /azCount is 1; expected a whole number from 2 to 4/);
        assertProblem({ queueVisibilityTimeoutSeconds: "5" }, /queueVisibilityTimeoutSeconds is 5/);
    });

    it("rejects bad enumerations", () => {
        assertProblem({ natGateways: "two" }, /natGateways is 'two'; valid values: single, onePerAz/);
        assertProblem({ videoCapacityType: "spot" }, /videoCapacityType is 'spot'; valid values: ON_DEMAND, SPOT/);
        assertProblem({ clusterLogTypes: '["api","everything"]' }, /clusterLogTypes contains 'everything'; valid log types/);
    });

    it("rejects bad network and cluster values", () => {
        assertProblem({ vpcCidr: "10.0.0.0/8" }, /vpcCidr is '10.0.0.0\/8'; expected an IPv4 CIDR from \/16 to \/20/);
        assertProblem({ kubernetesVersion: "1.24" }, /kubernetesVersion is '1.24'/);
        assertProblem({ clusterAdminPrincipalArns: '["bob"]' }, /clusterAdminPrincipalArns contains 'bob'; expected IAM role or user ARNs/);
        assertProblem({ clusterAdminPrincipalArns: "bob" }, /clusterAdminPrincipalArns is 'bob'; expected a list of strings/);
        assertProblem({ publicAccessCidrs: "[]" }, /publicAccessCidrs is empty/);
    });

    it("requires aws:region", () => {
        const found = problems({}, { region: undefined });
        assert.ok(
            found.some((p) => /aws:region is ''; set it in Pulumi.test.yaml/.test(p)),
            found.join("\n"),
        );
    });

    it("requires bertModelUri for legacy tf-serving only, and an s3:// URI when given", () => {
        assertProblem(
            { bertEnabled: "true", bertServer: "tf-serving" },
            /bertModelUri is required with eks-inference:bertServer 'tf-serving': TensorFlow left the Neuron SDK after 2.28.1/,
        );
        assert.strictEqual(parseConfig(raw({ bertEnabled: "true" })).bert.modelUri, undefined, "triton builds its own model");
        assertProblem(
            { bertEnabled: "true", bertModelUri: "https://example.com/bert.tar.gz" },
            /bertModelUri is 'https:\/\/example.com\/bert.tar.gz'; an archive or URL\. With bertServer 'triton' expected s3:\/\//,
        );
    });

    it("rejects bad prefixes, including results under the input prefix", () => {
        assertProblem({ inputPrefix: "input" }, /inputPrefix is 'input'; expected a key prefix ending in '\/'/);
        assertProblem(
            { inputPrefix: "jobs/", resultsPrefix: "jobs/results/" },
            /resultsPrefix \('jobs\/results\/'\) overlaps eks-inference:inputPrefix/,
        );
    });

    it("expires uploads after 14 days by default, warns when they would expire before a dead-lettered job", () => {
        const defaults = parseConfig(raw());
        assert.strictEqual(defaults.jobs.inputExpiryDays, 14, "the dead-letter queue's retention");
        assert.strictEqual(defaults.protectData, false, "destroy deletes the buckets by default");
        assert.deepStrictEqual(defaults.warnings, []);
        const short = parseConfig(raw({ inputExpiryDays: "3" }));
        assert.ok(
            short.warnings.some((w) =>
                /inputExpiryDays is 3: uploaded videos expire before the dead-letter queue drops a failed job \(14 days\)/.test(w),
            ),
            short.warnings.join("\n"),
        );
        assert.deepStrictEqual(parseConfig(raw({ inputExpiryDays: "0" })).warnings, [], "0 keeps uploads");
        assert.strictEqual(parseConfig(raw({ protectData: "true" })).protectData, true);
        assertProblem({ inputExpiryDays: "-1" }, /inputExpiryDays/);
        assertProblem({ protectData: "yes" }, /protectData/);
    });

    it("requires a Neuron-compiled video model on inf1/inf2 instead of the default TF1 tarball", () => {
        for (const profile of ["inf2", "inf1"]) {
            assertProblem(
                { videoAccelerator: profile },
                new RegExp(
                    `eks-inference:videoModelUri is the default .*not Neuron-compiled.*'${profile}' profile.*A Neuron-compiled SavedModel URI is required: set eks-inference:videoModelUri`,
                ),
            );
            assert.strictEqual(
                parseConfig(raw({ videoAccelerator: profile, videoModelUri: "s3://models-bucket/ssd-neuron/" })).video.nodes.profile.name,
                profile,
            );
        }
        // The default model is fine where TF Serving runs it as it is, and irrelevant when video is off.
        for (const profile of ["nvidia", "cpu"]) assert.ok(parseConfig(raw({ videoAccelerator: profile })));
        assert.strictEqual(parseConfig(raw({ videoAccelerator: "inf2", videoEnabled: "false" })).video.enabled, false);
    });

    it("rejects time-slicing on a non-NVIDIA profile", () => {
        assertProblem(
            { videoAccelerator: "inf2", nvidiaTimeSlicingReplicas: "4" },
            /nvidiaTimeSlicingReplicas is 4, but eks-inference:videoAccelerator is 'inf2'/,
        );
    });

    /** URIs model-fetch accepts and refuses: the config must answer the same for a key model-fetch fetches. */
    const MODEL_URIS = [
        CONFIG_KEYS.videoModelUri.default as string,
        "https://models.example.com/zoo/ssd.tgz",
        "https://models.example.com/zoo/ssd.tar",
        "https://models.example.com/zoo/",
        "http://download.tensorflow.org/models/object_detection/ssd_mobilenet_v2_coco_2018_03_29.tar.gz",
        "http://10.0.0.7/ssd.tar.gz",
        "ftp://models.example.com/ssd.tar.gz",
        "gs://models/ssd/",
        "s3://models-bucket/ssd/",
        "s3://models-bucket/ssd",
        "s3://models-bucket/zoo/ssd.tar.gz",
        "s3://models-bucket",
        "s3:///ssd/",
        "s3://Models_Bucket/ssd/",
        "s3://ab/ssd/",
        "not a uri",
    ];

    /** Each URI: model-fetch and the config (key set to it, plus `extra`) accept it or refuse it, for the same reason. */
    function assertSameRuleAsModelFetch(key: "videoModelUri" | "bertModelUri", extra: Record<string, string>): void {
        for (const uri of MODEL_URIS) {
            let fetchProblem: string | undefined;
            try {
                parseModelUri(uri);
            } catch (err) {
                fetchProblem = (err as Error).message;
            }
            let configProblems: string[] = [];
            try {
                parseConfig(raw({ ...extra, [key]: uri }));
            } catch (error) {
                assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
                configProblems = error.problems.filter((p) => p.includes(key));
            }
            if (fetchProblem === undefined) {
                assert.deepStrictEqual(configProblems, [], `${key} ${uri}: model-fetch accepts it, so must the config`);
            } else {
                assert.strictEqual(configProblems.length, 1, `${key} ${uri}: model-fetch refuses it (${fetchProblem}), so must the config`);
                // The same reason, from the same rule, under each side's own name for the setting.
                const reason = fetchProblem.slice(`MODEL_URI ${JSON.stringify(uri)} `.length);
                assert.ok(configProblems[0]?.endsWith(`eks-inference:${key} is '${uri}'; it ${reason}`), configProblems[0]);
            }
        }
    }

    it("videoModelUri: refuses exactly what model-fetch refuses (one shared rule), and a loopback URL besides", () => {
        assertSameRuleAsModelFetch("videoModelUri", {});
        // model-fetch takes plain http from this machine (local runs); in a pod that is the pod itself.
        assert.strictEqual(parseModelUri("http://127.0.0.1:8080/ssd.tar.gz").kind, "http-archive");
        assertProblem(
            { videoModelUri: "http://127.0.0.1:8080/ssd.tar.gz" },
            /videoModelUri is 'http:\/\/127\.0\.0\.1:8080\/ssd\.tar\.gz'; a loopback host is the pod itself/,
        );
        assertProblem(
            { videoModelUri: "http://download.tensorflow.org/m.tar.gz" },
            /uses plain http, which is refused outside localhost .*: use https:\/\/ or s3:\/\//,
        );
    });

    it("bertModelUri (legacy tf-serving, fetched by model-fetch): refuses exactly what model-fetch refuses, and a loopback URL besides", () => {
        const legacy = { bertEnabled: "true", bertServer: "tf-serving", kubernetesVersion: "1.35" };
        assertSameRuleAsModelFetch("bertModelUri", legacy);
        assertProblem(
            { ...legacy, bertModelUri: "http://localhost:8080/bert.tar.gz" },
            /bertModelUri is 'http:\/\/localhost:8080\/bert\.tar\.gz'; a loopback host is the pod itself/,
        );
        // What model-fetch reads decides the role's grant: one archive object, or everything under a prefix.
        const archive = parseConfig(raw({ ...legacy, bertModelUri: "s3://models-bucket/bert/neuron.tar.gz" })).bert;
        assert.deepStrictEqual(archive.modelS3, { bucket: "models-bucket", prefix: "", objectKey: "bert/neuron.tar.gz" });
        const https = parseConfig(raw({ ...legacy, bertModelUri: "https://models.example.com/bert/neuron.tgz" })).bert;
        assert.strictEqual(https.modelS3, undefined);
        assert.strictEqual(https.modelUri, "https://models.example.com/bert/neuron.tgz");
    });

    it("bertModelUri with triton: only an s3 prefix (fetch_model.py reads manifest.json under it), by the same rule otherwise", () => {
        for (const uri of ["s3://models-bucket/zoo/bert.tar.gz", "https://models.example.com/bert.tar.gz"])
            assertProblem(
                { bertEnabled: "true", bertModelUri: uri },
                new RegExp(
                    `bertModelUri is '${uri.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}'; an archive or URL\\. With bertServer 'triton' expected s3://`,
                ),
            );
        assertProblem(
            { bertEnabled: "true", bertModelUri: "s3://Models_Bucket/bert/" },
            /bertModelUri is 's3:\/\/Models_Bucket\/bert\/'; it names bucket 'Models_Bucket', which is not a valid S3 bucket name/,
        );
        assert.deepStrictEqual(parseConfig(raw({ bertEnabled: "true", bertModelUri: "s3://models-bucket/bert" })).bert.modelS3, {
            bucket: "models-bucket",
            prefix: "bert/",
        });
    });

    it("videoModelUri: the default is an https archive that model-fetch accepts", () => {
        const source = parseModelUri(CONFIG_KEYS.videoModelUri.default as string);
        assert.strictEqual(source.kind, "http-archive");
        assert.strictEqual(source.kind === "http-archive" && source.url.protocol, "https:");
    });

    it("videoModelUri: an s3 archive is one object for the worker's role to read, a prefix everything under it", () => {
        assert.deepStrictEqual(parseConfig(raw({ videoModelUri: "s3://models-bucket/zoo/ssd.tar.gz" })).video.modelS3, {
            bucket: "models-bucket",
            prefix: "",
            objectKey: "zoo/ssd.tar.gz",
        });
        assert.deepStrictEqual(parseConfig(raw({ videoModelUri: "s3://models-bucket/ssd" })).video.modelS3, {
            bucket: "models-bucket",
            prefix: "ssd/",
        });
        assert.strictEqual(parseConfig(raw()).video.modelS3, undefined);
    });

    it("rejects a bad model URI, metric namespace, e-mail and image tag", () => {
        assertProblem({ videoModelUri: "ftp://x/y" }, /videoModelUri is 'ftp:\/\/x\/y'; it uses the scheme ftp:, which is not supported/);
        assertProblem({ metricNamespace: "AWS/SQS" }, /metricNamespace is 'AWS\/SQS'; expected a custom CloudWatch namespace/);
        assertProblem({ alarmEmail: "ops" }, /alarmEmail is 'ops'; expected an e-mail address/);
        assertProblem({ imageTag: "bad tag" }, /imageTag is 'bad tag'/);
        // The label is followed by '-' and 16 hex digits, and a tag holds at most 128 characters.
        assertProblem({ imageTag: "r".repeat(112) }, /imageTag is 'r{112}'; expected a Docker tag label .* at most 111/);
        assertProblem({ videoModelName: "object_detection" }, /videoModelName is 'object_detection'; expected a DNS label/);
        assertProblem(
            { bertEnabled: "true", bertModelUri: "s3://models/b/", bertModelName: "BERT" },
            /bertModelName is 'BERT'; expected a DNS label/,
        );
    });

    it("rejects the removed static-key settings, saying Pod Identity replaced them", () => {
        assertProblem(
            { bertEnabled: "true", bertAwsAccessKeyId: "AKIAEXAMPLE", bertAwsSecretAccessKey: "s3cr3t" },
            /eks-inference:bertAwsAccessKeyId was removed: static AWS keys are no longer accepted. The BERT pods use their EKS Pod Identity role; run `pulumi config rm bertAwsAccessKeyId`/,
            /eks-inference:bertAwsSecretAccessKey was removed/,
        );
    });

    it("rejects a non-number for every integer key and a non-boolean for every boolean key, naming the key", () => {
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            if (spec.type === "integer")
                assertProblem({ [key]: "abc" }, new RegExp(`eks-inference:${key} is 'abc'; expected a whole number from -?\\d+ to \\d+`));
            if (spec.type === "boolean")
                assertProblem({ [key]: "maybe" }, new RegExp(`eks-inference:${key} is 'maybe'; expected true or false`));
        }
    });

    it("rejects a malformed general instance type", () => {
        assertProblem({ generalInstanceType: "M7I LARGE" }, /generalInstanceType is 'M7I LARGE'; expected an EC2 instance type/);
    });

    it("rejects unknown keys (typos)", () => {
        assertProblem({ videoAcelerator: "inf2" }, /eks-inference:videoAcelerator is not a known key/);
    });

    it("reports every problem at once", () => {
        const found = problems({ videoAccelerator: "ei", azCount: "9", natGateways: "x", bertEnabled: "true", bertServer: "tf-serving" });
        assert.strictEqual(found.length, 4, found.join("\n"));
        assert.throws(
            () => parseConfig(raw({ videoAccelerator: "ei", azCount: "9" })),
            /^ConfigError: Invalid stack configuration \(2 problems\):\n {2}- /,
        );
    });
});
