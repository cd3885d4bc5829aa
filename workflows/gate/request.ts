import { uuid4 } from '@temporalio/workflow';
import { argsHash } from '../../src/shared/hash';
import { splitAlternatives } from '../../src/shared/model/alternatives';
import { eligibleApprovers } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { Policy } from '../../src/shared/policy/schema';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { CatalogTool } from '../../src/shared/tools/catalog';

/** A gated call as the model proposed it, with what the request shows around it. */
export interface ProposedCall {
  tool: CatalogTool;
  /** The model's id for the call. */
  toolCallId: string;
  /** Arguments already parsed by the tool's schema. */
  args: Record<string, unknown>;
  /** The assistant's text in the turn that proposed it. */
  reasoning: string | null;
}

/** What a request shows about its run. */
export interface RequestContext {
  workflowId: string;
  goal: string;
  requestedBy: string;
  policy: Policy;
  /** The stage timeout, in ms, when the gate has no stage (cannot happen for soft and hard gates). */
  approvalTimeoutMs: number;
}

/**
 * Builds the approval request for a soft- or hard-gated call: its id (the workflow's `uuid4()`, stable across
 * replays), the argument hash every decision must carry, who may decide now, the quorum, the deadline of the first
 * stage in workflow time and what happens at it (a soft gate proceeds, a hard one escalates or is denied).
 * @param call - the proposed call
 * @param gate - its resolved gate (`soft` or `hard`)
 * @param ctx - the run's side of the request
 */
export function buildRequest(call: ProposedCall, gate: ResolvedGate, ctx: RequestContext): ApprovalRequest {
  const now = Date.now();
  const soft = gate.kind === 'soft';
  const stages = soft ? [{ groups: gate.stages[0]?.groups ?? [], timeoutMs: gate.softWindowMs }] : gate.stages;
  const first = stages[0] ?? { groups: [], timeoutMs: ctx.approvalTimeoutMs };
  return {
    requestId: uuid4(),
    workflowId: ctx.workflowId,
    toolCallId: call.toolCallId,
    tool: call.tool.name,
    args: call.args,
    argsHash: argsHash(call.args),
    classification: call.tool.classification,
    gate: soft ? 'soft' : 'hard',
    because: gate.because,
    policyVersion: ctx.policy.version,
    summary: call.tool.describe(call.args),
    reasoning: call.reasoning,
    alternatives: splitAlternatives(call.reasoning).alternatives,
    goal: ctx.goal,
    requestedBy: ctx.requestedBy,
    requestedAt: new Date(now).toISOString(),
    stage: 0,
    stages,
    eligibleApprovers: eligibleApprovers(ctx.policy, first.groups),
    quorum: soft ? 1 : gate.quorum,
    approvals: [],
    separationOfDuties: gate.separationOfDuties,
    deadline: new Date(now + first.timeoutMs).toISOString(),
    onTimeout: soft ? 'proceed' : stages.length > 1 ? 'escalate' : 'deny',
  };
}
