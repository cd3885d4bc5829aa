import { CancellationScope } from '@temporalio/workflow';
import { StopSchema, type StopRequest } from '../../src/shared/decision';
import { formatZodError } from '../../src/shared/zod-format';
import { stopStatement } from '../../src/shared/identity/statements';
import { eligibleApprovers } from '../../src/shared/policy/authority';
import type { ApprovalGate } from '../gate/approval-gate';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { RunAuthority } from './authority';
import { ValidatedUpdates } from '../validated-update';
import type { RunProgress } from './progress';

/** Thrown inside the loop when a person ends the run from a pause; the run finishes as stopped. */
export class RunStopped extends Error {}

/**
 * How a run is stopped: by the `stop` update, or by a person's answer to a pause (`stop`, `abort`). Either way the
 * stop is recorded, every open request closes as stopped, and the work in flight (model call, tool calls, timers) is
 * cancelled through the cancellation scope the loop runs in.
 */
export class Stopper {
  readonly #progress: RunProgress;
  readonly #gate: ApprovalGate;
  readonly #updates: ValidatedUpdates<Pick<StopRequest, 'by' | 'reason'>>;
  #scope: CancellationScope | undefined;
  /** The requests a stop closed, so the run can record their outcomes (see {@link Stopper.closed}). */
  readonly #closed: ApprovalRequest[] = [];

  constructor(progress: RunProgress, gate: ApprovalGate, authority: RunAuthority) {
    this.#progress = progress;
    this.#gate = gate;
    this.#updates = new ValidatedUpdates((payload) => {
      const parsed = StopSchema.safeParse(payload);
      if (!parsed.success) return { ok: false, reason: `invalid stop: ${formatZodError(parsed.error)}` };
      if (progress.ending) return { ok: false, reason: 'the run is already ending' };
      const stop = parsed.data;
      const who = authority.accept(stop.by, stop.signature, stopStatement(stop), 'stop');
      if (!who.ok) return who;
      // Who may stop: the requester, or anyone in one of the policy's groups (anyone when it has none).
      const policy = authority.policy;
      const members = eligibleApprovers(policy, Object.keys(policy.groups));
      const person = who.accepted.subject;
      if (members.length > 0 && !members.includes(person) && person !== authority.requestedBy) {
        return {
          ok: false,
          reason: `"${person}" may not stop this run (the requester or a member of its policy's groups may)`,
        };
      }
      return { ok: true, value: { by: who.accepted.label, reason: stop.reason } };
    });
  }

  /** Runs `body` (the loop) in a cancellation scope that a stop cancels. */
  run<T>(body: () => Promise<T>): Promise<T> {
    this.#scope = new CancellationScope();
    return this.#scope.run(body);
  }

  /**
   * The `stop` update's validator: refuses a malformed stop, and any stop once the run is ending.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) with the reason
   */
  validate(payload: unknown): void {
    this.#updates.validate(payload);
  }

  /** The `stop` update's handler. */
  stop(payload: unknown): { stopped: true; closedRequests: number } {
    return this.request(this.#updates.take(payload));
  }

  /** Stops the run: records who and why, closes the open requests, cancels the loop's scope. */
  request(stop: Pick<StopRequest, 'by' | 'reason'>): { stopped: true; closedRequests: number } {
    this.#progress.stop = { by: stop.by, reason: stop.reason };
    const closed = this.#gate.stopAll(stop.by, stop.reason);
    this.#closed.push(...closed);
    this.#scope?.cancel();
    return { stopped: true, closedRequests: closed.length };
  }

  /** The requests closed by {@link Stopper.request} (the gate's own records). */
  get closed(): readonly ApprovalRequest[] {
    return this.#closed;
  }

  /** Ends the run from a pause (a `stop` or `abort` answer, or the pause's deadline), as `hitl stop` does. */
  fromPause(by: string, reason: string): never {
    this.request({ by, reason });
    throw new RunStopped(reason);
  }
}
