import { patched } from '@temporalio/workflow';
import type { PatchId } from './patch-ids';

export { PATCHES } from './patch-ids';

/**
 * Whether this run takes a changed path. A run that started before the change replays along the old path; a new run
 * takes the new one. Every guard goes through here, so the replay test can swap this module for one that takes every
 * change unguarded and prove that the recorded histories would then break. When no run from before a change can be
 * in flight any more (retention passed), its guard can go, through `deprecatePatch`.
 * @param id - one of `PATCHES`
 */
export function hasPatch(id: PatchId): boolean {
  return patched(id);
}
