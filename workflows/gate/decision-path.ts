import type { DecisionReceipt } from '../../src/shared/run-state';
import type { AuditLog } from '../run/audit-log';
import { ValidatedUpdates } from '../validated-update';
import type { Accepted, ApprovalGate } from './approval-gate';

/** Longest approver name an audit entry of a refused signal quotes. */
const MAX_ACTOR = 100;

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

  /** The `decision` signal's handler: applies the decision, or records the refusal. */
  receive(payload: unknown): void {
    const checked = this.#gate.check(payload);
    if (checked.ok) {
      this.#gate.apply(checked.value);
      return;
    }
    this.#audit.append({
      kind: 'decision_refused',
      actor: actorOf(payload),
      detail: `signal refused: ${checked.reason}`,
    });
  }
}

/** Who a refused payload says it comes from, cut to size; `unknown` when it names nobody. */
function actorOf(payload: unknown): string {
  if (payload !== null && typeof payload === 'object' && 'approver' in payload) {
    const approver = payload.approver;
    if (typeof approver === 'string' && approver.trim() !== '') return approver.trim().slice(0, MAX_ACTOR);
  }
  return 'unknown';
}
