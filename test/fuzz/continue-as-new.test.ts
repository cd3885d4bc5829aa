import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditTrail, runStatus, signalDecision } from '../../client';
import { auditTrailQuery } from '../../src/messages';
import { answer, call, withWorker } from '../support/harness';
import { waitFor } from '../support/env';
import { wholeAuditTrail } from '../support/run-history';
import { examplePolicy } from './policy';

// Found by the decision fuzzer: right after a run continued as new, its newest segment has no audit entry of its own,
// and the client's auditTrail took that for a run that never continued and returned nothing (fixed in dc31bf2).

describe('fuzz: the audit trail across a continue-as-new', () => {
  it('lists every entry of every segment, also while the newest segment has none yet', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 1, amountCents: 100, reason: 'duplicate' }), answer('done')],
        { policy: examplePolicy, continueAsNewAfterEvents: 50 },
      );
      await h.pending(run.workflowId);
      // Refused signals, one at a time, each handled before the next, push the history past 50 events; the quiet run
      // then continues as new right after handling one, and its new segment has no audit entry of its own.
      for (let i = 1; i <= 60; i++) {
        await signalDecision(h.client, run.workflowId, { garbage: i });
        await waitFor(async () => {
          const trail = await wholeAuditTrail(h.client, run.workflowId);
          return trail.filter((e) => e.kind === 'decision_refused').length === i ? true : undefined;
        }, `signal ${i} handled`);
        if ((await runStatus(h.client, run.workflowId)).earlierRuns.length > 0) break;
      }
      const newest = await h.client.workflow.getHandle(run.workflowId).query(auditTrailQuery);
      assert.deepEqual(newest, [], 'precondition: the newest segment has no entry yet');
      const whole = await wholeAuditTrail(h.client, run.workflowId);
      assert.ok(
        whole.some((e) => e.kind === 'decision_refused'),
        'precondition: the earlier segment has entries',
      );
      const trail = await auditTrail(h.client, run.workflowId);
      assert.deepEqual(
        trail.map((e) => e.seq),
        whole.map((e) => e.seq),
        'auditTrail() lists every entry of every segment',
      );
    });
  });
});
