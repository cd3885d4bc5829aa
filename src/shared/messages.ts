import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DecisionMessage, ResumeRequest, StopRequest } from './decision';
import type { ApprovalRequest, AuditEntry, DecisionReceipt, RunStatus, ToolOutcome } from './run-state';

/** Workflow type of an agent run. */
export const AGENT_RUN_WORKFLOW = 'agentRun';

/**
 * Signal `decision`: approve, reject, edit or respond to a pending request, or several at once (`{ decisions: [...] }`).
 * Fire-and-forget: an invalid payload is recorded on the audit trail as `decision_refused` and changes nothing.
 * Payload: {@link DecisionMessage}.
 */
export const decisionSignal = defineSignal<[DecisionMessage]>('decision');

/**
 * Update `decide`: the same payload as the signal, but the caller learns at once whether it was taken. The validator
 * refuses unknown or decided request ids, a missing approver, a reject without a reason, a stale `argsHash` and edit
 * arguments that fail the tool's schema; a refused update leaves no trace in the history.
 */
export const decideUpdate = defineUpdate<DecisionReceipt, [DecisionMessage]>('decide');

/**
 * Update `stop`: ends the run cleanly. Pending requests are closed as stopped, the model call or tool call in flight is
 * cancelled, and the audit trail records who stopped it and why. Payload `{ by, reason }`.
 */
export const stopUpdate = defineUpdate<{ stopped: true; closedRequests: number }, [StopRequest]>('stop');

/**
 * Update `resume`: answers the run's current pause (plan review, checkpoint, budget, check-in, tool failure) with one
 * of the actions it offers. The validator refuses a wrong pause id, an action the pause does not offer and someone who
 * may not answer. Payload {@link ResumeRequest}.
 */
export const resumeUpdate = defineUpdate<{ pauseId: string; action: string }, [ResumeRequest]>('resume');

/** Query `pendingApprovals`: the approval requests waiting for a decision. */
export const pendingApprovalsQuery = defineQuery<ApprovalRequest[]>('pendingApprovals');

/** Query `auditTrail`: every audit entry, oldest first. */
export const auditTrailQuery = defineQuery<AuditEntry[]>('auditTrail');

/**
 * Query `outcomes`: what happened to each tool call of this run's segment (a run that continued as new has one
 * segment per Temporal run; the earlier ones still answer this query after they closed).
 */
export const outcomesQuery = defineQuery<ToolOutcome[]>('outcomes');

/** Query `status`: phase, step, counts and pending count. */
export const statusQuery = defineQuery<RunStatus>('status');

/** Search attribute `AgentStatus` (Keyword): `Running`, `AwaitingApproval`, `Paused`, `Completed`, `Stopped` or `Failed`. */
export const AgentStatusKey = defineSearchAttributeKey('AgentStatus', SearchAttributeType.KEYWORD);

/** Search attribute `AgentRequester` (Keyword): who started the run, so reviewers can filter by requester. */
export const AgentRequesterKey = defineSearchAttributeKey('AgentRequester', SearchAttributeType.KEYWORD);

/** Search attribute `AgentPendingTools` (KeywordList): the tools of the run's open approval requests. */
export const AgentPendingToolsKey = defineSearchAttributeKey('AgentPendingTools', SearchAttributeType.KEYWORD_LIST);

/**
 * Search attribute `AgentDeciders` (KeywordList): who may decide or answer now (normalised names), `*` when anyone
 * may. `hitl pending --as NAME` filters on it, with no worker needed.
 */
export const AgentDecidersKey = defineSearchAttributeKey('AgentDeciders', SearchAttributeType.KEYWORD_LIST);

/** Search attribute `AgentDecidingGroups` (KeywordList): the policy groups of the open requests' current stages. */
export const AgentDecidingGroupsKey = defineSearchAttributeKey('AgentDecidingGroups', SearchAttributeType.KEYWORD_LIST);

/**
 * Search attribute `AgentRiskTier` (Keyword): the strongest gate among what waits: `hard` (a call that runs only when
 * approved), `soft` (a call that runs unless vetoed), or `pause` (the run waits for an answer); absent when nothing
 * waits.
 */
export const AgentRiskTierKey = defineSearchAttributeKey('AgentRiskTier', SearchAttributeType.KEYWORD);

/** Search attribute `AgentDeadline` (Datetime): the earliest deadline among the open requests and pause. */
export const AgentDeadlineKey = defineSearchAttributeKey('AgentDeadline', SearchAttributeType.DATETIME);

/** Custom search attributes the project needs registered on the server. */
export const customSearchAttributes = [
  AgentStatusKey,
  AgentRequesterKey,
  AgentPendingToolsKey,
  AgentDecidersKey,
  AgentDecidingGroupsKey,
  AgentRiskTierKey,
  AgentDeadlineKey,
] as const;
