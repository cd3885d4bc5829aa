/**
 * Ids of the workflow changes guarded with `patched()` (see `patches.ts` and docs/changing-workflow-code.md). Never
 * rename or reuse one: recorded histories carry them as markers.
 */
export const PATCHES = {
  /** 2026-11-22: the deciders hear when a request closes (a notification activity after the call settles). */
  notifyDecidersOnClosure: 'notify-deciders-on-closure',
  /**
   * 2026-12-01: the `AgentStatus` search attribute starts from the value the run already has (set at start, or
   * inherited across continue-as-new) and is written only when it changes.
   */
  statusFromCurrentValue: 'status-from-current-value',
  /**
   * 2026-12-01: a run about to continue as new with more than 256 KiB of unsent messages and settled results stores
   * them in the transcript store first (activity `storeMessages`), so its carried state holds references only.
   */
  storeLargeCarry: 'store-large-carry',
} as const;

/** One of {@link PATCHES}. */
export type PatchId = (typeof PATCHES)[keyof typeof PATCHES];
