import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, UpdateRefusedError, pendingApprovals, runResult, runStatus, signalDecision } from '../../client';
import type { Decision } from '../../src/shared/decision';
import { approveAs } from '../support/decisions';
import { call, answer, withWorker } from '../support/harness';
import { runHistories, workflowTaskFailures } from '../support/run-history';
import { examplePolicy } from '../support/policies';
import { chaosKills, envCount, report, rowsOfCall, rowsPerKey } from './support';

// Decisions sent through the client's `decide` while the run keeps continuing as new. Found by the decision fuzzer:
// an update that arrives while the worker completes a workflow task with continue-as-new is dropped by the server
// (FAILED_PRECONDITION, "unexpected workflow task failure"), neither taken nor refused, about once in a few hundred;
// `decide` now sends it again under the same update id (dc31bf2). Garbage signals keep the history growing so the
// run continues as new every few rounds; every decision must come back refused, never lost, and the request must
// travel from segment to segment untouched. HITL_CHAOS_CAN_ROUNDS sets the rounds (default 40, 10 on the short pass).

/** Decisions per round; signals per round. */
const PER_ROUND = 30;
/** Updates in flight at once. */
const CONCURRENCY = 16;
/** The run's continueAsNewAfterEvents: the lowest allowed, so it continues as new every few rounds. */
const THRESHOLD = 50;

describe('chaos: decisions racing continue-as-new', () => {
  it('answers every decision sent while the run keeps continuing as new, and carries the request untouched', async (t) => {
    const rounds = envCount('HITL_CHAOS_CAN_ROUNDS', Math.max(10, Math.round(chaosKills() * 0.4)));
    const started = Date.now();
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 1, amountCents: 100, reason: 'duplicate' }), answer('done')],
        { policy: examplePolicy, continueAsNewAfterEvents: THRESHOLD },
      );
      const [req] = await h.pending(run.workflowId);
      assert.ok(req);
      const forged: Decision = {
        requestId: req.requestId,
        decision: 'approve',
        approver: 'mallory',
        argsHash: req.argsHash,
      };
      const lost: string[] = [];
      let refused = 0;
      const burst = async (decisions: number, send: () => Promise<unknown>) => {
        let next = 0;
        await Promise.all([
          ...Array.from({ length: PER_ROUND }, (_, i) => signalDecision(h.client, run.workflowId, { garbage: i })),
          ...Array.from({ length: Math.min(CONCURRENCY, decisions) }, async () => {
            while (next < decisions) {
              next += 1;
              try {
                await send();
              } catch (err) {
                if (err instanceof UpdateRefusedError) refused += 1;
                else lost.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
              }
            }
          }),
        ]);
      };
      for (let round = 0; round < rounds; round++) {
        await burst(PER_ROUND, () => decide(h.client, run.workflowId, forged));
      }
      // Nothing was taken; the request is carried unchanged from segment to segment.
      const pending = await pendingApprovals(h.client, run.workflowId);
      assert.deepEqual(
        pending.map((r) => [r.requestId, r.approvals.length]),
        [[req.requestId, 0]],
      );
      // The valid approval, wherever the run stands relative to its next continue-as-new (an approval taken in the task
      // that continued the run as new used to be lost; test/fuzz/continue-as-new.test.ts aims at that task).
      const receipt = await approveAs(h.client, run.workflowId, req, 'sam');
      const result = await runResult(h.client, run.workflowId);
      const { earlierRuns } = await runStatus(h.client, run.workflowId);
      const refusedCompletions = (await runHistories(h.client, run.workflowId))
        .flat()
        .filter((e) => e.workflowTaskFailedEventAttributes != null).length;
      report(t, [
        `${rounds * PER_ROUND} refused decisions and ${rounds * PER_ROUND} garbage signals over ${earlierRuns.length + 1} segments ` +
          `(${earlierRuns.length} continue-as-new, ${refusedCompletions} completions refused by the server for new events)`,
        `refused by the validator: ${refused}; lost: ${lost.length}; took ${Math.round((Date.now() - started) / 1000)} s`,
      ]);
      assert.ok(earlierRuns.length >= rounds / 4, 'the run kept continuing as new');
      assert.deepEqual(lost, [], 'decisions neither taken nor refused');
      assert.equal(refused, rounds * PER_ROUND);
      assert.equal(receipt.closed, true, 'the valid approval was taken');
      assert.deepEqual(
        result.outcomes.map((o) => o.status),
        ['executed'],
      );
      assert.equal(rowsOfCall(rowsPerKey(h.db, 'hitl_refund'), run.workflowId, req.argsHash), 1);
      assert.deepEqual(await workflowTaskFailures(h.client, run.workflowId), []);
    });
  });
});
