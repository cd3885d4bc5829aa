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
  /**
   * 2026-12-01: a run pins one of the worker's policies and the approver registry through `runAuthority` (a run that
   * brings its own policy is refused), verifies a signed start, seals what it carries across continue-as-new
   * (`sealState`) and checks the seal when it continues (`openState`).
   */
  workerOwnedAuthority: 'worker-owned-authority',
  /**
   * 2026-12-01: before a request opens, the run reads the approver registry again and resolves what the call will touch
   * (the tool's precheck), which the request shows and decisions bind.
   */
  requestAuthority: 'request-authority',
  /** 2026-12-01: an edit rebuilds the request from the edited arguments (gate, stages, deadline, quorum, summary). */
  rebuildOnEdit: 'rebuild-on-edit',
  /** 2026-12-01: idempotency keys are derived from the run, the call's position and its arguments, not drawn at random. */
  derivedIdempotencyKeys: 'derived-idempotency-keys',
  /** 2026-12-01: a run continues as new once its history reaches 2 MiB, whatever its event count (the dev server suggests it at about 4 MB). */
  continueOnHistorySize: 'continue-on-history-size',
  /**
   * 2026-12-01: every audit entry is hashed into the workflow's chain and written to the audit store (activity
   * `storeAuditRecords`), and a run's last entry (`audit_closed`) closes the chain.
   */
  auditStore: 'audit-store',
  /**
   * 2026-12-02: notifications go out aside (the gate does not wait for the `notify` activity), carry the request,
   * pause or closure for the channels, record what each channel did, and also go out on quorum progress and when the
   * run pauses; the run waits for them only before it closes its audit chain.
   */
  notificationsAside: 'notifications-aside',
  /**
   * 2026-12-02: the run keeps search attributes of what waits current (AgentPendingTools, AgentDeciders,
   * AgentDecidingGroups, AgentRiskTier, AgentDeadline), so `hitl pending` can list it with no worker up.
   */
  waitingSearchAttributes: 'waiting-search-attributes',
  /**
   * 2026-12-02: a call that waited for people runs its precheck inside its tool's activity (`input.precheck`) instead
   * of a precheck activity and a workflow task of its own before it.
   */
  precheckInTool: 'precheck-in-tool',
  /**
   * 2026-12-02: the audit outbox sends when the run is quiet (or a full batch is queued, or the run ends) instead of
   * after every entry, so a busy agent's steps carry no `storeAuditRecords` activity.
   */
  auditWhenQuiet: 'audit-when-quiet',
  /**
   * 2026-12-02: read-only catalog tools under an `auto` gate run as local activities, inside the workflow task that
   * proposed them.
   */
  readOnlyLocal: 'read-only-local',
} as const;

/** One of {@link PATCHES}. */
export type PatchId = (typeof PATCHES)[keyof typeof PATCHES];
