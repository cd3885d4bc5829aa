import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ModelActivities, Notification, RunActivities } from '../src/shared/activity-types';
import { StopSchema, type StopRequest } from '../src/shared/decision';
import { formatZodError } from '../src/shared/zod-format';
import { FailureType } from '../src/shared/errors';
import { argsHash } from '../src/shared/hash';
import {
  AgentStatusKey,
  auditTrailQuery,
  decideUpdate,
  decisionSignal,
  outcomesQuery,
  pendingApprovalsQuery,
  resumeUpdate,
  statusQuery,
  stopUpdate,
} from '../src/shared/messages';
import { advance, EMPTY_TRANSCRIPT_HASH, type TranscriptRef } from '../src/shared/model/transcript';
import type { ChatMessage, ModelCallSettings, ModelSettings, ToolCall } from '../src/shared/model/types';
import { splitAlternatives } from '../src/shared/model/alternatives';
import { toolResultText, type ToolResultContent } from '../src/shared/model/tool-result';
import { renderCurrentDetails, renderTally } from '../src/shared/render/approval';
import { AgentRunInputSchema, DEFAULT_SYSTEM_PROMPT, type AgentRunInput } from '../src/shared/run-input';
import type {
  AgentRunResult,
  AgentStatusValue,
  ApprovalRequest,
  DecisionReceipt,
  OutcomeCounts,
  RunPhase,
  ToolOutcome,
} from '../src/shared/run-state';
import { eligibleApprovers } from '../src/shared/policy/authority';
import { DEFAULT_POLICY } from '../src/shared/policy/default-policy';
import { resolveGate, type ResolvedGate } from '../src/shared/policy/evaluate';
import type { Policy } from '../src/shared/policy/schema';
import { findTool, toolNames } from '../src/shared/tools/catalog';
import type { ToolDefinition } from '../src/shared/tools/types';
import { ApprovalGate, describeClosure, type Closure } from './approval-gate';
import { AuditLog } from './audit-log';
import { CLOSED_REQUESTS_CARRIED, continueAsNewDue, type CarriedState } from './continuation';
import { Interruptions, type DuePause } from './interruptions';
import { hasPatch, PATCHES } from './patches';
import { Pauses } from './pauses';
import { ApprovedPlan, PLAN_PROMPT, planReviewResult, planStep, planSteps } from './plan';
import { ToolRunner } from './tool-runner';

const MODEL_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
};
const { callModel } = proxyActivities<ModelActivities>(MODEL_ACTIVITY_OPTIONS);

/** Thrown inside the loop when a person stops the run from a pause; `run()` finishes it as stopped. */
class RunStopped extends Error {}

const { currentPolicy, notify } = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * The durable agent loop. Each model call and tool call is an activity; irreversible tool calls open an approval
 * request and wait on a durable timer for a decision (signal `decision` or update `decide`). A call whose deadline
 * passes is denied, never approved. The conversation lives in the transcript store, not in the history; once the
 * history is long (`continueAsNewAfterEvents`, or when Temporal suggests it) the run continues as new, carrying what
 * it needs to go on deciding, open requests included.
 *
 * @param rawInput - {@link AgentRunInput}; validated again here so a run started by another client gets the same checks
 * @param carried - set only by the run itself when it continues as new
 * @returns the final answer, the last segment's tool outcomes, the counts and the earlier segments' run ids
 * @throws ApplicationFailure `InvalidRunInput` when the input fails its schema
 */
export async function agentRun(rawInput: AgentRunInput, carried?: CarriedState): Promise<AgentRunResult> {
  const parsed = AgentRunInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid run input: ${formatZodError(parsed.error)}`, 'InvalidRunInput');
  }
  return new AgentRun(parsed.data, carried).run();
}

/** The model settings a model call carries: the scripted scenario goes to the transcript store once, not every call. */
function callSettings(model: ModelSettings): ModelCallSettings {
  return model.provider === 'scripted' ? { provider: 'scripted' } : model;
}

/** A turn in progress: which of its calls have settled and which wait for a decision. */
class TurnInProgress {
  readonly settled = new Map<string, ToolResultContent>();
  /** Call id → request id. */
  readonly waiting = new Map<string, string>();

  constructor(
    readonly calls: ToolCall[],
    readonly reasoning: string | null,
  ) {}

  /**
   * Every call has settled or waits quietly for a decision (see `ApprovalGate.quiet`): nothing of the turn is in
   * flight or about to move.
   * @param requestQuiet - whether a request is open with no timer due
   */
  quiet(requestQuiet: (requestId: string) => boolean): boolean {
    return this.calls.every((c) => {
      if (this.settled.has(c.id)) return true;
      const requestId = this.waiting.get(c.id);
      return requestId !== undefined && requestQuiet(requestId);
    });
  }
}

class AgentRun {
  readonly #input: AgentRunInput;
  readonly #workflowId = workflowInfo().workflowId;
  // Until the run loads its policy nothing is pending, so no decision can consult this placeholder.
  #policy: Policy = DEFAULT_POLICY;
  #policySource = 'built-in default';
  readonly #gate: ApprovalGate;
  readonly #audit: AuditLog;
  readonly #outcomes: ToolOutcome[] = [];
  readonly #autoLogged: Map<string, number>;
  readonly #carried: CarriedState | undefined;
  readonly #earlierRuns: string[];
  #transcript: TranscriptRef;
  /** Messages the model has not seen yet: they go with the next model call. */
  #unsent: ChatMessage[] = [];
  /** Activities in flight; the run continues as new only when none is. */
  #busy = 0;
  readonly #counts: OutcomeCounts = {
    approvals: 0,
    rejections: 0,
    edits: 0,
    expiries: 0,
    responses: 0,
    denied: 0,
    blocked: 0,
    executed: 0,
    failed: 0,
    invalid: 0,
  };
  #phase: RunPhase = 'thinking';
  #step = 0;
  #answer: string | undefined;
  #stop: StopRequest | undefined;
  #scope: CancellationScope | undefined;
  readonly #pauses: Pauses;
  readonly #tools: ToolRunner;
  // Replaced once the policy is loaded; until then the run makes no model call.
  #interruptions = new Interruptions(undefined);
  readonly #plan: ApprovedPlan;
  #agentStatus: AgentStatusValue | undefined;

  constructor(input: AgentRunInput, carried: CarriedState | undefined) {
    this.#input = input;
    this.#carried = carried;
    this.#audit = new AuditLog(carried?.auditSeq ?? 1);
    this.#earlierRuns = carried?.earlierRuns ?? [];
    this.#autoLogged = new Map(Object.entries(carried?.autoLogged ?? {}));
    this.#plan = new ApprovedPlan(carried?.plan);
    this.#transcript = carried?.transcript ?? {
      key: workflowInfo().firstExecutionRunId,
      length: 0,
      hash: EMPTY_TRANSCRIPT_HASH,
    };
    if (carried !== undefined) {
      this.#policy = carried.policy;
      this.#policySource = carried.policySource;
      this.#step = carried.step;
      Object.assign(this.#counts, carried.counts);
      this.#unsent = carried.unsent;
      this.#interruptions = new Interruptions(carried.policy.interruptions, carried.interruptions);
    }
    this.#gate = new ApprovalGate({
      policy: () => this.#policy,
      requestedBy: input.requestedBy,
      resolve: (tool, args) => this.#resolve(tool, args),
    });
    // Before any handler is set: a decision in the first activation must find the carried requests.
    if (carried !== undefined) this.#gate.restore(carried.gate);
    this.#tools = new ToolRunner({
      audit: this.#audit,
      counts: this.#counts,
      outcomes: this.#outcomes,
      maxAttempts: input.toolMaxAttempts,
      askAfterFailure: (detail) =>
        this.#pauses.wait({
          kind: 'tool_failure',
          detail,
          actions: ['retry', 'skip', 'abort'],
          onTimeout: 'abort',
          timeoutMs: this.#pauseTimeoutMs(),
        }),
      stop: (by, reason) => this.#stopFromPause(by, reason),
      track: (work) => this.#track(work),
    });
    this.#pauses = new Pauses(() => this.#policy, input.requestedBy, {
      opened: (pause) => {
        this.#audit.append({
          kind: 'run_paused',
          actor: 'system',
          detail: `${pause.kind.replace('_', ' ')}: ${pause.detail} (answer by ${pause.deadline}, else ${pause.onTimeout})`,
        });
        this.#refreshWaiting();
      },
      closed: (_pause, outcome) => {
        if (outcome.by === 'system') {
          this.#audit.append({ kind: 'run_resumed', actor: 'system', detail: `no answer in time: ${outcome.action}` });
        }
        this.#refreshWaiting();
      },
    });
    setHandler(pendingApprovalsQuery, () => this.#gate.pending());
    setHandler(auditTrailQuery, () => this.#audit.entries());
    setHandler(outcomesQuery, () => this.#outcomes.map((o) => ({ ...o })));
    setHandler(statusQuery, () => ({
      workflowId: this.#workflowId,
      goal: input.goal,
      requestedBy: input.requestedBy,
      phase: this.#visiblePhase(),
      step: this.#step,
      pendingRequests: this.#gate.pending().length,
      counts: { ...this.#counts },
      policyVersion: this.#policy.version,
      spentUsd: this.#interruptions.spentUsd,
      earlierRuns: [...this.#earlierRuns],
      ...(this.#pauses.current() !== undefined ? { pause: this.#pauses.current() } : {}),
      ...(this.#answer !== undefined ? { answer: this.#answer } : {}),
    }));
    setHandler(
      resumeUpdate,
      (payload) => {
        const answered = this.#pauses.answer(payload);
        this.#audit.append({
          kind: 'run_resumed',
          actor: payload.by,
          detail: `answered the pause with ${payload.action}${payload.reason !== undefined ? `: ${payload.reason}` : ''}`,
        });
        return answered;
      },
      {
        validator: (payload) => {
          const checked = this.#pauses.check(payload);
          if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, FailureType.InvalidDecision);
        },
      },
    );
    setHandler(decisionSignal, (payload) => {
      const checked = this.#gate.check(payload);
      if (!checked.ok) {
        this.#audit.append({
          kind: 'decision_refused',
          actor: actorOf(payload),
          detail: `signal refused: ${checked.reason}`,
        });
        return;
      }
      this.#applyDecisions(payload);
    });
    setHandler(decideUpdate, (payload) => this.#applyDecisions(payload), {
      validator: (payload) => {
        const checked = this.#gate.check(payload);
        if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, FailureType.InvalidDecision);
      },
    });
    setHandler(stopUpdate, (payload) => this.#requestStop(StopSchema.parse(payload)), {
      validator: (payload) => {
        const parsed = StopSchema.safeParse(payload);
        if (!parsed.success) {
          throw ApplicationFailure.nonRetryable(
            `invalid stop: ${formatZodError(parsed.error)}`,
            FailureType.InvalidDecision,
          );
        }
        if (this.#stop !== undefined || this.#answer !== undefined) {
          throw ApplicationFailure.nonRetryable('the run is already ending', FailureType.InvalidDecision);
        }
      },
    });
  }

  async run(): Promise<AgentRunResult> {
    const input = this.#input;
    if (this.#carried === undefined) {
      this.#setAgentStatus('Running');
      const loaded = input.policy !== undefined ? { policy: input.policy, source: 'run input' } : await currentPolicy();
      this.#policy = loaded.policy;
      this.#policySource = loaded.source;
      this.#interruptions = new Interruptions(loaded.policy.interruptions);
      this.#audit.append({
        kind: 'run_started',
        actor: input.requestedBy,
        detail: `goal: ${input.goal} (model: ${input.model.provider}; policy ${loaded.policy.version} from ${loaded.source})`,
      });
      this.#unsent = [
        { role: 'system', content: input.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
        { role: 'user', content: input.goal },
      ];
    }
    this.#refreshWaiting();
    try {
      this.#scope = new CancellationScope();
      await this.#scope.run(() => this.#loop());
    } catch (err) {
      // Continuing as new is how a long run goes on, not a failure.
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err) || err instanceof RunStopped) {
        const stop = this.#stop ?? { by: 'system', reason: 'the workflow was cancelled through Temporal' };
        this.#finishStopped(stop);
        if (this.#stop === undefined) throw err;
        return this.#result(`Stopped by ${stop.by}: ${stop.reason}`);
      }
      this.#setPhase('failed');
      this.#setAgentStatus('Failed');
      throw err;
    }
    const answer = this.#answer ?? `Stopped after ${input.maxSteps} model calls without a final answer.`;
    this.#answer = answer;
    this.#setPhase('completed');
    this.#setAgentStatus('Completed');
    const c = this.#counts;
    this.#audit.append({
      kind: 'run_completed',
      actor: 'system',
      detail: `completed after ${this.#step} model calls: ${c.executed} executed, ${c.approvals} approved, ${c.rejections} rejected, ${c.expiries} expired, ${c.denied} denied`,
    });
    return this.#result(answer);
  }

  #result(answer: string): AgentRunResult {
    return {
      answer,
      steps: this.#step,
      outcomes: this.#outcomes,
      counts: { ...this.#counts },
      policyVersion: this.#policy.version,
      earlierRuns: [...this.#earlierRuns],
      ...(this.#stop !== undefined ? { stopped: this.#stop } : {}),
    };
  }

  async #loop(): Promise<void> {
    const input = this.#input;
    const carriedTurn = this.#carried?.turn;
    if (carriedTurn !== undefined) {
      // The run continued as new while this turn waited for decisions: the open requests go on waiting where they were.
      const turn = new TurnInProgress(carriedTurn.calls, carriedTurn.reasoning);
      for (const s of carriedTurn.settled) turn.settled.set(s.toolCallId, s.result);
      const open = new Map((this.#carried?.gate.open ?? []).map((o) => [o.request.requestId, o.request]));
      const resumed = carriedTurn.waiting.flatMap((w) => open.get(w.requestId) ?? []);
      await this.#runTurn(turn, resumed);
    } else if (this.#carried === undefined && input.review === 'plan') {
      await this.#reviewPlan();
    }
    while (this.#answer === undefined && this.#step < input.maxSteps) {
      if (this.#continueDue()) await this.#continueAsNew();
      const turn = await this.#think();
      if (turn.toolCalls.length === 0) {
        this.#answer = turn.content ?? '';
        this.#audit.append({ kind: 'model_turn', actor: 'agent', detail: `final answer: ${this.#answer}` });
        return;
      }
      this.#audit.append({
        kind: 'model_turn',
        actor: 'agent',
        detail: `step ${this.#step}: proposed ${turn.toolCalls.map((c) => c.name).join(', ')}`,
      });
      for (const due of this.#interruptions.due(this.#step, turn.toolCalls)) await this.#pauseOrStop(due);
      await this.#runTurn(new TurnInProgress(turn.toolCalls, turn.content));
    }
  }

  /**
   * Runs the calls of one turn together: gated ones are pending at once and may be decided in any order; the model
   * sees every outcome before its next turn. While the turn only waits for decisions (nothing in flight, no pause)
   * and the history is long, the run continues as new with the turn carried.
   * @param turn - the turn; calls already settled are not run again
   * @param resumed - open requests of the turn carried from an earlier segment
   */
  async #runTurn(turn: TurnInProgress, resumed: ApprovalRequest[] = []): Promise<void> {
    this.#setPhase('running_tools');
    const firstOutcome = this.#outcomes.length;
    const work = turn.calls.map(async (call) => {
      if (turn.settled.has(call.id)) return;
      const request = resumed.find((r) => r.toolCallId === call.id);
      const result =
        request !== undefined ? await this.#resumeRequest(request, turn) : await this.#handleCall(call, turn);
      turn.settled.set(call.id, result);
    });
    let done = false;
    let failure: { error: unknown } | undefined;
    void Promise.all(work).then(
      () => (done = true),
      (error: unknown) => {
        failure = { error };
        done = true;
      },
    );
    const mayContinue = () =>
      this.#busy === 0 &&
      this.#pauses.current() === undefined &&
      turn.quiet((requestId) => this.#gate.quiet(requestId)) &&
      this.#continueDue();
    for (;;) {
      await condition(() => done || mayContinue());
      if (failure !== undefined) throw failure.error;
      if (done) break;
      await condition(allHandlersFinished);
      // A decision handled meanwhile may have moved the turn on: then it is no longer quiet and the run waits again.
      if (!done && mayContinue()) await this.#continueAsNew(turn);
    }
    // Calls settle in any order; the result lists them in the order the model proposed them.
    const order = new Map(turn.calls.map((c, i) => [c.id, i]));
    const settled = this.#outcomes.splice(firstOutcome);
    settled.sort((a, b) => (order.get(a.toolCallId) ?? 0) - (order.get(b.toolCallId) ?? 0));
    this.#outcomes.push(...settled);
    this.#pushToolResults(
      turn.calls,
      turn.calls.map((c) => turn.settled.get(c.id) ?? { status: 'error', message: 'no result' }),
    );
  }

  /** Whether the run should continue as new now (never once it is ending). */
  #continueDue(): boolean {
    return (
      this.#stop === undefined && this.#answer === undefined && continueAsNewDue(this.#input.continueAsNewAfterEvents)
    );
  }

  /**
   * Continues the run as new, after every update and signal handler has finished, carrying what it needs to go on:
   * the policy, counts, the transcript reference and the unsent messages, open requests and the turn in progress.
   * @param turn - the turn waiting for decisions, if any
   */
  async #continueAsNew(turn?: TurnInProgress): Promise<never> {
    await condition(allHandlersFinished);
    const info = workflowInfo();
    const open = this.#gate.pending().length;
    this.#audit.append({
      kind: 'run_continued',
      actor: 'system',
      detail:
        `continued as new after ${info.historyLength} history events, at model call ${this.#step}` +
        (open > 0 ? `; ${open} open request(s) carried` : ''),
    });
    const carried: CarriedState = {
      earlierRuns: [...this.#earlierRuns, info.runId],
      policy: this.#policy,
      policySource: this.#policySource,
      step: this.#step,
      counts: { ...this.#counts },
      auditSeq: this.#audit.nextSeq(),
      autoLogged: Object.fromEntries(this.#autoLogged),
      interruptions: this.#interruptions.snapshot(),
      plan: this.#plan.snapshot(),
      transcript: this.#transcript,
      unsent: this.#unsent,
      gate: this.#gate.snapshot(CLOSED_REQUESTS_CARRIED),
      ...(turn !== undefined
        ? {
            turn: {
              calls: turn.calls,
              reasoning: turn.reasoning,
              settled: [...turn.settled].map(([toolCallId, result]) => ({ toolCallId, result })),
              waiting: [...turn.waiting].map(([toolCallId, requestId]) => ({ toolCallId, requestId })),
            },
          }
        : {}),
    };
    // The next segment gets the scenario from the transcript store, not from its input.
    const model = this.#input.model;
    const input: AgentRunInput = {
      ...this.#input,
      model: model.provider === 'scripted' ? { provider: 'scripted' } : model,
    };
    return continueAsNew<typeof agentRun>(input, carried);
  }

  /** Counts `work` (an activity) as in flight until it settles. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#busy += 1;
    return work.finally(() => {
      this.#busy -= 1;
    });
  }

  /**
   * One model call. Only the messages the model has not seen go with it (the transcript store holds the rest), and
   * the model's answer becomes the first unsent message of the next call. Its cost counts against the budget.
   */
  async #think(): Promise<{ content: string | null; toolCalls: ToolCall[] }> {
    const input = this.#input;
    this.#step += 1;
    this.#setPhase('thinking');
    const append = this.#unsent;
    const { key, length, hash } = this.#transcript;
    const scenario = length === 0 && input.model.provider === 'scripted' ? input.model.scenario : undefined;
    const turn = await callModel.executeWithOptions(
      { ...MODEL_ACTIVITY_OPTIONS, summary: `Model call ${this.#step} of at most ${input.maxSteps}` },
      [
        {
          workflowId: this.#workflowId,
          step: this.#step,
          settings: callSettings(input.model),
          tools: [...toolNames],
          transcript: { key, at: length, prefixHash: hash, append },
          ...(scenario !== undefined ? { scenario } : {}),
        },
      ],
    );
    this.#transcript = advance(this.#transcript, append);
    this.#unsent = [{ role: 'assistant', content: turn.content, toolCalls: turn.toolCalls }];
    this.#interruptions.recordUsage(turn.usage);
    return turn;
  }

  #pushToolResults(calls: ToolCall[], results: ToolResultContent[]): void {
    calls.forEach((call, i) => {
      this.#unsent.push({
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: toolResultText(results[i] ?? { status: 'error', message: 'no result' }),
      });
    });
  }

  #pauseTimeoutMs(): number {
    return this.#policy.defaults.timeout ?? this.#input.approvalTimeoutMs;
  }

  /** Pauses with `continue` or `stop` (stop at the deadline); a stop ends the run. */
  async #pauseOrStop(spec: DuePause): Promise<void> {
    const outcome = await this.#pauses.wait({
      ...spec,
      actions: ['continue', 'stop'],
      onTimeout: 'stop',
      timeoutMs: this.#pauseTimeoutMs(),
    });
    if (outcome.action === 'stop') this.#stopFromPause(outcome.by, outcome.reason ?? spec.detail);
  }

  /** Ends the run from a pause (a `stop` or `abort` answer, or the pause's deadline): as `hitl stop` does. */
  #stopFromPause(by: string, reason: string): never {
    this.#requestStop({ by, reason });
    throw new RunStopped(reason);
  }

  /** Plan review: the model proposes its whole plan, a person decides on it once, the model learns the outcome. */
  async #reviewPlan(): Promise<void> {
    this.#unsent.push({ role: 'system', content: PLAN_PROMPT });
    const turn = await this.#think();
    if (turn.toolCalls.length === 0) {
      this.#answer = turn.content ?? '';
      return;
    }
    const gateOf = (tool: string, args: Record<string, unknown>) => this.#resolve(tool, args).kind;
    const steps = planSteps(turn.toolCalls, gateOf);
    this.#audit.append({
      kind: 'model_turn',
      actor: 'agent',
      detail: `plan of ${plural(steps.length, 'step')}: ${steps.map((p) => p.summary).join('; ')}`,
    });
    const outcome = await this.#pauses.wait({
      kind: 'plan_review',
      detail: `the agent proposes a plan of ${plural(steps.length, 'step')}; approve, edit or reject it once`,
      actions: ['approve', 'edit', 'reject'],
      onTimeout: 'reject',
      timeoutMs: this.#pauseTimeoutMs(),
      plan: steps,
      barRequester: this.#policy.defaults.separationOfDuties,
    });
    const edited = outcome.steps?.map((s) => planStep(s.tool, s.args, gateOf(s.tool, s.args)));
    const standing = outcome.action === 'edit' && edited !== undefined ? edited : steps;
    if (outcome.action !== 'reject') this.#plan.approve(standing, outcome.by);
    const result = planReviewResult(outcome, standing);
    this.#pushToolResults(
      turn.toolCalls,
      turn.toolCalls.map(() => result),
    );
    if (this.#interruptions.wantsCheckpoint('after_planning')) {
      await this.#pauseOrStop({
        kind: 'checkpoint',
        detail: 'the plan is settled; nothing has run yet: continue or stop?',
      });
    }
  }

  #resolve(toolName: string, args: Record<string, unknown>): ResolvedGate {
    const tool = findTool(toolName);
    return resolveGate(
      this.#policy,
      { name: toolName, ...(tool !== undefined ? { classification: tool.classification } : {}) },
      args,
      { autoLoggedCount: this.#autoLogged.get(toolName) ?? 0, defaultTimeoutMs: this.#input.approvalTimeoutMs },
    );
  }

  async #handleCall(call: ToolCall, turn: TurnInProgress): Promise<ToolResultContent> {
    const tool = findTool(call.name);
    if (tool === undefined) {
      return this.#invalid(call, call.arguments, `unknown tool "${call.name}"; available: ${toolNames.join(', ')}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(call.arguments);
    } catch {
      return this.#invalid(call, call.arguments, `arguments are not valid JSON: ${call.arguments.slice(0, 200)}`);
    }
    const parsed = tool.parameters.safeParse(raw);
    if (!parsed.success) {
      return this.#invalid(call, raw, `invalid arguments for ${tool.name}: ${formatZodError(parsed.error)}`);
    }
    const args = parsed.data as Record<string, unknown>;
    const gate = this.#resolve(tool.name, args);
    const base = { toolCallId: call.id, gate: gate.kind };
    switch (gate.kind) {
      case 'deny': {
        this.#counts.denied += 1;
        const message = `${tool.name} is not allowed by policy ${this.#policy.version}: ${gate.because}`;
        this.#audit.append({
          kind: 'tool_denied',
          actor: 'system',
          tool: tool.name,
          argsHash: argsHash(args),
          detail: message,
        });
        this.#outcomes.push({
          ...base,
          tool: tool.name,
          args,
          argsHash: argsHash(args),
          status: 'denied',
          error: message,
        });
        return { status: 'denied', message };
      }
      case 'auto':
        return this.#tools.run(tool, args, `${this.#workflowId}:${uuid4()}`, base, false);
      case 'auto_logged':
        this.#autoLogged.set(tool.name, (this.#autoLogged.get(tool.name) ?? 0) + 1);
        return this.#tools.run(tool, args, `${this.#workflowId}:${uuid4()}`, base, false);
      case 'soft':
      case 'hard': {
        const planned = this.#plan.claim(tool.name, args, gate, this.#policy, this.#input.requestedBy);
        if (planned !== undefined) {
          this.#counts.approvals += 1;
          // The plan may have been approved long ago: the precheck refreshes the context as after a request.
          const decidedBy = `${planned.by} (approved plan)`;
          return this.#tools.run(tool, args, `${this.#workflowId}:${uuid4()}`, { ...base, decidedBy }, true);
        }
        return this.#gated(tool, call, args, turn, gate);
      }
    }
  }

  async #gated(
    tool: ToolDefinition,
    call: ToolCall,
    args: Record<string, unknown>,
    turn: TurnInProgress,
    gate: ResolvedGate,
  ): Promise<ToolResultContent> {
    const input = this.#input;
    const reasoning = turn.reasoning;
    const now = Date.now();
    const soft = gate.kind === 'soft';
    const stages = soft ? [{ groups: gate.stages[0]?.groups ?? [], timeoutMs: gate.softWindowMs }] : gate.stages;
    const first = stages[0] ?? { groups: [], timeoutMs: input.approvalTimeoutMs };
    const request: ApprovalRequest = {
      requestId: uuid4(),
      workflowId: this.#workflowId,
      toolCallId: call.id,
      tool: tool.name,
      args,
      argsHash: argsHash(args),
      classification: tool.classification,
      gate: soft ? 'soft' : 'hard',
      because: gate.because,
      policyVersion: this.#policy.version,
      summary: tool.describe(args),
      reasoning,
      alternatives: splitAlternatives(reasoning).alternatives,
      goal: input.goal,
      requestedBy: input.requestedBy,
      requestedAt: new Date(now).toISOString(),
      stage: 0,
      stages,
      eligibleApprovers: eligibleApprovers(this.#policy, first.groups),
      quorum: soft ? 1 : gate.quorum,
      approvals: [],
      separationOfDuties: gate.separationOfDuties,
      deadline: new Date(now + first.timeoutMs).toISOString(),
      onTimeout: soft ? 'proceed' : stages.length > 1 ? 'escalate' : 'deny',
    };
    this.#gate.open(request, gate);
    this.#audit.append({
      kind: 'approval_requested',
      actor: 'agent',
      requestId: request.requestId,
      tool: tool.name,
      argsHash: request.argsHash,
      detail: `${request.summary} [${request.gate} gate: ${gate.because}]; deadline ${request.deadline}`,
    });
    this.#refreshWaiting();
    await this.#notify(
      soft ? 'soft_gate_opened' : 'approval_requested',
      request,
      soft
        ? `${request.summary} will run at ${request.deadline} unless someone rejects it`
        : `${request.summary} needs ${request.quorum} approval(s) by ${request.deadline}`,
    );
    return this.#awaitDecision(tool, request, turn);
  }

  /** Resumes the wait of a request carried from the run's earlier segment. */
  async #resumeRequest(request: ApprovalRequest, turn: TurnInProgress): Promise<ToolResultContent> {
    const tool = findTool(request.tool);
    // Only catalog tools open requests, so the carried one's tool is there unless the catalog changed under the run.
    if (tool === undefined)
      throw ApplicationFailure.nonRetryable(`tool ${request.tool} left the catalog`, 'UnknownTool');
    return this.#awaitDecision(tool, request, turn);
  }

  /**
   * Waits on durable timers for the request to close (reminders and escalation on the way), then runs or reports the
   * call. While it waits, the call counts as waiting in its turn, so the run may continue as new around it.
   * @param request - the gate's own record of the request (edits change it in place)
   */
  async #awaitDecision(
    tool: ToolDefinition,
    request: ApprovalRequest,
    turn: TurnInProgress,
  ): Promise<ToolResultContent> {
    turn.waiting.set(request.toolCallId, request.requestId);
    let closure: Closure;
    try {
      closure = await this.#waitForClosure(request);
    } finally {
      turn.waiting.delete(request.toolCallId);
    }
    this.#refreshWaiting();
    const result = await this.#afterClosure(tool, request, closure);
    // A stop ends the run: nobody needs telling that its requests closed.
    if (closure.kind !== 'stopped' && hasPatch(PATCHES.notifyDecidersOnClosure)) {
      await this.#notify(
        'request_closed',
        request,
        `${request.summary}: ${describeClosure(closure)}; nothing more to decide`,
      );
    }
    return result;
  }

  #waitForClosure(request: ApprovalRequest): Promise<Closure> {
    return this.#gate.waitForClosure(request.requestId, {
      remind: (r) => this.#notify('reminder', r, `reminder: ${r.summary} is waiting; its deadline is ${r.deadline}`),
      escalated: async (r) => {
        this.#audit.append({
          kind: 'approval_escalated',
          actor: 'system',
          requestId: r.requestId,
          tool: r.tool,
          argsHash: r.argsHash,
          detail: `no decision in time: escalated to ${r.stages[r.stage]?.groups.join(', ') || 'anyone'} until ${r.deadline}`,
        });
        this.#refreshWaiting();
        await this.#notify('escalated', r, `escalated to you: ${r.summary}; deadline ${r.deadline}`);
      },
    });
  }

  async #afterClosure(tool: ToolDefinition, request: ApprovalRequest, closure: Closure): Promise<ToolResultContent> {
    const base = { toolCallId: request.toolCallId, tool: tool.name, gate: request.gate, requestId: request.requestId };
    const proposed = {
      args: request.editedFrom?.args ?? request.args,
      argsHash: request.editedFrom?.argsHash ?? request.argsHash,
    };
    switch (closure.kind) {
      case 'expired': {
        this.#counts.expiries += 1;
        const message = `no decision before the deadline ${closure.at}: the call was denied and did not run`;
        this.#audit.append({
          kind: 'approval_expired',
          actor: 'system',
          requestId: request.requestId,
          tool: tool.name,
          argsHash: request.argsHash,
          detail: message,
        });
        this.#outcomes.push({ ...base, ...proposed, status: 'expired', error: message });
        return { status: 'expired', message };
      }
      case 'rejected': {
        this.#counts.rejections += 1;
        const message = `rejected by ${closure.by}: ${closure.reason}`;
        this.#outcomes.push({ ...base, ...proposed, status: 'rejected', decidedBy: closure.by, error: message });
        return { status: 'rejected', message };
      }
      case 'responded': {
        this.#counts.responses += 1;
        const message = `feedback from ${closure.by} (the call did not run): ${closure.message}`;
        this.#outcomes.push({ ...base, ...proposed, status: 'responded', decidedBy: closure.by, error: message });
        return { status: 'feedback', message };
      }
      case 'stopped': {
        const message = `the run was stopped by ${closure.by}: ${closure.reason}`;
        this.#outcomes.push({ ...base, ...proposed, status: 'stopped', error: message });
        return { status: 'error', message };
      }
      case 'proceeded':
        return this.#tools.run(
          tool,
          request.args,
          `${this.#workflowId}:${request.requestId}`,
          { ...base, decidedBy: 'policy (soft gate: no veto within the window)' },
          true,
        );
      case 'approved':
        this.#counts.approvals += 1;
        if (closure.edited) this.#counts.edits += 1;
        return this.#tools.run(
          tool,
          closure.args,
          `${this.#workflowId}:${request.requestId}`,
          {
            ...base,
            decidedBy: closure.approvers.join(', '),
            ...(request.editedFrom !== undefined
              ? { editedFrom: { args: request.editedFrom.args, argsHash: request.editedFrom.argsHash } }
              : {}),
          },
          true,
        );
    }
  }

  async #notify(kind: Notification['kind'], request: ApprovalRequest, text: string): Promise<void> {
    const to = request.eligibleApprovers;
    await this.#track(notify({ kind, workflowId: this.#workflowId, requestId: request.requestId, to, text }));
    this.#audit.append({
      kind: 'notification',
      actor: 'system',
      requestId: request.requestId,
      tool: request.tool,
      detail: `${kind} to ${to.length > 0 ? to.join(', ') : 'anyone'}: ${text}`,
    });
  }

  #invalid(call: ToolCall, args: unknown, message: string): ToolResultContent {
    this.#counts.invalid += 1;
    this.#audit.append({ kind: 'tool_call_invalid', actor: 'agent', tool: call.name, detail: message });
    this.#outcomes.push({ toolCallId: call.id, tool: call.name, args, status: 'invalid', error: message });
    return { status: 'error', message };
  }

  #applyDecisions(payload: unknown): DecisionReceipt {
    const applied = this.#gate.apply(payload);
    for (const { request, decision: d, closure, receipt } of applied) {
      const what =
        d.decision === 'reject'
          ? `rejected: ${d.reason ?? ''}`
          : d.decision === 'respond'
            ? `answered with feedback: ${d.message ?? ''}`
            : `${d.decision === 'edit' ? `edited to ${JSON.stringify(request.args)} and approved` : 'approved'}` +
              (closure === undefined ? ` (${receipt.approvalsNeeded} more approval(s) needed)` : '');
      this.#audit.append({
        kind: 'decision',
        actor: d.approver,
        requestId: request.requestId,
        tool: request.tool,
        argsHash: request.argsHash,
        detail: `${request.summary}: ${what}${d.decision !== 'reject' && d.reason ? ` (${d.reason})` : ''}`,
      });
    }
    this.#refreshWaiting();
    const last = applied[applied.length - 1];
    if (last === undefined) throw ApplicationFailure.nonRetryable('no decision to apply', FailureType.InvalidDecision);
    return last.receipt;
  }

  #requestStop(stop: StopRequest): { stopped: true; closedRequests: number } {
    this.#stop = stop;
    const closed = this.#gate.stopAll(stop.by, stop.reason);
    this.#scope?.cancel();
    return { stopped: true, closedRequests: closed.length };
  }

  #finishStopped(stop: StopRequest): void {
    const closed = this.#gate.stopAll(stop.by, stop.reason);
    this.#phase = 'stopped';
    this.#audit.append({
      kind: 'run_stopped',
      actor: stop.by,
      detail: `stopped: ${stop.reason}${closed.length > 0 ? ` (${closed.length} pending request(s) closed)` : ''}`,
    });
    this.#setAgentStatus('Stopped');
    this.#refreshWaiting();
  }

  #setPhase(phase: RunPhase): void {
    this.#phase = phase;
    this.#refreshWaiting();
  }

  /** The phase as others see it: `paused` while a pause is open, whatever the loop was doing. */
  #visiblePhase(): RunPhase {
    return this.#pauses.current() !== undefined ? 'paused' : this.#phase;
  }

  /** Keeps the search attribute, the phase and the Web UI's current details in step with the pending requests. */
  #refreshWaiting(): void {
    const pending = this.#gate.pending();
    if (pending.length > 0 && this.#phase === 'running_tools') this.#phase = 'awaiting_approval';
    if (pending.length === 0 && this.#phase === 'awaiting_approval') this.#phase = 'running_tools';
    const pause = this.#pauses.current();
    if (pause !== undefined) this.#setAgentStatus('Paused');
    else if (this.#phase === 'awaiting_approval') this.#setAgentStatus('AwaitingApproval');
    else if (this.#phase === 'thinking' || this.#phase === 'running_tools') this.#setAgentStatus('Running');
    const headline =
      this.#phase === 'completed'
        ? `Completed after ${this.#step} model calls.`
        : this.#phase === 'failed'
          ? `Failed at model call ${this.#step}.`
          : this.#phase === 'stopped'
            ? `Stopped by ${this.#stop?.by ?? 'Temporal cancellation'}: ${this.#stop?.reason ?? 'cancelled'}`
            : `Step ${this.#step}: ${this.#visiblePhase().replace('_', ' ')}.`;
    setCurrentDetails(
      renderCurrentDetails({
        workflowId: this.#workflowId,
        goal: this.#input.goal,
        pending,
        ...(pause !== undefined ? { pause } : {}),
        idle: renderTally(headline, this.#counts),
      }),
    );
  }

  #setAgentStatus(value: AgentStatusValue): void {
    if (value === this.#agentStatus) return;
    this.#agentStatus = value;
    upsertSearchAttributes([{ key: AgentStatusKey, value }]);
  }
}

function actorOf(payload: unknown): string {
  if (payload !== null && typeof payload === 'object' && 'approver' in payload) {
    const approver = payload.approver;
    if (typeof approver === 'string' && approver.trim() !== '') return approver.trim().slice(0, 100);
  }
  return 'unknown';
}

/** `1 step`, `2 steps`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
