// The `aspace` command. Exit status: 0 ok; 1 the check found divergences or mismatches;
// 2 unusable input or the check could not run (message on stderr naming the file and line;
// no stack trace unless ASPACE_DEBUG=1).
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { DEFAULT_SIZES, DEFAULT_TRACE, runBench, stageModel, stageVmas, writeBenchReport } from "../report/bench.js";
import { EngineUnavailableError } from "../report/engines.js";
import { InputError } from "../report/files.js";
import { registerCheckpoint } from "./checkpoint.js";
import { conformCommand } from "./conform.js";
import { demoJson, demoStatus, formatDemo, REFERENCE, runDemo } from "./demo.js";
import { conformExecCommand, registerExecMaps } from "./exec-maps.js";
import { registerImpact } from "./impact.js";
import { registerInspect } from "./inspect.js";
import { registerRecord } from "./record.js";
import { registerReplay } from "./replay.js";
import { registerRestore } from "./restore.js";
import { runOpsCommand } from "./run-ops.js";
import { registerStudy } from "./study.js";

export const EXIT_OK = 0;
export const EXIT_DIVERGED = 1;
export const EXIT_UNUSABLE = 2;

function positiveInt(what: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a whole number.`);
    const n = Number(value);
    if (n < 1 || n > max) throw new InvalidArgumentError(`${what} must be between 1 and ${max}.`);
    return n;
  };
}

function seedArg(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new InvalidArgumentError("the seed must be a whole number below 2^32.");
  return Number(value);
}

function sizesArg(value: string): number[] {
  return value.split(",").map((s) => positiveInt("each size", 4_000_000)(s.trim()));
}

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

let status = EXIT_OK;

export function buildProgram(): Command {
  const program = new Command("aspace")
    .description("An errno-exact model of the Linux 6.18 x86_64 process address space, checked against the live kernel.")
    .version(VERSION)
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run `aspace --help` for the commands and options)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Exit status: 0 ok, 1 the check found divergences/mismatches, 2 unusable input or the check could not run.
Start with \`aspace study\` (what each sealing policy breaks) or \`aspace exec-maps -- /bin/true\`.`,
    );

  program
    .command("demo")
    .description(
      `Build an address space with the model, seal part of it, and show what mprotect, munmap, mremap and madvise do (checked against ${REFERENCE} §2.2)`,
    )
    .option("--json", "print {setup, steps:[{call, result, ...}], maps_before, maps_after} as JSON")
    .action((o: { json?: boolean }) => {
      const r = runDemo();
      process.stdout.write(o.json ? `${JSON.stringify(demoJson(r), null, 2)}\n` : formatDemo(r));
      status = demoStatus(r);
    });

  program
    .command("maps")
    .description("Print /proc/PID/maps (or smaps) of the demo process, after the demo's calls")
    .option("--smaps", "print /proc/PID/smaps instead")
    .option("--before", "the state before the demo's calls (after its setup)")
    .option("--json", "print {pid, maps} or {pid, smaps} as JSON")
    .action((o: { smaps?: boolean; before?: boolean; json?: boolean }) => {
      const r = runDemo();
      const text = o.smaps ? (o.before ? r.smaps_before : r.smaps_after) : o.before ? r.maps_before : r.maps_after;
      process.stdout.write(o.json ? `${JSON.stringify({ pid: r.pid, [o.smaps ? "smaps" : "maps"]: text })}\n` : text);
    });

  program
    .command("conform")
    .description("Run random syscall programs on the live kernel (native executor) and on the model; shrink and print every divergence")
    .option("--programs <n>", "number of programs", positiveInt("--programs"), 200)
    .option("--seed <s>", "seed (default: a random one, printed)", seedArg)
    .option("--ops <k>", "ops per program", positiveInt("--ops", 8192), 40)
    .option("--whole", "let programs act on the whole address space, not only an arena")
    .option("--procs", "two processes: fork a peer, mix in prctl, process_vm_readv/writev, process_madvise, /proc/PID/mem")
    .option("--json", "print exactly one JSON object: the report")
    .option("--exec [bin...]", "instead: compare the layout right after execve of real binaries (default /bin/true, ls, python3, node)")
    .action(
      async (o: {
        programs: number;
        seed?: number;
        ops: number;
        whole?: boolean;
        procs?: boolean;
        json?: boolean;
        exec?: true | string[];
      }) => {
        if (o.exec !== undefined) {
          status = conformExecCommand(o.exec === true ? [] : o.exec, { json: o.json === true });
          return;
        }
        status = await conformCommand({
          programs: o.programs,
          seed: o.seed ?? randomInt(1, 2 ** 31 - 1),
          ops: o.ops,
          whole: o.whole === true,
          procs: o.procs === true,
          json: o.json === true,
        });
      },
    );

  program
    .command("run-ops")
    .description("Replay a kbench trace (ops recorded on the live kernel with its results) through the model and compare")
    .argument("<file>", "the trace, plain or gzip-compressed; X.maps and X.vmflags beside X.trace[.gz] are the kernel's final state")
    .option("--json", "print the report as one JSON object")
    .option("--maps-out <file>", "write the model's final arena maps to this file (atomically)")
    .option("--kernel-maps <file>", "the kernel's final maps (default: X.maps beside the trace)")
    .option("--kernel-vmflags <file>", "the kernel's final VmFlags (default: X.vmflags beside the trace)")
    .action(async (file: string, o: { json?: boolean; mapsOut?: string; kernelMaps?: string; kernelVmflags?: string }) => {
      status = await runOpsCommand(file, {
        json: o.json === true,
        mapsOut: o.mapsOut,
        kernelMaps: o.kernelMaps,
        kernelVmflags: o.kernelVmflags,
      });
    });

  program
    .command("bench")
    .description("Model ops/s against the live kernel's on the kbench trace, mmap+munmap cost by VMA count, bytes per VMA (JSON)")
    .option("--out <file>", "also write the JSON report to this file")
    .option("--trace <file>", "the kbench trace", process.env.ASPACE_KBENCH_TRACE ?? DEFAULT_TRACE)
    .option("--runs <n>", "runs per measurement (the median is reported)", positiveInt("--runs", 100), 3)
    .option("--sizes <list>", "existing VMA counts for the mmap+munmap cost", sizesArg, DEFAULT_SIZES)
    .option("--stage-timeout <seconds>", "give up on a measurement after this long", positiveInt("--stage-timeout"), 300)
    .action(async (o: { out?: string; trace: string; runs: number; sizes: number[]; stageTimeout: number }) => {
      const { report, status: s } = await runBench({
        trace: o.trace,
        runs: o.runs,
        sizes: o.sizes,
        stageTimeoutSeconds: o.stageTimeout,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      await writeBenchReport(report, o.out);
      status = s;
    });

  // Internal: one bench measurement in a fresh process (run by `bench` under --expose-gc).
  program
    .command("bench-stage", { hidden: true })
    .argument("<kind>", "model | vmas")
    .argument("<what>", "model: the trace; vmas: the VMA count")
    .argument("<runs>", "runs", positiveInt("runs"))
    .action(async (kind: string, what: string, runs: number) => {
      let r: unknown;
      if (kind === "model") r = await stageModel(what, runs);
      else if (kind === "vmas") r = stageVmas(positiveInt("the VMA count")(what), runs);
      else throw new InputError(`unknown bench stage '${kind}'`);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    });

  registerImpact(program, (n) => {
    status = n;
  });
  registerStudy(program, (n) => {
    status = n;
  });
  registerReplay(program, (n) => {
    status = n;
  });
  registerRecord(program, (n) => {
    status = n;
  });
  registerExecMaps(program, (n) => {
    status = n;
  });
  const setStatus = (n: number) => {
    status = n;
  };
  registerCheckpoint(program, setStatus);
  registerRestore(program, setStatus);
  registerInspect(program, setStatus);
  return program;
}

function fail(msg: string, e?: unknown): number {
  process.stderr.write(`aspace: ${msg}\n`);
  if (process.env.ASPACE_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT_UNUSABLE;
}

export async function main(argv: string[]): Promise<number> {
  status = EXIT_OK;
  try {
    await buildProgram().parseAsync(argv);
    return status;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed its message (or the help/version text).
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT_OK;
      return EXIT_UNUSABLE;
    }
    if (e instanceof InputError) return fail(e.where(), e);
    if (e instanceof EngineUnavailableError) return fail(e.message, e);
    if (e instanceof Error && e.name === "ExecutorError") return fail(`the native executor: ${e.message}`, e);
    return fail(`internal error: ${e instanceof Error ? e.message : String(e)} (ASPACE_DEBUG=1 shows the stack)`, e);
  }
}

process.exitCode = await main(process.argv);
