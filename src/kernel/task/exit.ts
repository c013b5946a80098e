// Leaving an address space: exit_mm() and exec_mmap()'s mmput() of the old mm. When the
// last task using an mm lets go of it, exit_mmap() unmaps everything: the private frames it
// shared copy-on-write with a fork child lose a reference, so the child's next write to them
// no longer copies.

import type { Mm } from "../mm/mm.js";
import { VM_LOCKED } from "../uapi/vmflags.js";

/** exit_mmap(): drop every page of an mm nobody uses any more. */
export function exitMmap(mm: Mm): void {
  mm.tree.forEach((v) => {
    mm.pt.zap(v.start, v.end, (v.flags & VM_LOCKED) !== 0);
  });
  mm.pt.guards.clear();
}
