import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { auditTrail, pendingApprovals, runResult, runStatus, signalDecision } from '../../client';
import { auditTrailQuery, decideUpdate } from '../../src/shared/messages';
import type { Decision } from '../../src/shared/decision';
import { approveAs } from '../support/decisions';
import { answer, call, withWorker, type Harness } from '../support/harness';
import { sharedEnv, waitFor } from '../support/env';
import { runHistories, stillHistoryLength, wholeAuditTrail } from '../support/run-history';
import { RECORDED_REFUSALS } from '../../workflows/gate/decision-path';
import { examplePolicy } from '../support/policies';

// Regressions found by the decision fuzzer around continue-as-new.

// Histories are padded with refused signals that add no audit entry (so no audit store write): past the first
// RECORDED_REFUSALS per request id, a refusal is only counted.
const pad = 'padding';

/** Starts a run, waits for its request, and uses up the refusals recorded for `pad`, each stored. */
async function padded(h: Harness, invoiceId: number, threshold?: number) {
  const run = await h.startScripted(
    [call('issue_refund', { invoiceId, amountCents: 50, reason: 'duplicate' }), answer('refunded')],
    { policy: examplePolicy, ...(threshold !== undefined ? { continueAsNewAfterEvents: threshold } : {}) },
  );
  const [req] = await h.pending(run.workflowId);
  assert.ok(req);
  for (let i = 1; i <= RECORDED_REFUSALS; i++) {
    await signalDecision(h.client, run.workflowId, { garbage: i, requestId: pad });
    await waitFor(async () => {
      const trail = await wholeAuditTrail(h.client, run.workflowId);
      return trail.filter((e) => e.kind === 'decision_refused').length === i ? true : undefined;
    }, `recorded refusal ${i}`);
  }
  const length = await waitFor(() => stillHistoryLength(h.client, run.workflowId), 'a still history');
  return { run, req, length };
}

/**
 * Sends counted refusals to a still run, each handled before the next, while the next one's task would still see
 * fewer events than `threshold` (it sees the history plus 3: the signal and the task's own two events).
 * @returns the still history's length after the last
 */
async function padBelow(h: Harness, workflowId: string, length: number, threshold: number): Promise<number> {
  for (let i = 1; length + 3 < threshold; i++) {
    await signalDecision(h.client, workflowId, { garbage: i, requestId: pad });
    const before = length;
    length = await waitFor(async () => {
      const now = await stillHistoryLength(h.client, workflowId);
      return now !== undefined && now > before ? now : undefined;
    }, `counted refusal ${i} handled`);
  }
  return length;
}

describe('fuzz: decisions and the audit trail across a continue-as-new', () => {
  // Right after a run continued as new, its newest segment has no audit entry of its own, and the client's auditTrail
  // took that for a run that never continued and returned nothing (fixed in dc31bf2).
  it('lists every entry of every segment, also while the newest segment has none yet', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 1, amountCents: 100, reason: 'duplicate' }), answer('done')],
        { policy: examplePolicy, continueAsNewAfterEvents: 50 },
      );
      await h.pending(run.workflowId);
      const { runId: firstRunId } = await h.client.workflow.getHandle(run.workflowId).describe();
      const firstRun = h.client.workflow.getHandle(run.workflowId, firstRunId);
      // Refused signals, one at a time, each handled (and its audit entry stored) before the next, push the history
      // past 50 events; the quiet run then continues as new right after one, and its new segment has no audit entry
      // of its own.
      for (let i = 1; i <= 60; i++) {
        // Each names its own request id: refusals are recorded one by one for the first few per request id.
        await signalDecision(h.client, run.workflowId, { garbage: i, requestId: `garbage-${i}` });
        await waitFor(async () => {
          const trail = await wholeAuditTrail(h.client, run.workflowId);
          return trail.filter((e) => e.kind === 'decision_refused').length === i ? true : undefined;
        }, `signal ${i} handled`);
        // Storing the refusal's audit entry takes a workflow task of its own, which may be the one that continues.
        // Both read the first Temporal run: a check of the newest run could read the new one, still, just after the
        // first continued, and the next signal would land there.
        const continued = await waitFor(async () => {
          if ((await firstRun.describe()).status.name === 'CONTINUED_AS_NEW') return true;
          return (await stillHistoryLength(h.client, run.workflowId, firstRunId)) !== undefined ? false : undefined;
        }, `the history after signal ${i} to be still`);
        if (continued) break;
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

  // An approval handled in the workflow task that also crossed the continue-as-new threshold released both waits in
  // one pass: the run continued with the approved call neither settled nor open, and the next segment proposed it
  // again, so the refund never ran (fixed in 18fce70).
  it('runs an approved call when the approval lands in the workflow task that continues the run as new', async () => {
    await withWorker(async (h) => {
      const seen: string[] = [];
      const missed: string[] = [];
      // The history must cross the run's continueAsNewAfterEvents exactly in the task that takes the approval (see
      // `padded`). A counted refusal adds 4 events, so one of four thresholds in a row is missed; the others are
      // aimed. A run's history can stand an event higher or lower once its request is pending, which can miss one
      // more: eight thresholds in a row, at least three aimed.
      const probe = await padded(h, 2);
      // A margin over the probe: a run's history may stand a few events higher than another's (a loaded server times
      // out a workflow task now and then), and the counted refusals, 4 events each, close the rest of the gap.
      const first = Math.max(50, probe.length + 20);
      for (let threshold = first; threshold < first + 8; threshold++) {
        const { run, req, length: padLength } = await padded(h, 3 + (threshold % 40), threshold);
        // Counted refusals up to the threshold: the run does not continue yet.
        const length = await padBelow(h, run.workflowId, padLength, threshold);
        // The approval's task sees the history plus its own two events.
        if (length + 2 < threshold) {
          missed.push(`threshold ${threshold}: history at ${length} events`);
          continue;
        }
        if ((await runStatus(h.client, run.workflowId)).earlierRuns.length > 0) {
          missed.push(`threshold ${threshold}: the run continued before the approval`);
          continue;
        }
        const receipt = await approveAs(h.client, run.workflowId, req, 'sam');
        assert.equal(receipt.closed, true, 'the approval was taken');
        // The bug showed as a new request for the approved call instead of an end to the run.
        const outcome = await waitFor(
          async () => {
            const { status } = await h.client.workflow.getHandle(run.workflowId).describe();
            if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW') {
              const result = await runResult(h.client, run.workflowId);
              return `${status.name}: ${result.outcomes.map((o) => o.status).join(', ')}`;
            }
            const p = await pendingApprovals(h.client, run.workflowId);
            const again = p.find((r) => r.requestId !== req.requestId);
            return again && `a new request ${again.requestId} for the approved call, which did not run`;
          },
          'the run to end or to ask again',
          30_000,
        );
        seen.push(`threshold ${threshold}: ${outcome}`);
      }
      assert.ok(seen.length >= 3, `at least three thresholds were aimed; missed: ${missed.join('; ')}`);
      assert.deepEqual(
        seen.filter((s) => !s.endsWith('COMPLETED: executed')),
        [],
      );
    });
  });

  // A `decide` update that its validator rejects comes in a speculative workflow task, which the server forgets when
  // the worker answers with no command. The run read its history's length in a condition's predicate, which runs in
  // that task too: two events more than the last real task saw, enough to cross the threshold. The run then began to
  // continue as new there (the seal activity), the server kept a task whose only job replay never sees, and replay
  // failed with "No command scheduled for event N" (found by the decision fuzzer, seed -564630605; fixed by
  // ContinueWatch, which reads the history only when a recorded event arrives).
  it('does not begin to continue as new in the task of an update it rejects: that task leaves no trace', async () => {
    await withWorker(async (h) => {
      const { bundle } = await sharedEnv();
      const aimed: string[] = [];
      const missed: string[] = [];
      const probe = await padded(h, 2);
      const first = Math.max(50, probe.length + 20);
      // The rejected update's task sees the still history plus its own two events; the last real task saw one event
      // fewer than the still history. Aimed: a threshold in between. A counted refusal adds 4 events, so one of four
      // thresholds in a row is missed, and a history that stands an event higher or lower can miss one more. On a
      // loaded machine the padded history's length varies from run to run (a CI run missed four of six thresholds,
      // each by that event), so up to sixteen thresholds are tried; the loop stops at the third aimed.
      for (let threshold = first; threshold < first + 16 && aimed.length < 3; threshold++) {
        const { run, req, length: padLength } = await padded(h, 3 + (threshold % 40), threshold);
        const length = await padBelow(h, run.workflowId, padLength, threshold);
        if (length + 2 < threshold || length - 1 >= threshold) {
          missed.push(`threshold ${threshold}: history at ${length} events`);
          continue;
        }
        const { runId } = await h.client.workflow.getHandle(run.workflowId).describe();
        const segment = h.client.workflow.getHandle(run.workflowId, runId);
        await assert.rejects(
          segment.executeUpdate(decideUpdate, { args: [{ garbage: true } as unknown as Decision] }),
          (err) => err instanceof WorkflowUpdateFailedError,
          'the update is rejected',
        );
        const after = await waitFor(async () => {
          const d = await segment.describe();
          const busy = d.raw.pendingWorkflowTask != null || (d.raw.pendingActivities?.length ?? 0) > 0;
          return busy && d.status.name === 'RUNNING' ? undefined : d;
        }, 'the run to be still after the rejected update');
        assert.equal(after.status.name, 'RUNNING', `threshold ${threshold}: the run did not continue as new`);
        assert.equal(Number(after.historyLength), length, `threshold ${threshold}: the history did not grow`);
        // The approval is recorded: the run may continue as new from here on, and the refund runs once.
        await approveAs(h.client, run.workflowId, req, 'sam');
        const result = await runResult(h.client, run.workflowId);
        assert.deepEqual(
          result.outcomes.map((o) => o.status),
          ['executed'],
        );
        const histories = (await runHistories(h.client, run.workflowId)).map((events) => ({
          workflowId: run.workflowId,
          history: { events },
        }));
        for await (const replay of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
          assert.equal(replay.error, undefined, `threshold ${threshold}: replay: ${String(replay.error?.message)}`);
        }
        aimed.push(`threshold ${threshold}`);
      }
      assert.ok(aimed.length >= 3, `at least three thresholds were aimed; missed: ${missed.join('; ')}`);
    });
  });
});
