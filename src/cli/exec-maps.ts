// `aspace exec-maps [--policy P] [--arch A] [-i] [--env K=V]... -- BIN ARGS...`: the model's
// /proc/PID/maps of BIN right after execve (ASLR off), optionally next to the live kernel's
// (`--live`); and `aspace conform --exec [BIN...]`, which compares model and kernel for
// real binaries (maps, VmFlags, /proc/PID/stat mm fields, auxv).

import { basename } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { ARCHES, archSpec } from "../kernel/arch/index.js";
import type { ExecOutcome } from "../kernel/exec/execve.js";
import { policyByName } from "../kernel/policy/index.js";
import type { Arch } from "../kernel/policy/policy.js";
import { procMaps, procSmaps } from "../kernel/procfs/maps.js";
import { errnoName } from "../kernel/uapi/errno.js";
import { Unsupported } from "../kernel/unsupported.js";
import { compareExec, type ExecComparison, mmFields, modelExec, modelResultText } from "../oracle/conform-exec.js";
import { InputError } from "../report/files.js";

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** The environment the program gets: aspace's own unless -i, then each --env K=V. */
export function buildEnv(ignore: boolean, sets: readonly string[], own: NodeJS.ProcessEnv = process.env): string[] {
  const env = new Map<string, string>();
  if (!ignore) for (const [k, v] of Object.entries(own)) if (v !== undefined) env.set(k, v);
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new InputError(`--env needs NAME=VALUE, got '${s}'`);
    env.set(s.slice(0, eq), s.slice(eq + 1));
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** The --stack option: bytes, with K/M/G suffixes, or "unlimited". */
export function stackArg(value: string): number {
  if (value === "unlimited") return Number.POSITIVE_INFINITY;
  const m = /^(\d+)([KMG]?)$/i.exec(value);
  if (m === null) throw new InputError(`--stack must be a size in bytes (K/M/G suffixes allowed) or 'unlimited', got '${value}'`);
  const mult = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as "" | "K" | "M" | "G"];
  return Number(m[1]) * mult;
}

interface ExecMapsOptions {
  policy: string;
  arch: string;
  ignoreEnvironment?: boolean;
  env: string[];
  json?: boolean;
  live?: boolean;
  smaps?: boolean;
  stack?: number;
}

/** Model-side failures the user caused or the model cannot answer: exit 2 with the reason. */
function asInputError(e: unknown): never {
  if (e instanceof Unsupported) throw new InputError(`the model cannot answer this: ${e.reason}`);
  if (e instanceof Error && (e.name === "UnknownPolicyError" || e.name === "UnknownArchError" || e.name === "ExecLiveError")) {
    throw new InputError(e.message);
  }
  throw e;
}

function outcomeJson(o: ExecOutcome) {
  if (!o.ok) return { result: modelResultText(o), errno: errnoName(o.errno), reason: o.reason, killed: o.killed ?? null };
  const mm = o.mm;
  return {
    result: "ok",
    maps: procMaps(mm),
    mm: Object.fromEntries(Object.entries(mmFields(mm)).map(([k, v]) => [k, hex(v)])),
    brk: hex(mm.brk),
    entry: hex(o.entry),
    auxv: o.auxv.map(([t, v]) => [t, hex(v)]),
  };
}

/** aspace exec-maps. Returns the exit status. */
export function execMapsCommand(bin: string, args: string[], o: ExecMapsOptions): number {
  let arch: Arch;
  let outcome: ExecOutcome;
  let comparison: ExecComparison | null = null;
  const env = buildEnv(o.ignoreEnvironment === true, o.env);
  const argv = [bin, ...args];
  try {
    const spec = archSpec(o.arch);
    arch = spec.arch;
    const policy = policyByName(o.policy);
    if (o.live && arch !== "x86_64") throw new InputError(`--live compares with this machine's kernel, which is x86_64, not ${arch}`);
    const c = { path: bin, argv, envp: env, stackRlimit: o.stack };
    outcome = modelExec(c, { policy, arch });
    if (o.live) comparison = compareExec(c, { policy, arch });
  } catch (e) {
    asInputError(e);
  }
  const verified = ARCHES[arch].verified;
  const note = verified ? null : "modeled, not verified";
  if (o.json) {
    const out: Record<string, unknown> = { path: bin, argv, envc: env.length, arch, policy: o.policy, verified, ...outcomeJson(outcome) };
    if (note !== null) out.note = note;
    if (comparison !== null) out.live = { result: comparison.live, equal: comparison.diffs.length === 0, diffs: comparison.diffs };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    if (note !== null) process.stderr.write(pc.yellow(`aspace: ${arch} layout is ${note}\n`));
    if (!outcome.ok) {
      process.stdout.write(`execve(${bin}): ${modelResultText(outcome)} — ${outcome.reason}\n`);
    } else {
      process.stdout.write(o.smaps ? procSmaps(outcome.mm) : procMaps(outcome.mm));
    }
    if (comparison !== null) {
      if (comparison.diffs.length === 0) process.stderr.write(pc.green("live kernel: identical (maps, VmFlags, stat mm fields, auxv)\n"));
      else {
        process.stderr.write(pc.red(`live kernel: ${comparison.diffs.length} difference(s)\n`));
        for (const d of comparison.diffs) process.stderr.write(`  ${d}\n`);
      }
    }
  }
  if (comparison !== null && comparison.diffs.length > 0) return 1;
  return 0;
}

/** The binaries `conform --exec` checks by default (the targets). */
export function defaultExecTargets(): string[] {
  return ["/bin/true", "/usr/bin/ls", "/usr/bin/python3", process.execPath];
}

/** aspace conform --exec [BIN...]: model vs live right after execve. Returns the exit status. */
export function conformExecCommand(bins: string[], o: { json: boolean }): number {
  const targets = bins.length ? bins : defaultExecTargets();
  const env = buildEnv(false, []);
  const results: ExecComparison[] = [];
  for (const bin of targets) {
    try {
      results.push(compareExec({ path: bin, argv: [basename(bin)], envp: env }));
    } catch (e) {
      asInputError(e);
    }
  }
  const diverged = results.filter((r) => r.diffs.length > 0).length;
  if (o.json) {
    const out = {
      binaries: results.length,
      divergences: diverged,
      results: results.map((r) => ({ path: r.case.path, model: r.model, kernel: r.live, reason: r.reason ?? null, diffs: r.diffs })),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    for (const r of results) {
      const ok = r.diffs.length === 0;
      process.stdout.write(`${ok ? pc.green("same") : pc.red("DIFF")}  ${r.case.path}  (model ${r.model}, kernel ${r.live})\n`);
      for (const d of r.diffs) process.stdout.write(`      ${d}\n`);
    }
    process.stdout.write(
      diverged === 0
        ? pc.green(`${results.length} binaries: the model's image after execve equals the kernel's\n`)
        : pc.red(`${diverged} of ${results.length} binaries differ\n`),
    );
  }
  return diverged > 0 ? 1 : 0;
}

/** Register `exec-maps` on the program. */
export function registerExecMaps(program: Command, setStatus: (n: number) => void): void {
  program
    .command("exec-maps")
    .description("Print the model's /proc/PID/maps of BIN right after execve (ASLR off); --live also runs it on this kernel and diffs")
    .usage("[options] -- BIN [ARGS...]")
    .argument("<bin>", "the executable (its bytes are read from this machine's filesystem)")
    .argument("[args...]", "arguments after argv[0] (argv[0] is BIN as given)")
    .option("--policy <name>", "sealing policy for the system mappings", "none")
    .option("--arch <arch>", `architecture (${Object.keys(ARCHES).join(", ")}; only x86_64 is verified)`, "x86_64")
    .option("-i, --ignore-environment", "start from an empty environment instead of aspace's own")
    .option("--env <K=V>", "set an environment variable (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--stack <size>", "RLIMIT_STACK of the new program (bytes, K/M/G, or 'unlimited'; default 8M)", stackArg)
    .option("--smaps", "print /proc/PID/smaps instead of maps")
    .option("--live", "also execve it on the live kernel (native/build/execmaps) and report every difference (exit 1)")
    .option("--json", "print one JSON object")
    .action((bin: string, args: string[], o: ExecMapsOptions) => {
      setStatus(execMapsCommand(bin, args, o));
    });
}
