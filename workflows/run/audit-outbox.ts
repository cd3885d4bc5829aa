import { CancellationScope, condition, log, proxyActivities, sleep } from '@temporalio/workflow';
import { recordHash, type AuditRecord } from '../../src/shared/audit/chain';
import type { AuditActivities } from '../../src/shared/activity-types';

const { storeAuditRecords } = proxyActivities<AuditActivities>({
  startToCloseTimeout: '30 seconds',
  // No attempt limit: a store that is down delays the records, it never drops them.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Most records sent to the audit store in one activity (each is at most about 1.5 KB). */
export const AUDIT_BATCH = 100;

/**
 * Records queued before a busy run sends them anyway (runs since `PATCHES.auditWhenQuiet`): one full batch.
 */
export const AUDIT_SEND_WHEN_BUSY = AUDIT_BATCH;

/** How long the outbox waits before sending again after the store refused a batch outright (e.g. `AuditConflict`). */
const AFTER_REFUSAL = '10 minutes';

/**
 * The run's durable queue of audit records on their way to the audit store. Records leave the queue only once the
 * store has them, in order, one batch at a time; while the store is down the activity retries (without an attempt
 * limit) and the records wait here, in workflow state. A run that continues as new carries what is still queued
 * (see `carry`), and a run ends only once its queue is empty ({@link AuditOutbox.drained}).
 *
 * Invariants that keep the store complete and in order: only one send is in flight; a batch is the queue's head;
 * records are removed only after the activity returned; the store ignores a record it already has (so a batch sent
 * again after a continue-as-new or a lost result is harmless).
 *
 * When it sends (runs since `PATCHES.auditWhenQuiet`, see {@link AuditOutbox.sendWhenQuiet}): once the run is quiet
 * at the end of a workflow activation (nothing of the agent's in flight: it waits for people, a timer or nothing),
 * when {@link AUDIT_SEND_WHEN_BUSY} records are queued, and when the run drains it before it ends. A busy agent's steps
 * then carry no audit activity and no workflow task of their own; the records wait in workflow state, which is as
 * durable as the store. Earlier runs send after every entry, as they did.
 */
export class AuditOutbox {
  readonly #queue: AuditRecord[];
  #sending = false;
  #held = false;
  /** Set by {@link AuditOutbox.sendWhenQuiet}: whether the run is busy (an agent step in flight). */
  #busy: (() => boolean) | undefined;
  #draining = false;
  /** A settle gave up on the batch in flight (the store is down); cleared when that send ends. */
  #stalled = false;
  /** Nothing is sent before the run has checked what it carried (see {@link AuditOutbox.start}). */
  #started = false;
  #answered: () => void = () => undefined;

  /** @param carried - records an earlier segment had not stored yet, oldest first */
  constructor(carried: readonly AuditRecord[] = []) {
    this.#queue = [...carried];
  }

  /** Queues a record and starts a send unless one is in flight (or, see {@link AuditOutbox.sendWhenQuiet}, not yet due). */
  push(record: AuditRecord): void {
    this.#queue.push(record);
    this.#kick();
  }

  /**
   * Sends only when due: when the run is quiet at the end of an activation, when a full batch is queued, or when the
   * run drains the queue. Call once, from the run's constructor or start, in runs that take `PATCHES.auditWhenQuiet`.
   * @param busy - whether the run has an agent step in flight (a model call or an activity it waits for)
   */
  sendWhenQuiet(busy: () => boolean): void {
    this.#busy = busy;
    void this.#sendOnceDue();
  }

  /** Whether a send is due now (always, for runs that send after every entry). */
  #due(): boolean {
    const busy = this.#busy;
    return busy === undefined || this.#draining || this.#queue.length >= AUDIT_SEND_WHEN_BUSY || !busy();
  }

  /**
   * Waits, activation after activation, for a send to be due and starts it. Not cancellable: a cancelled run still
   * writes its record, including the entry saying it was stopped (see {@link AuditOutbox.drained}).
   */
  async #sendOnceDue(): Promise<void> {
    for (;;) {
      await CancellationScope.nonCancellable(() =>
        condition(() => this.#started && !this.#sending && !this.#held && this.#queue.length > 0 && this.#due()),
      );
      this.#sending = true;
      await this.#send();
    }
  }

  /**
   * Starts sending: a new run once its policy is pinned, a continued run once the seal of what it carried is checked,
   * so nothing it carried reaches the store before that.
   */
  start(): void {
    this.#started = true;
    this.#kick();
  }

  /**
   * Sets what to call each time the store's activity has answered (stored the batch or refused it): its completion
   * is in the history.
   */
  onAnswer(listener: () => void): void {
    this.#answered = listener;
  }

  /** Stops starting sends: the run is about to continue as new, and what is queued goes with it. */
  hold(): void {
    this.#held = true;
  }

  /**
   * Whether a run about to continue as new should first wait for the batch in flight ({@link AuditOutbox.settle}):
   * a batch is in flight and no settle has given up on it.
   */
  get unsettled(): boolean {
    return this.#sending && !this.#stalled;
  }

  /**
   * Holds new sends and waits, at most `timeoutMs`, for the batch in flight to be stored: a run about to continue
   * as new, so the send's completion does not arrive while the run is continuing (the server would refuse the
   * continue-as-new for the new event and the task would be retried). What was queued meanwhile is not sent yet: the
   * run continuing now carries it, and a run that goes on instead sends it with its next entry. A store that is down
   * is not waited for again while that batch is in flight: the batch goes with the run and is sent again.
   * @param timeoutMs - the longest wait (ms)
   */
  async settle(timeoutMs: number): Promise<void> {
    this.#held = true;
    const stored = await condition(() => !this.#sending, timeoutMs);
    this.#held = false;
    if (!stored) this.#stalled = true;
  }

  /** The records not yet stored, oldest first. */
  pending(): AuditRecord[] {
    return this.#queue.map((r) => ({ ...r }));
  }

  /** Starts sending if need be, and resolves once every queued record is in the store; not cancellable. */
  async drained(): Promise<void> {
    this.#held = false;
    this.#draining = true;
    this.start();
    await CancellationScope.nonCancellable(() => condition(() => this.#queue.length === 0 && !this.#sending));
  }

  #kick(): void {
    // Runs that send when quiet leave it to #sendOnceDue: during the activation the run may look quiet between steps.
    if (this.#busy !== undefined) return;
    if (!this.#started || this.#sending || this.#held || this.#queue.length === 0) return;
    this.#sending = true;
    void this.#send();
  }

  async #send(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#held && this.#due()) {
        const batch = this.#queue.slice(0, AUDIT_BATCH);
        try {
          // Not cancellable: a cancelled run still writes its record, including the entry saying it was stopped.
          await CancellationScope.nonCancellable(() => storeAuditRecords(batch));
          this.#queue.splice(0, batch.length);
          this.#answered();
        } catch (err) {
          this.#answered();
          // Only a refusal the activity marks non-retryable ends up here: keep the records and try again later.
          log.warn('the audit store refused a batch; it stays queued', { error: String(err), first: batch[0]?.seq });
          await CancellationScope.nonCancellable(() => sleep(AFTER_REFUSAL));
        }
      }
    } finally {
      this.#sending = false;
      this.#stalled = false;
    }
  }
}

/**
 * Checks records a run carried across continue-as-new: each one's hash recomputes and links to the one before, and
 * the last is the carried head.
 * @returns a reason when they do not, else undefined
 */
export function brokenCarriedChain(records: readonly AuditRecord[], head: string): string | undefined {
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r === undefined) continue;
    if (recordHash(r) !== r.hash) return `carried audit record ${r.seq} does not match its hash`;
    const before = records[i - 1];
    if (before !== undefined && r.prev !== before.hash)
      return `carried audit record ${r.seq} does not follow ${before.seq}`;
  }
  const last = records[records.length - 1];
  if (last !== undefined && last.hash !== head) return 'the carried audit records do not end at the carried head';
  return undefined;
}
