// `aspace conform`: random syscall programs run on the live kernel (native executor) and on the
// model; every divergence is shrunk and printed with a ready-to-paste test.
import cliProgress from "cli-progress";
import pc from "picocolors";
import { type ConformReport, loadConform } from "../report/engines.js";

export type ConformCliOptions = { programs: number; seed: number; ops: number; whole: boolean; procs?: boolean; json: boolean };

export async function conformCommand(o: ConformCliOptions): Promise<number> {
  const { runConform } = await loadConform();
  // The bar goes to stderr, and only to a terminal: stdout stays the report (JSON or text).
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: "conform [{bar}] {value}/{total} programs | {duration}s",
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  if (!o.json)
    process.stdout.write(
      `aspace conform: ${o.programs} programs of ${o.ops} ops, seed ${o.seed}${o.whole ? ", whole address space" : ""}${o.procs ? ", two processes" : ""}\n`,
    );
  bar?.start(o.programs, 0);
  let report: ConformReport;
  try {
    report = await runConform({
      programs: o.programs,
      seed: o.seed,
      ops: o.ops,
      whole: o.whole,
      procs: o.procs === true,
      onProgress: (done: number, total: number) => {
        if (!bar) return;
        bar.setTotal(total);
        bar.update(done);
      },
    });
  } finally {
    bar?.stop();
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ seed: o.seed, ops: o.ops, ...report })}\n`);
  } else {
    process.stdout.write(formatConform(report, o));
  }
  return report.divergences > 0 ? 1 : 0;
}

export function formatConform(
  r: ConformReport,
  o: { seed: number; programs: number; ops: number; whole?: boolean; procs?: boolean },
): string {
  const out: string[] = [];
  const rate = r.seconds > 0 ? ` (${Math.round(r.syscalls / r.seconds)} syscalls/s)` : "";
  out.push(`${r.programs} programs, ${r.syscalls} syscalls compared with the live kernel in ${r.seconds.toFixed(1)} s${rate}`);
  if (r.unsupported > 0) out.push(pc.dim(`${r.unsupported} stopped at an op the model declares unsupported (compared up to it)`));
  if (r.khugepaged > 0) out.push(pc.dim(`${r.khugepaged} ended with a block khugepaged collapsed on the kernel (accepted: asynchronous)`));
  if (r.divergences === 0) {
    out.push(pc.green(`no divergence (seed ${o.seed})`));
    return `${out.join("\n")}\n`;
  }
  out.push(pc.red(`${r.divergences} divergence${r.divergences === 1 ? "" : "s"} (seed ${o.seed})`));
  for (const d of r.first) {
    out.push("");
    out.push(pc.bold(`program ${d.index} (seed ${d.seed}), shrunk to ${d.program.length} op${d.program.length === 1 ? "" : "s"}:`));
    for (const op of d.program) out.push(`  ${op}`);
    out.push(`${pc.red("divergence:")} ${d.divergence}`);
    out.push(pc.dim("test (paste into tests/):"));
    out.push(d.test.replace(/\n$/, ""));
  }
  if (r.first.length < r.divergences) out.push("", pc.dim(`(${r.divergences - r.first.length} more not shown)`));
  const flags = `${o.whole ? " --whole" : ""}${o.procs ? " --procs" : ""}`;
  out.push("", pc.dim(`reproduce: aspace conform --programs ${o.programs} --seed ${o.seed} --ops ${o.ops}${flags}`));
  return `${out.join("\n")}\n`;
}
