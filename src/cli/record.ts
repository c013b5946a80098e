// `aspace record -o DIR [--clean-env] -- CMD ARGS...`: record a log the way the shared traces
// were recorded (setarch -R strace -f -y) with a bundle.json that lets replay run elsewhere.
import type { Command } from "commander";
import { InputError } from "../report/files.js";
import { RecordError, record } from "../trace/record.js";

export function registerRecord(program: Command, setStatus: (n: number) => void): void {
  program
    .command("record")
    .description(
      "Run CMD under `setarch -R strace -f -y` into DIR/trace.strace, with DIR/bundle.json (kernel, system mappings, files) for replay",
    )
    .requiredOption("-o, --out <dir>", "output directory (must not exist, or be empty); written atomically")
    .option("--clean-env", "run CMD with the 4-variable environment of the shared traces (env -i PATH HOME LANG TERM)")
    .option("--json", "print {dir, trace, exit_status, files} as JSON")
    .argument("<command...>", "the command and its arguments (after --)")
    .action(async (command: string[], o: { out: string; cleanEnv?: boolean; json?: boolean }) => {
      let r: Awaited<ReturnType<typeof record>>;
      try {
        r = await record(o.out, command, { cleanEnv: o.cleanEnv === true });
      } catch (e) {
        if (e instanceof RecordError) throw new InputError(e.message, e.file);
        throw e;
      }
      const files = Object.keys(r.bundle.files);
      if (o.json) process.stdout.write(`${JSON.stringify({ dir: r.dir, trace: r.trace, exit_status: r.exitStatus, files })}\n`);
      else
        process.stderr.write(
          `aspace: recorded ${r.trace} (exit status ${r.exitStatus ?? "signal"}), bundle with ${files.length} file(s)\n`,
        );
      setStatus(0);
    });
}
