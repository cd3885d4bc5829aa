// Stands in for workflows/patches.ts in the replay test's "unguarded" bundle: every change is taken without its
// guard, as if the developer had forgotten `patched()`. Replaying runs recorded before the change must then fail.
export { PATCHES } from '../../workflows/patch-ids';

/** Always the new path, whatever the run's history says. */
export function hasPatch(): boolean {
  return true;
}
