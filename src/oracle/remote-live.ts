// Driver for native/probe-remote.c: runs the probe on the live kernel and parses what it
// printed (memfd seals, file mmap EACCES cases, SysV shm, process_vm_readv/writev,
// process_madvise, /proc/PID/mem). The probe's output format is described at the top of
// native/probe-remote.c; every line that does not parse is an error naming the line.

import { execFile } from "node:child_process";
import { nativeProgramPath, nativeProgramRunnable } from "./native.js";

export type ProbeSection = "memfd" | "files" | "shm" | "remote";

/** One syscall result as the probe saw it: the return value (0 for fds, ids and addresses) and errno name. */
export interface ProbeResult {
  ret: number;
  errno: string | null;
}

export interface ProbeMaps {
  perms: string;
  offset: number;
  dev: string;
  name: string;
}

export interface ProbeReport {
  results: Record<string, ProbeResult>;
  values: Record<string, number>;
  /** The maps line of a mapping (without address and inode), null when nothing was mapped there. */
  maps: Record<string, ProbeMaps | null>;
  /** The SysV key the shm section used for its keyed segment. */
  key: number | null;
  /** Sections that did not finish (crashed or timed out), with their wait status. */
  failedSections: string[];
}

export class ProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProbeError";
  }
}

export function probeRemotePath(): string {
  return nativeProgramPath("probe-remote");
}

export function probeRemoteAvailable(): boolean {
  return nativeProgramRunnable(probeRemotePath());
}

/** Parse the probe's stdout. */
export function parseProbeOutput(text: string): ProbeReport {
  const report: ProbeReport = { results: {}, values: {}, maps: {}, key: null, failedSections: [] };
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line === "") return;
    const bad = (why: string) => new ProbeError(`probe-remote output line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    const f = line.split(" ");
    switch (f[0]) {
      case "R": {
        if (f.length !== 4) throw bad("expected R <case> <ret> <errno>");
        const ret = Number(f[2]);
        if (!Number.isInteger(ret)) throw bad("ret is not an integer");
        report.results[f[1] as string] = { ret, errno: f[3] === "0" ? null : (f[3] as string) };
        break;
      }
      case "V": {
        const v = Number(f[2]);
        if (f.length !== 3 || !Number.isInteger(v)) throw bad("expected V <case> <integer>");
        report.values[f[1] as string] = v;
        break;
      }
      case "M": {
        if (f.length === 3 && f[2] === "none") {
          report.maps[f[1] as string] = null;
          break;
        }
        if (f.length < 5) throw bad("expected M <case> <perms> <offset> <dev> [name]");
        report.maps[f[1] as string] = {
          perms: f[2] as string,
          offset: Number.parseInt(f[3] as string, 16),
          dev: f[4] as string,
          name: f.slice(5).join(" "),
        };
        break;
      }
      case "K":
        report.key = Number.parseInt(f[1] ?? "", 16);
        if (!Number.isInteger(report.key)) throw bad("expected K <hex key>");
        break;
      case "E":
        report.failedSections.push(f.slice(1).join(" "));
        break;
      default:
        throw bad("unknown record type");
    }
  });
  return report;
}

/** Run the probe (one section or all) on the live kernel. */
export function runProbeRemote(section?: ProbeSection, timeoutMs = 30_000): Promise<ProbeReport> {
  const path = probeRemotePath();
  return new Promise((resolve, reject) => {
    execFile(path, section ? [section] : [], { timeout: timeoutMs }, (err, stdout) => {
      if (err) {
        reject(new ProbeError(`cannot run ${path}: ${err.message} (run \`node native/build.js\`)`, { cause: err }));
        return;
      }
      try {
        resolve(parseProbeOutput(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}
