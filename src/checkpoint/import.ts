// Import a real CRIU image directory into the model: the restore itself, under policy
// `none` (this machine's), with mapped files resolved on this machine (`mapPath` rewrites
// recorded paths). The result is the model's kernel and the restored process, or the first
// step that failed and why.

import type { PathMap } from "./host.js";
import type { CheckpointImages } from "./images/image-set.js";
import { type RestoreOptions, type RestoreResult, restore } from "./restore/restore.js";

export interface ImportOptions extends Omit<RestoreOptions, "mapPath"> {
  mapPath?: PathMap;
}

/** Load an image directory (or decoded images) into a fresh model kernel. */
export function importImages(src: string | CheckpointImages, opts: ImportOptions = {}): RestoreResult {
  return restore(src, { policy: "none", ...opts });
}
