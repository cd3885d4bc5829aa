import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, decide, UpdateRefusedError, runStatus, signalDecision } from '../client';
import { AgentStatusKey as AgentStatusKeyForTest } from '../src/shared/messages';
import type { AgentRunResult } from '../src/shared/run-state';
import { approveAs, decideAs, decisionOn } from './support/decisions';
import { answer, call, withWorker } from './support/harness';
import { waitFor } from './support/env';

const refund = { invoiceId: 1, amountCents: 500, reason: 'charged twice' };

describe('agent run: approval gate', () => {
  it('runs reads and partially reversible writes without asking anyone', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        call('get_invoice', { invoiceId: 1 }),
        call('update_customer_contact', { customerId: 1, phone: '+1 555 0100' }),
        answer('done'),
      ]);
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.answer, 'done');
      assert.deepEqual(
        result.outcomes.map((o) => [o.tool, o.status, o.gate]),
        [
          ['get_invoice', 'executed', 'auto'],
          ['update_customer_contact', 'executed', 'auto'],
        ],
      );
      const phone = h.db.prepare('SELECT Phone FROM Customer WHERE CustomerId = 1').pluck().get();
      assert.equal(phone, '+1 555 0100');
    });
  });

  it('holds an irreversible call until approved, then runs it exactly once', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        call('issue_refund', refund, 'The customer was charged twice.\nAlternative: a store credit of $5.00'),
        answer('refunded'),
      ]);
      const [req] = await h.pending(run.workflowId);
      assert.ok(req);
      assert.equal(req.tool, 'issue_refund');
      assert.match(req.reasoning ?? '', /^The customer was charged twice\./);
      assert.deepEqual(req.alternatives, ['a store credit of $5.00']);
      assert.match(req.argsHash, /^[0-9a-f]{64}$/);
      assert.equal(countRefunds(h.db), 0, 'nothing runs before the approval');
      const status = await runStatus(h.client, run.workflowId);
      assert.equal(status.phase, 'awaiting_approval');

      const receipt = await approveAs(h.client, run.workflowId, req, 'alice');
      assert.equal(receipt.argsHash, req.argsHash);
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.counts.approvals, 1);
      assert.equal(result.outcomes[0]?.status, 'executed');
      assert.equal(result.outcomes[0]?.decidedBy, 'alice');
      assert.equal(countRefunds(h.db, 1), 1);
      const row = h.db.prepare('SELECT amount_cents, idempotency_key FROM hitl_refund').get() as {
        amount_cents: number;
        idempotency_key: string;
      };
      assert.equal(row.amount_cents, 500);
      // Derived from the run, the call's position (model call 1, call 0) and its arguments: a reset or a retry finds it.
      assert.match(row.idempotency_key, new RegExp(`^${run.workflowId}:[0-9a-f-]{36}:1\\.0:${req.argsHash}$`));
      const notices = (await auditTrail(h.client, run.workflowId)).filter(
        (e) => e.kind === 'notification' && e.detail.startsWith('request_closed'),
      );
      assert.equal(notices.length, 1, 'the deciders hear that the request closed');
      assert.match(notices[0]?.detail ?? '', /approved by alice/);
    });
  });

  it('sets the AgentStatus search attribute while a request is pending', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('ok')]);
      await h.pending(run.workflowId);
      const handle = h.client.workflow.getHandle(run.workflowId);
      await waitFor(async () => {
        const d = await handle.describe();
        return d.typedSearchAttributes.get(AgentStatusKeyForTest) === 'AwaitingApproval' ? true : undefined;
      }, 'AgentStatus=AwaitingApproval');
      const [req] = await h.pending(run.workflowId);
      await approveAs(h.client, run.workflowId, req!, 'alice');
      await run.result();
      const d = await handle.describe();
      assert.equal(d.typedSearchAttributes.get(AgentStatusKeyForTest), 'Completed');
    });
  });

  it('runs nothing on a rejection and tells the model the reviewer and the reason', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        call('issue_refund', refund),
        { content: 'refunded', onRejected: { content: 'the refund was rejected, so I stopped' } },
      ]);
      const [req] = await h.pending(run.workflowId);
      await decideAs(h.client, run.workflowId, req!, 'bob', 'reject', { reason: 'already refunded by phone' });
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.answer, 'the refund was rejected, so I stopped');
      assert.equal(result.counts.rejections, 1);
      assert.equal(result.outcomes[0]?.status, 'rejected');
      assert.equal(result.outcomes[0]?.error, 'rejected by bob: already refunded by phone');
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('runs the edited arguments after an edit, not the proposed ones', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      const receipt = await decideAs(h.client, run.workflowId, req!, 'alice', 'edit', {
        args: { ...refund, amountCents: 250 },
      });
      assert.notEqual(receipt.argsHash, req!.argsHash);
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.counts.edits, 1);
      assert.deepEqual(result.outcomes[0]?.editedFrom?.args, refund);
      const amounts = h.db.prepare('SELECT amount_cents FROM hitl_refund').pluck().all();
      assert.deepEqual(amounts, [250]);
    });
  });

  it('refuses an edit whose arguments fail the tool schema, and keeps the request pending', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      await assert.rejects(
        decide(h.client, run.workflowId, {
          requestId: req!.requestId,
          argsHash: req!.argsHash,
          effectHash: req!.effect?.sha256,
          decision: 'edit',
          approver: 'alice',
          args: { ...refund, amountCents: 2.5 },
        }),
        (err: unknown) => err instanceof UpdateRefusedError && /amountCents/.test(err.message),
      );
      const [still] = await h.pending(run.workflowId);
      assert.equal(still?.requestId, req!.requestId);
      await approveAs(h.client, run.workflowId, req!, 'alice');
      await run.result();
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('denies a call whose deadline passes without a decision, and runs nothing', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', refund), { content: 'refunded', onRejected: { content: 'nobody approved in time' } }],
        { approvalTimeoutMs: 1_000 },
      );
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.answer, 'nobody approved in time');
      assert.equal(result.counts.expiries, 1);
      assert.equal(result.counts.approvals, 0);
      assert.equal(result.outcomes[0]?.status, 'expired');
      assert.equal(countRefunds(h.db), 0);
      const trail = await auditTrail(h.client, run.workflowId);
      assert.ok(trail.some((e) => e.kind === 'approval_expired'));
    });
  });

  it('executes once when the same request is approved twice', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      const approval = decisionOn(req!, 'alice');
      await decide(h.client, run.workflowId, approval);
      await assert.rejects(
        approveAs(h.client, run.workflowId, req!, 'carol'),
        (err: unknown) => err instanceof UpdateRefusedError && /already closed \(approved by alice/.test(err.message),
      );
      await signalDecision(h.client, run.workflowId, approval);
      await run.result();
      assert.equal(countRefunds(h.db), 1);
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind === 'decision').length, 1);
      assert.equal(trail.filter((e) => e.kind === 'decision_refused').length, 1);
    });
  });

  it('refuses an unknown request id and a reject without a reason with clear messages, changing nothing', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      await assert.rejects(
        decide(h.client, run.workflowId, {
          requestId: 'no-such-request',
          decision: 'approve',
          approver: 'alice',
          argsHash: req!.argsHash,
        }),
        (err: unknown) =>
          err instanceof UpdateRefusedError &&
          err.message === `unknown request id "no-such-request" (pending: ${req!.requestId})`,
      );
      // The client checks the payload first; send it raw to prove the workflow refuses it too.
      const handle = h.client.workflow.getHandle(run.workflowId);
      await assert.rejects(
        handle.executeUpdate('decide', {
          args: [{ requestId: req!.requestId, decision: 'reject', approver: 'bob', argsHash: req!.argsHash }],
        }),
        (err: unknown) =>
          err instanceof Error &&
          err.cause instanceof ApplicationFailure &&
          /a reject needs a reason/.test(err.cause.message),
      );
      const trail = await auditTrail(h.client, run.workflowId);
      assert.equal(trail.filter((e) => e.kind.startsWith('decision')).length, 0, 'refused updates leave no trace');
      const [still] = await h.pending(run.workflowId);
      assert.equal(still?.requestId, req!.requestId);
      await approveAs(h.client, run.workflowId, req!, 'alice');
      await run.result();
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('ignores garbage signals, records them, and stays approvable', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      const garbage: unknown[] = [
        'approve',
        42,
        null,
        { requestId: req!.requestId },
        { requestId: req!.requestId, decision: 'approve' },
        { requestId: req!.requestId, decision: 'yes', approver: 'mallory' },
        { requestId: req!.requestId, decision: 'approve', approver: 'mallory', argsHash: 'f'.repeat(64) },
        { requestId: req!.requestId, decision: 'approve', approver: 'x'.repeat(5_000) },
      ];
      for (const payload of garbage) await signalDecision(h.client, run.workflowId, payload);
      const trail = await waitFor(async () => {
        const t = await auditTrail(h.client, run.workflowId);
        return t.filter((e) => e.kind === 'decision_refused').length === garbage.length ? t : undefined;
      }, 'every garbage signal on the audit trail');
      assert.ok(trail.some((e) => /stale decision/.test(e.detail)));
      assert.equal(countRefunds(h.db), 0);
      const [still] = await h.pending(run.workflowId);
      assert.equal(still?.requestId, req!.requestId);
      await approveAs(h.client, run.workflowId, req!, 'alice');
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.counts.approvals, 1);
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('gives every gated call of one turn its own request and outcome, decided in any order', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        {
          content: 'three refunds',
          toolCalls: [
            // Three invoices: a refund on an invoice changes what another request on it showed its reviewers.
            { name: 'issue_refund', arguments: { invoiceId: 1, amountCents: 10, reason: 'a' } },
            { name: 'issue_refund', arguments: { invoiceId: 2, amountCents: 20, reason: 'b' } },
            { name: 'issue_refund', arguments: { invoiceId: 3, amountCents: 30, reason: 'c' } },
          ],
        },
        answer('done'),
      ]);
      // Requests open in whichever order their effects resolve: find each by its invoice.
      const pending = await h.pending(run.workflowId, 3);
      const byInvoice = (id: number) => pending.find((r) => (r.args as { invoiceId: number }).invoiceId === id);
      const [first, second, third] = [byInvoice(1), byInvoice(2), byInvoice(3)];
      await approveAs(h.client, run.workflowId, third!, 'alice');
      await decideAs(h.client, run.workflowId, second!, 'alice', 'reject', { reason: 'no' });
      await approveAs(h.client, run.workflowId, first!, 'alice');
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => [o.requestId, o.status]).sort(),
        [
          [first!.requestId, 'executed'],
          [second!.requestId, 'rejected'],
          [third!.requestId, 'executed'],
        ].sort(),
      );
      const amounts = h.db.prepare('SELECT amount_cents FROM hitl_refund ORDER BY amount_cents').pluck().all();
      assert.deepEqual(amounts, [10, 30]);
    });
  });

  it('sends invalid arguments and unknown tools back to the model without running anything', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        call('issue_refund', { invoiceId: 1, amountCents: -5, reason: 'x' }),
        call('issue_refund', '{"invoiceId": 1, "amountCents": '),
        call('wire_money', { to: 'mallory' }),
        answer('gave up'),
      ]);
      const result = (await run.result()) as AgentRunResult;
      assert.deepEqual(
        result.outcomes.map((o) => o.status),
        ['invalid', 'invalid', 'invalid'],
      );
      assert.match(result.outcomes[0]?.error ?? '', /amountCents/);
      assert.match(result.outcomes[1]?.error ?? '', /not valid JSON/);
      assert.match(result.outcomes[2]?.error ?? '', /unknown tool "wire_money"/);
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('tells the model when an approved refund asks for more than the invoice has left, and records nothing', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([
        call('issue_refund', { invoiceId: 1, amountCents: 99_999, reason: 'too much' }),
        answer('could not'),
      ]);
      const [req] = await h.pending(run.workflowId);
      await approveAs(h.client, run.workflowId, req!, 'alice');
      const result = (await run.result()) as AgentRunResult;
      // The precheck reads the invoice after approval and stops the call before the tool would refuse it.
      assert.equal(result.outcomes[0]?.status, 'blocked');
      assert.match(result.outcomes[0]?.error ?? '', /only \$9\.92 is still refundable on invoice #1/);
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('fails the run with a clear message when the scenario runs out', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('get_invoice', { invoiceId: 1 })]);
      await assert.rejects(run.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = err.cause?.cause;
        assert.ok(cause instanceof ApplicationFailure);
        assert.equal(cause.type, 'ScenarioExhausted');
        return true;
      });
    });
  });
});
