import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, startAgentRun } from '../client';
import type { AgentRunResult, ApprovalRequest } from '../src/shared/run-state';
import { parseToolResultText } from '../src/shared/model/tool-result';
import { approveAs, decideAs, decisionOn } from './support/decisions';
import { repoRoot, sharedEnv, tempDir, waitFor } from './support/env';
import { chatCompletion, startFakeChatServer } from './support/fake-chat-server';
import { answer, call, freshBillingDb, withWorker } from './support/harness';

const run = promisify(execFile);
const refund = { invoiceId: 1, amountCents: 500, reason: 'charged twice' };

describe('durability and clients', () => {
  it('keeps a waiting run across a worker shutdown: a new worker takes the approval and runs the call once', async () => {
    const billing = freshBillingDb();
    const taskQueue = `test-restart-${Date.now()}`;
    const { workflowId, req } = await withWorker(
      async (h) => {
        const started = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
        const [pending] = await h.pending(started.workflowId);
        return { workflowId: started.workflowId, req: pending! };
      },
      { taskQueue, billing },
    );
    // The first worker is gone; the run waits on the server with its timer and its pending request.
    await withWorker(
      async (h) => {
        await approveAs(h.client, workflowId, req, 'alice');
        const result = (await h.client.workflow.getHandle(workflowId).result()) as AgentRunResult;
        assert.equal(result.counts.approvals, 1);
        assert.equal(countRefunds(h.db), 1);
      },
      { taskQueue, billing },
    );
  });

  it('takes a decision sent with the stock `temporal workflow signal` command', async () => {
    const { cliPath, address } = await sharedEnv();
    await withWorker(async (h) => {
      const started = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(started.workflowId);
      const input = JSON.stringify(decisionOn(req!, 'alice'));
      await run(cliPath, [
        'workflow',
        'signal',
        '--address',
        address,
        '--workflow-id',
        started.workflowId,
        '--name',
        'decision',
        '--input',
        input,
      ]);
      const result = (await started.result()) as AgentRunResult;
      assert.equal(result.outcomes[0]?.decidedBy, 'alice');
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('drives a run end to end with the hitl CLI', async () => {
    const { address } = await sharedEnv();
    await withWorker(async (h) => {
      const dir = tempDir();
      const scenarioPath = join(dir, 'scenario.json');
      writeFileSync(
        scenarioPath,
        JSON.stringify({
          goal: 'Refund the duplicate charge on invoice 1',
          turns: [
            { content: 'Checking the invoice.', toolCalls: [{ name: 'get_invoice', arguments: { invoiceId: 1 } }] },
            { content: 'It was charged twice.', toolCalls: [{ name: 'issue_refund', arguments: refund }] },
            { content: 'Refunded $5.00.' },
          ],
        }),
      );
      const env = { ...process.env, TEMPORAL_ADDRESS: address, HITL_TASK_QUEUE: h.taskQueue };
      const hitl = (...args: string[]) =>
        run(process.execPath, [join(repoRoot, 'bin/hitl.mjs'), ...args], { env, cwd: dir });

      const started = await hitl('start', '--scenario', scenarioPath, '--as', 'bob', '--json');
      const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
      assert.match(workflowId, /^agent-/);

      const listed = await waitFor(async () => {
        const out = await hitl('pending', '--json');
        const { requests } = JSON.parse(out.stdout) as { requests: ApprovalRequest[] };
        const mine = requests.filter((p) => p.workflowId === workflowId);
        return mine.length === 1 ? mine : undefined;
      }, 'the request in `hitl pending`');
      assert.equal(listed[0]?.tool, 'issue_refund');

      const shown = await hitl('show', workflowId);
      assert.match(shown.stdout, /Refund \$5\.00 on invoice #1 \(reason: charged twice\)/);
      assert.match(shown.stdout, /why: It was charged twice\./);
      assert.match(shown.stdout, /hitl approve/);

      await assert.rejects(hitl('approve', workflowId, 'no-such-id', '--as', 'alice'), (err: unknown) => {
        const e = err as { code: number; stderr: string };
        assert.equal(e.code, 2);
        assert.match(
          e.stderr,
          /error: run agent-\S+ has no pending request "no-such-id" \(pending: \S+ \(issue_refund\)\)/,
        );
        return true;
      });

      const approved = await hitl('approve', workflowId, '--as', 'alice');
      assert.match(approved.stdout, /approve of .* by alice recorded/);

      const result = JSON.parse((await hitl('result', workflowId, '--json')).stdout) as AgentRunResult;
      assert.equal(result.answer, 'Refunded $5.00.');
      assert.equal(countRefunds(h.db), 1);

      const audit = await hitl('audit', workflowId);
      assert.match(audit.stdout, /decision\s+alice/);
      assert.match(audit.stdout, /tool_executed/);
    });
  });

  it('reviews a plan with the hitl CLI: pending and show list the paused run, resume approves the plan', async () => {
    const { address } = await sharedEnv();
    await withWorker(async (h) => {
      const dir = tempDir();
      const scenarioPath = join(dir, 'scenario.json');
      const refundCall = { name: 'issue_refund', arguments: refund };
      writeFileSync(
        scenarioPath,
        JSON.stringify({
          goal: 'Refund the duplicate charge on invoice 1',
          turns: [
            { content: 'Plan: one refund.', toolCalls: [refundCall] },
            { toolCalls: [refundCall] },
            { content: 'Done.' },
          ],
        }),
      );
      const env = { ...process.env, TEMPORAL_ADDRESS: address, HITL_TASK_QUEUE: h.taskQueue };
      const hitl = (...args: string[]) =>
        run(process.execPath, [join(repoRoot, 'bin/hitl.mjs'), ...args], { env, cwd: dir });

      const started = await hitl('start', '--scenario', scenarioPath, '--as', 'bob', '--review', 'plan', '--json');
      const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
      const listed = await waitFor(async () => {
        const out = (await hitl('pending')).stdout;
        return out.includes(workflowId) ? out : undefined;
      }, 'the paused run in `hitl pending`');
      assert.match(listed, /Paused \(plan review\)/);
      assert.match(listed, /hitl resume \S+ approve --as YOUR_NAME/);

      const shown = await hitl('show', workflowId);
      assert.match(shown.stdout, /run \S+: paused/);
      assert.match(shown.stdout, /1\. Refund \$5\.00 on invoice #1 \(reason: charged twice\) \[hard gate\]/);

      await assert.rejects(hitl('resume', workflowId, 'continue', '--as', 'alice'), (err: unknown) => {
        const e = err as { code: number; stderr: string };
        assert.equal(e.code, 2);
        assert.match(e.stderr, /this plan review pause takes approve, edit, reject, not "continue"/);
        return true;
      });
      const resumed = await hitl('resume', workflowId, 'approve', '--as', 'alice');
      assert.match(resumed.stdout, /approve recorded for the plan review pause of \S+ by alice/);

      const result = JSON.parse((await hitl('result', workflowId, '--json')).stdout) as AgentRunResult;
      assert.equal(result.outcomes[0]?.decidedBy, 'alice (approved plan)');
      assert.equal(countRefunds(h.db), 1);
    });
  });

  it('talks to an OpenAI-compatible server with the real openai client: retries a 429, the model reads a rejection', async () => {
    const fake = await startFakeChatServer();
    try {
      fake.enqueue(
        { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down' } } },
        chatCompletion({
          content: 'Refunding the duplicate.',
          toolCalls: [{ id: 'call_a', name: 'issue_refund', arguments: refund }],
        }),
        chatCompletion({ content: 'The refund was rejected; nothing was refunded.' }),
      );
      await withWorker(
        async (h) => {
          const { workflowId, handle } = await startAgentRun(
            h.client,
            { goal: 'refund invoice 1', requestedBy: 'bob', model: { provider: 'openai', model: 'test-model' } },
            { taskQueue: h.taskQueue },
          );
          const [req] = await h.pending(workflowId);
          await decideAs(h.client, workflowId, req!, 'carol', 'reject', { reason: 'refunds over $1 need a ticket' });
          const result = (await handle.result()) as AgentRunResult;
          assert.equal(result.answer, 'The refund was rejected; nothing was refunded.');
          assert.equal(fake.requests.length, 3, 'the 429 was retried once');
          const last = fake.requests[2]!.body;
          assert.equal(last.model, 'test-model');
          const toolMessage = last.messages.find((m) => m.role === 'tool');
          assert.ok(toolMessage !== undefined && typeof toolMessage.content === 'string');
          assert.deepEqual(parseToolResultText(toolMessage.content), {
            status: 'rejected',
            message: 'rejected by carol: refunds over $1 need a ticket',
          });
          assert.equal(countRefunds(h.db), 0);
        },
        { model: { openai: { apiKey: 'test-key', baseURL: fake.baseURL } } },
      );
    } finally {
      await fake.close();
    }
  });

  it('fails the run at once, with the server message, when the model endpoint answers 400', async () => {
    const fake = await startFakeChatServer();
    try {
      fake.enqueue({
        status: 400,
        body: { error: { message: 'unknown model "nope"', type: 'invalid_request_error' } },
      });
      await withWorker(
        async (h) => {
          const { handle, workflowId } = await startAgentRun(
            h.client,
            { goal: 'anything', requestedBy: 'bob', model: { provider: 'openai', model: 'nope' } },
            { taskQueue: h.taskQueue },
          );
          await assert.rejects(handle.result(), (err: unknown) => {
            assert.ok(err instanceof WorkflowFailedError);
            const cause = err.cause?.cause;
            assert.ok(cause instanceof ApplicationFailure);
            assert.equal(cause.type, 'ModelRequestRejected');
            assert.match(cause.message, /\(400\): unknown model "nope"/);
            return true;
          });
          assert.equal(fake.requests.length, 1, 'a 400 is not retried');
          const trail = await auditTrail(h.client, workflowId);
          assert.equal(trail[0]?.kind, 'run_started');
        },
        { model: { openai: { apiKey: 'test-key', baseURL: fake.baseURL } } },
      );
    } finally {
      await fake.close();
    }
  });
});
