// `aspace demo`: a small address space built with the model alone, then the calls a sealed
// mapping refuses (and a few it allows), each with the model's result and what the 6.18
// reference says the kernel does. Expected results come from the reference
// (../shared/reference/linux-6.18-mm.md §2.2), never from the model.
import pc from "picocolors";
import { Kernel, type SysResult } from "../index.js";

export const REFERENCE = "../shared/reference/linux-6.18-mm.md";

const P = 4096;

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MADV_DONTNEED = 4;

export type DemoStep = {
  /** The call as C would write it, e.g. "munmap(0x7ffff7ff6000, 0x3000)". */
  call: string;
  /** The model's result: an errno name ("EPERM") or the return value ("0", "0x7ffff7ff9000"). */
  result: string;
  /** What the step shows. */
  note: string;
  /** What the 6.18 reference says, when it says something about this call. */
  reference: { section: string; expect: string; rule: string } | null;
  /** The model's result agrees with the reference (null: the reference says nothing). */
  follows_reference: boolean | null;
};

export type DemoReport = {
  pid: number;
  setup: DemoStep[];
  steps: DemoStep[];
  maps_before: string;
  maps_after: string;
  smaps_before: string;
  smaps_after: string;
};

const hex = (n: number) => `0x${n.toString(16)}`;

function protName(p: number): string {
  if (p === 0) return "PROT_NONE";
  const names: string[] = [];
  if (p & PROT_READ) names.push("PROT_READ");
  if (p & PROT_WRITE) names.push("PROT_WRITE");
  return names.join("|");
}

function resultText(r: SysResult, addressResult: boolean): string {
  if ("errno" in r) return r.name;
  return addressResult ? hex(Number(r.ret)) : r.ret.toString();
}

/** Expectation "ok" means "succeeds"; anything else is an errno name. */
function agrees(result: string, expect: string): boolean {
  return expect === "ok" ? !/^E[A-Z0-9]+$/.test(result) : result === expect;
}

/** Runs the demo scenario on a fresh model kernel. Deterministic. */
export function runDemo(): DemoReport {
  const k = new Kernel();
  const pid = k.spawnEmpty().pid;
  const setup: DemoStep[] = [];
  const steps: DemoStep[] = [];

  const sys = (
    into: DemoStep[],
    name: string,
    args: Array<number | bigint>,
    shown: string[],
    note: string,
    reference: DemoStep["reference"] = null,
  ): SysResult => {
    const r = k.syscall(pid, name, args);
    const result = resultText(r, name === "mmap" || name === "mremap");
    into.push({
      call: `${name}(${shown.join(", ")})`,
      result,
      note,
      reference,
      follows_reference: reference === null ? null : agrees(result, reference.expect),
    });
    return r;
  };
  const addr = (r: SysResult, what: string): number => {
    if ("errno" in r) throw new Error(`demo setup: ${what} failed with ${r.name}`);
    return Number(r.ret);
  };
  const mmap = (len: number, prot: number, note: string) =>
    addr(
      sys(
        setup,
        "mmap",
        [0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0],
        ["NULL", hex(len), protName(prot), "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0"],
        note,
      ),
      note,
    );

  // Setup: three anonymous regions (top-down from mmap_base, so each lies below the previous),
  // A written so that it has resident pages, and the upper two pages of S sealed.
  const A = mmap(4 * P, PROT_READ | PROT_WRITE, "A: 4 writable pages");
  const B = mmap(2 * P, 0, "B: 2 inaccessible pages");
  const S = mmap(3 * P, PROT_READ, "S: 3 read-only pages");
  const w = k.access(pid, A, 4 * P, "write", 0x41);
  setup.push({
    call: `memset(${hex(A)}, 'A', ${hex(4 * P)})`,
    result: w.ok ? "0" : `${w.signal} at +${hex(w.offset)}`,
    note: "fault in A's pages (a user write, not a syscall)",
    reference: null,
    follows_reference: null,
  });
  sys(setup, "mseal", [S + P, 2 * P, 0], [hex(S + P), hex(2 * P), "0"], "seal S's upper two pages: S splits in two VMAs");
  const mapsBefore = k.maps(pid);
  const smapsBefore = k.smaps(pid);

  const ref = (expect: string, rule: string) => ({ section: "§2.2", expect, rule });
  sys(
    steps,
    "mprotect",
    [S, 3 * P, PROT_READ | PROT_WRITE],
    [hex(S), hex(3 * P), "PROT_READ|PROT_WRITE"],
    "make all of S writable",
    ref("EPERM", "mprotect: EPERM per sealed VMA; earlier VMAs in the range are already changed (partial)"),
  );
  sys(steps, "munmap", [S, 3 * P], [hex(S), hex(3 * P)], "unmap all of S", ref("EPERM", "munmap: EPERM and no VMA is unmapped (atomic)"));
  sys(
    steps,
    "mremap",
    [S + P, 2 * P, 4 * P, MREMAP_MAYMOVE],
    [hex(S + P), hex(2 * P), hex(4 * P), "MREMAP_MAYMOVE"],
    "grow the sealed part, moving it if needed",
    ref("EPERM", "mremap: EPERM for any call whose source VMA is sealed"),
  );
  sys(
    steps,
    "mremap",
    [A, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, B],
    [hex(A), hex(P), hex(P), "MREMAP_MAYMOVE|MREMAP_FIXED", hex(B)],
    "move A's first page onto B (B is not sealed: it is replaced)",
  );
  sys(
    steps,
    "mremap",
    [A + P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, S + 2 * P],
    [hex(A + P), hex(P), hex(P), "MREMAP_MAYMOVE|MREMAP_FIXED", hex(S + 2 * P)],
    "move a page of A onto the sealed part of S",
    ref("EPERM", "mremap: MREMAP_FIXED onto a sealed range → EPERM (the destination unmap fails)"),
  );
  sys(
    steps,
    "madvise",
    [S + P, 2 * P, MADV_DONTNEED],
    [hex(S + P), hex(2 * P), "MADV_DONTNEED"],
    "discard the sealed part (anonymous, not writable)",
    ref("EPERM", "madvise: discard advice is EPERM on a sealed, anonymous, non-writable VMA"),
  );
  sys(
    steps,
    "madvise",
    [A + P, 3 * P, MADV_DONTNEED],
    [hex(A + P), hex(3 * P), "MADV_DONTNEED"],
    "discard the rest of A (unsealed, writable): its pages are dropped",
  );
  sys(steps, "munmap", [A + 3 * P, P], [hex(A + 3 * P), hex(P)], "unmap A's last page (unsealed)");

  return {
    pid,
    setup,
    steps,
    maps_before: mapsBefore,
    maps_after: k.maps(pid),
    smaps_before: smapsBefore,
    smaps_after: k.smaps(pid),
  };
}

function stepLine(s: DemoStep): string[] {
  const isErr = /^E[A-Z0-9]+$/.test(s.result);
  const res = isErr ? pc.yellow(`-1 ${s.result}`) : pc.green(s.result);
  const lines = [`  ${s.call} = ${res}  ${pc.dim(`# ${s.note}`)}`];
  if (s.reference) {
    const r = s.reference;
    if (s.follows_reference) lines.push(`    ${pc.green("✓")} ${pc.dim(`reference ${r.section}: ${r.rule}`)}`);
    else lines.push(`    ${pc.red(`✗ the reference (${r.section}) expects ${r.expect}:`)} ${pc.dim(r.rule)}`);
  }
  return lines;
}

function indent(text: string): string {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => `  ${l}`)
    .join("\n");
}

/** Human-readable report. */
export function formatDemo(r: DemoReport): string {
  const out: string[] = [];
  out.push(pc.bold("aspace demo") + pc.dim(" — the model alone (Linux 6.18 x86_64 semantics), no live kernel involved"));
  out.push("");
  out.push(pc.bold("Setup"));
  for (const s of r.setup) out.push(...stepLine(s));
  out.push("");
  out.push(pc.bold(`/proc/${r.pid}/maps before`) + pc.dim(" (the seal is not visible here; smaps shows it as `sl`)"));
  out.push(indent(r.maps_before));
  out.push("");
  out.push(pc.bold("Calls"));
  for (const s of r.steps) out.push(...stepLine(s));
  out.push("");
  out.push(pc.bold(`/proc/${r.pid}/maps after`));
  out.push(indent(r.maps_after));
  out.push("");
  const checked = r.steps.filter((s) => s.follows_reference !== null);
  const ok = checked.filter((s) => s.follows_reference).length;
  const summary = `${ok} of ${checked.length} results with a stated expectation follow the 6.18 reference (${REFERENCE} §2.2).`;
  out.push(ok === checked.length ? pc.green(summary) : pc.red(summary));
  out.push(
    pc.dim(
      "Run `aspace maps --smaps` for the smaps of the final state, `aspace conform` to check the model against this machine's kernel.",
    ),
  );
  return `${out.join("\n")}\n`;
}

/** The demo's JSON shape: {pid, setup, steps, maps_before, maps_after}. */
export function demoJson(r: DemoReport): object {
  return { pid: r.pid, setup: r.setup, steps: r.steps, maps_before: r.maps_before, maps_after: r.maps_after };
}

/** Exit status: 1 if the model disagrees with the reference on any step. */
export function demoStatus(r: DemoReport): number {
  return [...r.setup, ...r.steps].some((s) => s.follows_reference === false) ? 1 : 0;
}
