import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ModelActivities, ToolActivities } from '../src/activity-types';
import { formatZodError } from '../src/decision';
import { FailureType } from '../src/errors';
import { argsHash } from '../src/hash';
import {
  AgentStatusKey,
  auditTrailQuery,
  decideUpdate,
  decisionSignal,
  pendingApprovalsQuery,
  statusQuery,
} from '../src/messages';
import type { ChatMessage, ToolCall } from '../src/model/types';
import { toolResultText, type ToolResultContent } from '../src/model/tool-result';
import { renderCurrentDetails } from '../src/render/approval';
import { AgentRunInputSchema, DEFAULT_SYSTEM_PROMPT, type AgentRunInput } from '../src/run-input';
import type {
  AgentRunResult,
  AgentStatusValue,
  ApprovalRequest,
  GateKind,
  OutcomeCounts,
  RunPhase,
  ToolOutcome,
} from '../src/run-state';
import { findTool, toolNames } from '../src/tools/catalog';
import type { ToolClassification, ToolDefinition } from '../src/tools/types';
import { ApprovalGate } from './approval-gate';
import { AuditLog } from './audit-log';

const { callModel } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
});

const TOOL_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [
      FailureType.IdempotencyConflict,
      FailureType.InvalidToolArguments,
      FailureType.ToolRefused,
      FailureType.UnknownTool,
    ],
  },
};
const toolActivities = proxyActivities<ToolActivities>(TOOL_ACTIVITY_OPTIONS);

/**
 * Gate for a classification: irreversible calls wait for an explicit decision, everything else runs at once.
 * The policy engine replaces this rule with a policy file.
 */
function gateFor(classification: ToolClassification): GateKind {
  return classification.reversibility === 'irreversible' ? 'hard' : 'auto';
}

/**
 * The durable agent loop. Each model call and tool call is an activity; irreversible tool calls open an approval
 * request and wait on a durable timer for a decision (signal `decision` or update `decide`). A call whose deadline
 * passes is denied, never approved.
 *
 * @param rawInput - {@link AgentRunInput}; validated again here so a run started by another client gets the same checks
 * @returns the final answer, every tool call's outcome and the decision counts
 * @throws ApplicationFailure `InvalidRunInput` when the input fails its schema
 */
export async function agentRun(rawInput: AgentRunInput): Promise<AgentRunResult> {
  const parsed = AgentRunInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid run input: ${formatZodError(parsed.error)}`, 'InvalidRunInput');
  }
  return new AgentRun(parsed.data).run();
}

class AgentRun {
  readonly #input: AgentRunInput;
  readonly #workflowId = workflowInfo().workflowId;
  readonly #gate = new ApprovalGate();
  readonly #audit = new AuditLog();
  readonly #outcomes: ToolOutcome[] = [];
  readonly #counts: OutcomeCounts = {
    approvals: 0,
    rejections: 0,
    edits: 0,
    expiries: 0,
    executed: 0,
    failed: 0,
    invalid: 0,
  };
  #phase: RunPhase = 'thinking';
  #step = 0;
  #answer: string | undefined;
  #agentStatus: AgentStatusValue | undefined;

  constructor(input: AgentRunInput) {
    this.#input = input;
    setHandler(pendingApprovalsQuery, () => this.#gate.pending());
    setHandler(auditTrailQuery, () => this.#audit.entries());
    setHandler(statusQuery, () => ({
      workflowId: this.#workflowId,
      goal: input.goal,
      requestedBy: input.requestedBy,
      phase: this.#phase,
      step: this.#step,
      pendingRequests: this.#gate.pending().length,
      counts: { ...this.#counts },
      ...(this.#answer !== undefined ? { answer: this.#answer } : {}),
    }));
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
      this.#applyDecision(payload);
    });
    setHandler(decideUpdate, (payload) => this.#applyDecision(payload), {
      validator: (payload) => {
        const checked = this.#gate.check(payload);
        if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, FailureType.InvalidDecision);
      },
    });
  }

  async run(): Promise<AgentRunResult> {
    const input = this.#input;
    this.#setAgentStatus('Running');
    this.#audit.append({
      kind: 'run_started',
      actor: input.requestedBy,
      detail: `goal: ${input.goal} (model: ${input.model.provider})`,
    });
    const messages: ChatMessage[] = [
      { role: 'system', content: input.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
      { role: 'user', content: input.goal },
    ];
    try {
      while (this.#answer === undefined && this.#step < input.maxSteps) {
        this.#step += 1;
        this.#setPhase('thinking');
        const turn = await callModel({
          workflowId: this.#workflowId,
          step: this.#step,
          settings: input.model,
          messages,
          tools: [...toolNames],
        });
        messages.push({ role: 'assistant', content: turn.content, toolCalls: turn.toolCalls });
        if (turn.toolCalls.length === 0) {
          this.#answer = turn.content ?? '';
          this.#audit.append({ kind: 'model_turn', actor: 'agent', detail: `final answer: ${this.#answer}` });
          break;
        }
        this.#audit.append({
          kind: 'model_turn',
          actor: 'agent',
          detail: `step ${this.#step}: proposed ${turn.toolCalls.map((c) => c.name).join(', ')}`,
        });
        this.#setPhase('running_tools');
        // All calls of one turn proceed together: gated ones are pending at once and may be decided in any order;
        // the model sees every outcome before its next turn.
        const firstOutcome = this.#outcomes.length;
        const results = await Promise.all(turn.toolCalls.map((call) => this.#handleCall(call, turn.content)));
        // Calls settle in any order; the result lists them in the order the model proposed them.
        const order = new Map(turn.toolCalls.map((c, i) => [c.id, i]));
        const settled = this.#outcomes.splice(firstOutcome);
        settled.sort((a, b) => (order.get(a.toolCallId) ?? 0) - (order.get(b.toolCallId) ?? 0));
        this.#outcomes.push(...settled);
        turn.toolCalls.forEach((call, i) => {
          messages.push({
            role: 'tool',
            toolCallId: call.id,
            name: call.name,
            content: toolResultText(results[i] ?? { status: 'error', message: 'no result' }),
          });
        });
      }
    } catch (err) {
      this.#setPhase('failed');
      this.#setAgentStatus('Failed');
      throw err;
    }
    const answer = this.#answer ?? `Stopped after ${input.maxSteps} model calls without a final answer.`;
    this.#answer = answer;
    this.#setPhase('completed');
    this.#setAgentStatus('Completed');
    this.#audit.append({
      kind: 'run_completed',
      actor: 'system',
      detail: `completed after ${this.#step} model calls: ${this.#counts.executed} executed, ${this.#counts.approvals} approved, ${this.#counts.rejections} rejected, ${this.#counts.expiries} expired`,
    });
    return { answer, steps: this.#step, outcomes: this.#outcomes, counts: { ...this.#counts } };
  }

  async #handleCall(call: ToolCall, reasoning: string | null): Promise<ToolResultContent> {
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
    const gate = gateFor(tool.classification);
    if (gate === 'auto') {
      return this.#execute(tool, args, `${this.#workflowId}:${uuid4()}`, { toolCallId: call.id, gate });
    }
    return this.#gated(tool, call, args, reasoning);
  }

  async #gated(
    tool: ToolDefinition,
    call: ToolCall,
    args: Record<string, unknown>,
    reasoning: string | null,
  ): Promise<ToolResultContent> {
    const input = this.#input;
    const now = Date.now();
    const request: ApprovalRequest = {
      requestId: uuid4(),
      workflowId: this.#workflowId,
      toolCallId: call.id,
      tool: tool.name,
      args,
      argsHash: argsHash(args),
      classification: tool.classification,
      gate: 'hard',
      summary: tool.describe(args),
      reasoning,
      goal: input.goal,
      requestedBy: input.requestedBy,
      requestedAt: new Date(now).toISOString(),
      deadline: new Date(now + input.approvalTimeoutMs).toISOString(),
      onTimeout: 'deny',
    };
    this.#gate.open(request);
    this.#audit.append({
      kind: 'approval_requested',
      actor: 'agent',
      requestId: request.requestId,
      tool: tool.name,
      argsHash: request.argsHash,
      detail: `${request.summary}; deadline ${request.deadline}`,
    });
    this.#refreshWaiting();
    const closure = await this.#gate.waitForDecision(request.requestId, now + input.approvalTimeoutMs - Date.now());
    this.#refreshWaiting();
    const base = { toolCallId: call.id, tool: tool.name, gate: 'hard' as const, requestId: request.requestId };
    if (closure.kind === 'expired') {
      this.#counts.expiries += 1;
      const message = `no decision before the deadline ${request.deadline}: the call was denied and did not run`;
      this.#audit.append({
        kind: 'approval_expired',
        actor: 'system',
        requestId: request.requestId,
        tool: tool.name,
        argsHash: request.argsHash,
        detail: message,
      });
      this.#outcomes.push({ ...base, args, argsHash: request.argsHash, status: 'expired', error: message });
      return { status: 'expired', message };
    }
    const { decision, args: finalArgs } = closure.accepted;
    if (decision.decision === 'reject') {
      this.#counts.rejections += 1;
      const message = `rejected by ${decision.approver}: ${decision.reason ?? ''}`;
      this.#outcomes.push({
        ...base,
        args,
        argsHash: request.argsHash,
        status: 'rejected',
        decidedBy: decision.approver,
        error: message,
      });
      return { status: 'rejected', message };
    }
    this.#counts.approvals += 1;
    if (decision.decision === 'edit') this.#counts.edits += 1;
    return this.#execute(tool, finalArgs, `${this.#workflowId}:${request.requestId}`, {
      ...base,
      decidedBy: decision.approver,
      ...(decision.decision === 'edit' ? { editedFrom: { args, argsHash: request.argsHash } } : {}),
    });
  }

  async #execute(
    tool: ToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: Omit<ToolOutcome, 'tool' | 'args' | 'status'>,
  ): Promise<ToolResultContent> {
    const hash = argsHash(args);
    const activity = toolActivities[tool.name];
    if (activity === undefined) throw new Error(`no activity proxy for ${tool.name}`);
    const summary = tool.describe(args);
    try {
      const result = await activity.executeWithOptions({ ...TOOL_ACTIVITY_OPTIONS, summary }, [
        { args, idempotencyKey },
      ]);
      this.#counts.executed += 1;
      this.#audit.append({
        kind: 'tool_executed',
        actor: outcome.decidedBy ?? 'agent',
        tool: tool.name,
        argsHash: hash,
        ...(outcome.requestId !== undefined ? { requestId: outcome.requestId } : {}),
        detail: `${summary}: done${result.replayed ? ' (result replayed from the idempotency ledger)' : ''}`,
      });
      this.#outcomes.push({
        ...outcome,
        tool: tool.name,
        args,
        argsHash: hash,
        status: 'executed',
        result: result.data,
      });
      return { status: 'ok', result: result.data };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause;
      const message =
        cause instanceof ApplicationFailure
          ? `${cause.type ?? 'Error'}: ${cause.message}`
          : (cause?.message ?? err.message);
      this.#counts.failed += 1;
      this.#audit.append({
        kind: 'tool_failed',
        actor: 'system',
        tool: tool.name,
        argsHash: hash,
        ...(outcome.requestId !== undefined ? { requestId: outcome.requestId } : {}),
        detail: `${summary}: failed: ${message}`,
      });
      this.#outcomes.push({ ...outcome, tool: tool.name, args, argsHash: hash, status: 'failed', error: message });
      return { status: 'error', message };
    }
  }

  #invalid(call: ToolCall, args: unknown, message: string): ToolResultContent {
    this.#counts.invalid += 1;
    this.#audit.append({ kind: 'tool_call_invalid', actor: 'agent', tool: call.name, detail: message });
    this.#outcomes.push({ toolCallId: call.id, tool: call.name, args, status: 'invalid', error: message });
    return { status: 'error', message };
  }

  #applyDecision(payload: unknown) {
    const { receipt, request, accepted } = this.#gate.apply(payload);
    const d = accepted.decision;
    const what =
      d.decision === 'approve'
        ? 'approved'
        : d.decision === 'reject'
          ? `rejected: ${d.reason ?? ''}`
          : `edited to ${JSON.stringify(accepted.args)} and approved`;
    this.#audit.append({
      kind: 'decision',
      actor: d.approver,
      requestId: request.requestId,
      tool: request.tool,
      argsHash: accepted.argsHash,
      detail: `${request.summary}: ${what}${d.decision !== 'reject' && d.reason ? ` (${d.reason})` : ''}`,
    });
    this.#refreshWaiting();
    return receipt;
  }

  #setPhase(phase: RunPhase): void {
    this.#phase = phase;
    this.#refreshWaiting();
  }

  /** Keeps the search attribute, the phase and the Web UI's current details in step with the pending requests. */
  #refreshWaiting(): void {
    const pending = this.#gate.pending();
    if (pending.length > 0 && this.#phase === 'running_tools') this.#phase = 'awaiting_approval';
    if (pending.length === 0 && this.#phase === 'awaiting_approval') this.#phase = 'running_tools';
    if (this.#phase === 'awaiting_approval') this.#setAgentStatus('AwaitingApproval');
    else if (this.#phase === 'thinking' || this.#phase === 'running_tools') this.#setAgentStatus('Running');
    const idle =
      this.#phase === 'completed'
        ? `Completed after ${this.#step} model calls.`
        : this.#phase === 'failed'
          ? 'Failed.'
          : `Step ${this.#step}: ${this.#phase.replace('_', ' ')}. Goal: ${this.#input.goal}`;
    setCurrentDetails(renderCurrentDetails(pending, idle));
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
