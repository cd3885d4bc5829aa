// Stands in for workflows/patches.ts in a benchmark's "before" bundle: the changes named in WITHHELD are left out, so
// new runs take the path runs took before them; every other change is guarded as usual.
import { patched } from '@temporalio/workflow';
import type { PatchId } from '../workflows/patch-ids';
import { WITHHELD } from './withheld-choice';

export { PATCHES } from '../workflows/patch-ids';

/** False for a withheld change (the old path); the real guard for the others. */
export function hasPatch(id: PatchId): boolean {
  return WITHHELD.includes(id) ? false : patched(id);
}
