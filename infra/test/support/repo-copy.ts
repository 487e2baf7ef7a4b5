// A throw-away copy of this checkout (every file git would commit, with its mode), sharing node_modules and
// dist/ by symlink, so a test can edit a file and run the program on the edited copy.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../mock-run/mock-run";

export interface RepoCopy {
    root: string;
    remove(): void;
}

export function copyRepository(): RepoCopy {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "repo-copy-"));
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: REPO_ROOT })
        .toString()
        .split("\0")
        .filter((f) => f !== "" && fs.existsSync(path.join(REPO_ROOT, f)));
    for (const file of files) {
        const to = path.join(root, file);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        // copyFile keeps the file's mode (libuv sets it from the source), as a checkout would.
        fs.copyFileSync(path.join(REPO_ROOT, file), to);
    }
    for (const shared of ["node_modules", "dist"]) {
        if (fs.existsSync(path.join(REPO_ROOT, shared))) fs.symlinkSync(path.join(REPO_ROOT, shared), path.join(root, shared));
    }
    return { root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
