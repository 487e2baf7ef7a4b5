// An independent model of the build context BuildKit sends (and @pulumi/docker-build hashes): the
// context directory minus the patterns of <Dockerfile>.dockerignore, or of <context>/.dockerignore
// when the Dockerfile has none (provider/internal/context.go, getIgnorePatterns). Patterns follow
// moby/patternmatcher: `*` and `?` stay within one path segment, `**` spans segments, a leading `!`
// re-includes, the last matching pattern wins, and a pattern that matches a parent directory
// matches everything below it (MatchesOrParentMatches). Tests compare the program's own context
// listing against this model.
import * as fs from "fs";
import * as path from "path";

interface Pattern {
    exclusion: boolean;
    text: string;
    regexp: RegExp;
}

function toRegExp(pattern: string): RegExp {
    let out = "^";
    for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i] as string;
        if (ch === "*" && pattern[i + 1] === "*") {
            i++;
            if (pattern[i + 1] === "/") i++;
            out += i + 1 >= pattern.length ? ".*" : "(.*/)?";
        } else if (ch === "*") {
            out += "[^/]*";
        } else if (ch === "?") {
            out += "[^/]";
        } else if (ch === "\\" && i + 1 < pattern.length) {
            out += `\\${pattern[++i] as string}`;
        } else if (ch === "[" || ch === "]") {
            out += ch;
        } else {
            out += ch.replace(/[.+()|{}$^]/g, "\\$&");
        }
    }
    return new RegExp(`${out}$`);
}

/** Patterns of an ignore file, as moby/patternmatcher/ignorefile reads them. */
export function readPatterns(text: string): Pattern[] {
    const patterns: Pattern[] = [];
    for (const raw of text.replace(/^\uFEFF/, "").split("\n")) {
        if (raw.startsWith("#")) continue;
        let p = raw.trim();
        if (p === "") continue;
        const exclusion = p.startsWith("!");
        if (exclusion) p = p.slice(1).trim();
        p = path.posix.normalize(p).replace(/\/+$/, "");
        if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
        patterns.push({ exclusion, text: p, regexp: toRegExp(p) });
    }
    return patterns;
}

/** MatchesOrParentMatches: is this slash-separated path ignored? */
export function ignored(patterns: Pattern[], file: string): boolean {
    const parents = file
        .split("/")
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let matched = false;
    for (const p of patterns) {
        if (p.exclusion !== matched) continue;
        if (p.regexp.test(file) || parents.some((d) => p.regexp.test(d))) matched = !p.exclusion;
    }
    return matched;
}

/** The ignore patterns the provider applies to a build (Dockerfile-specific file first). */
export function ignorePatternsFor(contextDir: string, dockerfile: string): Pattern[] {
    for (const candidate of [`${dockerfile}.dockerignore`, path.join(contextDir, ".dockerignore")]) {
        if (fs.existsSync(candidate)) return readPatterns(fs.readFileSync(candidate, "utf8"));
    }
    return [];
}

/** Every file (slash-separated, relative to the context) the build context holds, sorted. */
export function buildContextFiles(contextDir: string, dockerfile: string): string[] {
    const patterns = ignorePatternsFor(contextDir, dockerfile);
    const negations = patterns.filter((p) => p.exclusion).map((p) => p.text);
    // An ignored directory is still walked when a `!` pattern could bring back something inside it.
    const mayReinclude = (dir: string): boolean => negations.some((n) => n === dir || n.startsWith(`${dir}/`) || /^[*?[]/.test(n));
    const files: string[] = [];
    const walk = (relative: string): void => {
        for (const entry of fs.readdirSync(path.join(contextDir, relative), { withFileTypes: true })) {
            const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
            if (entry.isDirectory()) {
                if (!ignored(patterns, child) || mayReinclude(child)) walk(child);
            } else if (!ignored(patterns, child)) {
                files.push(child);
            }
        }
    };
    walk("");
    return files.sort();
}
