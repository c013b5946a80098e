// The strace log parser (layer 2): `parseStrace(readLogLines(path))` streams events.
export { classifyArg, parseArgs, parseInteger, splitArgs, unescapeCString } from "./args.js";
export { type LineRecord, parseLine } from "./line.js";
export { LogReadError, lineBatchesOf, linesOf, readLogBatches, readLogLines } from "./lines.js";
export { parseStrace, parseStraceSync, StraceParser } from "./parser.js";
export { parseRet } from "./ret.js";
export { canonicalSyscallName } from "./syscall-numbers.js";
export type * from "./types.js";
