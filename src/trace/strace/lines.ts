// Lines of a log from a file (plain or gzip, told by its magic bytes), stdin ("-"), or any
// byte stream, read in chunks: the file is never held whole, so a multi-gigabyte log
// streams in bounded memory.

import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";

/** The log could not be opened or read (missing file, permission, corrupt gzip). */
export class LogReadError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "LogReadError";
  }
}

/**
 * Split a stream of byte chunks into batches of lines (without "\n"), one batch per chunk:
 * one await per chunk instead of per line. A final unterminated line counts.
 */
export async function* lineBatchesOf(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder("utf-8");
  let carry = "";
  for await (const chunk of chunks) {
    const text = carry + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    const batch: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      batch.push(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (batch.length > 0) yield batch;
  }
  carry += decoder.decode();
  if (carry.length > 0) yield [carry];
}

/** Split a stream of byte chunks into lines (without "\n"); a final unterminated line counts. */
export async function* linesOf(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  for await (const batch of lineBatchesOf(chunks)) yield* batch;
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (e as Error).message;
}

/** The lines of `source`: a path ("-" is stdin), plain or gzip-compressed. */
export async function* readLogLines(source: string): AsyncGenerator<string> {
  for await (const batch of readLogBatches(source)) yield* batch;
}

/** The lines of `source` in batches (one per read chunk): the fast way to stream a big log. */
export async function* readLogBatches(source: string): AsyncGenerator<string[]> {
  let stream: AsyncIterable<Uint8Array>;
  if (source === "-") stream = process.stdin;
  else {
    let gz: boolean;
    try {
      gz = await isGzip(source);
    } catch (e) {
      throw new LogReadError(`cannot read: ${reason(e)}`, source);
    }
    const raw = createReadStream(source, { highWaterMark: 1 << 20 });
    stream = gz ? raw.pipe(createGunzip()) : raw;
  }
  try {
    yield* lineBatchesOf(stream);
  } catch (e) {
    throw new LogReadError(`cannot read: ${reason(e)}`, source);
  }
}
