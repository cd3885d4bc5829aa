import { ApplicationFailure, condition } from '@temporalio/workflow';
import { parseDecisionMessage, type Decision } from '../src/shared/decision';
import { FailureType } from '../src/shared/errors';
import { argsHash } from '../src/shared/hash';
import { checkAuthority, editAllowed, eligibleApprovers } from '../src/shared/policy/authority';
import type { ResolvedGate } from '../src/shared/policy/evaluate';
import type { Policy } from '../src/shared/policy/schema';
import type { ApprovalRequest, DecisionReceipt } from '../src/shared/run-state';
import { findTool } from '../src/shared/tools/catalog';

/** How a request was closed. */
export type Closure =
  | {
      kind: 'approved';
      args: Record<string, unknown>;
      argsHash: string;
      approvers: string[];
      edited: boolean;
      at: string;
    }
  | { kind: 'rejected'; by: string; reason: string; at: string }
  | { kind: 'responded'; by: string; message: string; at: string }
  | { kind: 'expired'; at: string }
  | { kind: 'proceeded'; at: string }
  | { kind: 'stopped'; by: string; reason: string; at: string };

/** The gate's state as a run carries it across continue-as-new. */
export interface GateState {
  open: { request: ApprovalRequest; gate: ResolvedGate }[];
  closed: [string, Closure][];
}

/** A decision the gate accepted, with its effect on the request. */
interface Accepted {
  decision: Decision;
  request: ApprovalRequest;
  /** For an edit: the edited arguments, their hash and their gate. */
  edit?: { args: Record<string, unknown>; argsHash: string; gate: ResolvedGate };
}

type Check = { ok: true; accepted: Accepted[] } | { ok: false; reason: string };

/** What the gate needs from the run. */
export interface GateContext {
  /** The run's policy (read when needed: the run loads it after its handlers are registered). */
  policy(): Policy;
  requestedBy: string;
  /** Resolves the gate of a call (for re-classifying edits). */
  resolve(tool: string, args: Record<string, unknown>): ResolvedGate;
}

/** Side effects the gate asks the run to perform while a request waits (notification activities). */
export interface GateHooks {
  remind(request: ApprovalRequest): Promise<void>;
  escalated(request: ApprovalRequest): Promise<void>;
}

/**
 * The approval gate's state: open requests and how each closed one was closed. Decisions from the signal and the
 * update go through the same {@link ApprovalGate.check}, so both accept and refuse exactly the same payloads.
 */
export class ApprovalGate {
  readonly #pending = new Map<string, ApprovalRequest>();
  readonly #gates = new Map<string, ResolvedGate>();
  readonly #closed = new Map<string, Closure>();
  readonly #ctx: GateContext;

  constructor(ctx: GateContext) {
    this.#ctx = ctx;
  }

  /**
   * What a run carries into its next segment when it continues as new: the open requests with their gates (stage,
   * deadline, approvals so far and all), and the most recent closures, so a late decision is still told how its
   * request closed.
   * @param keepClosed - how many of the most recent closures to keep
   */
  snapshot(keepClosed: number): GateState {
    return {
      open: [...this.#pending.values()].map((request) => ({
        request: { ...request, approvals: [...request.approvals] },
        gate: this.#gates.get(request.requestId) as ResolvedGate,
      })),
      closed: [...this.#closed.entries()].slice(-keepClosed),
    };
  }

  /**
   * Takes over the state an earlier segment of the run left ({@link ApprovalGate.snapshot}). The open requests are
   * pending again at once, with their deadlines unchanged; their waits resume through {@link ApprovalGate.waitForClosure}.
   */
  restore(state: GateState): void {
    for (const [requestId, closure] of state.closed) this.#closed.set(requestId, closure);
    for (const { request, gate } of state.open) this.open(request, gate);
  }

  /**
   * Whether a request is open and none of its timers is due: no decision has closed it and workflow time is before
   * its next reminder (when reminders are on) or its deadline. Only then may the run continue as new around it: a
   * timer that fires, or a decision that arrives, is seen here at once, before the waiting code wakes up to act on it.
   * After its reminder time a request stays unquiet until it closes or escalates.
   * @param requestId - the request
   */
  quiet(requestId: string): boolean {
    const request = this.#pending.get(requestId);
    const gate = this.#gates.get(requestId);
    if (request === undefined || gate === undefined) return false;
    const deadline = Date.parse(request.deadline);
    const remindsFirst = request.gate === 'hard' && gate.reminderBeforeMs > 0;
    return Date.now() < (remindsFirst ? deadline - gate.reminderBeforeMs : deadline);
  }

  /** Requests waiting for a decision, oldest first (copies). */
  pending(): ApprovalRequest[] {
    return [...this.#pending.values()].map((r) => ({ ...r, approvals: [...r.approvals] }));
  }

  /** Opens a request decided by `gate`. */
  open(request: ApprovalRequest, gate: ResolvedGate): void {
    this.#pending.set(request.requestId, request);
    this.#gates.set(request.requestId, gate);
  }

  /**
   * Checks a decision message (one decision or a batch) without changing anything. A batch is all or nothing.
   * @param payload - untrusted input from a signal or update
   */
  check(payload: unknown): Check {
    const parsed = parseDecisionMessage(payload);
    if (!parsed.ok) return parsed;
    const ids = parsed.decisions.map((d) => d.requestId);
    if (new Set(ids).size !== ids.length) return { ok: false, reason: 'a batch names the same request twice' };
    const accepted: Accepted[] = [];
    for (const d of parsed.decisions) {
      const one = this.#checkOne(d);
      if (!one.ok) return parsed.decisions.length > 1 ? { ok: false, reason: `${d.requestId}: ${one.reason}` } : one;
      accepted.push(one.accepted);
    }
    return { ok: true, accepted };
  }

  #checkOne(d: Decision): { ok: true; accepted: Accepted } | { ok: false; reason: string } {
    const request = this.#pending.get(d.requestId);
    const gate = this.#gates.get(d.requestId);
    if (request === undefined || gate === undefined) {
      const closed = this.#closed.get(d.requestId);
      if (closed === undefined) {
        const open = [...this.#pending.keys()];
        const hint = open.length > 0 ? `pending: ${open.join(', ')}` : 'nothing is pending';
        return { ok: false, reason: `unknown request id "${d.requestId}" (${hint})` };
      }
      return { ok: false, reason: `request ${d.requestId} is already closed (${describeClosure(closed)})` };
    }
    if (d.argsHash !== request.argsHash) {
      return {
        ok: false,
        reason: `stale decision: argsHash ${d.argsHash.slice(0, 12)}… does not match the pending arguments (${request.argsHash.slice(0, 12)}…)`,
      };
    }
    const authority = checkAuthority(this.#ctx.policy(), gate, request.stage, d.approver, this.#ctx.requestedBy);
    if (!authority.ok) return authority;
    if (d.decision === 'approve' && request.approvals.some((a) => a.approver === d.approver)) {
      const needed = request.quorum - request.approvals.length;
      return {
        ok: false,
        reason: `${d.approver} already approved; ${needed} more approval(s) needed from someone else`,
      };
    }
    if (d.decision !== 'edit') return { ok: true, accepted: { decision: d, request } };
    const tool = findTool(request.tool);
    const edited = tool?.parameters.safeParse(d.args);
    if (edited === undefined || !edited.success) {
      const why = edited === undefined ? 'the tool is not in the catalog' : formatIssues(edited.error.issues);
      return { ok: false, reason: `edit arguments are invalid for ${request.tool}: ${why}` };
    }
    const args = edited.data as Record<string, unknown>;
    const newGate = this.#ctx.resolve(request.tool, args);
    const allowed = editAllowed(this.#ctx.policy(), gate, newGate, d.approver, this.#ctx.requestedBy);
    if (!allowed.ok) return allowed;
    return { ok: true, accepted: { decision: d, request, edit: { args, argsHash: argsHash(args), gate: newGate } } };
  }

  /**
   * Checks and applies a decision message. The caller records audit entries from the returned effects.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) when {@link ApprovalGate.check} refuses it
   */
  apply(
    payload: unknown,
  ): { receipt: DecisionReceipt; request: ApprovalRequest; decision: Decision; closure?: Closure }[] {
    const checked = this.check(payload);
    if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, FailureType.InvalidDecision);
    return checked.accepted.map((a) => this.#applyOne(a));
  }

  #applyOne({ decision: d, request, edit }: Accepted) {
    const at = new Date().toISOString();
    let closure: Closure | undefined;
    if (d.decision === 'reject') closure = { kind: 'rejected', by: d.approver, reason: d.reason ?? '', at };
    else if (d.decision === 'respond') closure = { kind: 'responded', by: d.approver, message: d.message ?? '', at };
    else {
      if (edit !== undefined) {
        // The edited call is a new proposal: it carries its own gate, and the editor's approval counts towards it.
        request.editedFrom ??= { args: request.args, argsHash: request.argsHash, by: d.approver };
        request.args = edit.args;
        request.argsHash = edit.argsHash;
        request.quorum = edit.gate.quorum;
        request.approvals = [];
        this.#gates.set(request.requestId, edit.gate);
      }
      request.approvals.push({ approver: d.approver, at });
      if (request.approvals.length >= request.quorum) {
        closure = {
          kind: 'approved',
          args: request.args,
          argsHash: request.argsHash,
          approvers: request.approvals.map((a) => a.approver),
          edited: request.editedFrom !== undefined,
          at,
        };
      }
    }
    if (closure !== undefined) this.#close(request.requestId, closure);
    const receipt: DecisionReceipt = {
      requestId: request.requestId,
      decision: d.decision,
      approver: d.approver,
      argsHash: request.argsHash,
      closed: closure !== undefined,
      approvalsNeeded: closure !== undefined ? 0 : request.quorum - request.approvals.length,
    };
    return { receipt, request: { ...request }, decision: d, ...(closure !== undefined ? { closure } : {}) };
  }

  /** Closes every open request as stopped (the run is ending). */
  stopAll(by: string, reason: string): ApprovalRequest[] {
    const open = [...this.#pending.values()];
    for (const r of open) this.#close(r.requestId, { kind: 'stopped', by, reason, at: new Date().toISOString() });
    return open;
  }

  #close(requestId: string, closure: Closure): void {
    this.#pending.delete(requestId);
    this.#closed.set(requestId, closure);
  }

  /**
   * Waits on durable timers until the request closes. Before each stage's deadline a reminder goes out; at the
   * deadline the request escalates to the next stage when there is one, a soft gate proceeds, and a hard gate is
   * denied. A hard gate never approves on timeout.
   */
  async waitForClosure(requestId: string, hooks: GateHooks): Promise<Closure> {
    const isClosed = () => this.#closed.has(requestId);
    for (;;) {
      const request = this.#pending.get(requestId);
      const gate = this.#gates.get(requestId);
      if (request === undefined || gate === undefined) break;
      const deadline = Date.parse(request.deadline);
      const remindAt = deadline - gate.reminderBeforeMs;
      if (request.gate === 'hard' && gate.reminderBeforeMs > 0 && remindAt > Date.now()) {
        if (
          await condition(isClosed, remindAt - Date.now(), { summary: `Reminder before deadline: ${request.summary}` })
        ) {
          break;
        }
        await hooks.remind({ ...request });
      }
      const label = `${request.gate === 'soft' ? 'Veto window' : 'Approval deadline'}: ${request.summary}`;
      if (await condition(isClosed, Math.max(deadline - Date.now(), 1), { summary: label })) break;
      const at = new Date().toISOString();
      if (request.onTimeout === 'proceed') {
        this.#close(requestId, { kind: 'proceeded', at });
      } else if (request.stage + 1 < request.stages.length) {
        request.stage += 1;
        const stage = request.stages[request.stage]!;
        request.deadline = new Date(Date.now() + stage.timeoutMs).toISOString();
        request.eligibleApprovers = eligibleApprovers(this.#ctx.policy(), stage.groups);
        request.approvals = [];
        if (request.stage + 1 >= request.stages.length) request.onTimeout = 'deny';
        await hooks.escalated({ ...request });
      } else {
        this.#close(requestId, { kind: 'expired', at });
      }
    }
    const closure = this.#closed.get(requestId);
    if (closure === undefined) throw new Error(`request ${requestId} closed without a record`);
    return closure;
  }
}

function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** A closure in words, for refusal messages. */
export function describeClosure(c: Closure): string {
  switch (c.kind) {
    case 'approved':
      return `approved by ${c.approvers.join(' and ')} at ${c.at}`;
    case 'rejected':
      return `rejected by ${c.by} at ${c.at}`;
    case 'responded':
      return `answered with feedback by ${c.by} at ${c.at}`;
    case 'expired':
      return `expired at ${c.at}`;
    case 'proceeded':
      return `soft gate window passed at ${c.at}`;
    case 'stopped':
      return `run stopped by ${c.by} at ${c.at}`;
  }
}
