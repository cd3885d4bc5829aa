import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  uuid4,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ModelActivities } from '../../src/shared/activity-types';
import { FailureType } from '../../src/shared/errors';
import { argsHash } from '../../src/shared/hash';
import type { ToolResultContent } from '../../src/shared/model/tool-result';
import type { ModelCallSettings, ModelSettings, ToolCall } from '../../src/shared/model/types';
import type { WorkflowRunInput } from '../../src/shared/run-input';
import type { ApprovalRequest } from '../../src/shared/run-state';
import { parseProposedCall } from '../../src/shared/tools/parse-call';
import type { agentRun } from '../agent-run';
import type { ApprovalGate } from '../gate/approval-gate';
import type { Verdict } from '../gate/closure';
import { gateSatisfied } from '../gate/invariant';
import type { DuePause } from '../pause/interruptions';
import type { Pauses } from '../pause/pauses';
import { PLAN_PROMPT, planReviewResult, planStep, planSteps } from '../pause/plan';
import { hasPatch, PATCHES } from '../patches';
import {
  carriedBytes,
  carry,
  CARRY_STORE_BYTES,
  CLOSED_REQUESTS_CARRIED,
  continueAsNewDue,
  restoreTurn,
  type CarriedState,
  type ContinuableState,
} from './continuation';
import { toolMessage } from './conversation';
import type { ContinueWatch } from './continue-watch';
import type { InFlight } from './in-flight';
import { carriedDigest, sealCarried } from './start';
import { settleTurn, TurnInProgress, type MidTurnState } from './mid-turn';
import type { StatusBoard } from './status';
import type { Stopper } from './stopper';
import type { ToolRun, ToolRunner } from './tool-runner';

/** How long a run about to continue as new waits for the audit store's batch in flight (ms). */
const AUDIT_SETTLE_MS = 10_000;

const MODEL_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
};
const { callModel, storeMessages } = proxyActivities<ModelActivities>(MODEL_ACTIVITY_OPTIONS);
/**
 * The local model runs in the worker's process and may wait for another run's generation first: a longer bound, and
 * a heartbeat timeout so a worker that dies mid-generation is noticed in seconds. Only `local` runs take these
 * options, and no run before the `local` provider could choose it, so no recorded history changes.
 */
const LOCAL_MODEL_ACTIVITY_OPTIONS: ActivityOptions = {
  ...MODEL_ACTIVITY_OPTIONS,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
};

/** The model settings a model call carries: the scripted scenario goes to the transcript store once, not every call. */
function callSettings(model: ModelSettings): ModelCallSettings {
  return model.provider === 'scripted' ? { provider: 'scripted' } : model;
}

/** `1 step`, `2 steps`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Where a call stands in the run: the model call that proposed it and its index in that turn. */
interface CallPosition {
  step: number;
  index: number;
}

/** What the loop works with. */
export interface LoopDeps {
  input: WorkflowRunInput;
  workflowId: string;
  state: ContinuableState;
  gate: ApprovalGate;
  pauses: Pauses;
  tools: ToolRunner;
  status: StatusBoard;
  inFlight: InFlight;
  /** Whether the history is long enough, as of the last recorded event (read in the mid-turn predicate). */
  watch: ContinueWatch;
  stopper: Stopper;
  /** Whether the run seals what it carries across continue-as-new (every run started since 2026-12-01). */
  proving: boolean;
}

/**
 * The durable agent loop and its turns: a model call, then the turn's tool calls together (gated ones wait for their
 * decisions, in any order), until the model answers without tool calls or the step budget runs out. Between turns,
 * and in the middle of a turn that only waits for people, the run continues as new when its history is long.
 */
export class AgentLoop {
  readonly #d: LoopDeps;
  readonly #midTurn: MidTurnState;
  /** The last seal made for the carried state, and the digest it covers. */
  #sealed: { digest: string; seal: string } | undefined;
  #thinking = false;
  /** The turn whose calls are running, if any. */
  #turn: TurnInProgress | undefined;

  /**
   * Whether the agent is stepping rather than waiting for people: a model call is in flight, or a turn is under way
   * with no call waiting for a decision and no pause open (its calls run, or have all settled and the next model call
   * is about to go out). Activities the run waits for are counted by `InFlight`, not here.
   */
  get busy(): boolean {
    if (this.#thinking) return true;
    const turn = this.#turn;
    return turn !== undefined && turn.waiting.size === 0 && this.#d.pauses.current() === undefined;
  }

  constructor(deps: LoopDeps) {
    this.#d = deps;
    this.#midTurn = {
      inFlight: deps.inFlight,
      paused: () => deps.pauses.current() !== undefined,
      requestQuiet: (id) => deps.gate.quiet(id),
      continueDue: () => !deps.state.progress.ending && deps.watch.due,
    };
  }

  /**
   * Runs the loop to its end: a final answer, the step budget, or a stop (thrown as `RunStopped`).
   * @param carried - what an earlier segment carried: a turn still waiting for decisions goes on first
   */
  async run(carried: CarriedState | undefined): Promise<void> {
    const { input, state } = this.#d;
    if (carried?.turn !== undefined) {
      // The run continued as new while this turn waited for decisions: the open requests go on waiting where they were.
      const open = new Map(carried.gate.open.map((o) => [o.request.requestId, o.request]));
      const resumed = carried.turn.waiting.flatMap((w) => open.get(w.requestId) ?? []);
      await this.#runTurn(restoreTurn(carried.turn), resumed);
    } else if (carried === undefined && input.review === 'plan') {
      await this.#reviewPlan();
    }
    const { progress, audit } = state;
    while (progress.answer === undefined && progress.step < input.maxSteps) {
      while (this.#continueDue()) await this.#continueAsNew();
      const turn = await this.#think();
      if (turn.toolCalls.length === 0) {
        progress.answer = turn.content ?? '';
        audit.append({ kind: 'model_turn', actor: 'agent', detail: `final answer: ${progress.answer}` });
        return;
      }
      audit.append({
        kind: 'model_turn',
        actor: 'agent',
        detail: `step ${progress.step}: proposed ${turn.toolCalls.map((c) => c.name).join(', ')}`,
      });
      for (const due of state.interruptions.due(progress.step, turn.toolCalls, state.policy.findTool))
        await this.#pauseOrStop(due);
      await this.#runTurn(new TurnInProgress(turn.toolCalls, turn.content));
    }
  }

  /**
   * One model call. Only the messages the model has not seen go with it (the transcript store holds the rest), and
   * the model's answer becomes the first unsent message of the next call. Its cost counts against the budget.
   */
  async #think(): Promise<{ content: string | null; toolCalls: ToolCall[] }> {
    const { input, workflowId, state, status } = this.#d;
    const { progress, conversation } = state;
    progress.step += 1;
    status.setPhase('thinking');
    const append = conversation.unsent;
    const { key, length, hash } = conversation.transcript;
    const scenario = length === 0 && input.model.provider === 'scripted' ? input.model.scenario : undefined;
    // try/finally rather than .finally(): no extra microtask before the run goes on (the order of commands depends on it).
    this.#thinking = true;
    let turn;
    try {
      turn = await callModel.executeWithOptions(
        {
          ...(input.model.provider === 'local' ? LOCAL_MODEL_ACTIVITY_OPTIONS : MODEL_ACTIVITY_OPTIONS),
          summary: `Model call ${progress.step} of at most ${input.maxSteps}`,
        },
        [
          {
            workflowId,
            step: progress.step,
            settings: callSettings(input.model),
            tools: state.policy.toolNames,
            transcript: { key, at: length, prefixHash: hash, append },
            ...(scenario !== undefined ? { scenario } : {}),
          },
        ],
      );
    } finally {
      this.#thinking = false;
    }
    conversation.replied(append, turn);
    state.interruptions.recordUsage(turn.usage);
    return turn;
  }

  /**
   * Runs the calls of one turn together: gated ones are pending at once and may be decided in any order; the model
   * sees every outcome before its next turn.
   * @param turn - the turn; calls already settled are not run again
   * @param resumed - open requests of the turn carried from an earlier segment
   */
  async #runTurn(turn: TurnInProgress, resumed: ApprovalRequest[] = []): Promise<void> {
    const { status, state } = this.#d;
    status.setPhase('running_tools');
    this.#turn = turn;
    const firstOutcome = state.progress.outcomes.length;
    const work = turn.calls.map(async (call, index) => {
      if (turn.settled.has(call.id)) return;
      const request = resumed.find((r) => r.toolCallId === call.id);
      const position = { step: state.progress.step, index };
      const result =
        request !== undefined
          ? await this.#awaitRequest(request, turn, position)
          : await this.#handleCall(call, turn, position);
      turn.settled.set(call.id, result);
    });
    try {
      await settleTurn(turn, Promise.all(work), this.#midTurn, (t) => this.#continueAsNew(t));
    } finally {
      this.#turn = undefined;
    }
    // Calls settle in any order; the result lists them in the order the model proposed them.
    state.progress.orderSince(firstOutcome, new Map(turn.calls.map((c, i) => [c.id, i])));
    const unstored = turn.calls.filter((c) => !turn.stored.has(c.id));
    state.conversation.pushToolResults(
      unstored,
      unstored.map((c) => turn.settled.get(c.id) ?? { status: 'error', message: 'no result' }),
    );
  }

  /**
   * The idempotency key of a call: since 2026-12-01 derived from the run (workflow id and first run id), the call's
   * position (model call and index in its turn) and the hash of the arguments that run, so a reset to any point or a
   * retry after any crash finds the call's recorded result instead of repeating its effect. Earlier runs keep the
   * random keys they started with.
   * @param legacy - the key such a run would use (`uuid4()`-based, or the request id)
   */
  #keyOf(position: CallPosition, args: Record<string, unknown>, legacy: () => string): string {
    if (!hasPatch(PATCHES.derivedIdempotencyKeys)) return legacy();
    const info = workflowInfo();
    return `${info.workflowId}:${info.firstExecutionRunId}:${position.step}.${position.index}:${argsHash(args)}`;
  }

  /** One proposed call: parsed, gated by the policy, then run, denied or sent to the approval gate. */
  async #handleCall(call: ToolCall, turn: TurnInProgress, position: CallPosition): Promise<ToolResultContent> {
    const { workflowId, state, gate: approvals, tools } = this.#d;
    const { policy, progress, audit } = state;
    const parsed = parseProposedCall(call, policy.tools);
    if (!parsed.ok) {
      audit.append({ kind: 'tool_call_invalid', actor: 'agent', tool: call.name, detail: parsed.reason });
      const outcome = { toolCallId: call.id, tool: call.name, args: parsed.args, status: 'invalid' as const };
      return progress.record({
        result: { status: 'error', message: parsed.reason },
        outcome: { ...outcome, error: parsed.reason },
      });
    }
    const { tool, args } = parsed;
    const gate = policy.resolve(tool.name, args);
    const base = { toolCallId: call.id, gate: gate.kind };
    switch (gate.kind) {
      case 'deny': {
        const message = `${tool.name} is not allowed by policy ${policy.version}: ${gate.because}`;
        const hash = argsHash(args);
        audit.append({ kind: 'tool_denied', actor: 'system', tool: tool.name, argsHash: hash, detail: message });
        return progress.record({
          result: { status: 'denied', message },
          outcome: { ...base, tool: tool.name, args, argsHash: hash, status: 'denied', error: message },
        });
      }
      case 'auto': {
        const key = this.#keyOf(position, args, () => `${workflowId}:${uuid4()}`);
        return this.#ran(await tools.run(tool, args, key, base, false));
      }
      case 'auto_logged': {
        policy.countAutoLogged(tool.name);
        const key = this.#keyOf(position, args, () => `${workflowId}:${uuid4()}`);
        return this.#ran(await tools.run(tool, args, key, base, false));
      }
      case 'soft':
      case 'hard': {
        const planned = state.plan.claim(tool.name, args, gate, policy.policy, policy.requestedBy);
        if (planned !== undefined) {
          progress.countApproval(false);
          // The plan may have been approved long ago: the precheck refreshes the context as after a request.
          const decidedBy = `${planned.by} (approved plan)`;
          const key = this.#keyOf(position, args, () => `${workflowId}:${uuid4()}`);
          return this.#ran(await tools.run(tool, args, key, { ...base, decidedBy }, true));
        }
        const proposed = {
          tool,
          toolCallId: call.id,
          args,
          reasoning: turn.reasoning,
          ...(call.alternatives !== undefined ? { alternatives: call.alternatives } : {}),
        };
        const request = await approvals.open(proposed, gate);
        return this.#awaitRequest(request, turn, position);
      }
    }
  }

  /**
   * Waits for a request's verdict (the call counts as waiting in its turn meanwhile, so the run may continue as new
   * around it), then runs the call or records how it settled, then tells the deciders it is closed. Before the tool
   * runs: the gate of the exact arguments must be met ({@link gateSatisfied}), and the precheck must find the world
   * as the reviewers approved it; when what the call touches has changed, the request goes back to them.
   * @param request - the gate's own record of the request
   * @throws ApplicationFailure `UnknownTool` when a carried request's tool has left the catalog
   */
  async #awaitRequest(
    request: ApprovalRequest,
    turn: TurnInProgress,
    position: CallPosition,
  ): Promise<ToolResultContent> {
    const { workflowId, state, gate, tools } = this.#d;
    const tool = state.policy.findTool(request.tool);
    // Only catalog tools open requests, so the tool is there unless the catalog changed under a carried request.
    if (tool === undefined) {
      throw ApplicationFailure.nonRetryable(`tool ${request.tool} left the catalog`, FailureType.UnknownTool);
    }
    let counted = false;
    for (;;) {
      turn.waiting.set(request.toolCallId, request.requestId);
      let verdict;
      try {
        verdict = await gate.awaitVerdict(request);
      } finally {
        turn.waiting.delete(request.toolCallId);
      }
      if (verdict.kind === 'settled') {
        // A stop records the outcome of the requests it closes itself (the waiter may be cancelled before it sees it).
        const result =
          verdict.closure.kind === 'stopped'
            ? state.progress.recordOnce(verdict.settled)
            : state.progress.record(verdict.settled);
        await gate.announceClosure(request, verdict.closure);
        return result;
      }
      if (verdict.approved && !counted) state.progress.countApproval(verdict.edited);
      counted = true;
      const refused = this.#refuseUnmet(request, verdict);
      if (refused !== undefined) return refused;
      const key = this.#keyOf(position, verdict.args, () => `${workflowId}:${request.requestId}`);
      let result: ToolResultContent;
      if (hasPatch(PATCHES.precheckInTool)) {
        // One activity: the ledger, the precheck, then the tool (see activities/precheck-first.ts).
        const precheck = tools.precheckFor(tool, request.effect);
        const ran = await tools.execute(tool, verdict.args, key, verdict.outcome, precheck);
        if (ran.kind === 'changed') {
          await gate.reopen(request, ran.effect, ran.difference);
          continue;
        }
        result = this.#ran(ran);
      } else {
        // Runs from before it: the precheck activity, then the tool's. Keep as it was, awaits included (the order of
        // commands from calls settling in one activation depends on them).
        const checked = await tools.precheck(tool, verdict.args, {
          idempotencyKey: key,
          outcome: verdict.outcome,
          approved: request.effect,
        });
        if (checked.kind === 'changed') {
          await gate.reopen(request, checked.effect, checked.difference);
          continue;
        }
        result =
          checked.kind === 'blocked'
            ? state.progress.record(checked.settled)
            : this.#ran(await tools.execute(tool, verdict.args, key, verdict.outcome));
      }
      await gate.announceClosure(request, verdict.closure);
      return result;
    }
  }

  /** Refuses a call whose approvals do not meet the gate of its exact arguments: answers the model, else undefined. */
  #refuseUnmet(request: ApprovalRequest, verdict: Extract<Verdict, { kind: 'run' }>): ToolResultContent | undefined {
    const { state } = this.#d;
    const met = gateSatisfied(state.policy, request, verdict.closure, verdict.args);
    if (met.ok) return undefined;
    const message = `the call did not run: ${met.reason}`;
    const hash = argsHash(verdict.args);
    state.audit.append({
      kind: 'invariant_refused',
      actor: 'system',
      requestId: request.requestId,
      tool: request.tool,
      argsHash: hash,
      detail: `${request.summary}: ${message}`,
    });
    return state.progress.record({
      result: { status: 'error', message },
      outcome: {
        ...verdict.outcome,
        tool: request.tool,
        args: verdict.args,
        argsHash: hash,
        status: 'blocked',
        error: message,
      },
    });
  }

  /** Records a tool run's outcome, or ends the run when a person aborted it over a failing tool. */
  #ran(run: ToolRun): ToolResultContent {
    if (run.kind === 'aborted') return this.#d.stopper.fromPause(run.by, run.reason);
    return this.#d.state.progress.record(run);
  }

  /** Whether the run should continue as new now (never once it is ending). */
  #continueDue(): boolean {
    return !this.#d.state.progress.ending && continueAsNewDue(this.#d.input.continueAsNewAfterEvents);
  }

  /**
   * Continues the run as new, after every update and signal handler has finished, carrying what it needs to go on:
   * the policy, counts, the transcript reference and the unsent messages, open requests and the turn in progress.
   * @param turn - the turn waiting for decisions, if any
   */
  async #continueAsNew(turn?: TurnInProgress): Promise<void> {
    const { input, state, gate, status } = this.#d;
    await condition(allHandlersFinished);
    const outbox = state.outbox;
    if (outbox?.unsettled === true) {
      // Let the audit store's batch in flight land first. The caller checks again whether the run may continue.
      return outbox.settle(AUDIT_SETTLE_MS);
    }
    if (carriedBytes(state.conversation.unsent, turn) > CARRY_STORE_BYTES && hasPatch(PATCHES.storeLargeCarry)) {
      // Decisions may arrive while the results are stored: the caller checks again whether the run may continue.
      return this.#storeBeforeContinuing(turn);
    }
    const carried = carry(state, gate.snapshot(CLOSED_REQUESTS_CARRIED), status.phase, turn);
    let seal: string | undefined;
    if (this.#d.proving) {
      const digest = carriedDigest(carried);
      if (this.#sealed?.digest !== digest) {
        // Decisions may arrive while the state is sealed: the caller checks again, and a changed state is sealed anew.
        this.#sealed = { digest, seal: await sealCarried(carried, this.#d.inFlight) };
        return;
      }
      seal = this.#sealed.seal;
    }
    const info = workflowInfo();
    const open = gate.pending().length;
    // What is queued for the audit store goes with the run (its last entry too), sent again by the next segment.
    state.outbox?.hold();
    state.audit.append({
      kind: 'run_continued',
      actor: 'system',
      detail:
        `continued as new after ${info.historyLength} history events, at model call ${state.progress.step}` +
        (open > 0 ? `; ${open} open request(s) carried` : '') +
        (seal !== undefined ? '; the carried state is sealed' : ''),
    });
    // The next segment gets the scenario from the transcript store, not from its input.
    const next: WorkflowRunInput = { ...input, model: callSettings(input.model) };
    const head = state.audit.head;
    const audit =
      state.outbox !== undefined && head !== undefined ? { head, outbox: state.outbox.pending() } : undefined;
    return continueAsNew<typeof agentRun>(next, {
      ...carried,
      ...(seal !== undefined ? { seal } : {}),
      ...(audit !== undefined ? { audit } : {}),
    });
  }

  /**
   * Stores the unsent messages and the settled results of `turn` (as `tool` messages, in the order proposed) in the
   * transcript store, as the next model call would, so a continue-as-new carries only references to them.
   */
  async #storeBeforeContinuing(turn: TurnInProgress | undefined): Promise<void> {
    const { conversation } = this.#d.state;
    const unsent = conversation.unsent;
    const settled = turn?.calls.filter((c) => turn.settled.has(c.id) && !turn.stored.has(c.id)) ?? [];
    const messages = [...unsent, ...settled.map((c) => toolMessage(c, turn?.settled.get(c.id)))];
    const { key, length, hash } = conversation.transcript;
    await this.#d.inFlight.track(storeMessages({ key, at: length, prefixHash: hash, append: messages }));
    conversation.stored(messages, unsent.length);
    for (const c of settled) turn?.stored.add(c.id);
  }

  /** Pauses with `continue` or `stop` (stop at the deadline); a stop ends the run. */
  async #pauseOrStop(spec: DuePause): Promise<void> {
    const { pauses, state, stopper } = this.#d;
    const outcome = await pauses.wait({
      ...spec,
      actions: ['continue', 'stop'],
      onTimeout: 'stop',
      timeoutMs: state.policy.pauseTimeoutMs(),
    });
    if (outcome.action === 'stop') stopper.fromPause(outcome.by, outcome.reason ?? spec.detail);
  }

  /** Plan review: the model proposes its whole plan, a person decides on it once, the model learns the outcome. */
  async #reviewPlan(): Promise<void> {
    const { pauses, state } = this.#d;
    const { policy, progress, conversation } = state;
    conversation.push({ role: 'system', content: PLAN_PROMPT });
    const turn = await this.#think();
    if (turn.toolCalls.length === 0) {
      progress.answer = turn.content ?? '';
      return;
    }
    const gateOf = (tool: string, args: Record<string, unknown>) => policy.resolve(tool, args).kind;
    const steps = planSteps(turn.toolCalls, gateOf, policy.tools);
    state.audit.append({
      kind: 'model_turn',
      actor: 'agent',
      detail: `plan of ${plural(steps.length, 'step')}: ${steps.map((p) => p.summary).join('; ')}`,
    });
    const outcome = await pauses.wait({
      kind: 'plan_review',
      detail: `the agent proposes a plan of ${plural(steps.length, 'step')}; approve, edit or reject it once`,
      actions: ['approve', 'edit', 'reject'],
      onTimeout: 'reject',
      timeoutMs: policy.pauseTimeoutMs(),
      plan: steps,
      barRequester: policy.policy.defaults.separationOfDuties,
    });
    const edited = outcome.steps?.map((s) => planStep(s.tool, s.args, gateOf(s.tool, s.args), policy.findTool));
    const standing = outcome.action === 'edit' && edited !== undefined ? edited : steps;
    if (outcome.action !== 'reject') state.plan.approve(standing, outcome.by);
    const result = planReviewResult(outcome, standing);
    conversation.pushToolResults(
      turn.toolCalls,
      turn.toolCalls.map(() => result),
    );
    if (state.interruptions.wantsCheckpoint('after_planning')) {
      await this.#pauseOrStop({
        kind: 'checkpoint',
        detail: 'the plan is settled; nothing has run yet: continue or stop?',
      });
    }
  }
}
