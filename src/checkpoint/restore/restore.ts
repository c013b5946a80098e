// CRIU's restore of one task's address space, executed by the model as the restorer task's
// syscalls (kernel.syscall), so that every step is visible and checked against the kernel
// model and the sealing policy. Order and arguments follow CRIU 4.2 (criu/pie/restorer.c
// __export_restore_task, criu/mem.c, criu/pie/parasite-vdso.c, compel's final munmap) as
// observed on the reference machine (../../../../shared/traces/criu/
// criu42-restore-restorer-phase-all-syscalls.txt) and described in
// ../../../../shared/reference/criu-restore.md §1a-§3.
//
// Not modeled (recorded as "skipped" steps where CRIU makes them, so the transcript lines
// up): rseq, PR_SET_NAME, thread state (set_tid_address, ARCH_SET_FS, ...), creds,
// rlimits, signals, rt_sigreturn.

import type { Resolver } from "../../kernel/fs/vfs.js";
import { Kernel, type SysResult } from "../../kernel/kernel.js";
import { policyByName } from "../../kernel/policy/index.js";
import type { SealPolicy } from "../../kernel/policy/policy.js";
import { Unsupported } from "../../kernel/unsupported.js";
import { hostFileResolver, hostPath, type PathMap } from "../host.js";
import { readImageDir } from "../images/dir.js";
import { ImageError } from "../images/errors.js";
import type { CheckpointImages } from "../images/image-set.js";
import {
  ARCH_MAP_VDSO_64,
  MADV_GUARD_INSTALL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  PAGE,
  PR_SET_MM,
  PR_SET_MM_MAP,
  PR_SET_NAME,
  PR_SET_THP_DISABLE,
  PRCTL_MM_MAP_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
  VMA_ANON_SHARED,
  VMA_AREA_AIORING,
  VMA_AREA_GUARD,
  VMA_AREA_MEMFD,
  VMA_AREA_SYSVIPC,
  VMA_FILE_SHARED,
  VMA_NO_PROT_WRITE,
} from "../status.js";
import { writePagesBulk } from "./contents.js";
import { isAnonMapping, isRestoredVma, isVdso, isVvar, type PlanVma, planTask, type RestorePlan } from "./plan.js";
import { bootstrapHint, CRIU42_RESTORER, movedBootstrap, type RestorerFacts, restorerLayout } from "./restorer-layout.js";
import { blobsMatch, REFERENCE_RUNTIME_VDSO, type VdsoIdentity, vdsoSymbols } from "./vdso.js";

/**
 * How the vDSO is handled:
 * - `auto`: as CRIU chooses: ARCH_MAP_VDSO, then remap in place when the runtime vdso matches
 *   the dumped one, else proxy;
 * - `remap`, `proxy`: force that vdso_proxify branch;
 * - `park`: the path for kernels without ARCH_MAP_VDSO: criu's own vdso/vvar are mremap'd into
 *   the bootstrap tail before unmap_old_vmas, then remapped in place;
 * - `remap-noprot`: (not CRIU) remap in place, then leave the remapped vdso out of the
 *   "mprotect back" pass (the kernel's vdso is already r-x; CRIU mprotects it only because
 *   the image lists it as a regular VMA);
 * - `keep-runtime`: (not CRIU) leave criu's own runtime vdso/vvar where they are: unmap_old_vmas
 *   goes around them, no ARCH_MAP_VDSO, the dumped vdso copy becomes a proxy; works only when
 *   no image VMA collides with them.
 */
export type Strategy = "auto" | "remap" | "proxy" | "park" | "keep-runtime" | "remap-noprot";
export const STRATEGIES: readonly Strategy[] = ["auto", "remap", "proxy", "park", "keep-runtime", "remap-noprot"];

export interface RestoreOptions {
  policy?: string | SealPolicy;
  strategy?: Strategy;
  /** Re-seal the VMAs the image records as sealed (aspace extension), as the very last step. */
  keepSeals?: boolean;
  /** Recorded path → path on this machine. */
  mapPath?: PathMap;
  /** Default: this machine's files through `mapPath`. */
  resolver?: Resolver;
  restorer?: RestorerFacts;
  runtimeVdso?: VdsoIdentity;
  /** criu asked for the seal opt-out before its execve, where the policy offers one (default true). */
  optOutRequested?: boolean;
}

export type StepStatus = "ok" | "failed" | "unsupported" | "skipped";

export interface RestoreStep {
  n: number;
  pid: number;
  /** A: criu before the restorer, B: the restorer, C: compel after rt_sigreturn. */
  phase: "A" | "B" | "C";
  /** The CRIU function (or kernel action) this step is. */
  mirrors: string;
  name: string;
  args: string[];
  call: string;
  /** "0x…" return value, an errno name, "unsupported" or "skipped". */
  result: string;
  status: StepStatus;
  note?: string;
}

export interface RestoreResult {
  ok: boolean;
  policy: string;
  strategy: Strategy;
  /** The vdso path actually taken (auto resolves to remap or proxy). */
  vdso_path: string | null;
  failed_step: RestoreStep | null;
  reason: string | null;
  steps: RestoreStep[];
  maps_after: string;
  /** Every restored task: its pid in the image and in the model (maps_after is the first's). */
  tasks: Array<{ image_pid: number; pid: number; ok: boolean }>;
  /** VMAs the image records as sealed, and how many sealed VMAs the restored maps show. */
  seals: { recorded: number; sealed_after: number };
  kernel: Kernel;
  pid: number;
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** The effective mmap_min_addr of the reference machine (the sysctl is 4096; LSM minimum 65536). */
const MMAP_MIN_ADDR = 0x10000;

class Stop extends Error {}

/** The runtime system mappings of the restorer's mm (after ARCH_MAP_VDSO or as criu had them). */
function runtimeMappings(
  kernel: Kernel,
  pid: number,
): { vvar: [number, number] | null; vclock: [number, number] | null; vdso: [number, number] | null } {
  const out = { vvar: null as [number, number] | null, vclock: null as [number, number] | null, vdso: null as [number, number] | null };
  for (const v of kernel.process(pid).mm.tree.toArray()) {
    const n = v.special?.name;
    if (n === "[vvar]") out.vvar = [v.start * PAGE, v.end * PAGE];
    if (n === "[vvar_vclock]") out.vclock = [v.start * PAGE, v.end * PAGE];
    if (n === "[vdso]") out.vdso = [v.start * PAGE, v.end * PAGE];
  }
  return out;
}

/** The dumped bytes of [start, end) from the pages image (zeros where nothing was dumped). */
function dumpedBytes(plan: RestorePlan, start: number, end: number): Uint8Array {
  const out = new Uint8Array((end - start) * PAGE);
  for (const r of plan.runs) {
    const lo = Math.max(r.start, start);
    const hi = Math.min(r.start + r.pages, end);
    if (lo >= hi) continue;
    out.set(plan.pages.subarray(r.offset + (lo - r.start) * PAGE, r.offset + (hi - r.start) * PAGE), (lo - start) * PAGE);
  }
  return out;
}

/** A writable private mapping gets its contents while PROT_WRITE is added (restore_mapping). */
function mappedProt(v: PlanVma): number {
  const priv = (v.flags & MAP_SHARED) === 0;
  return priv && (v.status & VMA_NO_PROT_WRITE) === 0 ? v.prot | PROT_WRITE : v.prot;
}

/** The x86-64 trampoline CRIU's proxy puts at each symbol: movabs $target, %rax; jmp *%rax. */
function trampoline(target: number): Uint8Array {
  const t = new Uint8Array(12);
  t[0] = 0x48;
  t[1] = 0xb8;
  new DataView(t.buffer).setBigUint64(2, BigInt(target), true);
  t[10] = 0xff;
  t[11] = 0xe0;
  return t;
}

/** unmap_old_vmas(): the ranges outside the bootstrap and premap areas (and `keep` ranges). */
export function unmapOldRanges(facts: RestorerFacts, keep: Array<[number, number]>): Array<[number, number]> {
  const a: [number, number] = [facts.premapAddr, facts.premapAddr + facts.premapLen];
  const b: [number, number] = [facts.bootstrapStart, facts.bootstrapStart + facts.bootstrapLen];
  const [s1, s2] = a[0] < b[0] ? [a, b] : [b, a];
  const ranges: Array<[number, number]> = [
    [0, s1[0]],
    [s1[1], s2[0]],
    [s2[1], TASK_SIZE],
  ];
  // keep-runtime: cut the kept ranges out of the munmaps.
  let out = ranges;
  for (const [ks, ke] of keep) {
    const next: Array<[number, number]> = [];
    for (const [s, e] of out) {
      if (ke <= s || ks >= e) next.push([s, e]);
      else {
        if (s < ks) next.push([s, ks]);
        if (ke < e) next.push([ke, e]);
      }
    }
    out = next;
  }
  return out;
}

/** Restore every task of an image directory (or decoded images); stops at the first failing step. */
export function restore(src: string | CheckpointImages, opts: RestoreOptions = {}): RestoreResult {
  const img = typeof src === "string" ? readImageDir(src) : src;
  const policy = typeof opts.policy === "string" ? policyByName(opts.policy) : (opts.policy ?? policyByName("none"));
  const strategy = opts.strategy ?? "auto";
  const facts = opts.restorer ?? CRIU42_RESTORER;
  const mapPath = opts.mapPath ?? [];
  const resolver = opts.resolver ?? hostFileResolver(mapPath);
  const kernel = new Kernel({ policy, resolver });
  const steps: RestoreStep[] = [];
  const roots = img.tasks.filter((t) => t.mm !== null);
  if (roots.length === 0) throw new ImageError("missing", "mm-*.img", 0, "no task with an address space in the image");
  type TaskOutcome = { ok: boolean; reason: string | null; vdsoPath: string | null; pid: number; recorded: number };
  let last: TaskOutcome | null = null;
  const done: Array<{ image_pid: number; pid: number; ok: boolean }> = [];
  let first: TaskOutcome | null = null;
  for (const t of roots) {
    const plan = planTask(t, img.files);
    // Pages read from a directory here belong to this restore alone: the frames may adopt them.
    last = restoreTask(kernel, plan, { ...opts, strategy, facts, mapPath, policy, adoptPages: typeof src === "string" }, steps);
    done.push({ image_pid: t.pid, pid: last.pid, ok: last.ok });
    first ??= last;
    if (!last.ok) break;
  }
  // Report the first failing task, else the root.
  const r = (last !== null && !last.ok ? last : first) as TaskOutcome;
  const failed = steps.find((s) => s.status === "failed" || s.status === "unsupported") ?? null;
  const maps = kernel.maps(r.pid);
  const sealedAfter = kernel
    .process(r.pid)
    .mm.tree.toArray()
    .filter((v) => v.sealed).length;
  return {
    ok: r.ok,
    policy: policy.name,
    strategy,
    vdso_path: r.vdsoPath,
    failed_step: failed,
    reason: r.reason,
    steps,
    maps_after: maps,
    tasks: done,
    seals: { recorded: r.recorded, sealed_after: sealedAfter },
    kernel,
    pid: r.pid,
  };
}

interface TaskOptions extends RestoreOptions {
  adoptPages: boolean;
  strategy: Strategy;
  facts: RestorerFacts;
  mapPath: PathMap;
  policy: SealPolicy;
}

function restoreTask(
  kernel: Kernel,
  plan: RestorePlan,
  opts: TaskOptions,
  steps: RestoreStep[],
): { ok: boolean; reason: string | null; vdsoPath: string | null; pid: number; recorded: number } {
  const { strategy, policy } = opts;
  // Phase A: the bootstrap goes where it is free in criu's layout and in the image's.
  const own: Array<[number, number]> = [
    ...opts.facts.runtime.map((r): [number, number] => [r.start, r.end]),
    [opts.facts.premapAddr, opts.facts.premapAddr + opts.facts.premapLen],
  ];
  const target = plan.vmas.map((v): [number, number] => [v.start * PAGE, Math.min(v.end, TASK_SIZE / PAGE) * PAGE]);
  const hint = bootstrapHint(own, target, opts.facts.bootstrapLen, MMAP_MIN_ADDR, TASK_SIZE);
  if (hint === null) throw new Unsupported("no room for the restorer's bootstrap in both layouts");
  const facts = hint === opts.facts.bootstrapStart ? opts.facts : movedBootstrap(opts.facts, hint);
  const optOut = opts.optOutRequested ?? true;
  const proc = kernel.spawnFromLayout(restorerLayout(facts, policy, optOut), { optOutRequested: optOut });
  const pid = proc.pid;
  const recorded = plan.vmas.filter((v) => v.sealed).length;
  let reason: string | null = null;
  let vdsoPath: string | null = null;

  const record = (
    phase: RestoreStep["phase"],
    mirrors: string,
    name: string,
    args: Array<number | bigint | string>,
    result: string,
    status: StepStatus,
    note?: string,
  ) => {
    const a = args.map((x) => (typeof x === "string" ? x : hex(x)));
    const step: RestoreStep = { n: steps.length + 1, pid, phase, mirrors, name, args: a, call: `${name}(${a.join(", ")})`, result, status };
    if (note !== undefined) step.note = note;
    steps.push(step);
    return step;
  };
  /** One syscall of the restorer, through the model. Stops the restore on an error. */
  const sys = (phase: RestoreStep["phase"], mirrors: string, name: string, args: Array<number | bigint>, note?: string): bigint => {
    let r: SysResult;
    try {
      r = kernel.syscall(pid, name, args);
    } catch (e) {
      const why = e instanceof Unsupported ? e.reason : (e as Error).message;
      record(phase, mirrors, name, args, "unsupported", "unsupported", why);
      reason = `${name}: unsupported by the model: ${why}`;
      throw new Stop();
    }
    if ("errno" in r) {
      record(phase, mirrors, name, args, r.name, "failed", note);
      reason = `${mirrors}: ${name} failed with ${r.name}${note === undefined ? "" : ` (${note})`}`;
      throw new Stop();
    }
    record(phase, mirrors, name, args, hex(r.ret), "ok", note);
    return r.ret;
  };
  const skipped = (phase: RestoreStep["phase"], mirrors: string, name: string, args: Array<number | bigint | string>, note: string) =>
    record(phase, mirrors, name, args, "skipped", "skipped", note);
  const fail = (phase: RestoreStep["phase"], mirrors: string, name: string, args: Array<number | bigint | string>, why: string): never => {
    record(phase, mirrors, name, args, "refused", "failed", why);
    reason = `${mirrors}: ${why}`;
    throw new Stop();
  };

  // Open the mapped files as criu does in phase A: one fd per file in VMA order, then the
  // exe for PR_SET_MM_MAP, then the pages image (not a model file: its reads are a model op).
  const fds = new Map<string, number>();
  const openOrThrow = (path: string, fdflags: number): number => {
    const f = kernel.vfs.open(path, fdflags & 3);
    if (typeof f === "number")
      throw new ImageError(
        "missing",
        "files.img",
        0,
        `mapped file ${path} not found on this machine (looked at ${hostPath(path, opts.mapPath)}; use --map-path OLD=NEW)`,
      );
    return proc.files.install(f, 3);
  };
  for (const v of plan.vmas) if (isRestoredVma(v) && v.path !== null && !fds.has(v.path)) fds.set(v.path, openOrThrow(v.path, 0));
  const exeFd = plan.exePath === null ? -1 : openOrThrow(plan.exePath, 0);
  const pagesFd = Math.max(2, exeFd, ...fds.values()) + 1;

  const bootEnd = facts.bootstrapStart + facts.bootstrapLen;
  const rtTail = bootEnd - facts.vdsoRtSize;
  const criuRt = facts.runtime;
  record(
    "A",
    "restorer_get_vma_hint (free in both layouts)",
    "bootstrap",
    [hint, facts.bootstrapLen],
    hex(hint),
    "skipped",
    "placed by criu before the restorer runs (a decision, not a syscall)",
  );
  try {
    // --- phase A: park (no ARCH_MAP_VDSO): criu's own vdso/vvar into the bootstrap tail.
    if (strategy === "park") {
      let at = rtTail + facts.vdsoRtSize;
      for (const r of [...criuRt].reverse()) {
        at -= r.end - r.start;
        sys("A", "vdso park (no ARCH_MAP_VDSO)", "mremap", [r.start, r.end - r.start, r.end - r.start, 3, at], `criu's ${r.name}`);
      }
    }
    // --- phase B: the restorer.
    skipped("B", "restorer entry", "rseq", ["unregister"], "criu's rseq area is unregistered before it is unmapped (not an mm call)");
    const keep: Array<[number, number]> =
      strategy === "keep-runtime" ? [[Math.min(...criuRt.map((r) => r.start)), Math.max(...criuRt.map((r) => r.end))]] : [];
    for (const [s, e] of unmapOldRanges(facts, keep)) {
      if (e > s) sys("B", "unmap_old_vmas", "munmap", [s, e - s]);
    }
    if (strategy === "auto" || strategy === "remap" || strategy === "proxy" || strategy === "remap-noprot") {
      const ret = sys("B", "ARCH_MAP_VDSO (map the runtime vdso at vdso_rt_parked_at)", "arch_prctl", [ARCH_MAP_VDSO_64, rtTail]);
      void ret;
    }
    sys("B", "PR_SET_THP_DISABLE", "prctl", [PR_SET_THP_DISABLE, plan.thpDisabled ? 1 : 0, 0, 0, 0]);

    // restore_mapping(): one MAP_FIXED mmap per VMA, in address order, +PROT_WRITE where contents come.
    const rt = runtimeMappings(kernel, pid);
    const rtRanges = [rt.vvar, rt.vclock, rt.vdso].filter((x): x is [number, number] => x !== null);
    const restored = plan.vmas.filter(isRestoredVma).sort((a, b) => a.start - b.start);
    const lastUse = new Map<string, number>();
    for (const v of restored) if (v.path !== null) lastUse.set(v.path, v.index);
    for (const v of restored) {
      const len = (v.end - v.start) * PAGE;
      if ((v.status & (VMA_AREA_SYSVIPC | VMA_AREA_AIORING | VMA_AREA_MEMFD | VMA_ANON_SHARED | VMA_FILE_SHARED)) !== 0) {
        record(
          "B",
          "restore_mapping",
          "mmap",
          [v.start * PAGE, len],
          "unsupported",
          "unsupported",
          "shared, SysV, memfd and AIO mappings are not restored by this model",
        );
        reason = "restore_mapping: shared/SysV/memfd/AIO mappings are not supported";
        throw new Stop();
      }
      if (strategy === "keep-runtime") {
        const hit = rtRanges.find(([s, e]) => s < v.end * PAGE && e > v.start * PAGE);
        if (hit !== undefined)
          fail(
            "B",
            "restore_mapping",
            "mmap",
            [v.start * PAGE, len],
            `the image VMA collides with the restorer's runtime vdso/vvar at ${hex(hit[0])}-${hex(hit[1])}`,
          );
      }
      const anon = isAnonMapping(v);
      const flags = (v.flags & (MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN)) | MAP_FIXED | (anon ? MAP_ANONYMOUS : 0);
      const fd = anon ? -1n & 0xffffffffffffffffn : BigInt(fds.get(v.path as string) as number);
      sys("B", "restore_mapping", "mmap", [v.start * PAGE, len, mappedProt(v), flags, fd, anon ? 0 : v.pgoffBytes]);
      if (v.path !== null && lastUse.get(v.path) === v.index)
        sys("B", "restore_mapping (last VMA of the file)", "close", [fds.get(v.path) as number]);
    }

    // preadv(): every dumped page into place, one iovec per run of adjacent pages.
    const iov: Array<[number, number, number]> = [];
    for (const r of plan.runs) {
      const prev = iov[iov.length - 1];
      if (prev !== undefined && prev[0] + prev[1] === r.start && prev[2] + prev[1] * PAGE === r.offset) prev[1] += r.pages;
      else iov.push([r.start, r.pages, r.offset]);
    }
    const total = plan.runs.reduce((s, r) => s + r.pages * PAGE, 0);
    if (iov.length > 0) {
      const bad = writePagesBulk(kernel.process(pid).enter(), plan.pages, iov, opts.adoptPages);
      if (bad !== null) {
        record(
          "B",
          "restore page contents",
          "preadv",
          [pagesFd, `${iov.length} iovecs`, iov.length, 0],
          "EFAULT",
          "failed",
          `page ${hex(bad * PAGE)} is not writable`,
        );
        reason = "preadv: EFAULT";
        throw new Stop();
      }
      record(
        "B",
        "restore page contents (a model op: the kernel's copy to user memory)",
        "preadv",
        [pagesFd, `${iov.length} iovecs`, iov.length, 0],
        hex(total),
        "ok",
      );
    }
    record("B", "pages image", "close", [pagesFd], "0x0", "ok", "the pages image fd (not a model file)");

    // vdso_proxify().
    const imgVdso = plan.vmas.find(isVdso) ?? null;
    const imgVvar = plan.vmas.find(isVvar) ?? null;
    if (imgVdso === null && imgVvar !== null)
      fail("B", "vdso_proxify", "vdso_proxify", [], "Can't find vDSO area in image (the image has a vvar but no vdso)");
    if (imgVdso !== null) {
      const runtime = opts.runtimeVdso ?? REFERENCE_RUNTIME_VDSO;
      let path: "remap" | "proxy";
      if (strategy === "keep-runtime") path = "proxy";
      else if (strategy === "remap" || strategy === "proxy") path = strategy;
      else if (strategy === "remap-noprot") path = "remap";
      else {
        const syms = vdsoSymbols(dumpedBytes(plan, imgVdso.start, imgVdso.end));
        if (syms === null)
          fail(
            "B",
            "vdso_proxify",
            "vdso_fill_symtable",
            [hex(imgVdso.start * PAGE)],
            "the dumped vdso is not an ELF image with a symbol table",
          );
        const dumped: VdsoIdentity = {
          pages: imgVdso.end - imgVdso.start,
          vvarPages: imgVvar === null ? 0 : imgVvar.end - imgVvar.start,
          vdsoAfterVvar: imgVvar === null || imgVvar.start < imgVdso.start,
          symbols: syms as Record<string, number>,
        };
        const m = blobsMatch(dumped, runtime);
        path = m.match ? "remap" : "proxy";
        skipped("B", "vdso_proxify: blobs_matches", "compare", [hex(imgVdso.start * PAGE)], `${m.why}: ${path}`);
      }
      vdsoPath = strategy === "keep-runtime" ? "keep-runtime (proxy)" : strategy === "park" ? "park + remap" : path;
      const now = runtimeMappings(kernel, pid);
      if (path === "remap") {
        if (now.vdso === null) fail("B", "remap_rt_vdso", "mremap", [], "no runtime vdso in the restorer");
        const vd = now.vdso as [number, number];
        sys("B", "remap_rt_vdso: drop the dumped vdso copy", "munmap", [imgVdso.start * PAGE, (imgVdso.end - imgVdso.start) * PAGE]);
        if (imgVvar !== null)
          sys("B", "remap_rt_vdso: drop the vvar placeholder", "munmap", [imgVvar.start * PAGE, (imgVvar.end - imgVvar.start) * PAGE]);
        sys("B", "remap_rt_vdso: move the runtime vdso", "mremap", [vd[0], vd[1] - vd[0], vd[1] - vd[0], 3, imgVdso.start * PAGE]);
        if (imgVvar !== null) {
          let top = imgVvar.end * PAGE;
          for (const [name, r] of [
            ["vvar_vclock", now.vclock],
            ["vvar", now.vvar],
          ] as const) {
            if (r === null) continue;
            top -= r[1] - r[0];
            sys("B", `remap_rt_vdso: move the runtime ${name}`, "mremap", [r[0], r[1] - r[0], r[1] - r[0], 3, top]);
          }
        }
      } else {
        // add_vdso_proxy(): jumps from the dumped copy into the runtime vdso.
        if (now.vdso === null) fail("B", "add_vdso_proxy", "proxy", [], "no runtime vdso in the restorer");
        const vd = now.vdso as [number, number];
        for (const [name, off] of Object.entries(runtime.symbols)) {
          if (off === 0) continue;
          if (!kernel.writeMemory(pid, imgVdso.start * PAGE + off, trampoline(vd[0] + off)))
            fail("B", "add_vdso_proxy", "store", [hex(imgVdso.start * PAGE + off)], `cannot write the ${name} trampoline`);
        }
        skipped("B", "add_vdso_proxy", "store", [hex(imgVdso.start * PAGE)], "trampolines written into the dumped vdso copy (user stores)");
        if (strategy !== "keep-runtime") {
          sys("B", "add_vdso_proxy: vdso mark", "mprotect", [vd[0], vd[1] - vd[0], PROT_WRITE]);
          skipped("B", "add_vdso_proxy: vdso mark", "store", [hex(vd[0])], "the mark that lets the next dump recognise the proxy");
          sys("B", "add_vdso_proxy: vdso mark", "mprotect", [vd[0], vd[1] - vd[0], PROT_READ | PROT_EXEC]);
        } else {
          skipped(
            "B",
            "add_vdso_proxy: vdso mark",
            "store",
            [hex(vd[0])],
            "no mark: the runtime vdso is left untouched (it may be sealed)",
          );
        }
      }
    }

    // Drop the temporary PROT_WRITE.
    for (const v of restored) {
      if (mappedProt(v) !== v.prot)
        if (strategy === "remap-noprot" && isVdso(v) && vdsoPath === "remap")
          skipped(
            "B",
            "mprotect back",
            "mprotect",
            [v.start * PAGE, (v.end - v.start) * PAGE, v.prot],
            "left out: the remapped runtime vdso is already r-x",
          );
        else sys("B", "mprotect back (drop the added PROT_WRITE)", "mprotect", [v.start * PAGE, (v.end - v.start) * PAGE, v.prot]);
    }
    // madvise bits, then guard regions.
    for (const v of restored) {
      for (let bit = 0; bit < 64; bit++) {
        if (((v.madv >> BigInt(bit)) & 1n) !== 0n)
          sys("B", "restore madvise bits", "madvise", [v.start * PAGE, (v.end - v.start) * PAGE, bit]);
      }
    }
    for (const v of plan.vmas) {
      if ((v.status & VMA_AREA_GUARD) !== 0)
        sys("B", "restore guard regions", "madvise", [v.start * PAGE, (v.end - v.start) * PAGE, MADV_GUARD_INSTALL]);
    }
    skipped("B", "PR_SET_NAME", "prctl", [PR_SET_NAME, facts.nameAddr, 0, 0, 0], `comm "${plan.comm}" (not an mm call)`);
    writeMmMap(kernel, pid, plan, facts, exeFd);
    sys("B", "PR_SET_MM_MAP", "prctl", [PR_SET_MM, PR_SET_MM_MAP, facts.mmMapAddr, PRCTL_MM_MAP_SIZE, 0]);
    if (exeFd >= 0) sys("B", "PR_SET_MM_MAP exe fd", "close", [exeFd]);
    skipped(
      "B",
      "thread state, creds, rlimits, signals",
      "…",
      [],
      "set_tid_address, ARCH_SET_FS/GS, rseq, setrlimit, capset, ... (not mm calls)",
    );
    sys("B", "restorer frees the task args", "munmap", [facts.taskArgs, facts.argsLen]);
    skipped("B", "rt_sigreturn", "rt_sigreturn", [], "jump into the restored context");
    // compel_unmap(): the rest of the bootstrap (the vdso slot too, unless the proxy keeps the runtime vdso there).
    const keepsTail = vdsoPath === "proxy" && strategy !== "keep-runtime";
    const cEnd = keepsTail ? rtTail : bootEnd;
    sys("C", "compel: unmap the bootstrap", "munmap", [facts.bootstrapStart, cEnd - facts.bootstrapStart]);
    // The aspace extension: re-seal what was sealed, after every other change to the VMAs.
    if (opts.keepSeals === true) {
      for (const v of plan.vmas.filter((x) => x.sealed && isRestoredVma(x))) {
        sys("C", "aspace --keep-seals: re-seal (last step)", "mseal", [v.start * PAGE, (v.end - v.start) * PAGE, 0]);
      }
    }
    return { ok: true, reason: null, vdsoPath, pid, recorded };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { ok: false, reason, vdsoPath, pid, recorded };
  }
}

/** struct prctl_mm_map (and the auxv it points to) written into the restorer's memory. */
function writeMmMap(kernel: Kernel, pid: number, plan: RestorePlan, facts: RestorerFacts, exeFd: number): void {
  const auxv = new Uint8Array(plan.auxv.length * 8);
  const adv = new DataView(auxv.buffer);
  plan.auxv.forEach((w, i) => {
    adv.setBigUint64(i * 8, w, true);
  });
  const s = new Uint8Array(PRCTL_MM_MAP_SIZE);
  const dv = new DataView(s.buffer);
  const m = plan.mm;
  [
    m.startCode,
    m.endCode,
    m.startData,
    m.endData,
    m.startBrk,
    m.brk,
    m.startStack,
    m.argStart,
    m.argEnd,
    m.envStart,
    m.envEnd,
    facts.auxvAddr,
  ].forEach((v, i) => {
    dv.setBigUint64(i * 8, BigInt(v), true);
  });
  dv.setUint32(96, auxv.length, true);
  dv.setUint32(100, exeFd >>> 0, true);
  const name = new TextEncoder().encode(`${plan.comm}\0`);
  if (
    !kernel.writeMemory(pid, facts.auxvAddr, auxv) ||
    !kernel.writeMemory(pid, facts.mmMapAddr, s) ||
    !kernel.writeMemory(pid, facts.nameAddr, name)
  )
    throw new Unsupported("the restorer's args area is not writable in its layout");
}
