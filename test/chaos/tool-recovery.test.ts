import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nanoid } from 'nanoid';
import { countRefunds, generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { auditTrail, startAgentRun } from '../../client';
import { sharedEnv, tempDir, waitFor } from '../support/env';
import { answer, call } from '../support/harness';
import { toolStartedAt } from '../support/tool-start';
import { testKey } from '../support/keys';
import { policyVariant, writePolicyDir } from '../support/policies';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';
import { envCount, report } from './support';

// A tool whose worker dies mid-call is retried by another worker once the server notices: with the tool heartbeat
// timeout (10 s, patch `tool-heartbeats`) that takes seconds; without it, the attempt's 1-minute start-to-close timeout
// has to pass first. Each round: worker A holds the first commit of an auto-gated refund (the effect and its ledger
// row are written, Temporal has not heard back), worker B polls beside it, A is SIGKILLed, and the run must finish
// on B with the refund's result taken from the ledger: one row.

/** Rounds: `HITL_CHAOS_RECOVERIES`, default 3. */
const rounds = (): number => envCount('HITL_CHAOS_RECOVERIES', 3);

/**
 * Without heartbeats the earliest retry comes 60 s after the attempt started, and the attempt starts less than 2 s
 * before the kill here: a finish within this bound after the kill can only come from the heartbeat timeout.
 */
const WITHOUT_HEARTBEATS_MS = 55_000;

describe('chaos: a tool in flight when its worker is SIGKILLed', () => {
  it('runs again on another worker within seconds, and the effect stays once', async (t) => {
    const { env, address } = await sharedEnv();
    const client = env.client;
    const dir = tempDir('hitl-recovery-');
    const dbPath = join(dir, 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 5, invoices: 20 });
    const db = openBillingDb(dbPath);
    const taskQueue = `tool-recovery-${nanoid(6)}`;
    const policy = policyVariant('tool-recovery', { issue_refund: { gate: 'auto', acknowledgeIrreversible: true } });
    const common = { address, taskQueue, billingDbPath: dbPath, bundlePath: await writeSharedBundle() };
    // Both workers keep the runs' conversations and audit entries in the same stores, as workers of one deployment do.
    const shared = {
      HITL_POLICY: writePolicyDir([policy]),
      HITL_TRANSCRIPT_DB: join(dir, 'transcripts.sqlite'),
      HITL_AUDIT_DB: join(dir, 'audit.sqlite'),
    };
    const held = new WorkerProcess({
      ...common,
      env: { ...shared, HITL_FAULT_HOLD_AFTER_COMMIT: 'issue_refund=300000' },
    });
    const spare = new WorkerProcess({ ...common, env: shared });
    const afterKill: number[] = [];
    const restartedAfter: number[] = [];
    try {
      for (let round = 0; round < rounds(); round += 1) {
        await held.start();
        const refundsBefore = countRefunds(db);
        const invoiceId = round + 1;
        const { workflowId, handle } = await startAgentRun(
          client,
          {
            goal: `recovery round ${round}`,
            requestedBy: 'tester',
            model: {
              provider: 'scripted',
              scenario: {
                goal: `recovery round ${round}`,
                turns: [call('issue_refund', { invoiceId, amountCents: 1, reason: 'recovery' }), answer('Refunded.')],
              },
            },
            policy: policy.version,
          },
          { taskQueue, key: testKey('tester') },
        );
        await waitFor(() => (countRefunds(db) > refundsBefore ? true : undefined), 'the refund committed on A');
        await spare.start();
        await held.kill();
        const killedAt = Date.now();
        await handle.result();
        assert.equal(countRefunds(db), refundsBefore + 1, 'one refund row, whatever the retry');
        const executed = (await auditTrail(client, workflowId)).filter((e) => e.kind === 'tool_executed');
        assert.equal(executed.length, 1);
        assert.match(executed[0]?.detail ?? '', /replayed from the idempotency ledger/);
        // The entry is written in the workflow task that takes the retried attempt's result (server time).
        const took = Date.parse(executed[0]?.at ?? '') - killedAt;
        afterKill.push(took);
        restartedAfter.push((await toolStartedAt(client, workflowId, 'issue_refund')) - killedAt);
        assert.ok(
          took < WITHOUT_HEARTBEATS_MS,
          `the tool's result came ${took} ms after the kill: no heartbeat timeout?`,
        );
        await spare.stop();
      }
    } finally {
      await held.stop();
      await spare.stop();
      db.close();
    }
    const spread = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `median ${sorted[Math.floor(sorted.length / 2)]} ms of ${sorted.join(', ')} ms`;
    };
    report(t, [
      `${afterKill.length} SIGKILLs mid-tool; the tool started again on the other worker after the kill: ${spread(restartedAfter)}`,
      `its result reached the run (a workflow task) after the kill: ${spread(afterKill)}`,
    ]);
  });
});
