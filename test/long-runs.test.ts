import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, pendingApprovals, runResult, runStatus, signalDecision } from '../client';
import { examplePolicy as example, policyVariant } from './support/policies';
import { approveAs } from './support/decisions';
import { waitFor } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import type { ScenarioTurn } from '../src/shared/model/types';

/** `n` turns that each read an invoice (cycling through invoices 1–20), then a final answer naming `n`. */
function reads(n: number): ScenarioTurn[] {
  return [
    ...Array.from({ length: n }, (_, i) => call('get_invoice', { invoiceId: (i % 20) + 1 })),
    answer(`read ${n}`),
  ];
}

/** Run ids of the run's segments so far, oldest first, the current one last. */
async function segments(h: Harness, workflowId: string): Promise<string[]> {
  const { earlierRuns } = await runStatus(h.client, workflowId);
  return earlierRuns;
}

/** Sends garbage signals until the run has continued as new at least once more than `before` segments. */
async function floodUntilContinued(h: Harness, workflowId: string, before: number): Promise<void> {
  await waitFor(
    async () => {
      await signalDecision(h.client, workflowId, { garbage: true });
      return (await segments(h, workflowId)).length > before ? true : undefined;
    },
    'the run to continue as new',
    60_000,
  );
}

describe('long runs and continue-as-new', () => {
  it('continues as new between turns and keeps steps, counts, outcomes, the audit trail and the conversation', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(reads(60), { maxSteps: 100, continueAsNewAfterEvents: 150 });
      const result = await runResult(h.client, run.workflowId);
      // The scripted model picks its turn by counting the assistant messages it reads back from the transcript
      // store: a lost or doubled message would change the answer or exhaust the scenario.
      assert.equal(result.answer, 'read 60');
      assert.equal(result.steps, 61);
      assert.ok(result.earlierRuns.length >= 3, `expected several segments, got ${result.earlierRuns.length + 1}`);
      assert.equal(result.outcomes.length, 60, 'the outcomes of every segment');
      assert.equal(result.counts.executed, 60);
      assert.deepEqual(
        result.outcomes.map((o) => (o.args as { invoiceId: number }).invoiceId),
        Array.from({ length: 60 }, (_, i) => (i % 20) + 1),
      );
      const trail = await auditTrail(h.client, run.workflowId);
      assert.deepEqual(
        trail.map((e) => e.seq),
        Array.from({ length: trail.length }, (_, i) => i + 1),
        'one trail, numbered without gaps across segments',
      );
      assert.equal(trail.filter((e) => e.kind === 'run_continued').length, result.earlierRuns.length);
      assert.equal(trail.filter((e) => e.kind === 'tool_executed').length, 60);
      for (const runId of result.earlierRuns) {
        const history = await h.client.workflow.getHandle(run.workflowId, runId).fetchHistory();
        const events = history.events?.length ?? 0;
        assert.ok(events < 150 + 40, `segment ${runId} has ${events} events`);
      }
    });
  });

  it('carries an open request with its first approval through continue-as-new, then runs it once', async () => {
    await withWorker(async (h) => {
      // $64.50 needs two finance approvers under the example policy.
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 2, amountCents: 6000, reason: 'cancelled order' }), answer('refunded')],
        { policy: example, continueAsNewAfterEvents: 80 },
      );
      const [req] = await h.pending(run.workflowId);
      await approveAs(h.client, run.workflowId, req!, 'fiona');
      await floodUntilContinued(h, run.workflowId, 0);
      const [carried] = await pendingApprovals(h.client, run.workflowId);
      assert.equal(carried?.requestId, req?.requestId);
      assert.equal(carried?.deadline, req?.deadline);
      assert.deepEqual(
        carried?.approvals.map((a) => a.approver),
        ['fiona'],
      );
      assert.equal(countRefunds(h.db), 0);
      await approveAs(h.client, run.workflowId, carried, 'frank');
      const result = await runResult(h.client, run.workflowId);
      assert.equal(result.outcomes[0]?.status, 'executed');
      assert.equal(result.outcomes[0]?.decidedBy, 'fiona, frank');
      const row = h.db.prepare('SELECT COUNT(*) AS n, MIN(idempotency_key) AS k FROM hitl_refund').get() as {
        n: number;
        k: string;
      };
      assert.equal(row.n, 1, 'one effect');
      // The key is derived from the run and the call, the same in both segments.
      assert.match(row.k, new RegExp(`^${run.workflowId}:[0-9a-f-]{36}:1\\.0:${req!.argsHash}$`));
    });
  });

  it('keeps an escalation deadline across continue-as-new: the request escalates on time in the next segment', async () => {
    const policy = policyVariant('escalation-across-segments', {
      issue_refund: {
        gate: 'hard',
        approvers: { groups: ['support'] },
        timeout: '4s',
        onTimeout: 'escalate',
        escalation: [{ groups: ['admins'], timeout: '5m' }],
      },
    });
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 1, amountCents: 300, reason: 'dup' }), answer('refunded')],
        { policy, continueAsNewAfterEvents: 80 },
      );
      const [req] = await h.pending(run.workflowId);
      await floodUntilContinued(h, run.workflowId, 0);
      const [escalated] = await waitFor(async () => {
        const p = await pendingApprovals(h.client, run.workflowId);
        return p[0]?.stage === 1 ? p : undefined;
      }, 'the escalation in the new segment');
      assert.equal(escalated?.requestId, req?.requestId);
      assert.deepEqual(escalated?.eligibleApprovers, ['ada', 'alan']);
      await approveAs(h.client, run.workflowId, escalated, 'ada');
      await runResult(h.client, run.workflowId);
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind === 'approval_escalated').length, 1);
      assert.equal(countRefunds(h.db), 1);
    });
  });
});
