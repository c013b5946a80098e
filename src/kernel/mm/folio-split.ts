// split_folio() of large anonymous folios (THPs) by madvise: MADV_COLD and MADV_FREE split a
// folio that their range covers only in part, MADV_PAGEOUT splits every folio it reaches
// (a partial one at once, a whole one in reclaim, when no swap takes it whole). Splitting
// replaces each subpage that is all zeroes by the shared zero page (remap_page() with
// RMP_USE_SHARED_ZEROPAGE, "split underused THPs", 6.12), in every VMA that maps it except
// mlocked ones: a THP that was faulted in and barely written shrinks to its written pages.
// All of it observed on the live kernel (tests/conform-found.test.ts).

import { VM_LOCKED } from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import type { Mm } from "./mm.js";
import type { AnonFrame, LargeFolio } from "./pages.js";

/** The large folios with a page mapped in [start, end), each with how many of its pages are there. */
export function largeFoliosIn(mm: Mm, start: number, end: number): Map<LargeFolio, number> {
  const found = new Map<LargeFolio, number>();
  mm.pt.forRange(start, end, (_p, pte) => {
    const folio = pte.anon ? (pte.frame as AnonFrame).folio : null;
    if (folio !== null) found.set(folio, (found.get(folio) ?? 0) + 1);
  });
  return found;
}

/** The pages of this mm that map `folio`, by page number. */
function pagesOf(mm: Mm, folio: LargeFolio): number[] {
  const pages: number[] = [];
  mm.pt.forEachPresent((p, pte) => {
    if (pte.anon && (pte.frame as AnonFrame).folio === folio) pages.push(p);
  });
  return pages;
}

/** folio_maybe_mapped_shared(): another process maps it too (fork shared the frames). */
function mappedShared(mm: Mm, pages: readonly number[]): boolean {
  return pages.some((p) => {
    const pte = mm.pt.get(p);
    return pte !== undefined && (pte.frame as AnonFrame).refs > 1;
  });
}

/**
 * Split `folio` as madvise does: a folio another process maps is left whole
 * (folio_maybe_mapped_shared()); otherwise its pages become small folios and the zero-filled
 * ones are unmapped to the zero page (the page table stays).
 */
export function splitUnsharedFolio(mm: Mm, folio: LargeFolio): void {
  const pages = pagesOf(mm, folio);
  if (mappedShared(mm, pages)) return;
  // An mlocked large folio keeps all its pages (folio_test_mlocked()); which folios the
  // kernel marks mlocked when a VMA boundary cuts one is not modeled.
  if (pages.some((p) => mm.pt.get(p)?.locked)) throw new Unsupported("splitting a large folio with mlocked pages");
  for (const p of pages) {
    const frame = mm.pt.get(p)?.frame as AnonFrame;
    frame.folio = null;
    const vma = mm.tree.find(p);
    if (frame.isZeroFilled && vma !== null && (vma.flags & VM_LOCKED) === 0) mm.pt.zap(p, p + 1);
  }
}

/** MADV_COLD / MADV_FREE: split the folios that [start, end) covers only in part. */
export function splitFoliosCoveredInPart(mm: Mm, start: number, end: number): void {
  for (const [folio, inRange] of largeFoliosIn(mm, start, end)) {
    if (inRange < 512) splitUnsharedFolio(mm, folio);
  }
}

/** MADV_PAGEOUT without swap: every folio it reaches is split (at once or in reclaim). */
export function splitFoliosReached(mm: Mm, start: number, end: number): void {
  for (const folio of largeFoliosIn(mm, start, end).keys()) splitUnsharedFolio(mm, folio);
}
