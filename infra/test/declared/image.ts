// What a container image of this repository holds, read from its Dockerfile, so a test can run the
// image's programs from the checkout: the final stage's COPYs (image path -> repository path) and its
// ENV. A COPY from the build stage maps the stage's working directory onto the checkout (the build
// stage copies the repository there and `npm run bundle:*` writes dist/, as `npm test` does here).
import { readFileSync } from "node:fs";
import * as path from "node:path";

export interface ImageLayout {
    dockerfile: string;
    /** Image directory (absolute, ending in "/") -> repository directory (relative, ending in "/"), longest first. */
    copies: { imagePath: string; repoPath: string }[];
    /** ENV of the final stage whose values do not refer to the base image's (e.g. PATH=...:${PATH} is left out). */
    env: Record<string, string>;
    /** The base image's variables the final stage extends (PATH, LD_LIBRARY_PATH): the test supplies this machine's. */
    extendedFromBase: string[];
}

interface Instruction {
    keyword: string;
    rest: string;
}

function instructions(text: string): Instruction[] {
    const joined = text.replace(/\\\r?\n/g, " ");
    const out: Instruction[] = [];
    for (const line of joined.split(/\r?\n/)) {
        const trimmed = line.trim();
        if (trimmed === "" || trimmed.startsWith("#")) continue;
        const m = /^([A-Za-z]+)\s+(.*)$/.exec(trimmed);
        if (m) out.push({ keyword: m[1].toUpperCase(), rest: m[2].trim() });
    }
    return out;
}

function withSlash(p: string): string {
    return p.endsWith("/") ? p : `${p}/`;
}

/** Reads images/<name>/Dockerfile (repoRoot-relative path) into the image's layout. */
export function imageLayout(repoRoot: string, dockerfile: string): ImageLayout {
    const all = instructions(readFileSync(path.join(repoRoot, dockerfile), "utf8"));
    const stages: { name?: string; workdir: string; start: number }[] = [];
    all.forEach((ins, i) => {
        if (ins.keyword === "FROM") stages.push({ name: /\sAS\s+(\S+)$/i.exec(ins.rest)?.[1], workdir: "/", start: i });
        if (ins.keyword === "WORKDIR" && stages.length > 0) stages[stages.length - 1].workdir = withSlash(ins.rest);
    });
    const final = stages[stages.length - 1];
    if (final === undefined) throw new Error(`${dockerfile} has no FROM`);
    const layout: ImageLayout = { dockerfile, copies: [], env: {}, extendedFromBase: [] };
    let workdir = "/";
    for (const ins of all.slice(final.start)) {
        if (ins.keyword === "WORKDIR") workdir = withSlash(ins.rest);
        if (ins.keyword === "COPY") {
            const words = ins.rest.split(/\s+/);
            const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
            const paths = words.filter((w) => !w.startsWith("--"));
            const dest = paths.pop() as string;
            const imageDest = withSlash(dest.startsWith("/") ? dest : path.posix.join(workdir, dest));
            for (const src of paths) {
                let repoPath: string;
                if (from !== undefined) {
                    const stage = stages.find((s) => s.name === from);
                    if (stage === undefined || !src.startsWith(stage.workdir)) {
                        throw new Error(`${dockerfile}: COPY --from=${from} ${src}: not under the build stage's working directory`);
                    }
                    repoPath = src.slice(stage.workdir.length);
                } else {
                    repoPath = src;
                }
                layout.copies.push({ imagePath: imageDest, repoPath: withSlash(repoPath.replace(/^\.\//, "")) });
            }
        }
        if (ins.keyword === "ENV") {
            for (const m of ins.rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
                const value = m[2].replace(/^"|"$/g, "");
                if (value.includes("$")) layout.extendedFromBase.push(m[1]);
                else layout.env[m[1]] = value;
            }
        }
    }
    layout.copies.sort((a, b) => b.imagePath.length - a.imagePath.length);
    return layout;
}

/** The repository path an absolute image path comes from, or undefined when the image's own files do not hold it. */
export function repoPathOf(layout: ImageLayout, imagePath: string): string | undefined {
    for (const { imagePath: dir, repoPath } of layout.copies) {
        if (withSlash(imagePath) === dir) return repoPath;
        if (imagePath.startsWith(dir)) return repoPath + imagePath.slice(dir.length);
    }
    return undefined;
}
