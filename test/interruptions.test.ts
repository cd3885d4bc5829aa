import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { countOutbox, countRefunds } from '../activities/billing/index';
import { auditTrail, UpdateRefusedError, pendingApprovals, runStatus, type RunPause } from '../client';
import { AGENT_RUN_WORKFLOW } from '../src/shared/messages';
import { DEFAULT_POLICY } from '../src/shared/policy/default-policy';
import { loadPolicyFile } from '../src/node/policy-file';
import { PolicySchema, type Policy } from '../src/shared/policy/schema';
import type { AgentRunResult, PauseKind } from '../src/shared/run-state';
import { approveAs, resumeAs } from './support/decisions';
import { repoRoot, waitFor } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';

const example = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));
const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'duplicate charge' });
const email = { customerIds: [1], subject: 'Your refund', body: 'It is on its way.' };

/** The built-in default policy with other interruptions and tool gates. */
function defaultWith(version: string, extra: { interruptions?: unknown; tools?: Record<string, unknown> }): Policy {
  return PolicySchema.parse({
    ...DEFAULT_POLICY,
    version,
    tools: { ...DEFAULT_POLICY.tools, ...extra.tools },
    ...(extra.interruptions !== undefined ? { interruptions: extra.interruptions } : {}),
  });
}

/** Waits until the run is paused with a pause of `kind` and returns it. */
async function pausedWith(h: Harness, workflowId: string, kind: PauseKind): Promise<RunPause> {
  return waitFor(async () => {
    const { pause } = await runStatus(h.client, workflowId);
    return pause?.kind === kind ? pause : undefined;
  }, `a ${kind} pause on ${workflowId}`);
}

function refusedWith(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UpdateRefusedError, `expected a refusal, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('plan review and interruptions', () => {
  it('reviews the plan once, runs its steps without a request each, and still gates a call outside it', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [
          {
            content: 'My plan.',
            toolCalls: [
              { name: 'issue_refund', arguments: refund(500) },
              { name: 'send_email', arguments: email },
            ],
          },
          call('issue_refund', refund(500)),
          call('send_email', email),
          call('issue_refund', refund(300), 'One more, not in the plan.'),
          answer('done'),
        ],
        { review: 'plan', policy: example, requestedBy: 'tester' },
      );
      const pause = await pausedWith(h, run.workflowId, 'plan_review');
      assert.deepEqual(pause.actions, ['approve', 'edit', 'reject']);
      assert.deepEqual(
        pause.plan?.map((s) => [s.tool, s.gate]),
        [
          ['issue_refund', 'hard'],
          ['send_email', 'soft'],
        ],
      );
      const answerAs = (by: string, extra: object = {}) =>
        resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'approve', by, ...extra });
      await assert.rejects(answerAs('mallory'), refusedWith(/"mallory" may not answer/));
      await assert.rejects(
        resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'continue', by: 'sam' }),
        refusedWith(/takes approve, edit, reject, not continue/),
      );
      await assert.rejects(
        resumeAs(h.client, run.workflowId, {
          pauseId: pause.pauseId,
          action: 'edit',
          by: 'sam',
          steps: [{ tool: 'issue_refund', args: { invoiceId: 1, amountCents: -5, reason: 'x' } }],
        }),
        refusedWith(/plan step 1 is invalid/),
      );
      assert.equal(countRefunds(h.db), 0, 'nothing runs while the plan is under review');
      await answerAs('sam');
      // The planned refund and email run at once; the off-plan refund opens a request of its own.
      const [offPlan] = await h.pending(run.workflowId);
      assert.deepEqual(offPlan?.args, refund(300));
      assert.equal(countRefunds(h.db), 1);
      assert.equal(countOutbox(h.db), 1);
      await approveAs(h.client, run.workflowId, offPlan, 'sue');
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => [o.tool, o.status, o.decidedBy]),
        [
          ['issue_refund', 'executed', 'sam (approved plan)'],
          ['send_email', 'executed', 'sam (approved plan)'],
          ['issue_refund', 'executed', 'sue'],
        ],
      );
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind === 'run_paused').length, 1, 'one review for the whole plan');
      assert.equal(trail.filter((e) => e.kind === 'approval_requested').length, 1, 'one request: the off-plan call');
    });
  });

  it('does not let a plan approval stand in for a call its approver could not approve alone', async () => {
    await withWorker(async (h) => {
      // $64.50 needs two finance approvers under the example policy: approving the plan is one person.
      const run = await h.startScripted(
        [call('issue_refund', refund(6450, 2)), call('issue_refund', refund(6450, 2)), answer('done')],
        { review: 'plan', policy: example },
      );
      const pause = await pausedWith(h, run.workflowId, 'plan_review');
      await resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'approve', by: 'fiona' });
      const [req] = await h.pending(run.workflowId);
      assert.equal(req?.quorum, 2);
      assert.equal(countRefunds(h.db), 0);
      for (const approver of ['fiona', 'frank']) await approveAs(h.client, run.workflowId, req, approver);
      await run.result();
      assert.equal(countRefunds(h.db, 2), 1);
    });
  });

  it('runs the precheck before a planned call too: the plan may be old by the time the call comes', async () => {
    await withWorker(async (h) => {
      // Two planned refunds on invoice 1 ($9.92) that together ask for more than it has.
      const run = await h.startScripted(
        [
          {
            toolCalls: [
              { name: 'issue_refund', arguments: refund(992) },
              { name: 'issue_refund', arguments: refund(500) },
            ],
          },
          call('issue_refund', refund(992)),
          call('issue_refund', refund(500)),
          answer('done'),
        ],
        { review: 'plan' },
      );
      const pause = await pausedWith(h, run.workflowId, 'plan_review');
      await resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'approve', by: 'ada' });
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => o.status),
        ['executed', 'blocked'],
      );
      assert.match(result.outcomes[1]?.error ?? '', /only \$0\.00 is still refundable/);
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('tells the model when its plan is rejected, and runs nothing from it', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [
          call('delete_customer', { customerId: 3, reason: 'asked to' }),
          { content: 'deleted', onRejected: { content: 'The plan was rejected, so I did nothing.' } },
        ],
        { review: 'plan' },
      );
      const pause = await pausedWith(h, run.workflowId, 'plan_review');
      await assert.rejects(
        resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'reject', by: 'ada' }),
        refusedWith(/a reject needs a reason/),
      );
      await resumeAs(h.client, run.workflowId, {
        pauseId: pause.pauseId,
        action: 'reject',
        by: 'ada',
        reason: 'we keep accounts for 7 years',
      });
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.answer, 'The plan was rejected, so I did nothing.');
      assert.equal(result.outcomes.length, 0);
      assert.equal(h.db.prepare('SELECT COUNT(*) FROM Customer WHERE CustomerId = 3').pluck().get(), 1);
    });
  });

  it('pauses when model spend crosses the budget, shows the run as Paused, and goes on after continue', async () => {
    // The scripted model's first call costs about 150 prompt tokens: at $1,000 per million that is about $0.15.
    const policy = defaultWith('budget-test', {
      interruptions: { budgetUsd: 0.05, pricing: { promptPerMillionUsd: 1_000, completionPerMillionUsd: 1_000 } },
    });
    await withWorker(async (h) => {
      const run = await h.startScripted([call('get_invoice', { invoiceId: 1 }), answer('read it')], { policy });
      const pause = await pausedWith(h, run.workflowId, 'budget');
      assert.match(pause.detail, /past the budget of \$0\.05/);
      const status = await runStatus(h.client, run.workflowId);
      assert.equal(status.phase, 'paused');
      assert.ok(status.spentUsd > 0.05);
      await waitFor(async () => {
        const q = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND WorkflowId = '${run.workflowId}' AND AgentStatus = 'Paused'`;
        for await (const _ of h.client.workflow.list({ query: q })) return true;
        return undefined;
      }, 'AgentStatus = Paused in visibility');
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind === 'tool_executed').length, 0, 'the tool waits for the answer');
      await resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'continue', by: 'ada' });
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => o.status),
        ['executed'],
      );
    });
  });

  it('pauses before the first irreversible call and not before reads', async () => {
    const policy = defaultWith('checkpoint-test', { interruptions: { checkpoints: ['before_first_irreversible'] } });
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('get_invoice', { invoiceId: 1 }), call('issue_refund', refund(100)), answer('done')],
        { policy },
      );
      const pause = await pausedWith(h, run.workflowId, 'checkpoint');
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind === 'tool_executed').length, 1, 'the read ran before the checkpoint');
      assert.match(pause.detail, /issue_refund/);
      await resumeAs(h.client, run.workflowId, { pauseId: pause.pauseId, action: 'continue', by: 'ada' });
      const [req] = await h.pending(run.workflowId);
      await approveAs(h.client, run.workflowId, req!, 'ada');
      await run.result();
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('stops the run when a check-in is answered with stop, leaving nothing pending', async () => {
    const policy = defaultWith('check-in-test', { interruptions: { checkInEvery: 2 } });
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('get_invoice', { invoiceId: 1 }), call('issue_refund', refund(100)), answer('done')],
        { policy },
      );
      const pause = await pausedWith(h, run.workflowId, 'check_in');
      assert.match(pause.detail, /^2 model calls so far/);
      await resumeAs(h.client, run.workflowId, {
        pauseId: pause.pauseId,
        action: 'stop',
        by: 'ada',
        reason: 'enough for today',
      });
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(result.stopped, { by: 'ada', reason: 'enough for today' });
      assert.deepEqual(await pendingApprovals(h.client, run.workflowId), []);
      assert.equal(countRefunds(h.db), 0);
      const trail = await auditTrail(h.client, run.workflowId);
      assert.ok(trail.some((e) => e.kind === 'run_stopped' && e.actor === 'ada'));
    });
  });

  it('ends a run whose pause nobody answers at the deadline; it never goes on by itself', async () => {
    const policy = defaultWith('unanswered-test', { interruptions: { checkInEvery: 1 } });
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund(100)), answer('done')], {
        policy,
        approvalTimeoutMs: 1_000,
      });
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.stopped?.by, 'system');
      assert.match(result.stopped?.reason ?? '', /no answer before/);
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('pauses a tool that keeps failing: skip tells the model, retry runs it once the fault is fixed', async () => {
    const policy = defaultWith('failing-tool-test', {
      tools: { send_email: { gate: 'auto', acknowledgeIrreversible: true } },
    });
    await withWorker(async (h) => {
      // A real fault: the outbox table disappears under the worker, so the insert fails with SQLite's own error.
      h.db.exec('ALTER TABLE hitl_outbox RENAME TO hitl_outbox_away');
      const run = await h.startScripted(
        [call('send_email', email), call('send_email', { ...email, subject: 'Second try' }), answer('done')],
        { policy, toolMaxAttempts: 2 },
      );
      const first = await pausedWith(h, run.workflowId, 'tool_failure');
      assert.deepEqual(first.actions, ['retry', 'skip', 'abort']);
      assert.match(first.detail, /no such table: hitl_outbox/);
      await resumeAs(h.client, run.workflowId, { pauseId: first.pauseId, action: 'skip', by: 'ada' });
      const second = await waitFor(async () => {
        const { pause } = await runStatus(h.client, run.workflowId);
        return pause !== undefined && pause.pauseId !== first.pauseId ? pause : undefined;
      }, 'the second failure pause');
      h.db.exec('ALTER TABLE hitl_outbox_away RENAME TO hitl_outbox');
      await resumeAs(h.client, run.workflowId, { pauseId: second.pauseId, action: 'retry', by: 'ada' });
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => o.status),
        ['skipped', 'executed'],
      );
      assert.match(result.outcomes[0]?.error ?? '', /skipped by ada/);
      assert.equal(countOutbox(h.db), 1, 'the retried email went out once; the skipped one never');
    });
  });

  it('does not run an approved refund whose precheck finds the money already refunded since the proposal', async () => {
    await withWorker(async (h) => {
      // Two runs propose refunds on invoice 1 ($9.92). The second is approved first and takes $5.00 of it.
      const slow = await h.startScripted([call('issue_refund', refund(992)), answer('done')]);
      const fast = await h.startScripted([call('issue_refund', refund(500)), answer('done')]);
      const [slowReq] = await h.pending(slow.workflowId);
      const [fastReq] = await h.pending(fast.workflowId);
      await approveAs(h.client, fast.workflowId, fastReq!, 'ada');
      await fast.result();
      await approveAs(h.client, slow.workflowId, slowReq!, 'ada');
      const result = (await slow.result()) as AgentRunResult;
      assert.equal(result.outcomes[0]?.status, 'blocked');
      assert.match(result.outcomes[0]?.error ?? '', /only \$4\.92 is still refundable on invoice #1/);
      assert.equal(result.counts.blocked, 1);
      assert.equal(countRefunds(h.db), 1, 'only the first approved refund was recorded');
      const trail = await auditTrail(h.client, slow.workflowId);
      assert.ok(trail.some((e) => e.kind === 'precheck_failed'));
    });
  });

  it('does not delete a customer who no longer exists when the approval arrives', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('delete_customer', { customerId: 3, reason: 'asked to' }), answer('ok')]);
      const [req] = await h.pending(run.workflowId);
      // Someone removed the customer by hand while the request waited.
      h.db
        .prepare('DELETE FROM InvoiceLine WHERE InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE CustomerId = 3)')
        .run();
      h.db.prepare('DELETE FROM Invoice WHERE CustomerId = 3').run();
      h.db.prepare('DELETE FROM Customer WHERE CustomerId = 3').run();
      await approveAs(h.client, run.workflowId, req!, 'ada');
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.outcomes[0]?.status, 'blocked');
      assert.match(result.outcomes[0]?.error ?? '', /customer #3 no longer exists/);
    });
  });
});
