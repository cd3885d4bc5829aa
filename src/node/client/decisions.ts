import { isGrpcServiceError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { nanoid } from 'nanoid';
import {
  type Decision,
  parseDecisionMessage,
  ResumeSchema,
  StopSchema,
  type DecisionMessage,
  type ResumeRequest,
  type StopRequest,
} from '../../shared/decision';
import { InputError, UpdateRefusedError } from '../../shared/errors';
import { decideUpdate, decisionSignal, pendingApprovalsQuery, resumeUpdate, stopUpdate } from '../../shared/messages';
import type { ApprovalRequest, DecisionReceipt } from '../../shared/run-state';
import { formatZodError } from '../../shared/zod-format';
import type { SigningKey } from '../identity/keys';
import { signDecision, signResume, signStop } from './signing';

/**
 * Decides one approval request, or several at once (`{ decisions: [...] }`), through the `decide` update, so the
 * caller learns at once whether it was taken. A batch is all or nothing.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param message - `{ requestId, decision, approver, argsHash, effectHash?, reason?, message?, args? }` or
 *   `{ decisions: [...] }`
 * @param options - `key`: sign each decision with this key (the approver's own, or a delegated signer's)
 * @returns the receipt of the (last) decision: request id, decision, approver, the hash of the arguments that will run,
 *   whether the request closed and how many approvals it still needs
 * @throws InputError when the payload is malformed (nothing is sent)
 * @throws UpdateRefusedError with the workflow's reason when the validator refuses it
 * @example
 * await decide(client, 'agent-abc', { requestId, decision: 'approve', approver: 'alice', argsHash });
 */
export async function decide(
  client: Client,
  workflowId: string,
  message: DecisionMessage,
  options: { key?: SigningKey } = {},
): Promise<DecisionReceipt> {
  const parsed = parseDecisionMessage(message);
  if (!parsed.ok) throw new InputError(parsed.reason);
  const { key } = options;
  const ctx = { namespace: client.options.namespace, workflowId };
  const decisions = parsed.decisions.map((d) => (key !== undefined ? signDecision(d, key, ctx) : d));
  const payload: DecisionMessage = 'decisions' in (message as object) ? { decisions } : (decisions[0] as Decision);
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(decideUpdate, { args: [payload], updateId }));
}

/** Attempts at an update the server drops for a failed workflow task, before giving up. */
const UPDATE_ATTEMPTS = 6;

/**
 * Sends an update under one update id, which the server runs at most once however often it arrives. When the server
 * drops the update because the workflow task that would have taken it failed (it answers FAILED_PRECONDITION,
 * "unexpected workflow task failure": e.g. a run continuing as new while the update arrived), it is sent again, with
 * backoff; the workflow has not seen it. A refusal by the update's validator becomes a {@link UpdateRefusedError}.
 */
async function sendUpdate<T>(send: (updateId: string) => Promise<T>): Promise<T> {
  const updateId = `hitl-${nanoid()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(updateId);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        throw new UpdateRefusedError(err.cause.message, err.cause.type ?? undefined);
      }
      if (attempt >= UPDATE_ATTEMPTS || !droppedForWorkflowTaskFailure(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** Whether the server dropped an update because a workflow task failed (gRPC FAILED_PRECONDITION on the way). */
function droppedForWorkflowTaskFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (
      isGrpcServiceError(e) &&
      Number(e.code) === GRPC_FAILED_PRECONDITION &&
      /workflow task failure/i.test(e.details)
    ) {
      return true;
    }
  }
  return false;
}

/** gRPC's status code for FAILED_PRECONDITION. */
const GRPC_FAILED_PRECONDITION = 9;

/**
 * Stops a run cleanly through the `stop` update: pending requests close, work in flight is cancelled, and the audit
 * trail records who stopped it and why. The run then completes with `stopped` set in its result.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param stop - `{ by, reason }`
 * @param options - `key`: sign the stop with this key
 * @returns how many pending requests were closed
 * @throws InputError when `by` or `reason` is missing
 * @throws UpdateRefusedError when the run is already ending
 * @example
 * await stopRun(client, 'agent-abc', { by: 'alice', reason: 'customer called back' });
 */
export async function stopRun(
  client: Client,
  workflowId: string,
  stop: StopRequest,
  options: { key?: SigningKey } = {},
): Promise<{ closedRequests: number }> {
  const parsed = StopSchema.safeParse(stop);
  if (!parsed.success) throw new InputError(`invalid stop: ${formatZodError(parsed.error)}`);
  const ctx = { namespace: client.options.namespace, workflowId };
  const payload = options.key !== undefined ? signStop(parsed.data, options.key, ctx) : parsed.data;
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(stopUpdate, { args: [payload], updateId }));
}

/**
 * Answers the run's open pause (plan review, checkpoint, spending or step budget, check-in, failing tool) through the
 * `resume` update. `stop`, `abort` and `reject` need a reason; `edit` of a plan needs the full replacement `steps`.
 *
 * @param client - a connected client
 * @param workflowId - the paused run
 * @param answer - `{ pauseId, action, by, reason?, steps? }`; `pauseId` comes from the `status` query's `pause`
 * @param options - `key`: sign the answer with this key
 * @returns the pause id and the action taken
 * @throws InputError when the payload is malformed (nothing is sent)
 * @throws UpdateRefusedError with the workflow's reason when it is refused: not paused, another pause id, an action
 *   the pause does not offer, someone who may not answer, an edited plan step that fails its tool's schema
 * @example
 * const { pause } = await runStatus(client, 'agent-abc');
 * await resumeRun(client, 'agent-abc', { pauseId: pause!.pauseId, action: 'continue', by: 'ada' });
 */
export async function resumeRun(
  client: Client,
  workflowId: string,
  answer: ResumeRequest,
  options: { key?: SigningKey } = {},
): Promise<{ pauseId: string; action: string }> {
  const parsed = ResumeSchema.safeParse(answer);
  if (!parsed.success) throw new InputError(`invalid resume: ${formatZodError(parsed.error)}`);
  const ctx = { namespace: client.options.namespace, workflowId };
  const payload = options.key !== undefined ? signResume(parsed.data, options.key, ctx) : parsed.data;
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(resumeUpdate, { args: [payload], updateId }));
}

/**
 * Sends a decision as the `decision` signal (fire and forget). An invalid decision is recorded on the run's audit trail
 * as refused and changes nothing.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param decision - any payload; the workflow validates it
 * @example
 * await signalDecision(client, 'agent-abc', { requestId, decision: 'reject', approver: 'bob', argsHash, reason: 'no' });
 */
export async function signalDecision(client: Client, workflowId: string, decision: unknown): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(decisionSignal, decision as DecisionMessage);
}

/**
 * Looks up the request to decide with one query: the named one, or the run's only pending request. The decision then
 * carries the request's `argsHash`, so it can only apply to the arguments the reviewer was shown.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param requestId - the request; may be left out when exactly one is pending
 * @returns the pending request as the run reports it
 * @throws InputError when the named request is not pending, or none is named and the run has zero or several
 * @example const request = await resolveRequest(client, 'agent-abc');
 */
export async function resolveRequest(client: Client, workflowId: string, requestId?: string): Promise<ApprovalRequest> {
  const pending = await client.workflow.getHandle(workflowId).query(pendingApprovalsQuery);
  const list = pending.map((p) => `${p.requestId} (${p.tool})`).join(', ');
  if (requestId !== undefined) {
    const found = pending.find((p) => p.requestId === requestId);
    if (found !== undefined) return found;
    throw new InputError(`run ${workflowId} has no pending request "${requestId}" (pending: ${list || 'none'})`);
  }
  const only = pending[0];
  if (pending.length === 1 && only !== undefined) return only;
  if (pending.length === 0) throw new InputError(`run ${workflowId} has no pending approval request`);
  throw new InputError(`run ${workflowId} has ${pending.length} pending requests; name one: ${list}`);
}
