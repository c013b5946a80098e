// `aspace study`: every scenario and every log of the bundled corpus under every sealing
// policy; a table of which policy breaks what, and where and why. The main job (`npm start`).
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { type Command, InvalidArgumentError } from "commander";
import pc from "picocolors";
import type { Resolver } from "../kernel/fs/vfs.js";
import { POLICIES, policyByName, UnknownPolicyError } from "../kernel/policy/index.js";
import type { SealPolicy } from "../kernel/policy/policy.js";
import { hostResolver } from "../oracle/host-files.js";
import { criuEngineScenarios } from "../scenarios/criu-engine.js";
import { SCENARIOS } from "../scenarios/index.js";
import { REFERENCE_LAYOUT_NOTE } from "../scenarios/process.js";
import { runStudy, type StudyReport, type StudyResult } from "../scenarios/study.js";
import { type FirstFailure, runLog } from "../trace/impact.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The bundled corpus: ../shared/traces beside the clone. */
export const DEFAULT_CORPUS = resolve(REPO, "../shared/traces");

/** `--policies all|P,Q`: the named policies (unknown names are unusable input). */
export function parsePolicies(value: string): SealPolicy[] {
  if (value === "all") return [...POLICIES];
  try {
    return value.split(",").map((n) => policyByName(n.trim()));
  } catch (e) {
    if (e instanceof UnknownPolicyError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/** Files as this machine has them (the model reads nothing itself). */
export function hostFiles(): Resolver {
  return hostResolver();
}

/**
 * The corpus's logs, sorted: every `*.strace` in it, and `DIR/trace.strace` of every
 * directory `aspace record -o DIR` made in it (its bundle.json beside). Null when absent.
 */
export function corpusLogs(dir: string): string[] | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.endsWith(".strace") && statSync(p).isFile()) out.push(p);
    else if (existsSync(join(p, "trace.strace")) && statSync(p).isDirectory()) out.push(join(p, "trace.strace"));
  }
  return out;
}

function cell(r: StudyResult | undefined): string {
  if (r === undefined) return "";
  if (r.ok) return pc.green(r.unsupported > 0 ? `works (${r.unsupported} not modeled)` : "works");
  const f = r.first_failure;
  if (r.status === "unsupported") return pc.yellow("not modeled");
  if (r.status === "error") return pc.yellow("could not run");
  if (r.status === "mismatch") return pc.yellow("model ≠ log");
  return pc.red(`breaks: ${f?.kind ?? ""}`);
}

function failureText(f: FirstFailure): string {
  const where = f.line !== undefined ? `line ${f.line}` : f.step;
  const base = f.base !== null && f.base !== f.result ? ` (none: ${f.base})` : "";
  return `${where}: ${f.call} = ${f.result}${base} [${f.kind}]`;
}

export function formatStudy(rep: StudyReport, corpus: { dir: string; logs: string[] | null; replay: boolean }): string {
  const policies = rep.policies.map((p) => p.name);
  const out: string[] = [];
  out.push(pc.bold("aspace study: which sealing policy breaks what (model of Linux 6.18 x86_64)"));
  for (const p of rep.policies) out.push(`  ${pc.bold(p.name)}: ${p.summary}`);
  if (corpus.logs === null)
    out.push(pc.yellow(`  corpus: ${corpus.dir} is absent: only the scenarios were run (--corpus DIR points elsewhere)`));
  else if (!corpus.replay)
    out.push(pc.yellow(`  corpus: ${corpus.logs.length} logs in ${corpus.dir}, not run: the model has no strace replayer yet`));
  else out.push(`  corpus: ${corpus.logs.length} logs in ${corpus.dir}`);
  if (rep.results.some((r) => r.notes.includes(REFERENCE_LAYOUT_NOTE))) out.push(pc.yellow(`  scenarios: ${REFERENCE_LAYOUT_NOTE}`));
  out.push("");
  const t = new Table({ head: ["subject", ...policies], style: { head: [], border: [] } });
  for (const s of rep.subjects) {
    t.push([s.name, ...policies.map((p) => cell(rep.results.find((r) => r.subject === s.name && r.policy === p)))]);
  }
  out.push(t.toString());
  out.push("");
  out.push(pc.bold("Where and why"));
  for (const s of rep.subjects) {
    const fails = rep.results.filter((r) => r.subject === s.name && !r.ok);
    if (fails.length === 0) continue;
    out.push(`${pc.bold(s.name)}: ${s.what}`);
    // Policies failing at the same call are named together.
    const groups = new Map<string, StudyResult[]>();
    for (const r of fails) {
      const key = r.first_failure === null ? r.notes.join("; ") : failureText(r.first_failure);
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const [key, rs] of groups) {
      out.push(`  ${rs.map((r) => r.policy).join(", ")}: ${key}`);
      const then = rs[0]?.first_failure?.next ?? [];
      for (const l of then) out.push(`      then: ${l}`);
    }
  }
  out.push("");
  out.push(pc.bold("Per policy"));
  for (const p of policies) {
    const rs = rep.results.filter((r) => r.policy === p);
    const broken = rs.filter((r) => r.status === "breaks");
    const kinds = new Map<string, number>();
    for (const r of broken) kinds.set(r.first_failure?.kind ?? "?", (kinds.get(r.first_failure?.kind ?? "?") ?? 0) + 1);
    const by = [...kinds].map(([k, n]) => `${k} ×${n}`).join(", ");
    const other = rs.filter((r) => !r.ok && r.status !== "breaks").length;
    out.push(
      `  ${p}: breaks ${broken.length} of ${rs.length} subjects${by ? ` (first failure on ${by})` : ""}${other ? `; ${other} not modeled or not run` : ""}`,
    );
  }
  const works = rep.subjects.filter((s) => rep.results.filter((r) => r.subject === s.name).every((r) => r.ok));
  if (works.length > 0) out.push(`${pc.green("works under every policy")}: ${works.map((s) => s.name).join(", ")}`);
  return `${out.join("\n")}\n`;
}

/** What `--json` prints: one object; `results` has one entry per subject and policy. */
export function studyJson(rep: StudyReport, corpus: { dir: string; logs: string[] | null; replay: boolean }): object {
  return {
    policies: rep.policies,
    corpus: { dir: corpus.dir, present: corpus.logs !== null, logs: corpus.logs ?? [], replayed: corpus.replay },
    subjects: rep.subjects,
    results: rep.results,
  };
}

/**
 * Status 1 when, under `none`, a subject does not do what it did on the real kernel (a log
 * call differs from its recorded result, a scenario breaks or cannot run): the model is then
 * wrong somewhere, and the policies' answers cannot be trusted for that subject. What a
 * policy breaks is the study's answer, not a failure.
 */
export function baselineFails(rep: StudyReport): boolean {
  return rep.results.some((r) => r.policy === "none" && (r.status === "mismatch" || r.status === "breaks" || r.status === "error"));
}

export function registerStudy(program: Command, setStatus: (n: number) => void): void {
  program
    .command("study")
    .description("Run every scenario and every log of the corpus under every sealing policy: which policy breaks what, where and why")
    .option("--policies <list>", "all, or a comma-separated list of policy names", parsePolicies, [...POLICIES])
    .option("--corpus <dir>", "the directory of recorded *.strace logs", DEFAULT_CORPUS)
    .option("--json", "print one JSON object: {policies, corpus, subjects, results:[{subject, policy, ok, first_failure, ...}]}")
    .action(async (o: { policies: SealPolicy[]; corpus: string; json?: boolean }) => {
      const logs = corpusLogs(o.corpus);
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: "study [{bar}] {value}/{total} {label}", hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          )
        : null;
      bar?.start(1, 0, { label: "" });
      let rep: StudyReport;
      try {
        rep = await runStudy(
          {
            policies: o.policies,
            resolver: hostFiles(),
            scenarios: [...SCENARIOS, ...criuEngineScenarios(o.corpus)],
            logs: logs ?? [],
            runLog,
            onProgress: (done, total, label) => {
              bar?.setTotal(total);
              bar?.update(done, { label });
            },
          },
          policyByName("none"),
        );
      } finally {
        bar?.stop();
      }
      const corpus = { dir: o.corpus, logs, replay: true };
      process.stdout.write(o.json ? `${JSON.stringify(studyJson(rep, corpus), null, 2)}\n` : formatStudy(rep, corpus));
      setStatus(baselineFails(rep) ? 1 : 0);
    });
}
