import { ApplicationFailure, condition } from '@temporalio/workflow';
import { DecisionSchema, formatZodError, type Decision } from '../src/decision';
import { FailureType } from '../src/errors';
import { argsHash } from '../src/hash';
import { findTool } from '../src/tools/catalog';
import type { ApprovalRequest, DecisionReceipt } from '../src/run-state';

/** A decision that the gate accepted, with the arguments that will run. */
export interface AcceptedDecision {
  decision: Decision;
  /** Arguments to execute: the edited ones for an edit, else the request's. */
  args: Record<string, unknown>;
  argsHash: string;
  /** ISO-8601 workflow time the decision was taken. */
  at: string;
}

/** How a request was closed. */
export type Closure = { kind: 'decided'; accepted: AcceptedDecision } | { kind: 'expired'; at: string };

type CheckResult = { ok: true; accepted: AcceptedDecision; request: ApprovalRequest } | { ok: false; reason: string };

/**
 * The approval gate's state: open requests, and how each closed request was closed. Decisions from the signal and the
 * update go through the same {@link ApprovalGate.check}, so both accept and refuse exactly the same payloads.
 */
export class ApprovalGate {
  readonly #pending = new Map<string, ApprovalRequest>();
  readonly #closed = new Map<string, Closure>();

  /** Requests waiting for a decision, oldest first. */
  pending(): ApprovalRequest[] {
    return [...this.#pending.values()];
  }

  /** Opens a request. */
  open(request: ApprovalRequest): void {
    this.#pending.set(request.requestId, request);
  }

  /**
   * Checks a decision payload against the gate's state without changing anything.
   * @param payload - untrusted input from a signal or update
   * @returns the accepted decision, or the reason it is refused
   */
  check(payload: unknown): CheckResult {
    const parsed = DecisionSchema.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: `malformed decision: ${formatZodError(parsed.error)}` };
    const decision = parsed.data;
    const request = this.#pending.get(decision.requestId);
    if (request === undefined) {
      const closed = this.#closed.get(decision.requestId);
      if (closed === undefined) {
        const open = [...this.#pending.keys()];
        const hint = open.length > 0 ? `pending: ${open.join(', ')}` : 'nothing is pending';
        return { ok: false, reason: `unknown request id "${decision.requestId}" (${hint})` };
      }
      const how =
        closed.kind === 'expired'
          ? `expired at ${closed.at}`
          : `${pastTense(closed.accepted.decision.decision)} by ${closed.accepted.decision.approver} at ${closed.accepted.at}`;
      return { ok: false, reason: `request ${decision.requestId} is already closed (${how})` };
    }
    if (decision.argsHash !== undefined && decision.argsHash !== request.argsHash) {
      return {
        ok: false,
        reason: `stale decision: argsHash ${decision.argsHash.slice(0, 12)}… does not match the pending arguments (${request.argsHash.slice(0, 12)}…)`,
      };
    }
    let args = request.args;
    if (decision.decision === 'edit') {
      const tool = findTool(request.tool);
      const edited = tool?.parameters.safeParse(decision.args);
      if (edited === undefined || !edited.success) {
        const why = edited === undefined ? 'tool is no longer in the catalog' : formatZodError(edited.error);
        return { ok: false, reason: `edit arguments are invalid for ${request.tool}: ${why}` };
      }
      args = edited.data as Record<string, unknown>;
    }
    const at = new Date().toISOString();
    return { ok: true, request, accepted: { decision, args, argsHash: argsHash(args), at } };
  }

  /**
   * Checks and applies a decision. The caller records the audit entry.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) when {@link ApprovalGate.check} refuses it
   */
  apply(payload: unknown): { receipt: DecisionReceipt; request: ApprovalRequest; accepted: AcceptedDecision } {
    const result = this.check(payload);
    if (!result.ok) throw ApplicationFailure.nonRetryable(result.reason, FailureType.InvalidDecision);
    const { request, accepted } = result;
    this.#pending.delete(request.requestId);
    this.#closed.set(request.requestId, { kind: 'decided', accepted });
    const receipt: DecisionReceipt = {
      requestId: request.requestId,
      decision: accepted.decision.decision,
      approver: accepted.decision.approver,
      argsHash: accepted.argsHash,
    };
    return { receipt, request, accepted };
  }

  /**
   * Waits on a durable timer until the request is decided or its deadline passes; at the deadline the request is
   * closed as expired (denied).
   * @param requestId - an open request
   * @param timeoutMs - time left until the deadline, in ms
   */
  async waitForDecision(requestId: string, timeoutMs: number): Promise<Closure> {
    const decided = await condition(() => this.#closed.has(requestId), Math.max(timeoutMs, 1));
    if (!decided) {
      this.#pending.delete(requestId);
      this.#closed.set(requestId, { kind: 'expired', at: new Date().toISOString() });
    }
    const closure = this.#closed.get(requestId);
    if (closure === undefined) throw new Error(`request ${requestId} closed without a record`);
    return closure;
  }
}

function pastTense(kind: Decision['decision']): string {
  return kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'edited and approved';
}
