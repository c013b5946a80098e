// Dump of modeled processes: model → images → bytes → model is lossless (maps, page bytes),
// and the seal extension: a CRIU-compatible restore drops seals and lets the sealed VMA merge
// with its neighbour (as real CRIU 4.2 did: ../shared/traces/criu/
// criu42-sealed-process-restore-drops-seals.txt), a seal-preserving restore keeps them.
import { describe, expect, it } from "vitest";
import { dumpProcess, dumpTree } from "../src/checkpoint/dump.js";
import { critDecode, decodeEntry, decodeImages, encodeImages, readFraming, schemaOf } from "../src/checkpoint/images/index.js";
import { restore } from "../src/checkpoint/restore/restore.js";
import { buildScenario, referenceVdsoImage } from "../src/checkpoint/scenarios.js";

const vdsoImage = referenceVdsoImage();

function dumped(name: string) {
  const { kernel, pid } = buildScenario(name);
  const warnings: string[] = [];
  const img = dumpProcess(kernel, pid, { vdsoImage, unknownPages: "approximate", warnings });
  return { kernel, pid, img, warnings, bytes: encodeImages(img) };
}

/** /proc/PID/smaps' VmFlags per VMA start. */
function sealedStarts(smaps: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const l of smaps.split("\n")) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ /.exec(l);
    if (m !== null) cur = m[1] as string;
    if (l.startsWith("VmFlags:") && / sl( |$)/.test(l)) out.push(cur);
  }
  return out;
}

describe("dump of the modeled loop process", () => {
  const d = dumped("loop");

  it("writes images that decode with every required field present and re-encode identically", () => {
    const again = encodeImages(decodeImages(d.bytes));
    for (const [name, b] of d.bytes) expect(Buffer.from(again.get(name) as Uint8Array).equals(Buffer.from(b)), name).toBe(true);
    const mm = d.bytes.get(`mm-${d.pid}.img`) as Uint8Array;
    const text = critDecode(
      "mm",
      readFraming("mm.img", "mm", mm).entries.map((e) => ({
        schema: schemaOf("mm", 0),
        msg: decodeEntry(schemaOf("mm", 0), e, "mm.img") as never,
      })),
    );
    expect(text).toContain('"status": "VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR"');
    expect(text).toContain('"status": "VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE"');
    expect(text).toContain('"status": "VMA_AREA_REGULAR | VMA_AREA_HEAP | VMA_ANON_PRIVATE"');
    expect(text).toContain('"status": "VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE"');
  });

  it("says which pages it had to approximate", () => {
    expect(d.warnings.length).toBe(3);
    expect(d.warnings.join("\n")).toMatch(/AT_RANDOM/);
  });

  it("restores (policy none) to the same maps and the same bytes", () => {
    const r = restore(decodeImages(d.bytes), { policy: "none" });
    expect(r.ok, r.reason ?? "").toBe(true);
    expect(r.maps_after).toBe(d.kernel.maps(d.pid));
    for (const line of d.kernel.maps(d.pid).split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0/.exec(line);
      if (m === null) continue;
      const [s, e] = [Number.parseInt(m[1] as string, 16), Number.parseInt(m[2] as string, 16)];
      const a = d.kernel.readMemory(d.pid, s, Math.min(e - s, 0x4000));
      const b = r.kernel.readMemory(r.pid, s, Math.min(e - s, 0x4000));
      if (line.includes("[stack]")) continue; // AT_RANDOM: approximated
      expect(b !== null && a !== null && Buffer.from(a).equals(Buffer.from(b)), line).toBe(true);
    }
  });
});

describe("seals across checkpoint/restore (aspace extension field 1000)", () => {
  const d = dumped("sealed");
  const before = d.kernel.maps(d.pid);
  const sealedBefore = sealedStarts(d.kernel.smaps(d.pid));
  const criu = restore(decodeImages(d.bytes), { policy: "none" });
  const kept = restore(decodeImages(d.bytes), { policy: "none", keepSeals: true });

  it("the dump records the two sealed VMAs", () => {
    expect(sealedBefore.length).toBe(2);
    const mm = decodeImages(d.bytes).tasks[0]?.mm;
    expect(mm?.vmas.filter((v) => v.aspaceSealed === true).map((v) => v.start.toString(16))).toEqual(sealedBefore);
  });

  it("CRIU-compatible restore drops the seals and the sealed rw VMA merges with its unsealed rw neighbour", () => {
    expect(criu.ok).toBe(true);
    expect(sealedStarts(criu.kernel.smaps(criu.pid))).toEqual([]);
    const rw = sealedBefore[1] as string;
    const line = criu.maps_after.split("\n").find((l) => l.startsWith(`${rw}-`)) as string;
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line) as RegExpExecArray;
    const [s, e] = [Number.parseInt(m[1] as string, 16), Number.parseInt(m[2] as string, 16)];
    expect((e - s) / 4096).toBe(4); // 2 sealed + 2 unsealed pages, one VMA (as on the real kernel)
    expect(criu.maps_after).not.toBe(before);
  });

  it("seal-preserving restore re-seals as the very last step: same maps as before the dump, neighbours unmerged", () => {
    expect(kept.ok).toBe(true);
    expect(kept.maps_after).toBe(before);
    expect(sealedStarts(kept.kernel.smaps(kept.pid))).toEqual(sealedBefore);
    const lastMm = kept.steps.filter((s) => s.status === "ok").slice(-2);
    expect(lastMm.map((s) => s.name)).toEqual(["mseal", "mseal"]);
    expect(kept.seals).toEqual({ recorded: 2, sealed_after: 2 });
  });

  it("re-sealed memory is sealed: munmap over it is EPERM afterwards", () => {
    const rw = Number.parseInt(sealedBefore[1] as string, 16);
    expect(kept.kernel.syscall(kept.pid, "munmap", [rw, 4096])).toEqual({ errno: 1, name: "EPERM" });
    expect(criu.kernel.syscall(criu.pid, "munmap", [rw, 4096])).toEqual({ ret: 0n });
  });
});

describe("a process tree", () => {
  it("parent, forked child (with its own extra mapping) and a thread: dumped and restored task by task", () => {
    const { kernel, pid } = buildScenario("loop");
    const child = kernel.fork(pid);
    const thread = kernel.clone(pid, 0x10000 | 0x800 | 0x400 | 0x100); // CLONE_THREAD|SIGHAND|FILES|VM
    expect(kernel.syscall(child, "mmap", [0, 7 * 4096, 3, 0x22, 0xffffffffffffffffn, 0])).toHaveProperty("ret");
    const bytes = encodeImages(dumpTree(kernel, pid, { vdsoImage, unknownPages: "approximate" }));
    expect(bytes.has(`core-${thread}.img`)).toBe(true);
    const img = decodeImages(bytes);
    expect(img.pstree.map((p) => [p.pid, p.ppid, p.threads])).toEqual([
      [pid, 0, [pid, thread]],
      [child, pid, [child]],
    ]);
    const r = restore(img, { policy: "none" });
    expect(r.ok, r.reason ?? "").toBe(true);
    expect(r.tasks.map((t) => t.image_pid)).toEqual([pid, child]);
    expect(r.kernel.maps(r.tasks[0]?.pid as number)).toBe(kernel.maps(pid));
    expect(r.kernel.maps(r.tasks[1]?.pid as number)).toBe(kernel.maps(child));
  });
});
