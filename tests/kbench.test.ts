// The kbench trace: 1,000,000 operations whose results, final maps and VmFlags/Rss were
// recorded on the live kernel (../shared/traces/kbench). The kernel's answers are the
// expected values; the model must reproduce every one.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseTrace, runOps, TraceFormatError } from "../src/oracle/kbench.js";

const DIR = join(import.meta.dirname, "..", "..", "shared", "traces", "kbench");

describe("kbench trace", () => {
  it("replays 1M live-kernel ops with no mismatch and equal final maps, VmFlags and Rss", () => {
    const text = gunzipSync(readFileSync(join(DIR, "mixed-1M.trace.gz"))).toString();
    const r = runOps(text, {
      expectedMaps: readFileSync(join(DIR, "mixed-1M.maps"), "utf8"),
      expectedVmflags: readFileSync(join(DIR, "mixed-1M.vmflags"), "utf8"),
    });
    expect(r.ops).toBe(1_000_000);
    expect(r.first_mismatches).toEqual([]);
    expect(r.mismatches).toBe(0);
    expect(r.maps_diff).toEqual([]);
    expect(r.maps_equal).toBe(true);
    expect(r.vmflags_equal).toBe(true);
  }, 120_000);

  it("rejects malformed traces with the line number", () => {
    const header = "# kbench trace v1\n";
    expect(() => parseTrace(`${header}mmap 0x0 0x1000 RW FIXED|PRIVATE|ANONYMOUS -\n`)).toThrow(/line 2: expected 7 columns/);
    expect(() => parseTrace(`${header}frob 0x0 0x1000 RW - - 0\n`)).toThrow(/line 2: unknown op 'frob'/);
    expect(() => parseTrace(`${header}munmap 0xzz 0x1000 - - - 0\n`)).toThrow(/line 2: bad offset/);
    expect(() => parseTrace(`${header}munmap 0x0 0x1000 - - - -EWHAT\n`)).toThrow(TraceFormatError);
    expect(() => parseTrace("munmap 0x0 0x1000 - - - 0\n")).toThrow(/line 1: missing/);
    expect(() => parseTrace("")).toThrow(/empty trace/);
  });
});
