// A program maps a file that is gone by the time the log is replayed (as a JVM's hsperfdata
// file is deleted at exit). That mmap cannot be modeled (unsupported: the model does not know
// the file), but the kernel's later placements depend on its pages being there. Expected
// values: the recorded log itself (every later call must match what the kernel returned).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { record } from "../src/trace/record.js";
import { type CallRecord, readBundle, replayLog } from "../src/trace/replay/index.js";

const work = mkdtempSync(join(tmpdir(), "aspace-unknown-file-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Maps a 32 KiB temporary file shared, deletes it, then asks for anonymous memory with no hint:
// top-down placement puts the new mapping right below the file's.
const PROGRAM = [
  "import mmap, os",
  `p = ${JSON.stringify(join(work, "gone.bin"))}`,
  "f = open(p, 'wb+'); f.write(b'a' * 32768); f.flush()",
  "m = mmap.mmap(f.fileno(), 32768)",
  "f.close(); os.unlink(p)",
  "a = mmap.mmap(-1, 49152)",
  "b = mmap.mmap(-1, 8192)",
].join("\n");

describe("replay of a log that maps a file deleted before replay", { timeout: 60_000 }, () => {
  let recs: CallRecord[];
  let report: Awaited<ReturnType<typeof replayLog>>;

  beforeAll(async () => {
    const dir = join(work, "rec");
    await record(dir, ["/usr/bin/python3", "-c", PROGRAM], { cleanEnv: true, cwd: work, output: "file" });
    recs = [];
    report = await replayLog(join(dir, "trace.strace"), { bundle: readBundle(join(dir, "bundle.json")), onCall: (c) => recs.push(c) });
  });

  it("the mapping of the deleted file is unsupported, and says why", () => {
    const gone = recs.filter((c) => c.name === "mmap" && c.args.includes("gone.bin"));
    expect(gone.length).toBe(1);
    expect(gone[0]?.status).toBe("unsupported");
    expect(gone[0]?.reason).toMatch(/a file the model does not know/);
  });

  it("every later call still matches the kernel: the file's pages are held at the recorded address", () => {
    const gone = recs.findIndex((c) => c.name === "mmap" && c.args.includes("gone.bin"));
    const after = recs.slice(gone + 1).filter((c) => c.memory && c.status !== "unsupported");
    expect(after.some((c) => c.name === "mmap" && c.args.startsWith("NULL, 49152"))).toBe(true);
    expect(
      after.filter((c) => c.status !== "matched").map((c) => `${c.line}: ${c.name}(${c.args}) = ${c.recorded}, model ${c.predicted}`),
    ).toEqual([]);
    expect(report.mismatched).toBe(0);
    expect(report.notes.join("\n")).toMatch(/placeholder mapping at the recorded address/);
  });
});
