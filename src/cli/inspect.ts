// `aspace inspect DIR [--json]`: what `crit show` gives (every image decoded, crit-style),
// plus checks: framing, required fields, pagemap vs pages, VMAs sorted and disjoint, pages
// inside VMAs, file ids resolvable, the vdso an ELF image, sealed VMAs (aspace extension).
// Exit 0: every check passes; 1: a check fails; 2: the directory cannot be read.
import type { DescMessage } from "@bufbuild/protobuf";
import type { Command } from "commander";
import pc from "picocolors";
import { decodeEntry, schemaOf } from "../checkpoint/images/codec.js";
import { critDecodeValue } from "../checkpoint/images/crit-json.js";
import { readDirFiles } from "../checkpoint/images/dir.js";
import { readFraming } from "../checkpoint/images/framing.js";
import { type CheckpointImages, decodeImages, entryPages, inPagesFile } from "../checkpoint/images/image-set.js";
import { kindOfFile } from "../checkpoint/images/magic.js";
import { vdsoSymbols } from "../checkpoint/restore/vdso.js";
import { VMA_AREA_REGULAR, VMA_AREA_VDSO } from "../checkpoint/status.js";
import { checkpointInputError } from "./checkpoint.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Checks beyond decoding (decodeImages already checked framing, required fields, pagemap vs pages). */
export function imageChecks(img: CheckpointImages): Check[] {
  const out: Check[] = [{ name: "decode", ok: true, detail: "every image decodes; required fields present; pagemap and pages agree" }];
  const fileIds = new Set(img.files.map((f) => f.id));
  for (const t of img.tasks) {
    if (t.mm === null) continue;
    const vmas = t.mm.vmas;
    let sorted = true;
    for (let i = 1; i < vmas.length; i++) if ((vmas[i]?.start as bigint) < (vmas[i - 1]?.end as bigint)) sorted = false;
    out.push({ name: `mm-${t.pid}: VMAs sorted and disjoint`, ok: sorted, detail: `${vmas.length} VMAs` });
    const missing = vmas.filter((v) => (v.status & 0xc0) !== 0 && !fileIds.has(Number(v.shmid))).map((v) => `0x${v.start.toString(16)}`);
    if (t.mm.exeFileId !== 0 && !fileIds.has(t.mm.exeFileId)) missing.push(`exe_file_id ${t.mm.exeFileId}`);
    out.push({
      name: `mm-${t.pid}: mapped files in files.img`,
      ok: missing.length === 0,
      detail: missing.length === 0 ? "all found" : `missing for ${missing.join(", ")}`,
    });
    const outside: string[] = [];
    for (const e of t.pagemap) {
      const end = e.vaddr + BigInt(entryPages(e)) * 4096n;
      let a = e.vaddr;
      while (a < end) {
        const v = vmas.find((x) => x.start <= a && a < x.end && (x.status & VMA_AREA_REGULAR) !== 0);
        if (v === undefined) {
          outside.push(`0x${a.toString(16)}`);
          break;
        }
        a = v.end;
      }
    }
    out.push({
      name: `pagemap-${t.pid}: pages inside VMAs`,
      ok: outside.length === 0,
      detail: outside.length === 0 ? `${t.pagemap.length} entries` : `outside at ${outside.join(", ")}`,
    });
    const vdso = vmas.find((v) => (v.status & VMA_AREA_VDSO) !== 0);
    if (vdso !== undefined && t.pages !== null) {
      let off = 0;
      let bytes: Uint8Array | null = null;
      for (const e of t.pagemap) {
        if (e.vaddr === vdso.start && inPagesFile(e)) bytes = t.pages.subarray(off, off + Number(vdso.end - vdso.start));
        if (inPagesFile(e)) off += entryPages(e) * 4096;
      }
      const syms = bytes === null ? null : vdsoSymbols(bytes);
      out.push({
        name: `mm-${t.pid}: dumped vdso`,
        ok: syms !== null,
        detail:
          syms === null
            ? "no readable ELF vdso in the pages"
            : Object.entries(syms)
                .map(([k, v]) => `${k}=0x${v.toString(16)}`)
                .join(" "),
      });
    }
    const sealed = vmas.filter((v) => v.aspaceSealed === true).length;
    out.push({ name: `mm-${t.pid}: sealed VMAs (aspace field 1000)`, ok: true, detail: `${sealed}` });
  }
  return out;
}

export function registerInspect(program: Command, setStatus: (n: number) => void): void {
  program
    .command("inspect")
    .description("Show a CRIU image directory as `crit show` does, plus consistency checks")
    .argument("<dir>", "the image directory")
    .option("--json", "print {dir, images: {FILE: crit-decoded}, checks: [...]} as JSON")
    .action((dir: string, o: { json?: boolean }) => {
      try {
        const files = readDirFiles(dir);
        const img = decodeImages(files);
        const images: Record<string, unknown> = {};
        for (const [name, bytes] of files) {
          const kind = kindOfFile(name);
          if (kind === null) {
            images[name] = { raw_bytes: bytes.length };
            continue;
          }
          const raw = readFraming(name, kind, bytes);
          images[name] = critDecodeValue(
            kind,
            raw.entries.map((e, i) => ({
              schema: schemaOf(kind, i) as DescMessage,
              msg: decodeEntry(schemaOf(kind, i), e, name) as Record<string, unknown>,
            })),
          );
        }
        const checks = imageChecks(img);
        const ok = checks.every((c) => c.ok);
        if (o.json) process.stdout.write(`${JSON.stringify({ dir, ok, images, checks })}\n`);
        else {
          for (const [name, v] of Object.entries(images)) process.stdout.write(`${pc.bold(name)}\n${JSON.stringify(v, null, 2)}\n`);
          process.stdout.write(`${pc.bold("checks")}\n`);
          for (const c of checks) process.stdout.write(`  ${c.ok ? pc.green("ok  ") : pc.red("FAIL")} ${c.name}: ${c.detail}\n`);
        }
        setStatus(ok ? 0 : 1);
      } catch (e) {
        const msg = checkpointInputError(e);
        if (msg === null) throw e;
        process.stderr.write(`aspace inspect: ${msg}\n`);
        setStatus(2);
      }
    });
}
