import { ApplicationFailure, currentUpdateInfo } from '@temporalio/workflow';
import { FailureType } from '../src/shared/errors';

/** The result of checking an untrusted payload: the value to apply, or the reason it is refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * One check per update: the validator checks the payload and keeps what it accepted under the update's id, and the
 * handler applies exactly that. Validators do not run when a worker replays history, so there the handler checks the
 * payload itself, against the same state, with the same result. The validator and the handler's first synchronous
 * part run back to back in one activation (the SDK guarantees it), so nothing can change in between.
 */
export class ValidatedUpdates<T> {
  readonly #check: (payload: unknown) => Checked<T>;
  readonly #accepted = new Map<string, T>();

  /** @param check - the one check of a payload; pure over the run's state */
  constructor(check: (payload: unknown) => Checked<T>) {
    this.#check = check;
  }

  /**
   * The update's validator.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) with the reason; the update leaves no trace
   */
  validate(payload: unknown): void {
    const value = this.#checkOrThrow(payload);
    const id = currentUpdateInfo()?.id;
    if (id !== undefined) this.#accepted.set(id, value);
  }

  /**
   * In the update's handler: what the validator accepted, or (on replay) the same check made again.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) when the check refuses it
   */
  take(payload: unknown): T {
    const id = currentUpdateInfo()?.id;
    const accepted = id !== undefined ? this.#accepted.get(id) : undefined;
    if (id !== undefined) this.#accepted.delete(id);
    return accepted ?? this.#checkOrThrow(payload);
  }

  #checkOrThrow(payload: unknown): T {
    const checked = this.#check(payload);
    if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, FailureType.InvalidDecision);
    return checked.value;
  }
}
