import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Decision } from './decision';
import type { ApprovalRequest, AuditEntry, DecisionReceipt, RunStatus } from './run-state';

/** Workflow type of an agent run. */
export const AGENT_RUN_WORKFLOW = 'agentRun';

/**
 * Signal `decision`: approve, reject or edit a pending request. Fire-and-forget: an invalid payload is recorded on the
 * audit trail as `decision_refused` and changes nothing. Payload: {@link Decision}.
 */
export const decisionSignal = defineSignal<[Decision]>('decision');

/**
 * Update `decide`: the same payload as the signal, but the caller learns at once whether it was taken. The validator
 * refuses unknown or decided request ids, a missing approver, a reject without a reason, a stale `argsHash` and edit
 * arguments that fail the tool's schema; a refused update leaves no trace in the history.
 */
export const decideUpdate = defineUpdate<DecisionReceipt, [Decision]>('decide');

/** Query `pendingApprovals`: the approval requests waiting for a decision. */
export const pendingApprovalsQuery = defineQuery<ApprovalRequest[]>('pendingApprovals');

/** Query `auditTrail`: every audit entry, oldest first. */
export const auditTrailQuery = defineQuery<AuditEntry[]>('auditTrail');

/** Query `status`: phase, step, counts and pending count. */
export const statusQuery = defineQuery<RunStatus>('status');

/** Search attribute `AgentStatus` (Keyword): `Running`, `AwaitingApproval`, `Completed` or `Failed`. */
export const AgentStatusKey = defineSearchAttributeKey('AgentStatus', SearchAttributeType.KEYWORD);

/** Custom search attributes the project needs registered on the server. */
export const customSearchAttributes = [AgentStatusKey] as const;
