// The layering of docs (../shared/design.md, "Layers"): imports go only downward.
//   layer 1  src/kernel                              imports only src/kernel; no node: modules, no packages, no I/O
//   layer 2  src/trace, src/checkpoint, src/oracle   may import layer 1 and layer 2
//            src/index.ts (the library surface)      counts as layer 2
//   layer 3  src/cli, src/report, web                anything
// A new folder under src/ must be added to LAYERS below before its files pass.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const LAYERS: Record<string, 1 | 2 | 3> = {
  "src/kernel": 1,
  "src/trace": 2,
  "src/checkpoint": 2,
  "src/oracle": 2,
  "src/scenarios": 2,
  "src/index.ts": 2,
  "src/cli": 3,
  "src/report": 3,
  web: 3,
};

/** The layer of a repo-relative path (forward slashes), or null if it is in no layer. */
function layerOf(path: string): 1 | 2 | 3 | null {
  // Sources import each other as ".js"; the files are ".ts".
  const rel = path.replace(/\.js$/, ".ts");
  for (const [prefix, layer] of Object.entries(LAYERS)) {
    if (rel === prefix || rel.startsWith(`${prefix}/`)) return layer;
  }
  return null;
}

/**
 * The code of a source file with comments blanked and every string literal replaced by a
 * placeholder `"#N"` (N indexes `strings`), newlines kept so that line numbers stay right.
 * Text inside strings (generated code, messages) is thus never taken for code.
 */
function tokenize(src: string): { code: string; strings: string[] } {
  const strings: string[] = [];
  let code = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    const d = src[i + 1];
    if (c === "/" && d === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      code += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      const body = src.slice(i + 1, j);
      code += `"#${strings.length}"${"\n".repeat(body.split("\n").length - 1)}`;
      strings.push(body);
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  return { code, strings };
}

type Ref = { spec: string; line: number; how: string };

/** Every module or file a source refers to: import/export from, import(), require(), new URL(…, import.meta.url). */
function references(src: string): Ref[] {
  const { code, strings } = tokenize(src);
  const refs: Ref[] = [];
  const patterns: Array<[RegExp, string]> = [
    [/\b(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?"#(\d+)"/g, "import"],
    [/\bimport\s*\(\s*"#(\d+)"\s*\)/g, "import()"],
    [/\brequire\s*\(\s*"#(\d+)"\s*\)/g, "require()"],
    [/\bnew\s+URL\s*\(\s*"#(\d+)"\s*,\s*import\.meta\.url\s*\)/g, "new URL(…, import.meta.url)"],
  ];
  for (const [re, how] of patterns) {
    for (const m of code.matchAll(re)) {
      const line = code.slice(0, m.index).split("\n").length;
      refs.push({ spec: strings[Number(m[1])] as string, line, how });
    }
  }
  return refs;
}

/** Layer-1 code must not do I/O or look at the process. */
const KERNEL_FORBIDDEN: Array<[RegExp, string]> = [
  [/\bprocess\s*\./, "process.*"],
  [/\bprocess\s*\[/, "process[...]"],
  [/\bconsole\s*\./, "console.*"],
  [/\brequire\s*\(/, "require()"],
  [/\bfetch\s*\(/, "fetch()"],
  [/\bimport\s*\(/, "dynamic import()"],
  [/\bglobalThis\s*\.\s*process\b/, "globalThis.process"],
  [/\bDate\.now\s*\(|\bnew\s+Date\s*\(|\bMath\.random\s*\(|\bperformance\s*\./, "clocks or randomness (the model is deterministic)"],
];

/** Violations in one file (`rel` is repo-relative with forward slashes). */
function checkFile(rel: string, source: string): string[] {
  const layer = layerOf(rel);
  if (layer === null) return [`${rel}: not in any layer (add its folder to LAYERS in tests/layering.test.ts)`];
  const problems: string[] = [];
  for (const r of references(source)) {
    const at = `${rel}:${r.line}: ${r.how} '${r.spec}'`;
    if (!r.spec.startsWith(".")) {
      if (layer === 1) problems.push(`${at}: layer 1 (src/kernel) may not use ${r.spec.startsWith("node:") ? "node modules" : "packages"}`);
      continue;
    }
    const target = relative(ROOT, resolve(ROOT, dirname(rel), r.spec))
      .split(sep)
      .join("/");
    const tl = layerOf(target);
    if (tl === null) {
      if (layer === 1) problems.push(`${at}: layer 1 (src/kernel) may only refer to src/kernel, not ${target}`);
      else if (target.startsWith("src/")) problems.push(`${at}: ${target} is in no layer`);
      continue;
    }
    if (layer === 1 && !(target === "src/kernel" || target.startsWith("src/kernel/"))) {
      problems.push(`${at}: layer 1 (src/kernel) may only import src/kernel, not ${target}`);
    } else if (tl > layer) {
      problems.push(`${at}: upward import from layer ${layer} to layer ${tl} (${target})`);
    }
  }
  if (layer === 1) {
    const lines = tokenize(source).code.split("\n");
    lines.forEach((l, i) => {
      for (const [re, what] of KERNEL_FORBIDDEN) {
        if (re.test(l)) problems.push(`${rel}:${i + 1}: layer 1 (src/kernel) does no I/O: uses ${what}`);
      }
    });
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && !e.name.startsWith(".")) out.push(...sourceFiles(p));
    } else if (/\.(ts|tsx|mts)$/.test(e.name)) {
      out.push(p);
    }
  }
  return out;
}

describe("layering", () => {
  it("finds the sources", () => {
    const files = sourceFiles(join(ROOT, "src"));
    expect(files.some((f) => f.includes(`${sep}kernel${sep}`))).toBe(true);
    expect(files.length).toBeGreaterThan(10);
  });

  it("src/ and web/ import only downward, and src/kernel does no I/O", () => {
    const files = [...sourceFiles(join(ROOT, "src")), ...sourceFiles(join(ROOT, "web"))];
    const problems = files.flatMap((f) => checkFile(relative(ROOT, f).split(sep).join("/"), readFileSync(f, "utf8")));
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("catches what it is meant to catch", () => {
    expect(checkFile("src/kernel/mm/x.ts", 'import { a } from "../../oracle/executor.js";')).toHaveLength(1);
    expect(checkFile("src/kernel/mm/x.ts", 'import { readFileSync } from "node:fs";')).toHaveLength(1);
    expect(checkFile("src/kernel/mm/x.ts", 'import pc from "picocolors";')).toHaveLength(1);
    expect(checkFile("src/kernel/mm/x.ts", "export const x = process.env.X;")).toHaveLength(1);
    expect(checkFile("src/kernel/mm/x.ts", 'const m = await import("./y.js");')).toHaveLength(1);
    expect(checkFile("src/oracle/x.ts", 'import { main } from "../cli/main.js";')).toHaveLength(1);
    expect(checkFile("src/oracle/x.ts", 'export * from "../report/bench.js";')).toHaveLength(1);
    expect(checkFile("src/oracle/x.ts", 'const u = new URL("../cli/main.ts", import.meta.url);')).toHaveLength(1);
    expect(checkFile("src/newlayer/x.ts", "")).toHaveLength(1);
    // Allowed.
    expect(
      checkFile("src/kernel/mm/x.ts", '// process.exit() in a comment\nimport { Vma } from "./vma.js";\nconst s = "process.env";'),
    ).toEqual([]);
    expect(
      checkFile(
        "src/oracle/x.ts",
        'import { spawn } from "node:child_process";\nimport { Kernel } from "../kernel/kernel.js";\nimport { y } from "../trace/y.js";',
      ),
    ).toEqual([]);
    expect(checkFile("src/cli/x.ts", 'import { z } from "../oracle/conform.js";\nimport { Kernel } from "../index.js";')).toEqual([]);
  });
});
