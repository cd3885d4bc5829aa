import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, runResult, runStatus, signalDecision, startAgentRun } from '../client';
import { MAX_TOOL_ARGUMENT_BYTES, MAX_TOOL_CALLS_PER_TURN } from '../src/shared/model/limits';
import type { AgentRunResult } from '../src/shared/run-state';
import { RECORDED_REFUSALS, REFUSAL_COUNT_EVERY } from '../workflows/gate/decision-path';
import { approveAs, decideAs } from './support/decisions';
import { envCount } from './chaos/support';
import { chatCompletion, startFakeChatServer } from './support/fake-chat-server';
import { answer, call, withWorker } from './support/harness';
import { repoRoot, waitFor } from './support/env';

const refund = { invoiceId: 1, amountCents: 500, reason: 'charged twice' };

describe('hostile input: sizes', () => {
  it('survives a flood of large refused signals: the run continues as new and its request stays decidable', async () => {
    // Each signal is written to history whole before the run can refuse it; the run must move on before 50 MB.
    // The attacker's load profile, not a wait for the run: signals are sent at a steady rate (per second).
    const signals = envCount('HITL_FLOOD_SIGNALS', 40);
    const bytes = envCount('HITL_FLOOD_BYTES', 1_500_000);
    const perSecond = envCount('HITL_FLOOD_RATE', 2);
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      assert.ok(req);
      const filler = 'x'.repeat(bytes);
      const started = Date.now();
      for (let i = 0; i < signals; i += 1) {
        const due = started + (i * 1000) / perSecond;
        if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        await signalDecision(h.client, run.workflowId, {
          requestId: req.requestId,
          decision: 'approve',
          approver: 'mallory',
          argsHash: req.argsHash,
          filler,
        }).catch(async (err: unknown) => {
          const earlier = (await runStatus(h.client, run.workflowId).catch(() => undefined))?.earlierRuns.length;
          throw new Error(
            `signal ${i + 1} of ${signals} failed after ${earlier ?? '?'} continue-as-new: ${String(err)}`,
            {
              cause: err,
            },
          );
        });
      }
      const seconds = (Date.now() - started) / 1000;
      const [still] = await h.pending(run.workflowId);
      assert.equal(still?.requestId, req.requestId, 'the same request is pending');
      const status = await runStatus(h.client, run.workflowId);
      assert.ok(status.earlierRuns.length >= 1, 'the run continued as new under the flood');
      const trail = await auditTrail(h.client, run.workflowId);
      const refused = trail.filter((e) => e.kind === 'decision_refused');
      assert.ok(refused.length > 0);
      assert.ok(
        refused.every((e) => e.detail.length <= 1_001),
        'refusals are recorded as short summaries, not the payload',
      );
      await approveAs(h.client, run.workflowId, still, 'alice');
      const result = (await run.result()) as AgentRunResult;
      assert.equal(result.outcomes[0]?.status, 'executed');
      assert.equal(countRefunds(h.db, 1), 1);
      process.stdout.write(
        `# flood: ${signals} refused signals of ${bytes} bytes (${Math.round((signals * bytes) / 2 ** 20)} MiB) in ` +
          `${seconds.toFixed(1)} s (${(signals / seconds).toFixed(1)}/s); the run continued as new ` +
          `${status.earlierRuns.length} time(s) and its request stayed pending\n`,
      );
    });
  });

  it('records the first refused signals one by one, then a count', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      const total = RECORDED_REFUSALS + REFUSAL_COUNT_EVERY;
      await Promise.all(
        Array.from({ length: total }, (_, i) =>
          signalDecision(h.client, run.workflowId, {
            requestId: req!.requestId,
            decision: 'approve',
            approver: `m\n${i}`,
            argsHash: 'f'.repeat(64),
          }),
        ),
      );
      // Signals are taken in the run's own time: wait for the count entry of the 100th refusal.
      const refused = await waitFor(async () => {
        const entries = (await auditTrail(h.client, run.workflowId)).filter((e) => e.kind === 'decision_refused');
        return entries.some((e) => /^100 signals naming request/.test(e.detail)) ? entries : undefined;
      }, 'the count of refused signals');
      const counted = refused.filter((e) => /signals naming request .* refused so far/.test(e.detail));
      assert.equal(refused.length - counted.length, RECORDED_REFUSALS, 'one entry each for the first ones');
      assert.equal(counted.length, 1);
      assert.ok(
        refused.every((e) => !e.actor.includes('\n')),
        'actors are stored without raw newlines',
      );
    });
  });

  it('gives oversized and surplus model tool calls back to the model as errors naming the limit, and stays readable', async () => {
    const fake = await startFakeChatServer();
    try {
      const huge = JSON.stringify({ invoiceId: 1, amountCents: 500, reason: 'x'.repeat(3_000_000) });
      const surplus = Array.from({ length: MAX_TOOL_CALLS_PER_TURN + 2 }, (_, i) => ({
        id: `call_${i}`,
        name: 'get_invoice',
        arguments: { invoiceId: 1 },
      }));
      fake.enqueue(
        chatCompletion({
          content: 'Refunding.',
          toolCalls: [{ id: 'call_big', name: 'issue_refund', arguments: huge }],
        }),
        chatCompletion({ content: 'Reading.', toolCalls: surplus }),
        chatCompletion({ content: 'x'.repeat(100_000) }),
      );
      await withWorker(
        async (h) => {
          const { workflowId, handle } = await startAgentRun(
            h.client,
            { goal: 'refund invoice 1', requestedBy: 'bob', model: { provider: 'openai', model: 'test-model' } },
            { taskQueue: h.taskQueue },
          );
          const result = (await handle.result()) as AgentRunResult;
          const big = result.outcomes.find((o) => o.toolCallId === 'call_big');
          assert.equal(big?.status, 'invalid');
          assert.match(big?.error ?? '', new RegExp(`the limit is ${MAX_TOOL_ARGUMENT_BYTES} bytes`));
          const refusedSurplus = result.outcomes.filter((o) => /at most \d+ tool calls/.test(o.error ?? ''));
          assert.equal(refusedSurplus.length, 2);
          assert.ok(result.answer.length < 40_000, 'the final text was cut to its limit');
          assert.equal(countRefunds(h.db), 0);
          // What the model heard about its oversized call names the limit.
          const heard = fake.requests[1]?.body.messages.find((m) => m.role === 'tool');
          assert.match(JSON.stringify(heard?.content ?? null), /limit is 16384 bytes/);
          const read = await runResult(h.client, workflowId);
          assert.ok(JSON.stringify(read).length < 200_000, 'the result stays small enough to read');
        },
        { model: { openai: { apiKey: 'test-key', baseURL: fake.baseURL } } },
      );
    } finally {
      await fake.close();
    }
  });

  it('refuses an edit whose arguments are over the size limit, saying so, and keeps the request', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('issue_refund', refund), answer('refunded')]);
      const [req] = await h.pending(run.workflowId);
      const edit = decideAs(h.client, run.workflowId, req!, 'alice', 'edit', {
        args: { ...refund, reason: 'y'.repeat(MAX_TOOL_ARGUMENT_BYTES) },
      });
      await assert.rejects(edit, new RegExp(`over the limit of ${MAX_TOOL_ARGUMENT_BYTES} bytes`));
      // A client that skips the helper's check: the run refuses it itself and records why.
      await signalDecision(h.client, run.workflowId, {
        requestId: req!.requestId,
        decision: 'edit',
        approver: 'alice',
        argsHash: req!.argsHash,
        args: { ...refund, reason: 'y'.repeat(MAX_TOOL_ARGUMENT_BYTES) },
      });
      const refusal = await waitFor(
        async () => (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'decision_refused'),
        'the refusal on the audit trail',
      );
      assert.match(refusal.detail, new RegExp(`over the limit of ${MAX_TOOL_ARGUMENT_BYTES} bytes`));
      const [still] = await h.pending(run.workflowId);
      assert.equal(still?.requestId, req?.requestId);
      await approveAs(h.client, run.workflowId, still!, 'alice');
      await run.result();
      assert.equal(countRefunds(h.db, 1), 1);
    });
  });
});

describe('hostile input: the Web UI', () => {
  it('ships docker-compose with the Web UI read-only, so nobody decides, resets or terminates from a browser', () => {
    const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { environment?: Record<string, unknown> }>;
    };
    assert.equal(compose.services['temporal-ui']?.environment?.['TEMPORAL_DISABLE_WRITE_ACTIONS'], 'true');
  });
});
