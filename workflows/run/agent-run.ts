import { ContinueAsNew, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { StopRequest } from '../../src/shared/decision';
import { DEFAULT_SYSTEM_PROMPT, type WorkflowRunInput } from '../../src/shared/run-input';
import type {
  AgentRunResult,
  ApprovalRequest,
  AuditEntry,
  DecisionReceipt,
  RunStatus,
  ToolOutcome,
} from '../../src/shared/run-state';
import { ApprovalGate } from '../gate/approval-gate';
import { verdictOf } from '../gate/closure';
import { DecisionPath } from '../gate/decision-path';
import { Notifier } from '../gate/notifier';
import { Interruptions } from '../pause/interruptions';
import { Pauses } from '../pause/pauses';
import { restore, type CarriedState, type ContinuableState } from './continuation';
import { ContinueWatch } from './continue-watch';
import { InFlight } from './in-flight';
import { hasPatch, PATCHES } from '../patches';
import { AgentLoop } from './loop';
import { StatusBoard } from './status';
import { openCarried, pinAtStart } from './start';
import { RunStopped, Stopper } from './stopper';
import { ToolRunner } from './tool-runner';

/**
 * One agent run's state and its answers to the outside world. The workflow entry wires each signal, update and query
 * to one of its parts: decisions to {@link DecisionPath}, pause answers to {@link Pauses}, stops to {@link Stopper};
 * the queries to the methods here. {@link AgentRun.run} pins the policy, runs the loop and finishes the run.
 */
export class AgentRun {
  /** Decisions on approval requests (signal `decision`, update `decide`). */
  readonly decisions: DecisionPath;
  /** Answers to the run's pauses (update `resume`). */
  readonly pauses: Pauses;
  /** Stops (update `stop`, and answers that end the run). */
  readonly stopper: Stopper;
  readonly #input: WorkflowRunInput;
  readonly #carried: CarriedState | undefined;
  /** Whether the run takes the worker-owned authority path (every run started since 2026-12-01). */
  readonly #proving: boolean;
  readonly #workflowId = workflowInfo().workflowId;
  readonly #state: ContinuableState;
  readonly #gate: ApprovalGate;
  readonly #status: StatusBoard;
  readonly #loop: AgentLoop;
  readonly #watch: ContinueWatch;
  readonly #notifier: Notifier;

  /**
   * Builds the run's state, fresh or from what an earlier segment carried. The carried requests are open again
   * before the workflow entry sets any handler, so a decision in the first activation finds them.
   * @param input - the validated run input
   * @param carried - set only when the run continued as new
   * @param proving - whether the run takes the worker-owned authority path (see `PATCHES.workerOwnedAuthority`)
   */
  constructor(input: WorkflowRunInput, carried: CarriedState | undefined, proving: boolean) {
    this.#input = input;
    this.#carried = carried;
    this.#proving = proving;
    const state = restore(input, carried);
    this.#state = state;
    const watch = new ContinueWatch(input.continueAsNewAfterEvents);
    this.#watch = watch;
    const inFlight = new InFlight(() => watch.observe());
    state.outbox?.onAnswer(() => watch.observe());
    this.#status = new StatusBoard(this.#workflowId, input.goal, state.progress, carried?.phase);
    const notifier = new Notifier(this.#workflowId, state.audit, inFlight);
    this.#notifier = notifier;
    this.pauses = new Pauses(state.policy, state.audit, this.#status, (pause) => notifier.sendPause(pause, input.goal));
    const tools = new ToolRunner({
      audit: state.audit,
      inFlight,
      pauses: this.pauses,
      policy: state.policy,
      maxAttempts: input.toolMaxAttempts,
    });
    this.#gate = new ApprovalGate({
      workflowId: this.#workflowId,
      goal: input.goal,
      approvalTimeoutMs: input.approvalTimeoutMs,
      policy: state.policy,
      audit: state.audit,
      notifier,
      status: this.#status,
      inFlight,
      tools,
    });
    if (carried !== undefined) this.#gate.restore(carried.gate);
    this.#status.watch({ pending: () => this.#gate.pending(), pause: () => this.pauses.current() });
    this.decisions = new DecisionPath(this.#gate, state.audit);
    this.stopper = new Stopper(state.progress, this.#gate, state.policy);
    this.#loop = new AgentLoop({
      input,
      workflowId: this.#workflowId,
      state,
      gate: this.#gate,
      pauses: this.pauses,
      tools,
      status: this.#status,
      inFlight,
      watch,
      stopper: this.stopper,
      proving,
    });
    this.#busy = () => !inFlight.idle || this.#loop.busy;
  }

  /** Whether the agent has a step in flight: a model call, or an activity the run waits for. */
  readonly #busy: () => boolean;

  // The message handlers. Each signal and accepted update is in the history, so the run reads the history's length
  // first (a validator does not: a rejected update is not in the history; see ContinueWatch).

  /** Update `resume`: a person's answer to the open pause (see `Pauses.answer`). */
  answerPause(payload: unknown): { pauseId: string; action: string } {
    this.#watch.observe();
    return this.pauses.answer(payload);
  }

  /** Signal `decision`: a decision, checked and taken or refused (see `DecisionPath.receive`). */
  receiveDecision(payload: unknown): void {
    this.#watch.observe();
    this.decisions.receive(payload);
  }

  /** Update `decide`: a decision its validator accepted (see `DecisionPath.decide`). */
  decide(payload: unknown): DecisionReceipt {
    this.#watch.observe();
    return this.decisions.decide(payload);
  }

  /** Update `stop`: a person stops the run (see `Stopper.stop`). */
  stop(payload: unknown): { stopped: true; closedRequests: number } {
    this.#watch.observe();
    return this.stopper.stop(payload);
  }

  /**
   * Runs the agent to its end: pins the policy (a new run), runs the loop, finishes.
   * @returns the result; a run stopped by a person completes with `stopped` set
   * @throws ContinueAsNew when the run goes on in a new segment; the loop's failure; a Temporal cancellation
   */
  async run(): Promise<AgentRunResult> {
    const input = this.#input;
    const { audit, progress } = this.#state;
    if (this.#carried === undefined) this.#status.publish();
    try {
      // Inside the try: a run refused at its start (unknown policy, a start that must be signed) ends as Failed.
      await this.#begin();
      if (this.#state.outbox !== undefined && hasPatch(PATCHES.auditWhenQuiet)) {
        this.#state.outbox.sendWhenQuiet(this.#busy);
      }
      this.#state.outbox?.start();
      this.#status.publish();
      await this.stopper.run(() => this.#loop.run(this.#carried));
    } catch (err) {
      // Continuing as new is how a long run goes on, not a failure.
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err) || err instanceof RunStopped) {
        const stop = progress.stop ?? { by: 'system', reason: 'the workflow was cancelled through Temporal' };
        this.#finishStopped(stop);
        await this.#closeRecord('stopped');
        if (progress.stop === undefined) throw err;
        return this.#result(`Stopped by ${stop.by}: ${stop.reason}`);
      }
      this.#status.end('failed', 'Failed');
      await this.#closeRecord('failed');
      throw err;
    }
    const answer = progress.answer ?? `Stopped after ${input.maxSteps} model calls without a final answer.`;
    progress.answer = answer;
    this.#status.end('completed', 'Completed');
    const c = progress.counts;
    audit.append({
      kind: 'run_completed',
      actor: 'system',
      detail: `completed after ${progress.step} model calls: ${c.executed} executed, ${c.approvals} approved, ${c.rejections} rejected, ${c.expiries} expired, ${c.denied} denied`,
    });
    await this.#closeRecord('completed');
    return this.#result(answer);
  }

  /**
   * Closes the workflow's audit chain with its last entry and waits until the audit store has every entry (runs
   * that write the store; a store that is down holds the run here, durably, until it is back).
   * @param how - how the run ended, for the entry's text
   */
  async #closeRecord(how: 'completed' | 'stopped' | 'failed'): Promise<void> {
    const { audit, outbox } = this.#state;
    if (outbox === undefined) return;
    // Notifications still in flight put their outcome on the trail first (runs from before had none in flight).
    await this.#notifier.settled();
    audit.append({
      kind: 'audit_closed',
      actor: 'system',
      detail: `the run ${how}; this entry closes its audit chain, ${audit.nextSeq()} entries in all`,
    });
    await outbox.drained();
  }

  /**
   * Pins the policy, the registry and the requester of a new run and starts its conversation; in a continued run,
   * checks the seal of what it carried first.
   */
  async #begin(): Promise<void> {
    const input = this.#input;
    const { policy, audit, conversation } = this.#state;
    if (this.#carried !== undefined) {
      // Nothing carried runs before its seal is checked: decisions may land on carried requests meanwhile, but no
      // tool activity starts until the loop does.
      if (this.#proving) await openCarried(this.#carried, policy);
      return;
    }
    const pinned = await pinAtStart(input, policy, this.#proving);
    this.#state.interruptions = new Interruptions(policy.policy.interruptions);
    audit.append({
      kind: 'run_started',
      actor: policy.requestedBy,
      detail: `goal: ${input.goal} (model: ${input.model.provider}; ${pinned})`,
    });
    conversation.push({ role: 'system', content: input.systemPrompt ?? DEFAULT_SYSTEM_PROMPT });
    conversation.push({ role: 'user', content: input.goal });
  }

  /** Query `pendingApprovals`. */
  pendingApprovals(): ApprovalRequest[] {
    return this.#gate.pending();
  }

  /** Query `auditTrail`: this segment's entries. */
  auditTrail(): AuditEntry[] {
    return this.#state.audit.entries();
  }

  /** Query `outcomes`: this segment's outcomes. */
  outcomes(): ToolOutcome[] {
    return this.#state.progress.outcomes.map((o) => ({ ...o }));
  }

  /** Query `status`. */
  status(): RunStatus {
    const { progress, policy, interruptions, earlierRuns } = this.#state;
    const pause = this.pauses.current();
    const { name, sha256 } = policy.pinned;
    return {
      workflowId: this.#workflowId,
      goal: this.#input.goal,
      requestedBy: policy.requestedBy,
      phase: this.#status.visiblePhase(),
      step: progress.step,
      pendingRequests: this.#gate.pending().length,
      counts: { ...progress.counts },
      policyVersion: policy.version,
      ...(name !== undefined ? { policyName: name } : {}),
      ...(sha256 !== undefined ? { policySha256: sha256 } : {}),
      spentUsd: interruptions.spentUsd,
      earlierRuns: [...earlierRuns],
      ...(pause !== undefined ? { pause } : {}),
      ...(progress.answer !== undefined ? { answer: progress.answer } : {}),
    };
  }

  #result(answer: string): AgentRunResult {
    const { progress, policy, earlierRuns, conversation } = this.#state;
    return {
      answer,
      steps: progress.step,
      outcomes: progress.outcomes,
      counts: { ...progress.counts },
      policyVersion: policy.version,
      earlierRuns: [...earlierRuns],
      transcriptKey: conversation.transcript.key,
      ...(progress.stop !== undefined ? { stopped: progress.stop } : {}),
    };
  }

  #finishStopped(stop: StopRequest): void {
    // The `stop` update closed the open requests already; a cancellation through Temporal closes them here.
    const closed = [...this.stopper.closed, ...this.#gate.stopAll(stop.by, stop.reason)];
    const at = new Date().toISOString();
    for (const request of closed) {
      const verdict = verdictOf(request, { kind: 'stopped', by: stop.by, reason: stop.reason, at });
      if (verdict.kind === 'settled') this.#state.progress.recordOnce(verdict.settled);
    }
    this.#state.audit.append({
      kind: 'run_stopped',
      actor: stop.by,
      detail: `stopped: ${stop.reason}${closed.length > 0 ? ` (${closed.length} pending request(s) closed)` : ''}`,
    });
    this.#status.end('stopped', 'Stopped');
  }
}
