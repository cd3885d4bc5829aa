/**
 * Ids of the workflow changes guarded with `patched()` (see `patches.ts` and the README, "Changing workflow code
 * safely"). Never rename or reuse one: recorded histories carry them as markers.
 */
export const PATCHES = {
  /** 2026-11-22: the deciders hear when a request closes (a notification activity after the call settles). */
  notifyDecidersOnClosure: 'notify-deciders-on-closure',
} as const;

/** One of {@link PATCHES}. */
export type PatchId = (typeof PATCHES)[keyof typeof PATCHES];
