import type { Client } from '@temporalio/client';
import { decide } from '../../client';
import type { Decision } from '../../src/shared/decision';
import type { ApprovalRequest, DecisionReceipt } from '../../src/shared/run-state';

/** What a decision adds besides the request, the approver and the argument hash. */
export type DecisionExtras = Partial<Pick<Decision, 'reason' | 'message' | 'args'>>;

/**
 * A decision on a pending request as `approver`, bound to the arguments the request shows (its `argsHash`).
 * @param request - the pending request, as `pendingApprovals` returns it
 * @param approver - who decides
 * @param decision - `approve` unless said otherwise
 * @param extras - `reason`, `message` or `args`
 */
export function decisionOn(
  request: Pick<ApprovalRequest, 'requestId' | 'argsHash'>,
  approver: string,
  decision: Decision['decision'] = 'approve',
  extras: DecisionExtras = {},
): Decision {
  return { requestId: request.requestId, decision, approver, argsHash: request.argsHash, ...extras };
}

/**
 * Approves a pending request as `approver` through the `decide` update, as `hitl approve` does.
 * @returns the receipt
 * @throws UpdateRefusedError when the run refuses it
 */
export function approveAs(
  client: Client,
  workflowId: string,
  request: Pick<ApprovalRequest, 'requestId' | 'argsHash'>,
  approver: string,
): Promise<DecisionReceipt> {
  return decide(client, workflowId, decisionOn(request, approver));
}

/**
 * Decides a pending request as `approver` through the `decide` update: reject, edit or respond (or approve).
 * @throws UpdateRefusedError when the run refuses it
 */
export function decideAs(
  client: Client,
  workflowId: string,
  request: Pick<ApprovalRequest, 'requestId' | 'argsHash'>,
  approver: string,
  decision: Decision['decision'],
  extras: DecisionExtras = {},
): Promise<DecisionReceipt> {
  return decide(client, workflowId, decisionOn(request, approver, decision, extras));
}
