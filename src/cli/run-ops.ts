// `aspace run-ops FILE`: replays a kbench trace (ops recorded on the live kernel, with the
// kernel's results) through the model and reports every op whose result differs, and whether
// the final arena maps (and VmFlags) equal the kernel's.
import { existsSync, readFileSync } from "node:fs";
import pc from "picocolors";
import { loadKbench, type RunOpsReport, traceFormatLine } from "../report/engines.js";
import { fsReason, InputError, readMaybeGzip, writeFileAtomic } from "../report/files.js";

export type RunOpsCliOptions = { json: boolean; mapsOut?: string; kernelMaps?: string; kernelVmflags?: string };

/** The kernel's final maps/vmflags recorded beside a trace: X.trace[.gz] → X.maps, X.vmflags. */
export function siblingExpectations(file: string): { maps?: string; vmflags?: string } {
  const stem = file.replace(/\.trace(\.gz)?$/, "");
  if (stem === file) return {};
  const out: { maps?: string; vmflags?: string } = {};
  if (existsSync(`${stem}.maps`)) out.maps = `${stem}.maps`;
  if (existsSync(`${stem}.vmflags`)) out.vmflags = `${stem}.vmflags`;
  return out;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`cannot read: ${fsReason(e)}`, path);
  }
}

export async function runOpsCommand(file: string, o: RunOpsCliOptions): Promise<number> {
  const kbench = await loadKbench();
  const text = await readMaybeGzip(file);
  const sib = siblingExpectations(file);
  const mapsFile = o.kernelMaps ?? sib.maps;
  const vmflagsFile = o.kernelVmflags ?? sib.vmflags;
  let report: RunOpsReport;
  try {
    report = await kbench.runOps(text, {
      mapsOut: o.mapsOut,
      expectedMaps: mapsFile === undefined ? undefined : readText(mapsFile),
      expectedVmflags: vmflagsFile === undefined ? undefined : readText(vmflagsFile),
    });
  } catch (e) {
    const line = traceFormatLine(e);
    if (line !== null) throw new InputError((e as Error).message.replace(/^line \d+: /, ""), file, line);
    throw e;
  }
  if (o.mapsOut !== undefined) await writeFileAtomic(o.mapsOut, report.maps);
  const bad = report.mismatches > 0 || report.maps_equal === false || report.vmflags_equal === false;
  if (o.json) {
    const { maps: _maps, ...rest } = report;
    process.stdout.write(`${JSON.stringify({ file, kernel_maps: mapsFile ?? null, kernel_vmflags: vmflagsFile ?? null, ...rest })}\n`);
  } else {
    process.stdout.write(formatRunOps(file, report, mapsFile, vmflagsFile));
  }
  return bad ? 1 : 0;
}

function equalWord(v: boolean | null | undefined, file: string | undefined): string {
  if (v === true) return pc.green("equal to the kernel's");
  if (v === false) return pc.red("differ from the kernel's");
  return pc.dim(file === undefined ? "not compared (no kernel file)" : "not compared");
}

export function formatRunOps(file: string, r: RunOpsReport, mapsFile?: string, vmflagsFile?: string): string {
  const out: string[] = [];
  const rate = r.seconds > 0 ? ` (${Math.round(r.ops / r.seconds).toLocaleString("en-US")} ops/s)` : "";
  out.push(`${file}: ${r.ops.toLocaleString("en-US")} ops replayed on the model in ${r.seconds.toFixed(2)} s${rate}`);
  out.push(
    r.mismatches === 0 ? pc.green("every result equals the kernel's") : pc.red(`${r.mismatches} result(s) differ from the kernel's`),
  );
  for (const m of r.first_mismatches) out.push(`  line ${m.line}: ${m.op}: kernel ${m.kernel}, model ${m.model}`);
  if (r.first_mismatches.length < r.mismatches) out.push(pc.dim(`  (${r.mismatches - r.first_mismatches.length} more)`));
  out.push(`final maps: ${equalWord(r.maps_equal, mapsFile)}${mapsFile ? pc.dim(` (${mapsFile})`) : ""}`);
  if (r.vmflags_equal !== undefined)
    out.push(`final VmFlags/Rss: ${equalWord(r.vmflags_equal, vmflagsFile)}${vmflagsFile ? pc.dim(` (${vmflagsFile})`) : ""}`);
  for (const d of r.maps_diff) out.push(`  ${d}`);
  return `${out.join("\n")}\n`;
}
