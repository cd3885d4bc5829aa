import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { FailureType } from '../src/shared/errors';
import {
  auditTrailQuery,
  decideUpdate,
  decisionSignal,
  outcomesQuery,
  pendingApprovalsQuery,
  resumeUpdate,
  statusQuery,
  stopUpdate,
} from '../src/shared/messages';
import { WorkflowRunInputSchema, type WorkflowRunInput } from '../src/shared/run-input';
import type { AgentRunResult } from '../src/shared/run-state';
import { formatZodError } from '../src/shared/zod-format';
import { hasPatch, PATCHES } from './patches';
import { AgentRun } from './run/agent-run';
import type { CarriedState } from './run/continuation';
import { refuseUntrustedContinuation } from './run/start';

/**
 * The durable agent loop. Each model call and tool call is an activity; irreversible tool calls open an approval
 * request and wait on a durable timer for a decision (signal `decision` or update `decide`). A call whose deadline
 * passes is denied, never approved. The conversation lives in the transcript store, not in the history; once the
 * history is long (`continueAsNewAfterEvents`, or when Temporal suggests it) the run continues as new, carrying what
 * it needs to go on deciding, open requests included.
 *
 * The run trusts nothing a client sent beyond its input: it pins one of the worker's policies (a run that brings
 * its own is refused), verifies a signed start, and accepts carried state only from its own continue-as-new, sealed
 * by the workers.
 *
 * @param rawInput - `AgentRunInput`; validated again here so a run started by another client gets the same checks
 * @param carried - set only by the run itself when it continues as new
 * @returns the final answer, the last segment's tool outcomes, the counts and the earlier segments' run ids
 * @throws ApplicationFailure `InvalidRunInput` when the input fails its schema or carries a policy;
 *   `InvalidCarriedState` when carried state comes with a fresh start, a retry or a cron run
 */
export async function agentRun(rawInput: WorkflowRunInput, carried?: CarriedState): Promise<AgentRunResult> {
  const parsed = WorkflowRunInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const message = `invalid run input: ${formatZodError(parsed.error)}`;
    throw ApplicationFailure.nonRetryable(message, FailureType.InvalidRunInput);
  }
  // Runs from before 2026-12-01 replay along the path they took: their own policy in the input, no seal.
  const proving = hasPatch(PATCHES.workerOwnedAuthority);
  if (proving && typeof parsed.data.policy === 'object') {
    throw ApplicationFailure.nonRetryable(
      "invalid run input: a run may not carry its own policy; name one of the worker's (policy: NAME)",
      FailureType.InvalidRunInput,
    );
  }
  if (carried !== undefined) refuseUntrustedContinuation();
  const run = new AgentRun(parsed.data, carried, proving);
  setHandler(pendingApprovalsQuery, () => run.pendingApprovals());
  setHandler(auditTrailQuery, () => run.auditTrail());
  setHandler(outcomesQuery, () => run.outcomes());
  setHandler(statusQuery, () => run.status());
  setHandler(resumeUpdate, (p) => run.answerPause(p), { validator: (p) => run.pauses.validate(p) });
  setHandler(decisionSignal, (p) => run.receiveDecision(p));
  setHandler(decideUpdate, (p) => run.decide(p), { validator: (p) => run.decisions.validate(p) });
  setHandler(stopUpdate, (p) => run.stop(p), { validator: (p) => run.stopper.validate(p) });
  return run.run();
}
