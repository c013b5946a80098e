// The framing of a CRIU image file: magic word(s), then entries, each a little-endian u32
// length followed by that many bytes of protobuf. Nothing is allocated from a length read
// from the file: entries are views into the file's bytes, checked against its size first.

import { ImageError } from "./errors.js";
import { IMG_COMMON_MAGIC, type ImageKind, MAGICS } from "./magic.js";

export interface RawEntry {
  /** Offset of the entry's length word in the file. */
  offset: number;
  /** The protobuf bytes (a view into the file). */
  bytes: Uint8Array;
}

export interface RawImage {
  file: string;
  kind: ImageKind;
  entries: RawEntry[];
}

/** Whether an image kind carries only its own magic (no img_common word first). */
function hasCommonMagic(kind: ImageKind): boolean {
  return kind !== "inventory";
}

function readU32(buf: Uint8Array, off: number, file: string, what: string): number {
  if (off + 4 > buf.length) throw new ImageError("truncated", file, off, `file ends inside the ${what}`);
  return new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0, true);
}

/** Split an image file into its entries, checking the magics and every length. */
export function readFraming(file: string, kind: ImageKind, buf: Uint8Array): RawImage {
  let off = 0;
  if (hasCommonMagic(kind)) {
    const common = readU32(buf, off, file, "img_common magic");
    if (common !== IMG_COMMON_MAGIC)
      throw new ImageError(
        "bad-magic",
        file,
        off,
        `img_common magic 0x${common.toString(16)}, expected 0x${IMG_COMMON_MAGIC.toString(16)}`,
      );
    off += 4;
  }
  const magic = readU32(buf, off, file, `${kind} magic`);
  if (magic !== MAGICS[kind])
    throw new ImageError("bad-magic", file, off, `${kind} magic 0x${magic.toString(16)}, expected 0x${MAGICS[kind].toString(16)}`);
  off += 4;
  const entries: RawEntry[] = [];
  while (off < buf.length) {
    const len = readU32(buf, off, file, "entry length");
    if (len > buf.length - off - 4)
      throw new ImageError(
        "bad-length",
        file,
        off,
        `entry length ${len} runs past the end of the file (${buf.length - off - 4} bytes left)`,
      );
    entries.push({ offset: off, bytes: buf.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  return { file, kind, entries };
}

/** Frame encoded entries into an image file's bytes. */
export function writeFraming(kind: ImageKind, entries: Uint8Array[]): Uint8Array {
  const head = hasCommonMagic(kind) ? 8 : 4;
  let size = head;
  for (const e of entries) size += 4 + e.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let off = 0;
  if (hasCommonMagic(kind)) {
    dv.setUint32(off, IMG_COMMON_MAGIC, true);
    off += 4;
  }
  dv.setUint32(off, MAGICS[kind], true);
  off += 4;
  for (const e of entries) {
    dv.setUint32(off, e.length, true);
    out.set(e, off + 4);
    off += 4 + e.length;
  }
  return out;
}
