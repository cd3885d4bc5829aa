import { showControls } from '../../src/shared/render/escape';
import type { DecisionReceipt } from '../../src/shared/run-state';
import type { AuditLog } from '../run/audit-log';
import { ValidatedUpdates } from '../validated-update';
import type { Accepted, ApprovalGate } from './approval-gate';

/** Longest approver name an audit entry of a refused signal quotes. */
const MAX_ACTOR = 100;

/** Longest refusal reason an audit entry of a refused signal quotes (characters, before escaping). */
const MAX_REASON = 300;

/** Refused signals recorded one by one per request id (in one segment of the run); later ones are counted. */
export const RECORDED_REFUSALS = 5;

/** Past {@link RECORDED_REFUSALS}, one audit entry per this many refused signals gives the running count. */
export const REFUSAL_COUNT_EVERY = 100;

/** Request ids whose refusals are counted apart; signals naming others share one count. */
const COUNTED_REQUEST_IDS = 100;

/**
 * The one path every decision takes into a run, whichever way it arrives. The `decide` update's validator checks it
 * and its handler applies what the validator accepted (one check per decision); the `decision` signal is checked the
 * same way and, since a signal cannot answer, a refused one is put on the audit trail as `decision_refused` and
 * changes nothing.
 */
export class DecisionPath {
  readonly #gate: ApprovalGate;
  readonly #audit: AuditLog;
  readonly #updates: ValidatedUpdates<Accepted[]>;
  /** Refused signals per request id named, in this segment. */
  readonly #refusals = new Map<string, number>();

  constructor(gate: ApprovalGate, audit: AuditLog) {
    this.#gate = gate;
    this.#audit = audit;
    this.#updates = new ValidatedUpdates((payload) => gate.check(payload));
  }

  /**
   * The `decide` update's validator.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) with the gate's reason
   */
  validate(payload: unknown): void {
    this.#updates.validate(payload);
  }

  /**
   * The `decide` update's handler: applies what the validator accepted.
   * @returns the receipt of the (last) decision
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) when, on replay, the check refuses it
   */
  decide(payload: unknown): DecisionReceipt {
    return this.#gate.apply(this.#updates.take(payload));
  }

  /**
   * The `decision` signal's handler: applies the decision, or records the refusal as a short, escaped summary. A
   * flood cannot grow the trail without bound: per request id named, the first {@link RECORDED_REFUSALS} refusals of
   * a segment are recorded one by one, then one entry per {@link REFUSAL_COUNT_EVERY} gives the count.
   */
  receive(payload: unknown): void {
    const checked = this.#gate.check(payload);
    if (checked.ok) {
      this.#gate.apply(checked.value);
      return;
    }
    const named = refusalKey(payload);
    const key = this.#refusals.has(named) || this.#refusals.size < COUNTED_REQUEST_IDS ? named : '(others)';
    const count = (this.#refusals.get(key) ?? 0) + 1;
    this.#refusals.set(key, count);
    if (count <= RECORDED_REFUSALS) {
      const reason = checked.reason.length > MAX_REASON ? `${checked.reason.slice(0, MAX_REASON)}…` : checked.reason;
      this.#audit.append({
        kind: 'decision_refused',
        actor: actorOf(payload),
        detail: `signal refused: ${showControls(reason)}`,
      });
    } else if (count % REFUSAL_COUNT_EVERY === 0) {
      this.#audit.append({
        kind: 'decision_refused',
        actor: 'system',
        detail:
          `${count} signals naming request ${showControls(key)} refused so far in this segment; past the first ` +
          `${RECORDED_REFUSALS}, they are counted, not recorded one by one`,
      });
    }
  }
}

/**
 * The request id a refused payload names, cut to 80 characters with its controls shown; `(none)` when it names none.
 * Refusals are counted per this key.
 */
export function refusalKey(payload: unknown): string {
  if (payload !== null && typeof payload === 'object' && 'requestId' in payload) {
    const id = payload.requestId;
    if (typeof id === 'string' && id.trim() !== '') return showControls(id.trim().slice(0, 80));
  }
  return '(none)';
}

/** Who a refused payload says it comes from, cut to size; `unknown` when it names nobody. */
function actorOf(payload: unknown): string {
  if (payload !== null && typeof payload === 'object' && 'approver' in payload) {
    const approver = payload.approver;
    if (typeof approver === 'string' && approver.trim() !== '')
      return showControls(approver.trim().slice(0, MAX_ACTOR));
  }
  return 'unknown';
}
