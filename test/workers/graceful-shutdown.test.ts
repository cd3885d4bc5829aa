import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { nanoid } from 'nanoid';
import { countRefunds, generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { pendingApprovals, startAgentRun } from '../../client';
import { approveAs } from '../support/decisions';
import { sharedEnv, tempDir, waitFor } from '../support/env';
import { answer, call } from '../support/harness';
import { testKey } from '../support/keys';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';

const { EventType } = proto.temporal.api.enums.v1;
const HOLD_MS = 4_000;

describe('graceful shutdown', () => {
  it('lets a tool in flight finish after SIGTERM, within the grace period, and reports it done: no retry, one effect', async () => {
    const { env, address } = await sharedEnv();
    const client = env.client;
    const dbPath = join(tempDir('hitl-shutdown-'), 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 20, invoices: 60 });
    const db = openBillingDb(dbPath);
    const taskQueue = `shutdown-${nanoid(6)}`;
    const options = { address, taskQueue, billingDbPath: dbPath, bundlePath: await writeSharedBundle() };
    // The refund holds HOLD_MS after committing its effect: a slow tool, in flight when the SIGTERM comes.
    const first = new WorkerProcess({
      ...options,
      env: { HITL_FAULT_HOLD_AFTER_COMMIT: `issue_refund=${HOLD_MS}`, HITL_SHUTDOWN_GRACE_MS: '20000' },
    });
    try {
      await first.start();
      const turns = [call('issue_refund', { invoiceId: 1, amountCents: 500, reason: 'charged twice' }), answer('ok')];
      const { workflowId, handle } = await startAgentRun(
        client,
        { goal: 'refund', requestedBy: 'tester', model: { provider: 'scripted', scenario: { goal: 'refund', turns } } },
        { taskQueue, key: testKey('tester') },
      );
      const req = await waitFor(async () => (await pendingApprovals(client, workflowId))[0], 'the request');
      await approveAs(client, workflowId, req, 'alice');
      await waitFor(() => (countRefunds(db) === 1 ? true : undefined), 'the refund committed (the tool in its hold)');

      const stopped = await first.terminate();
      assert.equal(stopped.signal, null, 'the worker exited by itself, not by a signal');
      assert.equal(stopped.code, 0);
      assert.ok(stopped.ms < 20_000, `it exited within the grace period (${stopped.ms} ms)`);

      // The activity completed on the stopping worker, on its first attempt: nothing left for a retry.
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.find(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
          e.activityTaskScheduledEventAttributes?.activityType?.name === 'issue_refund',
      );
      assert.ok(scheduled);
      const ofRefund = events.filter(
        (e) =>
          e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString() ||
          e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString(),
      );
      assert.deepEqual(
        ofRefund.map((e) => e.eventType),
        [EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED],
      );
      assert.equal(ofRefund[0]?.activityTaskStartedEventAttributes?.attempt, 1);

      // The worker started again (its transcript store holds the run's conversation) finishes the run; the hold is
      // for a first commit only, so the refund replays from the ledger if it ran again. It happened once.
      await first.start();
      await handle.result();
      assert.equal(countRefunds(db), 1);
    } finally {
      await first.stop();
      db.close();
    }
  });
});
