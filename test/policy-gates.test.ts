import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { countOutbox, countRefunds } from '../activities/billing/index';
import { auditTrail, decide, UpdateRefusedError, pendingApprovals, signalDecision } from '../client';
import { AgentStatusKey, outcomesQuery } from '../src/shared/messages';
import { loadPolicyFile } from '../src/node/policy-file';
import { PolicySchema, type Policy } from '../src/shared/policy/schema';
import type { AgentRunResult } from '../src/shared/run-state';
import { approveAs, decideAs, stopAs, signedOn } from './support/decisions';
import { repoRoot, tempDir, waitFor } from './support/env';
import { answer, call, withWorker } from './support/harness';

const run = promisify(execFile);
const example = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));
const asWorkerPolicy = (policy: Policy) => ({ policy, source: 'test' });

/** The example policy with some tool entries replaced (durations as text, as in a file). */
function variant(version: string, tools: Record<string, unknown>): Policy {
  return PolicySchema.parse({ ...example, version, tools: { ...example.tools, ...tools } });
}

const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'duplicate charge' });

function refusedWith(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UpdateRefusedError, `expected a refusal, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('approval policy', () => {
  it('picks the gate from the arguments: one recipient is soft and goes out unvetoed, six wait for support', async () => {
    const policy = variant('soft-test', {
      send_email: { ...example.tools['send_email'], softWindow: '2s' },
    });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          call('send_email', { customerIds: [1], subject: 'Your refund', body: 'Done.' }),
          call('send_email', { customerIds: [1, 2, 3, 4, 5, 6], subject: 'Outage', body: 'Sorry.' }),
          answer('sent'),
        ]);
        const [soft] = await h.pending(run.workflowId);
        assert.equal(soft?.gate, 'soft');
        assert.equal(soft?.onTimeout, 'proceed');
        const [hard] = await waitFor(async () => {
          const p = await pendingApprovals(h.client, run.workflowId);
          return p.length === 1 && p[0]?.gate === 'hard' ? p : undefined;
        }, 'the bulk email request');
        assert.equal(countOutbox(h.db), 1, 'the soft-gated email went out when its window passed');
        assert.deepEqual(hard?.eligibleApprovers, ['sam', 'sue']);
        assert.match(hard?.because ?? '', /bulk email/);
        await approveAs(h.client, run.workflowId, hard, 'sue');
        const result = (await run.result()) as AgentRunResult;
        assert.deepEqual(
          result.outcomes.map((o) => [o.gate, o.status, o.decidedBy]),
          [
            ['soft', 'executed', 'policy (soft gate: no veto within the window)'],
            ['hard', 'executed', 'sue'],
          ],
        );
        assert.equal(countOutbox(h.db), 7);
      },
      { policy: asWorkerPolicy(policy) },
    );
  });

  it('refuses an outsider, the requester and a stale hash, each with its reason, and then takes a valid approval', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(500)), answer('done')], { requestedBy: 'sam' });
        const [req] = await h.pending(run.workflowId);
        assert.ok(req);
        await assert.rejects(
          approveAs(h.client, run.workflowId, req, 'mallory'),
          refusedWith(/"mallory" is not in support/),
        );
        await assert.rejects(approveAs(h.client, run.workflowId, req, 'sam'), refusedWith(/separation of duties/));
        await assert.rejects(
          decide(h.client, run.workflowId, {
            requestId: req.requestId,
            decision: 'approve',
            approver: 'sue',
            argsHash: 'a'.repeat(64),
          }),
          refusedWith(/stale decision/),
        );
        assert.equal(countRefunds(h.db), 0);
        await approveAs(h.client, run.workflowId, req, 'sue');
        await run.result();
        assert.equal(countRefunds(h.db), 1);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('refuses a decision that arrives after the deadline', async () => {
    const policy = variant('deadline-test', {
      delete_customer: { gate: 'hard', approvers: { groups: ['admins'] }, timeout: '1s', onTimeout: 'deny' },
    });
    await withWorker(
      async (h) => {
        // The run goes on after the expiry (it proposes a refund), so the late decision reaches a live workflow.
        const run = await h.startScripted([
          call('delete_customer', { customerId: 3, reason: 'asked to' }),
          { content: 'deleted', onRejected: { toolCalls: [{ name: 'issue_refund', arguments: refund(100) }] } },
          answer('done'),
        ]);
        const [expired] = await h.pending(run.workflowId);
        assert.equal(expired?.tool, 'delete_customer');
        const [next] = await waitFor(async () => {
          const p = await pendingApprovals(h.client, run.workflowId);
          return p[0]?.tool === 'issue_refund' ? p : undefined;
        }, 'the refund proposed after the expiry');
        await assert.rejects(
          approveAs(h.client, run.workflowId, expired, 'ada'),
          refusedWith(/already closed \(expired at/),
        );
        await approveAs(h.client, run.workflowId, next!, 'sam');
        const result = (await run.result()) as AgentRunResult;
        assert.deepEqual(
          result.outcomes.map((o) => o.status),
          ['expired', 'executed'],
        );
        assert.equal(h.db.prepare('SELECT COUNT(*) FROM Customer WHERE CustomerId = 3').pluck().get(), 1);
      },
      { policy: asWorkerPolicy(policy) },
    );
  });

  it('does not run a two-approver refund after one approval, and runs it once after the second', async () => {
    await withWorker(
      async (h) => {
        h.db.prepare('UPDATE Invoice SET Total = 100.00 WHERE InvoiceId = 2').run();
        const run = await h.startScripted([call('issue_refund', refund(6000, 2)), answer('refunded')]);
        const [req] = await h.pending(run.workflowId);
        assert.equal(req?.quorum, 2);
        assert.deepEqual(req?.eligibleApprovers, ['felix', 'fiona', 'frank']);
        await assert.rejects(approveAs(h.client, run.workflowId, req, 'sue'), refusedWith(/"sue" is not in finance/));
        const first = await approveAs(h.client, run.workflowId, req, 'fiona');
        assert.deepEqual([first.closed, first.approvalsNeeded], [false, 1]);
        await assert.rejects(approveAs(h.client, run.workflowId, req, 'fiona'), refusedWith(/fiona already approved/));
        const [still] = await h.pending(run.workflowId);
        assert.deepEqual(
          still?.approvals.map((a) => a.approver),
          ['fiona'],
        );
        assert.equal(countRefunds(h.db), 0, 'one approval of two runs nothing');
        const second = await approveAs(h.client, run.workflowId, req, 'frank');
        assert.equal(second.closed, true);
        const result = (await run.result()) as AgentRunResult;
        assert.equal(result.outcomes[0]?.decidedBy, 'fiona, frank');
        assert.equal(countRefunds(h.db, 2), 1);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('escalates to the next group when nobody decides in time, refuses the first group there, and finally denies', async () => {
    const policy = variant('escalation-test', {
      issue_refund: {
        gate: 'hard',
        approvers: { groups: ['support'] },
        timeout: '1s',
        onTimeout: 'escalate',
        escalation: [{ groups: ['admins'], timeout: '3s' }],
      },
    });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          call('issue_refund', refund(300)),
          { content: 'refunded', onRejected: { content: 'nobody approved' } },
        ]);
        const [escalated] = await waitFor(async () => {
          const p = await pendingApprovals(h.client, run.workflowId);
          return p[0]?.stage === 1 ? p : undefined;
        }, 'the request at its second stage');
        assert.deepEqual(escalated?.eligibleApprovers, ['ada', 'alan']);
        assert.equal(escalated?.onTimeout, 'deny');
        await assert.rejects(
          approveAs(h.client, run.workflowId, escalated, 'sue'),
          refusedWith(/"sue" is not in admins/),
        );
        const result = (await run.result()) as AgentRunResult;
        assert.equal(result.answer, 'nobody approved');
        assert.equal(result.outcomes[0]?.status, 'expired');
        assert.equal(countRefunds(h.db), 0);
        const trail = await auditTrail(h.client, run.workflowId);
        assert.ok(trail.some((e) => e.kind === 'approval_escalated' && /escalated to admins/.test(e.detail)));
        assert.ok(trail.some((e) => e.kind === 'notification' && /^escalated to ada, alan/.test(e.detail)));
      },
      { policy: asWorkerPolicy(policy) },
    );
  });

  it('never runs a denied tool and tells the model it is not allowed', async () => {
    const policy = variant('deny-test', { delete_customer: { gate: 'deny' } });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          call('delete_customer', { customerId: 2, reason: 'asked' }),
          { content: 'deleted', onRejected: { content: 'deletion is not allowed' } },
        ]);
        const result = (await run.result()) as AgentRunResult;
        assert.equal(result.answer, 'deletion is not allowed');
        assert.equal(result.outcomes[0]?.status, 'denied');
        assert.match(result.outcomes[0]?.error ?? '', /delete_customer is not allowed by policy deny-test/);
        assert.equal(h.db.prepare('SELECT COUNT(*) FROM Customer WHERE CustomerId = 2').pluck().get(), 1);
      },
      { policy: asWorkerPolicy(policy) },
    );
  });

  it('needs approval for auto_logged writes past the per-run limit', async () => {
    const policy = variant('limit-test', { update_customer_contact: { gate: 'auto_logged', autoLoggedLimit: 1 } });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          call('update_customer_contact', { customerId: 1, phone: '+1 555 0001' }),
          call('update_customer_contact', { customerId: 2, phone: '+1 555 0002' }),
          answer('updated'),
        ]);
        const [req] = await h.pending(run.workflowId);
        assert.equal(req?.tool, 'update_customer_contact');
        assert.match(req?.because ?? '', /limit/);
        await approveAs(h.client, run.workflowId, req, 'sam');
        const result = (await run.result()) as AgentRunResult;
        assert.deepEqual(
          result.outcomes.map((o) => o.gate),
          ['auto_logged', 'hard'],
        );
      },
      { policy: asWorkerPolicy(policy) },
    );
  });

  it('sends feedback to the model without running the call when a reviewer responds', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          call('issue_refund', refund(900)),
          { content: 'refunded', onRejected: { content: 'I will refund $4.00 instead' } },
        ]);
        const [req] = await h.pending(run.workflowId);
        await decideAs(h.client, run.workflowId, req!, 'sue', 'respond', {
          message: 'refund only the $4.00 line that was doubled',
        });
        const result = (await run.result()) as AgentRunResult;
        assert.equal(result.answer, 'I will refund $4.00 instead');
        assert.equal(result.outcomes[0]?.status, 'responded');
        assert.match(result.outcomes[0]?.error ?? '', /feedback from sue \(the call did not run\): refund only/);
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('refuses an edit that raises the gate beyond what the editor may approve, and runs an edit within it', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(900)), answer('refunded')]);
        const [req] = await h.pending(run.workflowId);
        const edit = (amountCents: number) =>
          decideAs(h.client, run.workflowId, req!, 'sue', 'edit', { args: refund(amountCents) });
        await assert.rejects(edit(7000), refusedWith(/finance/));
        const receipt = await edit(400);
        assert.equal(receipt.closed, true);
        const result = (await run.result()) as AgentRunResult;
        assert.equal(result.outcomes[0]?.decidedBy, 'sue');
        assert.deepEqual(h.db.prepare('SELECT amount_cents FROM hitl_refund').pluck().all(), [400]);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('applies one decision message that carries decisions for several requests', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([
          {
            toolCalls: [
              { name: 'issue_refund', arguments: refund(100) },
              { name: 'issue_refund', arguments: refund(200) },
            ],
          },
          answer('done'),
        ]);
        // Requests open in whichever order their effects resolve: find each by its arguments.
        const both = await h.pending(run.workflowId, 2);
        const a = both.find((r) => (r.args as { amountCents: number }).amountCents === 100);
        const b = both.find((r) => (r.args as { amountCents: number }).amountCents === 200);
        await signalDecision(h.client, run.workflowId, {
          decisions: [
            signedOn(run.workflowId, b!, 'sam', 'reject', { reason: 'one is enough' }),
            signedOn(run.workflowId, a!, 'sam'),
          ],
        });
        const result = (await run.result()) as AgentRunResult;
        assert.deepEqual(
          result.outcomes.map((o) => o.status),
          ['executed', 'rejected'],
        );
        assert.deepEqual(h.db.prepare('SELECT amount_cents FROM hitl_refund').pluck().all(), [100]);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('stops a run cleanly: nothing is left pending and the audit trail says who stopped it', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(500)), answer('refunded')]);
        await h.pending(run.workflowId);
        const stopped = await stopAs(h.client, run.workflowId, { by: 'ada', reason: 'the customer called back' });
        assert.equal(stopped.closedRequests, 1);
        const result = (await run.result()) as AgentRunResult;
        assert.deepEqual(result.stopped, { by: 'ada', reason: 'the customer called back' });
        assert.equal(result.outcomes[0]?.status, 'stopped');
        assert.deepEqual(await pendingApprovals(h.client, run.workflowId), []);
        const trail = await auditTrail(h.client, run.workflowId);
        assert.ok(
          trail.some((e) => e.kind === 'run_stopped' && e.actor === 'ada' && /1 pending request/.test(e.detail)),
        );
        const d = await h.client.workflow.getHandle(run.workflowId).describe();
        assert.equal(d.typedSearchAttributes.get(AgentStatusKey), 'Stopped');
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('handles Temporal cancellation the same way, and the run ends cancelled', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(500)), answer('refunded')]);
        await h.pending(run.workflowId);
        const handle = h.client.workflow.getHandle(run.workflowId);
        await handle.cancel();
        await assert.rejects(run.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.ok(err.cause instanceof CancelledFailure);
          return true;
        });
        assert.deepEqual(await pendingApprovals(h.client, run.workflowId), []);
        const trail = await auditTrail(h.client, run.workflowId);
        assert.ok(trail.some((e) => e.kind === 'run_stopped' && /cancelled through Temporal/.test(e.detail)));
        // The cancellation reaches the request's waiter before the request closes: the stop path records its outcome.
        const outcomes = await handle.query(outcomesQuery);
        assert.deepEqual(
          outcomes.map((o) => [o.tool, o.status]),
          [['issue_refund', 'stopped']],
        );
      },
      { policy: asWorkerPolicy(example) },
    );
  });

  it('stops the worker at start when the policy file has an unknown key, naming the key and its line', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: "1"\ntools:\n  send_email:\n    gate: soft\n    rulez: []\n');
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker.ts')], {
        env: { ...process.env, HITL_POLICY: file, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      }),
      (err: unknown) => {
        const e = err as { code: number; stderr: string };
        assert.equal(e.code, 1);
        assert.match(e.stderr, /bad\.yaml:5:5: tools\.send_email.*rulez/);
        return true;
      },
    );
  });
});
