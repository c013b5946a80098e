// What a subject of the study (a scenario or a recorded log) produces: the calls it made,
// each with its result under one policy, the kind of mapping it touched, and whether the
// program could go on after it. Layer 2: built on the model's syscall surface only.

import type { FileFacts, Resolver } from "../kernel/fs/vfs.js";
import type { Kernel } from "../kernel/kernel.js";
import type { SealPolicy } from "../kernel/policy/policy.js";

/**
 * The kind of mapping a call touched, as the impact report groups them. `vvar` covers
 * [vvar] and [vvar_vclock]; `user-sealed` is a VMA sealed by the program's own mseal();
 * `ordinary` is everything else (files, anonymous memory, heap, stack).
 */
export type MappingKind = "vdso" | "vvar" | "sigpage" | "vectors" | "uprobes" | "user-sealed" | "ordinary";

/** The order in which a call touching several kinds is named by the most telling one. */
export const KIND_ORDER: readonly MappingKind[] = ["vdso", "vvar", "sigpage", "vectors", "uprobes", "user-sealed", "ordinary"];

/** A syscall's result as a value, or the model saying it cannot answer (never a guess). */
export type CallResult = { ret: bigint } | { errno: number; name: string } | { unsupported: string };

/** A range of pages [start, end) a call touched (before or by its result). */
export type { PageRange } from "../trace/call-ranges.js";

import type { PageRange } from "../trace/call-ranges.js";

export interface CallRecord {
  /** Position in the subject's sequence of calls (0-based), the same across policies. */
  seq: number;
  /** The task (scenario: model pid; log: the traced pid). */
  pid: number;
  name: string;
  /** The call as C would write it: "munmap(0x38000, 0x7ffffffc7000)". */
  call: string;
  result: CallResult;
  /** The most telling kind touched (a sealed one first, see impact.ts `kindOfCall`). */
  kind: MappingKind;
  /** Every kind touched, in KIND_ORDER. */
  kinds: MappingKind[];
  /** Pages the call touched: its argument ranges and, for a new mapping, its result. */
  touched: PageRange[];
  /** Scenario: the step of the program (e.g. "unmap_old_vmas 3/3"); log: "line N". */
  step: string;
  /** Log: the line number of the call in the log. */
  line?: number;
  /** Log: the result the kernel returned when the log was recorded. */
  recorded?: CallResult;
  /** Whether the program can go on with this result (a scenario's own check; logs: true). */
  accepted: boolean;
  /** What the program does when it cannot accept the result (scenarios; from its source). */
  reaction?: string;
}

/** What a scenario is given: a kernel under one policy and how to find files. */
export interface ScenarioContext {
  policy: SealPolicy;
  resolver: Resolver;
}

export interface Scenario {
  /** Short, unique, used on the command line and in reports. */
  readonly name: string;
  /** What it models, in one or two sentences. */
  readonly what: string;
  /** Where the sequence comes from: a trace file, a project's source file and function. */
  readonly source: string;
  /** Files the scenario's programs name that need not exist on this machine (facts only). */
  readonly files?: Readonly<Record<string, FileFacts>>;
  /** Issue the program's syscalls through `kernel`; stop where the program would stop. */
  run(kernel: Kernel, ctx: ScenarioContext): CallRecord[];
}
