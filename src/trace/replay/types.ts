// What a replay reports: one record per call it looked at, and the totals.

/** The kind of mapping a call touched (for impact): system mappings by name, sealed, or other. */
export type VmaKind =
  | "vdso"
  | "vvar"
  | "vvar_vclock"
  | "sigpage"
  | "vectors"
  | "uprobes"
  | "vsyscall"
  | "user-sealed"
  | "ordinary"
  | "none";

/** One replayed call. `recorded`/`predicted` are printed as strace prints results. */
export interface CallRecord {
  /** The traced PID (null when the log has no PID prefixes). */
  pid: number | null;
  line: number;
  name: string;
  /** The argument text as logged. */
  args: string;
  recorded: string;
  /** The model's result; null when it did not run the call. */
  predicted: string | null;
  status: "matched" | "mismatched" | "unsupported";
  reason?: string;
  /** What the call touched, looked up in the model's address space before the call. */
  vmaKind?: VmaKind;
  /** A memory syscall (counted in the targets), or a process call (execve, clone, ...). */
  memory: boolean;
  /** After a mismatch the model took the recorded result (see docs/replay.md). */
  adopted?: boolean;
}

export interface NameStats {
  calls: number;
  modeled: number;
  matched: number;
  mismatched: number;
  unsupported: number;
}

export interface Divergence {
  pid: number | null;
  line: number;
  name: string;
  args: string;
  recorded: string;
  predicted: string;
  adopted: boolean;
  /** Log lines around the call (`NNN: text`). */
  context: string[];
  /** The model's /proc/PID/maps of the task just after the call. */
  maps: string;
}

export interface ReplayReport {
  source: string;
  policy: string;
  lines: number;
  /** Memory syscalls in the log. */
  syscalls: number;
  /** Memory syscalls the model ran. */
  modeled: number;
  matched: number;
  mismatched: number;
  /** Memory syscalls the model could not run, by reason. */
  unsupported: Record<string, number>;
  unsupported_count: number;
  /** Process calls (execve, fork, clone, ...) run through the model, with their own tallies. */
  process_calls: NameStats;
  by_name: Record<string, NameStats>;
  /** The first divergences (memory or process calls), with context and maps. */
  divergences: Divergence[];
  divergence_count: number;
  /** Lines the parser could not read (first few) and how many. */
  diagnostics: Array<{ line: number; message: string }>;
  diagnostic_count: number;
  /** How the replay filled what the log does not say (environments, files from the bundle). */
  notes: string[];
  tasks: number;
  seconds: number;
}
