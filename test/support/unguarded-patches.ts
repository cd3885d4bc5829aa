// Stands in for workflows/patches.ts in the replay test's "unguarded" bundles: the chosen change (or every change) is
// taken without its guard, as if the developer had forgotten `patched()`. Replaying runs recorded before that change
// must then fail.
import { patched } from '@temporalio/workflow';
import type { PatchId } from '../../workflows/patch-ids';
import { UNGUARDED } from './unguarded-choice';

export { PATCHES } from '../../workflows/patch-ids';

/** The new path for the unguarded change, whatever the run's history says; the real guard for the others. */
export function hasPatch(id: PatchId): boolean {
  return UNGUARDED === '*' || UNGUARDED === id ? true : patched(id);
}
