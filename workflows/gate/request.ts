import { uuid4 } from '@temporalio/workflow';
import { argsHash } from '../../src/shared/hash';
import { proposedAlternatives } from '../../src/shared/model/alternatives';
import { eligibleApprovers } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { Policy } from '../../src/shared/policy/schema';
import { valueHash } from '../../src/shared/identity/signatures';
import type { ApprovalRequest, ResolvedEffect } from '../../src/shared/run-state';
import type { RunToolDefinition } from '../../src/shared/tools/mcp';

/** A gated call as the model proposed it, with what the request shows around it. */
export interface ProposedCall {
  tool: RunToolDefinition;
  /** The model's id for the call. */
  toolCallId: string;
  /** Arguments already parsed by the tool's schema. */
  args: Record<string, unknown>;
  /** The assistant's text in the turn that proposed it. */
  reasoning: string | null;
  /** The alternatives the model gave as structured output with the call (see `ToolCall.alternatives`). */
  alternatives?: string[];
}

/** What a request shows about its run. */
export interface RequestContext {
  workflowId: string;
  goal: string;
  requestedBy: string;
  policy: Policy;
  /** SHA-256 of the policy's canonical form, when the run pinned it from the worker. */
  policySha256?: string;
  /** The stage timeout, in ms, when the gate has no stage (cannot happen for soft and hard gates). */
  approvalTimeoutMs: number;
}

/** What a gate asks of a request: its kind, stages, quorum, first deadline and what happens at the deadline. */
type GateTerms = Pick<
  ApprovalRequest,
  | 'gate'
  | 'because'
  | 'stage'
  | 'stages'
  | 'eligibleApprovers'
  | 'quorum'
  | 'separationOfDuties'
  | 'deadline'
  | 'onTimeout'
>;

/**
 * The terms a soft or hard gate sets on a request that opens now: stage 0's deciders and deadline (workflow time), the
 * quorum (1 for a soft gate), and what happens at the deadline (a soft gate proceeds, a hard one escalates when it has
 * further stages, else is denied).
 */
export function gateTerms(gate: ResolvedGate, policy: Policy, approvalTimeoutMs: number): GateTerms {
  const now = Date.now();
  const soft = gate.kind === 'soft';
  const stages = soft ? [{ groups: gate.stages[0]?.groups ?? [], timeoutMs: gate.softWindowMs }] : gate.stages;
  const first = stages[0] ?? { groups: [], timeoutMs: approvalTimeoutMs };
  return {
    gate: soft ? 'soft' : 'hard',
    because: gate.because,
    stage: 0,
    stages,
    eligibleApprovers: eligibleApprovers(policy, first.groups),
    quorum: soft ? 1 : gate.quorum,
    separationOfDuties: gate.separationOfDuties,
    deadline: new Date(now + first.timeoutMs).toISOString(),
    onTimeout: soft ? 'proceed' : stages.length > 1 ? 'escalate' : 'deny',
  };
}

/**
 * Builds the approval request for a soft- or hard-gated call: its id (the workflow's `uuid4()`, stable across
 * replays), the argument hash every decision must carry, who may decide now, the quorum, the deadline of the first
 * stage in workflow time and what happens at it (a soft gate proceeds, a hard one escalates or is denied).
 * @param call - the proposed call
 * @param gate - its resolved gate (`soft` or `hard`)
 * @param ctx - the run's side of the request
 */
export function buildRequest(
  call: ProposedCall,
  gate: ResolvedGate,
  ctx: RequestContext,
  effect?: ResolvedEffect,
): ApprovalRequest {
  const terms = gateTerms(gate, ctx.policy, ctx.approvalTimeoutMs);
  return {
    requestId: uuid4(),
    workflowId: ctx.workflowId,
    toolCallId: call.toolCallId,
    tool: call.tool.name,
    args: call.args,
    argsHash: argsHash(call.args),
    classification: call.tool.classification,
    policyVersion: ctx.policy.version,
    ...(ctx.policySha256 !== undefined ? { policySha256: ctx.policySha256 } : {}),
    summary: call.tool.describe(call.args),
    reasoning: call.reasoning,
    alternatives: proposedAlternatives(call.alternatives, call.reasoning),
    goal: ctx.goal,
    requestedBy: ctx.requestedBy,
    requestedAt: new Date().toISOString(),
    approvals: [],
    ...terms,
    ...(effect !== undefined ? { effect, revision: 0 } : {}),
  };
}

/**
 * An effect as a request shows it, from what a precheck resolved.
 * @param resolved - the precheck's `effect`
 */
export function resolvedEffect(resolved: { lines: string[]; facts: Record<string, unknown> }): ResolvedEffect {
  return { lines: resolved.lines, facts: resolved.facts, sha256: valueHash(resolved.facts) };
}
