// Runs native/probe-prctl (the live-kernel oracle for prctl and fork) and parses its output.
// Built by `npm install` (native/build.js); built here if missing, so the tests always ask
// the live kernel rather than skipping.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const PROBE = fileURLToPath(new URL("../native/build/probe-prctl", import.meta.url));
const SOURCE = fileURLToPath(new URL("../native/probe-prctl.c", import.meta.url));

export interface ProbeOutput {
  /** R lines: case → result (negative = −errno). */
  results: Map<string, number>;
  /** V lines: case → the values read back. */
  values: Map<string, string[]>;
  /** STAT lines: case → /proc/self/stat fields 26-28 and 45-51. */
  stats: Map<string, bigint[]>;
  /** SMAPS lines: case → digested arena VMAs. */
  smaps: Map<string, string[]>;
  /** BYTE lines: "case offset" → byte value. */
  bytes: Map<string, number>;
}

export function runProbe(...cases: string[]): ProbeOutput {
  if (!existsSync(PROBE)) {
    execFileSync(process.env.CC || "cc", ["-O2", "-static", "-fno-stack-protector", "-o", PROBE, SOURCE]);
  }
  const text = execFileSync(PROBE, cases, { encoding: "utf8", timeout: 20_000 });
  const o: ProbeOutput = { results: new Map(), values: new Map(), stats: new Map(), smaps: new Map(), bytes: new Map() };
  for (const line of text.split("\n")) {
    const w = line.trimEnd().split(" ");
    if (w[0] === "R") o.results.set(w[1], Number(w[2]));
    else if (w[0] === "V") o.values.set(w[1], w.slice(2));
    else if (w[0] === "STAT") o.stats.set(w[1], w.slice(2).map(BigInt));
    else if (w[0] === "SMAPS") {
      const list = o.smaps.get(w[1]) ?? [];
      list.push(w.slice(2).join(" "));
      o.smaps.set(w[1], list);
    } else if (w[0] === "BYTE") o.bytes.set(`${w[1]} ${w[2]}`, Number(w[3]));
    else if (w[0] === "CRASH") throw new Error(`probe case ${w[1]} crashed (status ${w[2]})`);
  }
  return o;
}

/** The model's smaps text digested like the probe's SMAPS lines, for VMAs inside [lo, hi). */
export function digestSmaps(smaps: string, lo: bigint, hi: bigint): string[] {
  const out: string[] = [];
  let cur: { range: string; perms: string; rss: string; anon: string; inArena: boolean } | null = null;
  for (const line of smaps.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) /.exec(line);
    if (head) {
      const s = BigInt(`0x${head[1]}`);
      const e = BigInt(`0x${head[2]}`);
      cur = { range: `${head[1]}-${head[2]}`, perms: head[3], rss: "0", anon: "0", inArena: s >= lo && e <= hi };
      continue;
    }
    if (cur === null || !cur.inArena) continue;
    const kv = /^(\w+):\s+(.*?)( kB)?$/.exec(line);
    if (kv === null) continue;
    if (kv[1] === "Rss") cur.rss = kv[2];
    else if (kv[1] === "Anonymous") cur.anon = kv[2];
    else if (kv[1] === "VmFlags") out.push(`${cur.range} ${cur.perms} rss=${cur.rss} anon=${cur.anon} flags=${kv[2].trim()}`);
  }
  return out;
}
