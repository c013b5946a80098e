// Delta debugging for op programs: drop chunks of ops, then single ops, while the program
// still shows the same divergence. Candidates are judged in batches because each judgement
// runs the executor (a batch costs one executor process, not one per candidate).
//
// Nothing is kept by rule, not even the arena's guard VMAs: if dropping them changes the
// divergence the oracle says no and they stay; if it does not, the repro is smaller without.

/** Judges candidates: true where the candidate still shows the divergence being shrunk. */
export type BatchOracle = (candidates: string[][]) => Promise<boolean[]>;

export interface ShrinkOptions {
  /** Stop after judging this many candidates in total (the best program so far is kept). */
  maxCandidates?: number;
}

/** `ops` without ops [from, to). */
function without(ops: readonly string[], from: number, to: number): string[] {
  return [...ops.slice(0, from), ...ops.slice(to)];
}

/** Every way to drop one chunk of `size` consecutive ops (the last chunk may be shorter). */
export function chunkRemovals(ops: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ops.length; i += size) out.push(without(ops, i, i + size));
  return out;
}

/**
 * ddmin over removals: try dropping chunks of half the program, then quarters, ... then single
 * ops; after every success retry at the same granularity. Returns a program from which no
 * single op can be dropped (1-minimal) unless the budget ran out first.
 */
export async function shrinkOps(ops: readonly string[], stillFails: BatchOracle, opts: ShrinkOptions = {}): Promise<string[]> {
  let budget = opts.maxCandidates ?? 2000;
  let cur = [...ops];
  let size = Math.max(1, Math.floor(cur.length / 2));
  while (cur.length > 0 && budget > 0) {
    const cands = chunkRemovals(cur, size).slice(0, budget);
    budget -= cands.length;
    const verdicts = await stillFails(cands);
    const k = verdicts.indexOf(true);
    if (k >= 0) {
      cur = cands[k] as string[];
      size = Math.min(size, Math.max(1, Math.floor(cur.length / 2)));
      continue;
    }
    if (size === 1) break;
    size = Math.max(1, Math.floor(size / 2));
  }
  return cur;
}
