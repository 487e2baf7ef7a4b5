// An independent model of @pulumi/docker-build 0.0.22's build-context hash (provider/internal/context.go,
// hashBuildContext), the value the provider stores as `contextHash` and compares in Diff: when it differs,
// the provider rebuilds and pushes under the Image's tags. In order:
// - the Dockerfile's bytes (not its name);
// - every file of the context (the directory minus <Dockerfile>.dockerignore, else <context>/.dockerignore),
//   visited as fsutil walks it (directory by directory, entries sorted by name): the file's bytes, its
//   slash-separated relative path, then its Go FileMode string (e.g. "-rw-r--r--"). Directories add nothing;
//   a symlink adds its target's bytes and an "L" mode.
// The result is the sha256 hex digest of that stream.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ignorePatternsFor, ignored } from "./dockerignore";

/** Go's os.FileMode.String() for the modes a build context can hold (regular files and symlinks). */
export function goFileModeString(stat: fs.Stats): string {
    let kind = "";
    if (stat.isSymbolicLink()) kind += "L";
    if (stat.mode & 0o4000) kind += "u";
    if (stat.mode & 0o2000) kind += "g";
    if (stat.mode & 0o1000) kind += "t";
    if (!stat.isFile() && !stat.isSymbolicLink()) throw new Error("only regular files and symlinks are modelled");
    const rwx = "rwxrwxrwx";
    let perm = "";
    for (let i = 0; i < 9; i++) perm += stat.mode & (1 << (8 - i)) ? rwx[i] : "-";
    return `${kind === "" ? "-" : kind}${perm}`;
}

/** The provider's contextHash for a local context directory and Dockerfile path. */
export function providerContextHash(contextDir: string, dockerfile: string): string {
    const hash = createHash("sha256");
    const patterns = ignorePatternsFor(contextDir, dockerfile);
    if (fs.existsSync(dockerfile) && fs.statSync(dockerfile).isFile()) hash.update(fs.readFileSync(dockerfile));
    const negations = patterns.filter((p) => p.exclusion).map((p) => p.text);
    const mayReinclude = (dir: string): boolean => negations.some((n) => n === dir || n.startsWith(`${dir}/`) || /^[*?[]/.test(n));
    const walk = (relative: string): void => {
        const entries = fs.readdirSync(path.join(contextDir, relative)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        for (const name of entries) {
            const child = relative === "" ? name : `${relative}/${name}`;
            const stat = fs.lstatSync(path.join(contextDir, child));
            if (stat.isDirectory()) {
                if (!ignored(patterns, child) || mayReinclude(child)) walk(child);
            } else if (!ignored(patterns, child)) {
                hash.update(fs.readFileSync(path.join(contextDir, child)));
                hash.update(path.posix.normalize(child));
                hash.update(goFileModeString(stat));
            }
        }
    };
    walk("");
    return hash.digest("hex");
}
