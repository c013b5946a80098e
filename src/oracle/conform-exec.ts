// Model vs live kernel right after execve (ASLR off): the same file, argv, environment and
// stack rlimit go to the model's execImage() (files read through the host resolver) and to
// native/build/execmaps; /proc/PID/maps, every VMA's VmFlags, the mm fields of
// smaps Rss/Anonymous (the pages execve wrote), /proc/PID/stat and the auxv are compared. Used by `aspace conform --exec` and
// `aspace exec-maps --live`.

import { type ExecOutcome, execImage } from "../kernel/exec/execve.js";
import { Vfs } from "../kernel/fs/vfs.js";
import { makeConfig } from "../kernel/mm/config.js";
import { type Creds, REFERENCE_ROOT } from "../kernel/mm/creds.js";
import type { Mm } from "../kernel/mm/mm.js";
import { DEFAULT_RLIMITS } from "../kernel/mm/rlimits.js";
import { NONE } from "../kernel/policy/none.js";
import type { Arch, SealPolicy } from "../kernel/policy/policy.js";
import { procMaps, smapsCounters, vmFlagNames } from "../kernel/procfs/maps.js";
import { errnoName } from "../kernel/uapi/errno.js";
import { type LiveExecResult, type LiveMmFields, liveExec } from "./exec-live.js";
import { hostResolver } from "./host-files.js";

/** personality(ADDR_NO_RANDOMIZE): how both sides run. */
const ADDR_NO_RANDOMIZE = 0x0040000;

export interface ExecCase {
  path: string;
  argv: string[];
  envp: string[];
  /** RLIMIT_STACK for the new image, bytes (Infinity: unlimited); default 8 MiB. */
  stackRlimit?: number;
  /** The caller's personality bits besides ADDR_NO_RANDOMIZE (e.g. ADDR_COMPAT_LAYOUT). */
  personality?: number;
}

export interface ModelExecOptions {
  policy?: SealPolicy;
  arch?: Arch;
  creds?: Creds;
  optOutRequested?: boolean;
  gid?: number;
}

/** The model's execve of a real file (bytes read from the host filesystem). */
export function modelExec(c: ExecCase, opts: ModelExecOptions = {}): ExecOutcome {
  return execImage({
    vfs: new Vfs(hostResolver()),
    cfg: makeConfig(),
    creds: opts.creds ?? REFERENCE_ROOT,
    rlimits: { ...DEFAULT_RLIMITS, stack: c.stackRlimit ?? DEFAULT_RLIMITS.stack },
    arch: opts.arch ?? "x86_64",
    policy: opts.policy ?? NONE,
    optOutRequested: opts.optOutRequested ?? false,
    path: c.path,
    argv: c.argv,
    envp: c.envp,
    personality: ADDR_NO_RANDOMIZE | (c.personality ?? 0),
    gid: opts.gid ?? 0,
  });
}

/** The mm fields /proc/PID/stat shows, from the model. */
export function mmFields(mm: Mm): LiveMmFields {
  return {
    start_code: mm.startCode,
    end_code: mm.endCode,
    start_stack: mm.startStack,
    start_data: mm.startData,
    end_data: mm.endData,
    start_brk: mm.startBrk,
    arg_start: mm.argStart,
    arg_end: mm.argEnd,
    env_start: mm.envStart,
    env_end: mm.envEnd,
  };
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGSEGV: 11 };

/** One line for an outcome: "ok", "errno ENOEXEC" or "signal 11". */
export function modelResultText(o: ExecOutcome): string {
  if (o.ok) return "ok";
  if (o.killed) return `signal ${SIGNALS[o.killed]}`;
  return `errno ${errnoName(o.errno)}`;
}

export function liveResultText(l: LiveExecResult): string {
  if (l.ok) return "ok";
  if ("errno" in l) return `errno ${errnoName(l.errno)}`;
  if ("signal" in l) return `signal ${l.signal}`;
  return `exit ${l.exit}`;
}

export interface ExecComparison {
  case: ExecCase;
  model: string;
  live: string;
  /** Why the model failed (its reason), when it did. */
  reason?: string;
  /** Differences, one line each; empty when model and kernel agree. */
  diffs: string[];
  modelMaps?: string;
  liveMaps?: string;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** Compare the model's image with the live kernel's for one case. */
export function compareExec(c: ExecCase, opts: ModelExecOptions = {}): ExecComparison {
  const model = modelExec(c, opts);
  const live = liveExec({
    path: c.path,
    argv: c.argv,
    envp: c.envp,
    stackRlimit: c.stackRlimit ?? DEFAULT_RLIMITS.stack,
    personality: c.personality,
  });
  const out: ExecComparison = { case: c, model: modelResultText(model), live: liveResultText(live), diffs: [] };
  if (!model.ok) out.reason = model.reason;
  if (out.model !== out.live) out.diffs.push(`result: model ${out.model}, kernel ${out.live}`);
  if (!model.ok || !live.ok) return out;

  const mm = model.mm;
  out.modelMaps = procMaps(mm);
  out.liveMaps = live.maps;
  const ml = out.modelMaps.split("\n");
  const ll = live.maps.split("\n");
  for (let i = 0; i < Math.max(ml.length, ll.length); i++) {
    if (ml[i] !== ll[i]) out.diffs.push(`maps line ${i + 1}: model '${ml[i] ?? ""}', kernel '${ll[i] ?? ""}'`);
  }
  mm.tree.forEach((v) => {
    const want = live.vmflags.get(v.start * 4096);
    const got = vmFlagNames(v);
    if (want !== undefined && want.join(" ") !== got.join(" ")) {
      out.diffs.push(`VmFlags at ${hex(v.start * 4096)}: model '${got.join(" ")}', kernel '${want.join(" ")}'`);
    }
    const res = live.resident.get(v.start * 4096);
    const c = smapsCounters(mm, v);
    if (res !== undefined && (res.rssKb !== c.rssKb || res.anonKb !== c.anonKb)) {
      out.diffs.push(`Rss/Anonymous at ${hex(v.start * 4096)}: model ${c.rssKb}/${c.anonKb} kB, kernel ${res.rssKb}/${res.anonKb} kB`);
    }
  });
  const mine = mmFields(mm);
  for (const k of Object.keys(mine) as Array<keyof LiveMmFields>) {
    if (mine[k] !== live.stat[k]) out.diffs.push(`stat ${k}: model ${hex(mine[k])}, kernel ${hex(live.stat[k])}`);
  }
  const fmt = (a: Array<[number, bigint]>) => a.map(([t, v]) => `${t}=${hex(v)}`).join(" ");
  if (fmt(model.auxv) !== fmt(live.auxv)) out.diffs.push(`auxv: model '${fmt(model.auxv)}', kernel '${fmt(live.auxv)}'`);
  return out;
}
