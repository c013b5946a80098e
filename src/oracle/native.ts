// Where the native oracle programs live: `native/build.js` compiles every native/*.c into
// native/build/<name> at `npm install` time (the executor, execmaps, probe-prctl, probe-remote).

import { accessSync, constants } from "node:fs";
import { fileURLToPath } from "node:url";

/** The path of native/build/<name>. */
export function nativeProgramPath(name: string): string {
  return fileURLToPath(new URL(`../../native/build/${name}`, import.meta.url));
}

/** Whether `path` is an executable this machine can run (built, Linux x86_64). */
export function nativeProgramRunnable(path: string): boolean {
  if (process.platform !== "linux" || process.arch !== "x64") return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
