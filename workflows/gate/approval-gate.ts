import { ApplicationFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { NotifiedClosure, RunActivities } from '../../src/shared/activity-types';
import type { Decision } from '../../src/shared/decision';
import { FailureType } from '../../src/shared/errors';
import { eligibleApprovers } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { Policy } from '../../src/shared/policy/schema';
import type { ApprovalRequest, DecisionReceipt, ResolvedEffect } from '../../src/shared/run-state';
import { hasPatch, PATCHES } from '../patches';
import type { AuditLog } from '../run/audit-log';
import type { RunAuthority } from '../run/authority';
import type { InFlight } from '../run/in-flight';
import type { ToolRunner } from '../run/tool-runner';
import type { Checked } from '../validated-update';
import { describeClosure, verdictOf, type Closure, type Verdict } from './closure';
import { checkDecisions, type Accepted } from './decision-check';
import type { Notifier, NotifierState } from './notifier';
import { buildRequest, gateTerms, type ProposedCall } from './request';
import { countClosed, countEscalated, countOpened } from './gate-metrics';

export type { Accepted } from './decision-check';

const { approverRegistry } = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** The gate's state as a run carries it across continue-as-new. */
export interface GateState {
  open: { request: ApprovalRequest; gate: ResolvedGate }[];
  closed: [string, Closure][];
  /** Where the open requests' notifications were posted (since 2026-12-02; absent when nowhere). */
  posted?: NotifierState;
}

/** What the gate works with: the run's identity, policy, audit trail, notifications and status. */
export interface GateDeps {
  workflowId: string;
  goal: string;
  /** The run's approval timeout, in ms. */
  approvalTimeoutMs: number;
  policy: RunAuthority;
  audit: AuditLog;
  notifier: Notifier;
  /** Told whenever what waits changes (a request opens, escalates or closes). */
  status: { publish(): void };
  inFlight: InFlight;
  /** Resolves what a call will touch (the tool's precheck) when its request opens. */
  tools: ToolRunner;
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
  /** Edited requests whose effect is resolved again when their wait wakes up. */
  readonly #effectStale = new Set<string>();
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
    const posted = this.#deps.notifier.snapshot([...this.#pending.keys()]);
    return {
      open: [...this.#pending.values()].map((request) => ({
        request: { ...request, approvals: [...request.approvals] },
        gate: this.#gates.get(request.requestId) as ResolvedGate,
      })),
      closed: [...this.#closed.entries()].slice(-keepClosed),
      ...(posted.length > 0 ? { posted } : {}),
    };
  }

  /**
   * Takes over the state an earlier segment of the run left ({@link ApprovalGate.snapshot}). The open requests are
   * pending again at once, with their deadlines unchanged; their waits resume through {@link ApprovalGate.awaitVerdict}.
   */
  restore(state: GateState): void {
    for (const [requestId, closure] of state.closed) this.#closed.set(requestId, closure);
    for (const { request, gate } of state.open) this.#add(request, gate);
    this.#deps.notifier.restore(state.posted);
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
    let effect: ResolvedEffect | undefined;
    if (hasPatch(PATCHES.requestAuthority)) {
      // Decisions on the request are checked against the registry as it is now, and bind what the call will touch.
      const [registry, resolved] = await Promise.all([
        this.#deps.inFlight.track(approverRegistry()),
        this.#deps.tools.resolveEffect(call.tool, call.args),
      ]);
      policy.useRegistry(registry);
      effect = resolved;
    }
    const { sha256 } = policy.pinned;
    const request = buildRequest(
      call,
      gate,
      {
        workflowId,
        goal,
        requestedBy: policy.requestedBy,
        policy: policy.policy,
        ...(sha256 !== undefined ? { policySha256: sha256 } : {}),
        approvalTimeoutMs,
      },
      effect,
    );
    this.#add(request, gate);
    countOpened(request);
    audit.append({
      kind: 'approval_requested',
      actor: 'agent',
      requestId: request.requestId,
      tool: request.tool,
      argsHash: request.argsHash,
      detail:
        `${request.summary} [${request.gate} gate: ${gate.because}]; deadline ${request.deadline}` +
        (effect !== undefined ? `; touches: ${effect.lines.join('; ')}` : ''),
      facts: { gate: request.gate, because: gate.because, ...(gate.rule !== undefined ? { rule: gate.rule } : {}) },
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
        facts: { gate: request.gate },
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
    await this.#deps.notifier.send('request_closed', request, text, notifiedClosure(closure));
  }

  /**
   * Sends an approved request back to its deciders because what the call would touch changed after they approved
   * (an address rewritten in between): its approvals are cleared, its first stage starts again with a new deadline,
   * and the request shows the new effect and the difference.
   * @param request - the gate's own record of the request (closed as approved)
   * @param effect - what the call would touch now
   * @param difference - what changed, in words
   */
  async reopen(request: ApprovalRequest, effect: ResolvedEffect, difference: string): Promise<void> {
    const { policy, audit, notifier, status, approvalTimeoutMs } = this.#deps;
    const gate = this.#gates.get(request.requestId) ?? policy.resolve(request.tool, request.args);
    Object.assign(request, gateTerms(gate, policy.policy, approvalTimeoutMs), {
      approvals: [],
      effect,
      revision: (request.revision ?? 0) + 1,
    });
    this.#closed.delete(request.requestId);
    this.#add(request, gate);
    audit.append({
      kind: 'approval_reopened',
      actor: 'system',
      requestId: request.requestId,
      tool: request.tool,
      argsHash: request.argsHash,
      detail: `${request.summary}: back to its deciders, ${difference}; touches now: ${effect.lines.join('; ')}`,
      facts: { gate: request.gate },
    });
    status.publish();
    await notifier.send(
      'approval_requested',
      request,
      `${request.summary} changed after it was approved (${difference}): decide again by ${request.deadline}`,
    );
  }

  /**
   * Checks a decision message (one decision or a batch) without changing anything. A batch is all or nothing.
   * @param payload - untrusted input from a signal or update
   */
  check(payload: unknown): Checked<Accepted[]> {
    return checkDecisions(
      payload,
      { pending: this.#pending, gates: this.#gates, closed: this.#closed },
      this.#deps.policy,
    );
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

  #applyOne({ decision: d, request, edit, identity }: Accepted): DecisionReceipt {
    const at = new Date().toISOString();
    const who = identity.subject;
    // Read before an edit rebuilds the request: the stage the decider was deciding at.
    const groups = deciderGroups(this.#deps.policy.policy, request, who);
    let closure: Closure | undefined;
    if (d.decision === 'reject') closure = { kind: 'rejected', by: who, reason: d.reason ?? '', at };
    else if (d.decision === 'respond') closure = { kind: 'responded', by: who, message: d.message ?? '', at };
    else {
      if (edit !== undefined) this.#edit(request, edit, who);
      request.approvals.push({
        approver: who,
        at,
        ...(identity.via !== undefined ? { via: identity.via } : {}),
        signed: identity.signed,
      });
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
    else if (d.decision === 'approve' || d.decision === 'edit') this.#announceProgress(request, who);
    const receipt: DecisionReceipt = {
      requestId: request.requestId,
      decision: d.decision,
      approver: who,
      argsHash: request.argsHash,
      closed: closure !== undefined,
      approvalsNeeded: closure !== undefined ? 0 : request.quorum - request.approvals.length,
    };
    this.#deps.audit.append({
      kind: 'decision',
      actor: identity.signed ? identity.label : `${identity.label} (unsigned)`,
      requestId: request.requestId,
      tool: request.tool,
      argsHash: request.argsHash,
      detail: `${request.summary}: ${decisionInWords(d, request, receipt)}`,
      facts: {
        decision: d.decision,
        ...(identity.signed ? { signer: who } : {}),
        groups,
        closed: receipt.closed,
      },
    });
    return receipt;
  }

  /** Tells the deciders that an approval counted and how many more the request needs (new path only). */
  #announceProgress(request: ApprovalRequest, who: string): void {
    const more = request.quorum - request.approvals.length;
    const text = `${who} approved ${request.summary}; ${more} more approval(s) needed by ${request.deadline}`;
    this.#deps.notifier.sendAside('quorum_progress', request, text);
  }

  /**
   * Applies an edit. The edited call is a new proposal: it carries its own gate, approvals given before the edit do not
   * count for it, and the editor's approval (added by the caller) does. Since 2026-12-01 the whole request is rebuilt
   * as if the model had proposed the edited call (kind, stages, deadline, what happens at it, deciders, quorum,
   * summary); runs from before keep the old request with the new quorum, as they ran.
   */
  #edit(request: ApprovalRequest, edit: NonNullable<Accepted['edit']>, editor: string): void {
    const { policy, approvalTimeoutMs } = this.#deps;
    request.editedFrom ??= { args: request.args, argsHash: request.argsHash, by: editor };
    request.args = edit.args;
    request.argsHash = edit.argsHash;
    request.approvals = [];
    this.#gates.set(request.requestId, edit.gate);
    if (!hasPatch(PATCHES.rebuildOnEdit)) {
      request.quorum = edit.gate.quorum;
      return;
    }
    const tool = policy.findTool(request.tool);
    if (tool !== undefined) request.summary = tool.describe(edit.args);
    // A gate that needs no approval (auto, auto_logged) is met by the editor's own approval: a quorum of one.
    const waits = edit.gate.kind === 'soft' || edit.gate.kind === 'hard';
    Object.assign(request, waits ? gateTerms(edit.gate, policy.policy, approvalTimeoutMs) : { quorum: 1 });
    request.because = `edited by ${editor}: ${edit.gate.because}`;
    request.revision = (request.revision ?? 0) + 1;
    if (request.effect !== undefined) {
      // What the edited call touches is resolved again while the request waits (an activity, so not here).
      delete request.effect;
      this.#effectStale.add(request.requestId);
    }
  }

  /**
   * Resolves what an edited call touches, once, while its request waits; later decisions bind it and the precheck
   * compares against it. A decision taken before it resolves binds the arguments only.
   */
  async #refreshEffect(request: ApprovalRequest): Promise<void> {
    this.#effectStale.delete(request.requestId);
    const tool = this.#deps.policy.findTool(request.tool);
    if (tool === undefined) return;
    const argsHash = request.argsHash;
    const effect = await this.#deps.tools.resolveEffect(tool, request.args);
    if (effect === undefined || !this.#pending.has(request.requestId) || request.argsHash !== argsHash) return;
    request.effect = effect;
    this.#deps.status.publish();
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
    const request = this.#pending.get(requestId);
    if (request !== undefined) countClosed(request, closure);
    this.#pending.delete(requestId);
    this.#closed.set(requestId, closure);
  }

  async #waitForClosure(requestId: string): Promise<Closure> {
    for (;;) {
      const request = this.#pending.get(requestId);
      const gate = this.#gates.get(requestId);
      if (request === undefined || gate === undefined) break;
      if (this.#effectStale.has(requestId)) await this.#refreshEffect(request);
      // An edit that rebuilds the request, or a reopening, moves its deadline: the timers start again from it.
      const revision = request.revision;
      const isClosed = () => this.#closed.has(requestId) || request.revision !== revision;
      const deadline = Date.parse(request.deadline);
      const remindAt = deadline - gate.reminderBeforeMs;
      if (request.gate === 'hard' && gate.reminderBeforeMs > 0 && remindAt > Date.now()) {
        const summary = `Reminder before deadline: ${request.summary}`;
        if (await condition(isClosed, remindAt - Date.now(), { summary })) continue;
        const text = `reminder: ${request.summary} is waiting; its deadline is ${request.deadline}`;
        await this.#deps.notifier.send('reminder', { ...request }, text);
      }
      const label = `${request.gate === 'soft' ? 'Veto window' : 'Approval deadline'}: ${request.summary}`;
      if (await condition(isClosed, Math.max(deadline - Date.now(), 1), { summary: label })) continue;
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
    countEscalated(view);
    audit.append({
      kind: 'approval_escalated',
      actor: 'system',
      requestId: view.requestId,
      tool: view.tool,
      argsHash: view.argsHash,
      detail: `no decision in time: escalated to ${stage?.groups.join(', ') || 'anyone'} until ${view.deadline}`,
      facts: { gate: view.gate, stage: view.stage },
    });
    status.publish();
    await notifier.send('escalated', view, `escalated to you: ${view.summary}; deadline ${view.deadline}`);
  }
}

/** A closure as the `request_closed` notification states it. */
function notifiedClosure(c: Closure): NotifiedClosure {
  const by = c.kind === 'approved' ? c.approvers : 'by' in c ? [c.by] : [];
  return { kind: c.kind, by, text: describeClosure(c) };
}

/**
 * The groups of a request's current stage that the decider belongs to (for `hitl stats`: approvals per group).
 * @returns group names, sorted; empty when the stage names no groups
 */
function deciderGroups(policy: Policy, request: ApprovalRequest, who: string): string[] {
  const stage = request.stages[request.stage];
  return (stage?.groups ?? []).filter((g) => Object.hasOwn(policy.groups, g) && policy.groups[g]?.includes(who)).sort();
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
