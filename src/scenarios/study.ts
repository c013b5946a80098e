// The study: every scenario and every recorded log of the corpus, under every policy,
// compared with `none` (../trace/impact.ts). The answer to "which policy breaks what, and
// why" comes from running the model, never from a table typed in by hand.

import type { Resolver } from "../kernel/fs/vfs.js";
import type { SealPolicy } from "../kernel/policy/policy.js";
import {
  compareRuns,
  type FirstFailure,
  type ImpactStatus,
  type LogRunner,
  logSubjectName,
  type PolicyImpact,
  runScenario,
  type SubjectRun,
} from "../trace/impact.js";
import { SCENARIOS } from "./index.js";
import type { MappingKind, Scenario } from "./types.js";

export interface StudyOptions {
  policies: readonly SealPolicy[];
  resolver: Resolver;
  scenarios?: readonly Scenario[];
  /** Paths of the corpus's logs (already listed; empty when the corpus is absent). */
  logs?: readonly string[];
  runLog?: LogRunner;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface StudyResult {
  subject: string;
  type: "scenario" | "log";
  policy: string;
  ok: boolean;
  status: ImpactStatus;
  /** Where the subject stops working: the call, its result and the step; null if it works. */
  first_failure: FirstFailure | null;
  /** Calls the subject made under this policy (logs: every call the replayer looked at). */
  calls: number;
  /** Of them, calls the model could not run. */
  unsupported: number;
  /** Calls whose result differs from `none`, and calls made unknown by them. */
  changed: number;
  unknown: number;
  by_kind: Partial<Record<MappingKind, number>>;
  notes: string[];
}

export interface StudyReport {
  policies: Array<{ name: string; summary: string; source: string }>;
  subjects: Array<{ name: string; type: "scenario" | "log"; what: string; source: string }>;
  results: StudyResult[];
  /** The full comparisons, for `impact`-style detail. */
  impacts: PolicyImpact[];
}

function resultOf(i: PolicyImpact): StudyResult {
  return {
    subject: i.subject,
    type: i.type,
    policy: i.policy,
    ok: i.ok,
    status: i.status,
    first_failure: i.first_failure,
    calls: i.counts.calls,
    unsupported: i.counts.unsupported,
    changed: i.counts.changed,
    unknown: i.counts.unknown,
    by_kind: i.by_kind,
    notes: i.notes,
  };
}

/** `none` first: every other policy is compared with it. */
function withNoneFirst(policies: readonly SealPolicy[], none: SealPolicy): SealPolicy[] {
  return [none, ...policies.filter((p) => p.name !== "none")];
}

/** Compare every run of one subject with its `none` run. */
export function impactsOf(runs: readonly SubjectRun[]): PolicyImpact[] {
  const base = runs.find((r) => r.policy === "none");
  if (base === undefined) throw new Error("impactsOf: the runs must include policy none");
  return runs.map((r) => compareRuns(base, r));
}

export async function runStudy(opts: StudyOptions, none: SealPolicy): Promise<StudyReport> {
  const policies = withNoneFirst(opts.policies, none);
  const scenarios = opts.scenarios ?? SCENARIOS;
  const logs = opts.runLog === undefined ? [] : (opts.logs ?? []);
  const total = (scenarios.length + logs.length) * policies.length;
  let done = 0;
  const tick = (label: string) => opts.onProgress?.(++done, total, label);
  const report: StudyReport = {
    policies: opts.policies.map((p) => ({ name: p.name, summary: p.summary, source: p.source })),
    subjects: [],
    results: [],
    impacts: [],
  };
  const shownPolicies = new Set(opts.policies.map((p) => p.name));
  const add = (runs: SubjectRun[]) => {
    for (const i of impactsOf(runs)) {
      if (!shownPolicies.has(i.policy)) continue;
      report.impacts.push(i);
      report.results.push(resultOf(i));
    }
  };
  for (const s of scenarios) {
    report.subjects.push({ name: s.name, type: "scenario", what: s.what, source: s.source });
    add(
      policies.map((p) => {
        const r = runScenario(s, p, opts.resolver);
        tick(`${s.name} / ${p.name}`);
        return r;
      }),
    );
  }
  for (const path of logs) {
    const name = logSubjectName(path);
    report.subjects.push({ name, type: "log", what: "a recorded strace log, replayed", source: path });
    const runs: SubjectRun[] = [];
    for (const p of policies) {
      try {
        runs.push(await (opts.runLog as LogRunner)(path, p, opts.resolver));
      } catch (e) {
        // One unreadable log must not stop the study: it is reported as not run, with why.
        runs.push({ subject: name, type: "log", policy: p.name, calls: [], error: e instanceof Error ? e.message : String(e) });
      }
      tick(`${name} / ${p.name}`);
    }
    add(runs);
  }
  return report;
}
