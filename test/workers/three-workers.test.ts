import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nanoid } from 'nanoid';
import { generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { auditTrail, pendingApprovals, startAgentRun } from '../../client';
import { rowsPerKey } from '../chaos/support';
import { approveAs } from '../support/decisions';
import { sharedEnv, tempDir, waitFor } from '../support/env';
import { answer, call } from '../support/harness';
import { testKey } from '../support/keys';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';

/** Runs in the test; each waits for one approval, then refunds 1 cent on an invoice of its own. */
const RUNS = 12;
/** How long a refund holds after its commit before it returns: the window in which a worker is killed mid-tool. */
const HOLD_MS = 4_000;

describe('three workers on one task queue', () => {
  it('spreads runs over them, and loses no run and repeats no effect when two of them are SIGKILLed', async (t) => {
    const { env, address } = await sharedEnv();
    const client = env.client;
    const dir = tempDir('hitl-three-workers-');
    const dbPath = join(dir, 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 20, invoices: 60 });
    const db = openBillingDb(dbPath);
    const taskQueue = `three-workers-${nanoid(6)}`;
    const common = { address, taskQueue, billingDbPath: dbPath, bundlePath: await writeSharedBundle() };
    // One deployment: the workers share the billing database, the conversations and the audit store.
    const shared = {
      HITL_TRANSCRIPT_DB: join(dir, 'transcripts.sqlite'),
      HITL_AUDIT_DB: join(dir, 'audit.sqlite'),
      HITL_FAULT_HOLD_AFTER_COMMIT: `issue_refund=${HOLD_MS}`,
    };
    // Workers 1 and 2 run workflow code on two threads each (HITL_WORKFLOW_THREADS): while worker 0 is down, every
    // decision's workflow task is theirs, so the thread pool meets signed decisions, kills and the ledger here.
    const workers = [0, 1, 2].map(
      (i) => new WorkerProcess({ ...common, env: i === 0 ? shared : { ...shared, HITL_WORKFLOW_THREADS: '2' } }),
    );
    try {
      await Promise.all(workers.map((w) => w.start()));
      const threadedPids = new Set(workers.slice(1).map((w) => String(w.pid)));
      const runs = await Promise.all(
        Array.from({ length: RUNS }, async (_, i) => {
          const turns = [
            call('issue_refund', { invoiceId: i + 1, amountCents: 1, reason: `three workers ${i}` }),
            answer('Refunded.'),
          ];
          return startAgentRun(
            client,
            {
              goal: `refund ${i}`,
              requestedBy: 'tester',
              model: { provider: 'scripted', scenario: { goal: `refund ${i}`, turns } },
            },
            { taskQueue, key: testKey('tester') },
          );
        }),
      );
      const requests = await Promise.all(
        runs.map(({ workflowId }) =>
          waitFor(async () => (await pendingApprovals(client, workflowId))[0], `the request of ${workflowId}`, 120_000),
        ),
      );

      // Every run waits for approval: SIGKILL one worker (its cached runs go with it; their state is in Temporal).
      await workers[0]?.kill();
      await Promise.all(runs.map(({ workflowId }, i) => approveAs(client, workflowId, requests[i]!, 'alice')));

      // A refund holds after its commit: SIGKILL the worker that runs one (by its identity, pid@host) while it holds,
      // and bring the first worker back.
      const holder = await waitFor(
        async () => {
          for (const { workflowId } of runs) {
            const { raw } = await client.workflow.getHandle(workflowId).describe();
            for (const a of raw.pendingActivities ?? []) {
              const pid = Number((a.lastWorkerIdentity ?? '').split('@')[0]);
              const w = workers.find((x) => x.pid === pid);
              const started = a.lastStartedTime;
              const ago = started
                ? Date.now() - (Number(started.seconds ?? 0) * 1000 + (started.nanos ?? 0) / 1e6)
                : -1;
              // The commit comes straight after the start; the hold then lasts HOLD_MS: kill inside it.
              if (a.activityType?.name === 'issue_refund' && w !== undefined && ago > 800 && ago < HOLD_MS - 1_500) {
                return w;
              }
            }
          }
          return undefined;
        },
        'a refund holding after its commit on a live worker',
        120_000,
      );
      await holder.kill();
      await workers[0]?.start();

      await Promise.all(runs.map(({ handle }) => handle.result()));
      const perKey = rowsPerKey(db, 'hitl_refund');
      assert.equal(perKey.size, RUNS, 'one refund key per run');
      assert.ok(
        [...perKey.values()].every((n) => n === 1),
        'one row per key',
      );

      // Spread: more than one worker identity completed workflow tasks of these runs.
      const identities = new Set<string>();
      for (const { workflowId } of runs) {
        for (const e of (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
          const who = e.workflowTaskCompletedEventAttributes?.identity;
          if (who) identities.add(who);
        }
      }
      assert.ok(identities.size >= 2, `workflow tasks by ${[...identities].join(', ')}`);
      assert.ok(
        [...identities].some((who) => threadedPids.has(who.split('@')[0] ?? '')),
        `a worker on two workflow threads completed workflow tasks (by ${[...identities].join(', ')})`,
      );

      // The second kill caught refunds after their commit: their retries were answered by the ledger.
      let replayed = 0;
      for (const { workflowId } of runs) {
        const trail = await auditTrail(client, workflowId);
        replayed += trail.filter((e) => e.kind === 'tool_executed' && /idempotency ledger/.test(e.detail)).length;
      }
      assert.ok(replayed >= 1, 'some refund was in flight on the killed worker');
      t.diagnostic(
        `${RUNS} runs, ${perKey.size} refunds (${replayed} answered by the ledger after the kill mid-tool), workflow tasks completed by ${identities.size} worker processes`,
      );
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      db.close();
    }
  });
});
