// Typed errors for image input. Every problem with an image names the file and the byte
// offset where it was found, so that a truncated, corrupt or hostile image is reported, not
// crashed on.

export type ImageErrorKind =
  | "missing" // a file the directory needs is absent
  | "incomplete" // the directory was never finished by a dump (no inventory / marker)
  | "truncated" // the file ends inside a magic, a length word or an entry
  | "bad-magic" // the magic words are not those of this image type
  | "bad-length" // an entry length that cannot be right (beyond the file)
  | "bad-protobuf" // the entry bytes are not a valid protobuf message of this type
  | "missing-required" // a proto2 required field is absent
  | "inconsistent"; // entries that decode but contradict each other (pages vs pagemap, ...)

export class ImageError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    /** The image file (as named in the directory, e.g. `mm-13837.img`). */
    readonly file: string,
    /** Byte offset in that file where the problem starts. */
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${file}@${offset}: ${kind}: ${detail}`);
    this.name = "ImageError";
  }
}
