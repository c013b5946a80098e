// Engines (layer 2) that the faces load on demand: the differential runner (src/oracle/conform.ts)
// and the kbench replay (src/oracle/kbench.ts). They are imported dynamically, so the CLI starts
// (and `aspace --help`, `aspace demo` work) whatever state those files are in, and a missing
// engine is a clear message instead of a crash at start-up. The conform types are the engine's
// own (type-only imports); the kbench ones below are the contract the faces rely on.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
// Type-only: erased at run time, so the engine still loads only on demand.
import type { ConformOptions, ConformReport } from "../oracle/conform.js";

export type { ConformOptions, ConformReport };

export class EngineUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineUnavailableError";
  }
}

export type ConformModule = { runConform(opts: ConformOptions): Promise<ConformReport> };

export type KbenchMismatch = { line: number; op: string; kernel: string; model: string };

export type RunOpsReport = {
  ops: number;
  mismatches: number;
  maps_equal: boolean | null;
  vmflags_equal?: boolean | null;
  seconds: number;
  first_mismatches: KbenchMismatch[];
  maps_diff: string[];
  /** The model's final maps lines for the arena (and its guards), newline-terminated. */
  maps: string;
};

export type RunOpsOptions = { mapsOut?: string; expectedMaps?: string; expectedVmflags?: string };

/** An opaque pre-parsed trace: only `count` is looked at. */
export type ParsedTrace = { count: number };

export type KbenchModule = {
  runOps(text: string, opts: RunOpsOptions): RunOpsReport | Promise<RunOpsReport>;
  parseTrace?: (text: string) => ParsedTrace;
  replayParsed?: (t: ParsedTrace) => { mismatches: number };
};

/** The error kbench's parser throws for a malformed trace (duck-typed: `.line`, 1-based). */
export function traceFormatLine(e: unknown): number | null {
  if (e instanceof Error && e.name === "TraceFormatError") {
    const line = (e as Error & { line?: unknown }).line;
    if (typeof line === "number") return line;
  }
  return null;
}

async function load<T>(rel: string, exports: string[]): Promise<T> {
  const url = new URL(rel, import.meta.url);
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new EngineUnavailableError(`${path} does not exist yet (this build has no such engine)`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (e) {
    throw new EngineUnavailableError(`cannot load ${path}: ${(e as Error).message}`);
  }
  for (const name of exports) {
    if (typeof mod[name] !== "function") throw new EngineUnavailableError(`${path} does not export ${name}()`);
  }
  return mod as T;
}

export function loadConform(): Promise<ConformModule> {
  return load<ConformModule>("../oracle/conform.ts", ["runConform"]);
}

export function loadKbench(): Promise<KbenchModule> {
  return load<KbenchModule>("../oracle/kbench.ts", ["runOps"]);
}
