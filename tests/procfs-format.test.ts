// /proc text formatting checked against the live kernel: this test process's own
// /proc/self/maps and /proc/self/smaps are the expected bytes.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatMapsLine, smapsField, VSYSCALL_LINE } from "../src/kernel/procfs/maps.js";
import { parseMapsLine } from "../src/kernel/procfs/parse.js";

describe("procfs formatting against the live kernel", () => {
  it("re-formats every line of /proc/self/maps byte for byte", () => {
    const lines = readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      const e = parseMapsLine(line);
      const formatted = formatMapsLine({
        start: Number(e.start),
        end: Number(e.end),
        perms: e.perms,
        offset: Number(e.offset),
        dev: e.dev,
        ino: e.inode,
        name: e.name,
      });
      expect(formatted).toBe(line);
    }
    expect(lines[lines.length - 1]).toBe(VSYSCALL_LINE);
  });

  it("formats smaps counters with the kernel's label and value widths", () => {
    const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
    let checked = 0;
    for (const line of lines) {
      const m = /^([A-Za-z_]+:)\s+(\d+) kB$/.exec(line);
      if (m === null || m[1] === "Private_Hugetlb:") continue;
      expect(smapsField(m[1], Number(m[2]))).toBe(line);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    const hugetlb = lines.find((l) => l.startsWith("Private_Hugetlb:"));
    expect(hugetlb).toMatch(/^Private_Hugetlb: {1,7}\d+ kB$/);
    expect(hugetlb?.length).toBe("Private_Hugetlb: ".length + 7 + 3);
    const thp = lines.find((l) => l.startsWith("THPeligible:"));
    expect(thp).toMatch(/^THPeligible: {4} {7}[01]$/);
    const vmflags = lines.find((l) => l.startsWith("VmFlags:"));
    expect(vmflags).toMatch(/^VmFlags:( [a-z?]{2})+ $/);
  });
});
