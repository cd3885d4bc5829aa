import type { Client } from '@temporalio/client';
import { decide, resumeRun, stopRun } from '../../client';
import { DecisionSchema, type Decision, type ResumeRequest, type StopRequest } from '../../src/shared/decision';
import { signDecision } from '../../src/node/client/signing';
import type { ApprovalRequest, DecisionReceipt } from '../../src/shared/run-state';
import { hasTestKey, testKey } from './keys';

/** What a decision adds besides the request, the approver and the argument hash. */
export type DecisionExtras = Partial<Pick<Decision, 'reason' | 'message' | 'args'>>;

/** The parts of a pending request a decision binds. */
export type RequestRef = Pick<ApprovalRequest, 'requestId' | 'argsHash'> & Partial<Pick<ApprovalRequest, 'effect'>>;

/**
 * A decision on a pending request as `approver`, bound to the arguments (and the effect) the request shows.
 * @param request - the pending request, as `pendingApprovals` returns it
 * @param approver - who decides
 * @param decision - `approve` unless said otherwise
 * @param extras - `reason`, `message` or `args`
 */
export function decisionOn(
  request: RequestRef,
  approver: string,
  decision: Decision['decision'] = 'approve',
  extras: DecisionExtras = {},
): Decision {
  return {
    requestId: request.requestId,
    decision,
    approver,
    argsHash: request.argsHash,
    ...(request.effect !== undefined ? { effectHash: request.effect.sha256 } : {}),
    ...extras,
  };
}

/**
 * A decision like {@link decisionOn}, signed with the approver's test key when they have one (namespace `default`),
 * for the paths that take a payload as it is: the `decision` signal, a batch, the stock `temporal` CLI.
 * @param workflowId - the run the signature is for
 */
export function signedOn(
  workflowId: string,
  request: RequestRef,
  approver: string,
  decision: Decision['decision'] = 'approve',
  extras: DecisionExtras = {},
): Decision {
  const parsed = DecisionSchema.parse(decisionOn(request, approver, decision, extras));
  return hasTestKey(approver) ? signDecision(parsed, testKey(approver), { namespace: 'default', workflowId }) : parsed;
}

/** The test key of a person who has one (see `TEST_PEOPLE`), to sign with. */
function keyOf(person: string): { key?: ReturnType<typeof testKey> } {
  return hasTestKey(person) ? { key: testKey(person) } : {};
}

/**
 * Approves a pending request as `approver` through the `decide` update, as `hitl approve` does: signed with the
 * approver's test key when they have one.
 * @returns the receipt
 * @throws UpdateRefusedError when the run refuses it
 */
export function approveAs(
  client: Client,
  workflowId: string,
  request: RequestRef,
  approver: string,
): Promise<DecisionReceipt> {
  return decide(client, workflowId, decisionOn(request, approver), keyOf(approver));
}

/**
 * Decides a pending request as `approver` through the `decide` update (reject, edit, respond or approve), signed
 * with the approver's test key when they have one.
 * @throws UpdateRefusedError when the run refuses it
 */
export function decideAs(
  client: Client,
  workflowId: string,
  request: RequestRef,
  approver: string,
  decision: Decision['decision'],
  extras: DecisionExtras = {},
): Promise<DecisionReceipt> {
  return decide(client, workflowId, decisionOn(request, approver, decision, extras), keyOf(approver));
}

/** Answers a pause through the `resume` update, signed with the person's test key when they have one. */
export function resumeAs(
  client: Client,
  workflowId: string,
  answer: ResumeRequest,
): Promise<{ pauseId: string; action: string }> {
  return resumeRun(client, workflowId, answer, keyOf(answer.by));
}

/** Stops a run through the `stop` update, signed with the person's test key when they have one. */
export function stopAs(client: Client, workflowId: string, stop: StopRequest): Promise<{ closedRequests: number }> {
  return stopRun(client, workflowId, stop, keyOf(stop.by));
}
