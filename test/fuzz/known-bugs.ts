// Reproductions of bugs found by the chaos and fuzz suites in files those suites may not change (workflows/). Not
// imported by test/all.ts nor test/chaos/all.ts: they fail until the bugs are fixed. Run on their own:
//   node --import tsx --test --test-reporter=spec test/fuzz/known-bugs.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decide, pendingApprovals, runResult, runStatus, signalDecision } from '../../client';
import { closeSharedEnv, waitFor } from '../support/env';
import { answer, call, withWorker } from '../support/harness';
import { wholeAuditTrail } from '../support/run-history';
import { examplePolicy } from './policy';

after(async () => {
  await closeSharedEnv();
});

describe('known bugs', () => {
  it('runs an approved call when the approval lands in the workflow task that continues the run as new', async () => {
    await withWorker(async (h) => {
      const seen: string[] = [];
      // The history must cross the run's continueAsNewAfterEvents exactly in the task that takes the approval. A
      // handled signal adds 4 events, so one of four thresholds in a row is always missed; the others are aimed.
      for (let threshold = 50; threshold < 54; threshold++) {
        const run = await h.startScripted(
          [call('issue_refund', { invoiceId: threshold, amountCents: 100, reason: 'duplicate' }), answer('refunded')],
          { policy: examplePolicy, continueAsNewAfterEvents: threshold },
        );
        const [req] = await h.pending(run.workflowId);
        assert.ok(req);
        const handle = h.client.workflow.getHandle(run.workflowId);
        const historyLength = async () => Number((await handle.describe()).historyLength);
        // Refused signals, each handled before the next, while the next one's task would still see fewer events
        // than the threshold (it sees the signal and the task's own two events): the run does not continue yet.
        let length = await historyLength();
        for (let i = 1; length + 3 < threshold; i++) {
          await signalDecision(h.client, run.workflowId, { garbage: i });
          await waitFor(async () => {
            const trail = await wholeAuditTrail(h.client, run.workflowId);
            return trail.filter((e) => e.kind === 'decision_refused').length === i ? true : undefined;
          }, `signal ${i} handled`);
          length = await historyLength();
        }
        // The approval's task sees the history plus its own two events.
        if (length + 2 < threshold) continue;
        assert.equal((await runStatus(h.client, run.workflowId)).earlierRuns.length, 0, 'precondition: one segment');
        const receipt = await decide(h.client, run.workflowId, {
          requestId: req.requestId,
          decision: 'approve',
          approver: 'sam',
          argsHash: req.argsHash,
        });
        assert.equal(receipt.closed, true, 'the approval was taken');
        // Seen: the run continues as new in that same task, the closed request is not carried as approved, and the
        // next segment proposes the call again as a new request; the refund never runs and the approval is lost.
        const outcome = await Promise.race([
          runResult(h.client, run.workflowId).then(
            (r) => `completed: ${r.outcomes.map((o) => o.status).join(', ')}`,
            (err: unknown) => `failed: ${String(err)}`,
          ),
          waitFor(
            async () => {
              const p = await pendingApprovals(h.client, run.workflowId);
              return p.some((r) => r.requestId !== req.requestId) ? p : undefined;
            },
            'a new request',
            30_000,
          ).then((p) => `a new request ${p[0]?.requestId ?? ''} for the approved call, which did not run`),
        ]);
        seen.push(`threshold ${threshold}: ${outcome}`);
      }
      assert.ok(seen.length >= 3, 'at least three thresholds were aimed');
      assert.deepEqual(
        seen.filter((s) => !s.endsWith('completed: executed')),
        [],
      );
    });
  });
});
