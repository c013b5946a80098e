// CRIU image format against the real CRIU 4.2 dump in ../shared/traces/criu/images-loop:
// byte-for-byte round trips, the same JSON as the real `crit decode`, typed errors for
// truncated, corrupt and hostile images, crash-safe writes.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { MmEntrySchema } from "../src/checkpoint/gen/criu/mm_pb.js";
import { VmaEntrySchema } from "../src/checkpoint/gen/criu/vma_pb.js";
import {
  critDecode,
  decodeEntry,
  decodeImages,
  encodeEntry,
  encodeImages,
  ImageError,
  type ImageKind,
  kindOfFile,
  readDirFiles,
  readFraming,
  readImageDir,
  schemaOf,
  writeDirFilesAtomic,
  writeFraming,
} from "../src/checkpoint/images/index.js";

const CRIU = resolve(__dirname, "../../shared/traces/criu");
const IMAGES = join(CRIU, "images-loop");
const scratch = mkdtempSync(join(tmpdir(), "aspace-criu-images-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function decodeFile(name: string, bytes: Uint8Array) {
  const kind = kindOfFile(name) as ImageKind;
  const raw = readFraming(name, kind, bytes);
  return {
    kind,
    entries: raw.entries.map((e, i) => ({ schema: schemaOf(kind, i), msg: decodeEntry(schemaOf(kind, i), e, name) as never })),
  };
}

describe("real CRIU 4.2 images", () => {
  const files = readDirFiles(IMAGES);

  it("every image file writes back byte for byte (whole directory)", () => {
    const out = encodeImages(decodeImages(files));
    expect([...out.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) expect(Buffer.from(out.get(name) as Uint8Array).equals(Buffer.from(bytes)), name).toBe(true);
  });

  for (const [file, ref] of [
    ["mm-13837.img", "criu42-mm-img-decoded.json"],
    ["pagemap-13837.img", "criu42-pagemap-img-decoded.json"],
    ["inventory.img", "criu42-inventory-img-decoded.json"],
    ["timens-0.img", "criu42-timens-img-decoded.json"],
  ] as const) {
    it(`${file} decodes to the same text as the real crit decode (${ref})`, () => {
      const { kind, entries } = decodeFile(file, files.get(file) as Uint8Array);
      expect(critDecode(kind, entries).trimEnd()).toBe(readFileSync(join(CRIU, ref), "utf8").trimEnd());
    });
  }

  it("reads what restore needs: 24 VMAs, 13 pagemap entries, 32 pages, the exe path", () => {
    const img = readImageDir(IMAGES);
    const t = img.tasks[0];
    expect(img.pstree.map((p) => p.pid)).toEqual([13837]);
    expect(t?.mm?.vmas.length).toBe(24);
    expect(t?.pagemap.length).toBe(13);
    expect(t?.pages?.length).toBe(131072);
    expect(t?.core.tc?.comm).toBe("loop");
    expect(img.files.find((f) => f.id === t?.mm?.exeFileId)?.reg?.name).toBe("/tmp/ct/loop");
  });
});

describe("typed errors", () => {
  const mm = new Uint8Array(readFileSync(join(IMAGES, "mm-13837.img")));

  it("a truncated image names the file and the offset", () => {
    for (const cut of [0, 3, 6, 9, 12, 500, mm.length - 1]) {
      const f = () => decodeFile("mm-13837.img", mm.subarray(0, cut));
      expect(f).toThrow(ImageError);
      try {
        f();
      } catch (e) {
        expect((e as ImageError).file).toBe("mm-13837.img");
        expect((e as ImageError).offset).toBeLessThanOrEqual(cut);
        expect(["truncated", "bad-length"]).toContain((e as ImageError).kind);
      }
    }
  });

  it("bad magic and a hostile length (4 GiB) are refused without allocating", () => {
    const bad = mm.slice();
    bad[4] ^= 0xff;
    expect(() => decodeFile("mm-13837.img", bad)).toThrow(/mm-13837.img@4: bad-magic/);
    const huge = mm.slice();
    huge.set([0xff, 0xff, 0xff, 0xff], 8);
    expect(() => decodeFile("mm-13837.img", huge)).toThrow(/mm-13837.img@8: bad-length/);
  });

  it("an absent required field is an error (proto2 required, checked explicitly)", () => {
    // The encoder refuses to write a message without a required field, so drop it by hand:
    // status = 1 encodes as the two bytes 38 01 (field 7, varint).
    const vma = encodeEntry(
      VmaEntrySchema,
      create(VmaEntrySchema, { start: 0x1000n, end: 0x2000n, pgoff: 0n, shmid: 0n, prot: 3, flags: 0x22, status: 1, fd: -1n }),
    );
    const at = Buffer.from(vma).indexOf(Buffer.from([0x38, 0x01]));
    const vmaNoStatus = Uint8Array.from([...vma.subarray(0, at), ...vma.subarray(at + 2)]);
    const m = create(MmEntrySchema, { exeFileId: 1 });
    for (const f of MmEntrySchema.fields) if (f.number <= 11) (m as Record<string, unknown>)[f.localName] = 1n;
    const mmBytes = Uint8Array.from([...encodeEntry(MmEntrySchema, m), 0x72, vmaNoStatus.length, ...vmaNoStatus]);
    const bytes = writeFraming("mm", [mmBytes]);
    expect(() => decodeFile("mm-1.img", bytes)).toThrow(/mm-1.img@8: missing-required: MmEntry: required field vmas\[0\].status/);
  });

  it("pages that do not match the pagemap are inconsistent", () => {
    const files = readDirFiles(IMAGES);
    files.set("pages-1.img", (files.get("pages-1.img") as Uint8Array).subarray(0, 4096 * 31));
    expect(() => decodeImages(files)).toThrow(/inconsistent/);
  });

  it("fuzz: mutated real images only ever give ImageError", () => {
    const files = readDirFiles(IMAGES);
    const names = [...files.keys()].filter((n) => n !== "pages-1.img");
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom("set", "cut", "insert", "len")), { minLength: 1, maxLength: 4 }),
        (name, muts) => {
          let b = (files.get(name) as Uint8Array).slice();
          for (const [pos, val, op] of muts) {
            const at = b.length === 0 ? 0 : pos % b.length;
            if (op === "set") b[at] = val;
            else if (op === "cut") b = b.subarray(0, at);
            else if (op === "insert") b = Uint8Array.from([...b.subarray(0, at), val, ...b.subarray(at)]);
            else if (b.length >= 12) new DataView(b.buffer, b.byteOffset).setUint32(8, val * 0x01010101, true);
          }
          const mutated = new Map(files);
          mutated.set(name, b);
          try {
            decodeImages(mutated);
          } catch (e) {
            if (!(e instanceof ImageError)) throw e;
          }
        },
      ),
      { numRuns: 1500, seed: 5 },
    );
  });
});

describe("crash-safe writes", () => {
  it("writes to a temporary directory and renames; a directory without inventory is incomplete", () => {
    const files = readDirFiles(IMAGES);
    const dir = join(scratch, "copy");
    writeDirFilesAtomic(dir, encodeImages(decodeImages(files)));
    expect(readdirSync(scratch).filter((n) => n.includes(".tmp-"))).toEqual([]);
    expect(readImageDir(dir).tasks[0]?.mm?.vmas.length).toBe(24);
    const partial = new Map(files);
    partial.delete("inventory.img");
    expect(() => decodeImages(partial)).toThrow(/inventory.img@0: incomplete/);
  });

  it("a dump killed mid-write leaves nothing that loads as complete", async () => {
    const dir = join(scratch, "killed");
    const writer = `
      import { writeDirFilesAtomic } from ${JSON.stringify(resolve(__dirname, "../src/checkpoint/images/dir.ts"))};
      const files = new Map();
      for (let i = 0; i < 64; i++) files.set("pages-" + i + ".img", new Uint8Array(16 << 20).fill(i));
      files.set("inventory.img", new Uint8Array(4));
      process.stdout.write("go\\n");
      writeDirFilesAtomic(${JSON.stringify(dir)}, files);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", writer], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((res) => child.stdout.once("data", () => res()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(existsSync(dir)).toBe(false);
    expect(() => readImageDir(dir)).toThrow(ImageError);
    for (const n of readdirSync(scratch).filter((x) => x.startsWith(".killed.tmp-"))) {
      expect(() => readImageDir(join(scratch, n))).toThrow(/incomplete|missing/);
    }
  }, 20000);
});
