// `aspace impact LOG... [--policies all|P,...] [--json]`: for each policy, the calls whose
// result changes against `none`, grouped by the kind of mapping they touch, with the first
// failing call of every task and what the program does right after it. A subject is a
// recorded strace log, or `scenario:NAME` for one of the study's scenarios.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import pc from "picocolors";
import { POLICIES, policyByName } from "../kernel/policy/index.js";
import type { SealPolicy } from "../kernel/policy/policy.js";
import { InputError } from "../report/files.js";
import { criuEngineScenarios } from "../scenarios/criu-engine.js";
import { SCENARIOS, UnknownScenarioError } from "../scenarios/index.js";
import { impactsOf } from "../scenarios/study.js";
import { groupByKind, type PolicyImpact, runLog, runScenario, type SubjectRun } from "../trace/impact.js";
import { NotAStraceLogError } from "../trace/replay/index.js";
import { DEFAULT_CORPUS, hostFiles, parsePolicies } from "./study.js";

const SHOWN_PER_KIND = 5;

async function runsOf(subject: string, policies: readonly SealPolicy[]): Promise<SubjectRun[]> {
  const resolver = hostFiles();
  if (subject.startsWith("scenario:")) {
    const name = subject.slice("scenario:".length);
    const s = SCENARIOS.find((x) => x.name === name) ?? criuEngineScenarios(DEFAULT_CORPUS).find((x) => x.name === name);
    if (s === undefined) throw new InputError(new UnknownScenarioError(name).message, subject);
    return policies.map((p) => runScenario(s, p, resolver));
  }
  if (!existsSync(subject)) throw new InputError("no such file", subject);
  const runs: SubjectRun[] = [];
  try {
    for (const p of policies) runs.push(await runLog(subject, p, resolver));
  } catch (e) {
    if (e instanceof NotAStraceLogError) throw new InputError(e.message, subject);
    throw e;
  }
  return runs;
}

export function formatImpact(subject: string, impacts: readonly PolicyImpact[]): string {
  const out: string[] = [pc.bold(subject)];
  for (const i of impacts) {
    if (i.policy === "none") {
      const base = i.ok
        ? pc.green("works")
        : pc.yellow(
            `${i.status}${i.first_failure ? ` at ${i.first_failure.step}: ${i.first_failure.call} = ${i.first_failure.result}` : ""}`,
          );
      out.push(`  none (baseline): ${base}`);
      continue;
    }
    const head =
      i.status === "error"
        ? pc.yellow("could not run")
        : i.counts.changed === 0 && i.ok
          ? pc.green("no change against none")
          : i.counts.changed === 0 && i.status === "unsupported"
            ? pc.yellow("no change against none, but the model could not run enough of it (see the note)")
            : pc.red(`${i.counts.changed} changed, ${i.counts.unknown} unknown after them`);
    out.push(`  ${pc.bold(i.policy)}: ${head}${i.counts.not_run > 0 ? `, ${i.counts.not_run} not reached` : ""}`);
    for (const f of i.first_per_task) {
      const where = f.line !== undefined ? `line ${f.line}` : f.step;
      out.push(`    first failing call of task ${f.pid}: ${where}: ${f.call} = ${f.result} (none: ${f.base ?? "—"}) [${f.kind}]`);
      for (const t of f.next) out.push(`      then: ${t}`);
    }
    if (i.first_failure !== null && !i.first_per_task.some((f) => f.seq === i.first_failure?.seq)) {
      const f = i.first_failure;
      out.push(`    the program stops at ${f.step}: ${f.call} = ${f.result} [${f.kind}]`);
      for (const t of f.next) out.push(`      then: ${t}`);
    }
    for (const g of groupByKind(i)) {
      out.push(`    ${g.kind}: ${g.calls.length} call${g.calls.length === 1 ? "" : "s"}`);
      for (const c of g.calls.slice(0, SHOWN_PER_KIND)) {
        out.push(`      ${c.line !== undefined ? `line ${c.line}` : c.step}: ${c.call} = ${c.result} (none: ${c.base ?? "—"})`);
      }
      if (g.calls.length > SHOWN_PER_KIND) out.push(`      … ${g.calls.length - SHOWN_PER_KIND} more`);
    }
    if (i.counts.unknown > 0)
      out.push(`    ${i.counts.unknown} later calls touch what a changed call left behind: their results are unknown`);
    for (const n of i.notes) out.push(`    note: ${n}`);
  }
  return `${out.join("\n")}\n`;
}

export function registerImpact(program: Command, setStatus: (n: number) => void): void {
  program
    .command("impact")
    .description("For each sealing policy, the calls of a log (or scenario:NAME) whose result changes against none, by mapping kind")
    .argument("<subjects...>", `strace logs, or scenario:NAME (${SCENARIOS.map((s) => s.name).join(", ")})`)
    .option("--policies <list>", "all, or a comma-separated list of policy names", parsePolicies, [...POLICIES])
    .option(
      "--json",
      "print one JSON object: {subjects:[{subject, policies:[{policy, status, ok, first_failure, first_per_task, changed, by_kind, counts}]}]}",
    )
    .action(async (subjects: string[], o: { policies: SealPolicy[]; json?: boolean }) => {
      const policies = [policyByName("none"), ...o.policies.filter((p) => p.name !== "none")];
      const shown = new Set(o.policies.map((p) => p.name));
      const all: Array<{ subject: string; policies: PolicyImpact[] }> = [];
      let changed = false;
      for (const s of subjects) {
        const impacts = impactsOf(await runsOf(s, policies)).filter((i) => shown.has(i.policy) || i.policy === "none");
        if (impacts.some((i) => i.policy !== "none" && (i.counts.changed > 0 || !i.ok))) changed = true;
        all.push({ subject: s, policies: impacts });
        if (!o.json) process.stdout.write(formatImpact(s, impacts));
      }
      if (o.json) process.stdout.write(`${JSON.stringify({ subjects: all }, null, 2)}\n`);
      setStatus(changed ? 1 : 0);
    });
}
