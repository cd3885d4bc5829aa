import { ApplicationFailure, condition } from '@temporalio/workflow';
import { parseDecisionMessage, type Decision } from '../../src/shared/decision';
import { FailureType } from '../../src/shared/errors';
import { argsHash } from '../../src/shared/hash';
import { checkAuthority, editAllowed, eligibleApprovers } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { ApprovalRequest, DecisionReceipt } from '../../src/shared/run-state';
import { parseToolCall } from '../../src/shared/tools/parse-call';
import { hasPatch, PATCHES } from '../patches';
import type { AuditLog } from '../run/audit-log';
import type { RunPolicy } from '../run/run-policy';
import type { Checked } from '../validated-update';
import { describeClosure, verdictOf, type Closure, type Verdict } from './closure';
import type { Notifier } from './notifier';
import { buildRequest, type ProposedCall } from './request';

/** The gate's state as a run carries it across continue-as-new. */
export interface GateState {
  open: { request: ApprovalRequest; gate: ResolvedGate }[];
  closed: [string, Closure][];
}

/** A decision the gate accepted, with its effect on the request. */
export interface Accepted {
  decision: Decision;
  request: ApprovalRequest;
  /** For an edit: the edited arguments, their hash and their gate. */
  edit?: { args: Record<string, unknown>; argsHash: string; gate: ResolvedGate };
}

/** What the gate works with: the run's identity, policy, audit trail, notifications and status. */
export interface GateDeps {
  workflowId: string;
  goal: string;
  /** The run's approval timeout, in ms. */
  approvalTimeoutMs: number;
  policy: RunPolicy;
  audit: AuditLog;
  notifier: Notifier;
  /** Told whenever what waits changes (a request opens, escalates or closes). */
  status: { publish(): void };
}

/**
 * The approval gate: the lifecycle of every approval request of a run, from the proposed call to its verdict. It
 * builds the request, opens it, tells its deciders, waits on durable timers (reminders, escalation, the deadline),
 * checks and applies decisions, and says what the closure means for the call; it writes its own audit entries
 * (requested, escalated, decision, expired, notifications). Decisions from the signal and the update go through the
 * same {@link ApprovalGate.check}, so both accept and refuse exactly the same payloads.
 */
export class ApprovalGate {
  readonly #pending = new Map<string, ApprovalRequest>();
  readonly #gates = new Map<string, ResolvedGate>();
  readonly #closed = new Map<string, Closure>();
  readonly #deps: GateDeps;

  constructor(deps: GateDeps) {
    this.#deps = deps;
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
   * pending again at once, with their deadlines unchanged; their waits resume through {@link ApprovalGate.awaitVerdict}.
   */
  restore(state: GateState): void {
    for (const [requestId, closure] of state.closed) this.#closed.set(requestId, closure);
    for (const { request, gate } of state.open) this.#add(request, gate);
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

  /** The gate's own record of an open request (edits change it in place), if it is open. */
  openRequest(requestId: string): ApprovalRequest | undefined {
    return this.#pending.get(requestId);
  }

  /**
   * Opens the request for a soft- or hard-gated call: builds it, puts it on the audit trail and tells its deciders.
   * @param call - the proposed call
   * @param gate - its resolved gate
   * @returns the gate's own record of the request, to wait on with {@link ApprovalGate.awaitVerdict}
   */
  async open(call: ProposedCall, gate: ResolvedGate): Promise<ApprovalRequest> {
    const { workflowId, goal, approvalTimeoutMs, policy, audit, notifier, status } = this.#deps;
    const request = buildRequest(call, gate, {
      workflowId,
      goal,
      requestedBy: policy.requestedBy,
      policy: policy.policy,
      approvalTimeoutMs,
    });
    this.#add(request, gate);
    audit.append({
      kind: 'approval_requested',
      actor: 'agent',
      requestId: request.requestId,
      tool: request.tool,
      argsHash: request.argsHash,
      detail: `${request.summary} [${request.gate} gate: ${gate.because}]; deadline ${request.deadline}`,
    });
    status.publish();
    const soft = request.gate === 'soft';
    await notifier.send(
      soft ? 'soft_gate_opened' : 'approval_requested',
      request,
      soft
        ? `${request.summary} will run at ${request.deadline} unless someone rejects it`
        : `${request.summary} needs ${request.quorum} approval(s) by ${request.deadline}`,
    );
    return request;
  }

  /**
   * Waits on durable timers until the request closes, then says what that means for its call. Before each stage's
   * deadline a reminder goes out; at the deadline the request escalates to the next stage when there is one, a soft
   * gate proceeds, and a hard gate is denied (an expiry goes on the audit trail). A hard gate never approves on timeout.
   * @param request - the gate's own record of the request
   * @throws ApplicationFailure `ClosureMissing` if the request left the gate without a closure (a bug)
   */
  async awaitVerdict(request: ApprovalRequest): Promise<Verdict> {
    const closure = await this.#waitForClosure(request.requestId);
    this.#deps.status.publish();
    if (closure.kind === 'expired') {
      this.#deps.audit.append({
        kind: 'approval_expired',
        actor: 'system',
        requestId: request.requestId,
        tool: request.tool,
        argsHash: request.argsHash,
        detail: `no decision before the deadline ${closure.at}: the call was denied and did not run`,
      });
    }
    return verdictOf(request, closure);
  }

  /**
   * Tells the deciders that a request is settled and nothing more is theirs to decide (not after a stop: the run is
   * ending). Call it once the call has run or settled.
   */
  async announceClosure(request: ApprovalRequest, closure: Closure): Promise<void> {
    if (closure.kind === 'stopped' || !hasPatch(PATCHES.notifyDecidersOnClosure)) return;
    const text = `${request.summary}: ${describeClosure(closure)}; nothing more to decide`;
    await this.#deps.notifier.send('request_closed', request, text);
  }

  /**
   * Checks a decision message (one decision or a batch) without changing anything. A batch is all or nothing.
   * @param payload - untrusted input from a signal or update
   */
  check(payload: unknown): Checked<Accepted[]> {
    const parsed = parseDecisionMessage(payload);
    if (!parsed.ok) return parsed;
    const ids = parsed.decisions.map((d) => d.requestId);
    if (new Set(ids).size !== ids.length) return { ok: false, reason: 'a batch names the same request twice' };
    const accepted: Accepted[] = [];
    for (const d of parsed.decisions) {
      const one = this.#checkOne(d);
      if (!one.ok) return parsed.decisions.length > 1 ? { ok: false, reason: `${d.requestId}: ${one.reason}` } : one;
      accepted.push(one.value);
    }
    return { ok: true, value: accepted };
  }

  #checkOne(d: Decision): Checked<Accepted> {
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
    const { policy } = this.#deps;
    const authority = checkAuthority(policy.policy, gate, request.stage, d.approver, policy.requestedBy);
    if (!authority.ok) return authority;
    if (d.decision === 'approve' && request.approvals.some((a) => a.approver === d.approver)) {
      const needed = request.quorum - request.approvals.length;
      return {
        ok: false,
        reason: `${d.approver} already approved; ${needed} more approval(s) needed from someone else`,
      };
    }
    if (d.decision !== 'edit') return { ok: true, value: { decision: d, request } };
    const edited = parseToolCall(request.tool, d.args);
    if (!edited.ok) return { ok: false, reason: `the edit is refused: ${edited.reason}` };
    const newGate = policy.resolve(request.tool, edited.args);
    const allowed = editAllowed(policy.policy, gate, newGate, d.approver, policy.requestedBy);
    if (!allowed.ok) return allowed;
    const edit = { args: edited.args, argsHash: argsHash(edited.args), gate: newGate };
    return { ok: true, value: { decision: d, request, edit } };
  }

  /**
   * Applies decisions that {@link ApprovalGate.check} accepted, in order, each with its audit entry.
   * @param accepted - what the check accepted (at least one)
   * @returns the receipt of the last decision
   */
  apply(accepted: readonly Accepted[]): DecisionReceipt {
    let receipt: DecisionReceipt | undefined;
    for (const a of accepted) receipt = this.#applyOne(a);
    this.#deps.status.publish();
    if (receipt === undefined) {
      throw ApplicationFailure.nonRetryable('no decision to apply', FailureType.InvalidDecision);
    }
    return receipt;
  }

  #applyOne({ decision: d, request, edit }: Accepted): DecisionReceipt {
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
    this.#deps.audit.append({
      kind: 'decision',
      actor: d.approver,
      requestId: request.requestId,
      tool: request.tool,
      argsHash: request.argsHash,
      detail: `${request.summary}: ${decisionInWords(d, request, receipt)}`,
    });
    return receipt;
  }

  /** Closes every open request as stopped (the run is ending). */
  stopAll(by: string, reason: string): ApprovalRequest[] {
    const open = [...this.#pending.values()];
    for (const r of open) this.#close(r.requestId, { kind: 'stopped', by, reason, at: new Date().toISOString() });
    return open;
  }

  #add(request: ApprovalRequest, gate: ResolvedGate): void {
    this.#pending.set(request.requestId, request);
    this.#gates.set(request.requestId, gate);
  }

  #close(requestId: string, closure: Closure): void {
    this.#pending.delete(requestId);
    this.#closed.set(requestId, closure);
  }

  async #waitForClosure(requestId: string): Promise<Closure> {
    const isClosed = () => this.#closed.has(requestId);
    for (;;) {
      const request = this.#pending.get(requestId);
      const gate = this.#gates.get(requestId);
      if (request === undefined || gate === undefined) break;
      const deadline = Date.parse(request.deadline);
      const remindAt = deadline - gate.reminderBeforeMs;
      if (request.gate === 'hard' && gate.reminderBeforeMs > 0 && remindAt > Date.now()) {
        const summary = `Reminder before deadline: ${request.summary}`;
        if (await condition(isClosed, remindAt - Date.now(), { summary })) break;
        const text = `reminder: ${request.summary} is waiting; its deadline is ${request.deadline}`;
        await this.#deps.notifier.send('reminder', { ...request }, text);
      }
      const label = `${request.gate === 'soft' ? 'Veto window' : 'Approval deadline'}: ${request.summary}`;
      if (await condition(isClosed, Math.max(deadline - Date.now(), 1), { summary: label })) break;
      const at = new Date().toISOString();
      if (request.onTimeout === 'proceed') {
        this.#close(requestId, { kind: 'proceeded', at });
      } else if (request.stage + 1 < request.stages.length) {
        await this.#escalate(request);
      } else {
        this.#close(requestId, { kind: 'expired', at });
      }
    }
    const closure = this.#closed.get(requestId);
    if (closure === undefined) {
      throw ApplicationFailure.nonRetryable(`request ${requestId} closed without a record`, FailureType.ClosureMissing);
    }
    return closure;
  }

  /** Moves a request to its next stage: new deciders, a new deadline, approvals so far cleared. */
  async #escalate(request: ApprovalRequest): Promise<void> {
    const { policy, audit, notifier, status } = this.#deps;
    request.stage += 1;
    const stage = request.stages[request.stage];
    const timeoutMs = stage?.timeoutMs ?? this.#deps.approvalTimeoutMs;
    request.deadline = new Date(Date.now() + timeoutMs).toISOString();
    request.eligibleApprovers = eligibleApprovers(policy.policy, stage?.groups ?? []);
    request.approvals = [];
    if (request.stage + 1 >= request.stages.length) request.onTimeout = 'deny';
    const view = { ...request };
    audit.append({
      kind: 'approval_escalated',
      actor: 'system',
      requestId: view.requestId,
      tool: view.tool,
      argsHash: view.argsHash,
      detail: `no decision in time: escalated to ${stage?.groups.join(', ') || 'anyone'} until ${view.deadline}`,
    });
    status.publish();
    await notifier.send('escalated', view, `escalated to you: ${view.summary}; deadline ${view.deadline}`);
  }
}

/** A decision in words for its audit entry, e.g. `approved (1 more approval(s) needed)`. */
function decisionInWords(d: Decision, request: ApprovalRequest, receipt: DecisionReceipt): string {
  const reason = d.decision !== 'reject' && d.reason ? ` (${d.reason})` : '';
  switch (d.decision) {
    case 'reject':
      return `rejected: ${d.reason ?? ''}`;
    case 'respond':
      return `answered with feedback: ${d.message ?? ''}${reason}`;
    case 'approve':
    case 'edit': {
      const what = d.decision === 'edit' ? `edited to ${JSON.stringify(request.args)} and approved` : 'approved';
      const more = receipt.closed ? '' : ` (${receipt.approvalsNeeded} more approval(s) needed)`;
      return `${what}${more}${reason}`;
    }
  }
}
