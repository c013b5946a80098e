// The model says `unsupported` instead of guessing: bytes it cannot know, hugetlb mappings
// the kernel would create. (A contract of the model, not a kernel value.)

import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { Unsupported } from "../src/kernel/unsupported.js";

const P = 4096;

describe("unsupported instead of a guess", () => {
  it("reading the bytes of a file whose contents are on disk", () => {
    const k = new Kernel({ resolver: (path) => (path === "/bin/x" ? { dev: "fe:00", ino: 7, size: 8 * P } : null) });
    const pid = k.spawnEmpty().pid;
    const fd = k.open(pid, "/bin/x", 0);
    expect(fd).toEqual({ ret: 0n });
    const r = k.syscall(pid, "mmap", [0x200000000, 2 * P, 1, 0x12 /* FIXED|PRIVATE */, 0, 0]);
    expect(r).toEqual({ ret: 0x200000000n });
    expect(k.access(pid, 0x200000000, 1, "rtouch")).toEqual({ ok: true });
    expect(() => k.access(pid, 0x200000000, 16, "read")).toThrow(Unsupported);
  });

  it("a file the program truncated reads as zeroes", () => {
    const k = new Kernel({ resolver: (path) => (path === "/tmp/f" ? { dev: "fe:00", ino: 9, size: 0 } : null) });
    const pid = k.spawnEmpty().pid;
    k.open(pid, "/tmp/f", 2, 2 * P);
    k.syscall(pid, "mmap", [0x200000000, 2 * P, 3, 0x11 /* FIXED|SHARED */, 0, 0]);
    const zeros = k.access(pid, 0x200000000, 4, "read");
    expect(zeros.ok).toBe(true);
  });

  it("a MAP_HUGETLB|MAP_NORESERVE mapping the kernel would create", () => {
    const k = new Kernel();
    const pid = k.spawnEmpty().pid;
    expect(() => k.syscall(pid, "mmap", [0, 2 * 1024 * 1024, 3, 0x40000 | 0x4000 | 0x22, -1, 0])).toThrow(Unsupported);
  });
});
