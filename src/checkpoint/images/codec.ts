// Protobuf entries of each image type: decode (with proto2 `required` checked explicitly,
// since the generated code does not), encode. Unknown fields are kept, so an image written
// back is byte-for-byte the image read.

import { type DescMessage, fromBinary, isFieldSet, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { CoreEntrySchema, TaskKobjIdsEntrySchema } from "../gen/criu/core_pb.js";
import { FdinfoEntrySchema, FileEntrySchema, FsEntrySchema } from "../gen/criu/files_pb.js";
import { InventoryEntrySchema } from "../gen/criu/inventory_pb.js";
import { MmEntrySchema } from "../gen/criu/mm_pb.js";
import { PagemapEntrySchema, PagemapHeadSchema } from "../gen/criu/pagemap_pb.js";
import { PstreeEntrySchema } from "../gen/criu/pstree_pb.js";
import { SeccompEntrySchema, TimensEntrySchema } from "../gen/criu/timens_pb.js";
import { ImageError } from "./errors.js";
import type { RawEntry } from "./framing.js";
import type { ImageKind } from "./magic.js";

/** The message type of every entry of an image kind (pagemap: all entries after the head). */
export const ENTRY_SCHEMA: Record<ImageKind, DescMessage> = {
  inventory: InventoryEntrySchema,
  pstree: PstreeEntrySchema,
  core: CoreEntrySchema,
  mm: MmEntrySchema,
  pagemap: PagemapEntrySchema,
  ids: TaskKobjIdsEntrySchema,
  files: FileEntrySchema,
  fdinfo: FdinfoEntrySchema,
  fs: FsEntrySchema,
  timens: TimensEntrySchema,
  seccomp: SeccompEntrySchema,
};

/** The schema of entry `index` of an image kind (the pagemap's first entry is its head). */
export function schemaOf(kind: ImageKind, index: number): DescMessage {
  return kind === "pagemap" && index === 0 ? PagemapHeadSchema : ENTRY_SCHEMA[kind];
}

/** The dotted path of the first absent required field, or null (proto2 semantics). */
export function missingRequired(schema: DescMessage, msg: Record<string, unknown>, prefix = ""): string | null {
  for (const field of schema.fields) {
    const path = `${prefix}${field.name}`;
    // FeatureSet_FieldPresence.LEGACY_REQUIRED = 3 (a proto2 `required` field).
    if (field.presence === 3 && !isFieldSet(msg as MessageShape<DescMessage>, field)) return path;
    if (field.fieldKind === "message") {
      const v = msg[field.localName];
      if (v !== undefined) {
        const m = missingRequired(field.message, v as Record<string, unknown>, `${path}.`);
        if (m !== null) return m;
      }
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      const list = msg[field.localName] as Array<Record<string, unknown>>;
      for (let i = 0; i < list.length; i++) {
        const m = missingRequired(field.message, list[i] as Record<string, unknown>, `${path}[${i}].`);
        if (m !== null) return m;
      }
    }
  }
  return null;
}

/** Decode one entry: a typed ImageError names the file and the entry's offset on failure. */
export function decodeEntry<D extends DescMessage>(schema: D, raw: RawEntry, file: string): MessageShape<D> {
  let msg: MessageShape<D>;
  try {
    msg = fromBinary(schema, raw.bytes, { readUnknownFields: true });
  } catch (e) {
    throw new ImageError("bad-protobuf", file, raw.offset, `${schema.name}: ${(e as Error).message}`);
  }
  const missing = missingRequired(schema, msg as Record<string, unknown>);
  if (missing !== null) throw new ImageError("missing-required", file, raw.offset, `${schema.name}: required field ${missing} is absent`);
  return msg;
}

export function encodeEntry<D extends DescMessage>(schema: D, msg: MessageShape<D>): Uint8Array {
  return toBinary(schema, msg, { writeUnknownFields: true });
}
