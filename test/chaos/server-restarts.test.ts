import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { auditTrail, pendingApprovals, runResult, startAgentRun } from '../../client';
import type { Policy } from '../../src/shared/policy/schema';
import type { ApprovalRequest } from '../../src/shared/run-state';
import { OwnDevServer } from '../support/dev-server';
import { approveAs } from '../support/decisions';
import { tempDir, waitFor } from '../support/env';
import { call } from '../support/harness';
import { workflowTaskFailures } from '../support/run-history';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';
import { testKey } from '../support/keys';
import { policyVariant, writePolicyDir } from '../support/policies';
import { chaosKills, envCount, report, rowsOfCall, rowsPerKey, withDeadline } from './support';

// A dev server of its own on a SQLite file is SIGKILLed and started again, several times, while runs wait for
// approval and while escalation timers run. Each escalating run carries its own policy: stage 0 (support) lasts a few
// seconds, then the request escalates to admins. Each crash is timed so that one run's stage-0 deadline passes while
// the server is down; the other timers fire while it is up, between crashes or after the last.

/** Seconds between the escalation deadlines, enough for a crash, a restart and some slack. */
const SPACING_S = 9;

interface RestartRun {
  workflowId: string;
  kind: 'waiting' | 'escalating';
  request?: ApprovalRequest;
}

describe('chaos: Temporal dev server crashes', () => {
  it('keeps waiting runs and escalation timers: every run goes on and every timer fires once', async (t) => {
    const restarts = envCount('HITL_CHAOS_SERVER_RESTARTS', Math.max(2, Math.round(chaosKills() / 25)));
    const started = Date.now();
    const server = await OwnDevServer.start(join(tempDir('hitl-chaos-server-'), 'dev.sqlite'));
    const dbPath = join(tempDir('hitl-chaos-'), 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 20, invoices: 60 });
    const db = openBillingDb(dbPath);
    const taskQueue = `chaos-server-${nanoid(6)}`;
    // Every run's policy is the worker's, known when it starts: waiting runs share one, escalating runs' stage 0 ends
    // SPACING_S seconds apart.
    const waitingPolicy = policyVariant('restart-waiting', {});
    const escalatingPolicies = Array.from({ length: restarts + 1 }, (_, i) =>
      policyVariant(`restart-escalating-${i}`, {
        issue_refund: {
          gate: 'hard',
          approvers: { groups: ['support'] },
          timeout: `${SPACING_S * (i + 1)}s`,
          onTimeout: 'escalate',
          escalation: [{ groups: ['admins'], timeout: '30m' }],
        },
      }),
    );
    const worker = new WorkerProcess({
      address: server.address,
      taskQueue,
      billingDbPath: dbPath,
      bundlePath: await writeSharedBundle(),
      env: { HITL_POLICY: writePolicyDir([waitingPolicy, ...escalatingPolicies]) },
    });
    let connection = await Connection.connect({ address: server.address });
    let client = new Client({ connection });
    const runs: RestartRun[] = [];
    let workerRestarts = 0;
    try {
      await worker.start();
      const start = async (kind: RestartRun['kind'], i: number, policy: Policy) => {
        const { workflowId } = await startAgentRun(
          client,
          {
            goal: `${kind} run ${i}`,
            requestedBy: 'tester',
            model: {
              provider: 'scripted',
              scenario: {
                goal: `${kind} run ${i}`,
                turns: [
                  call('issue_refund', { invoiceId: i + 1, amountCents: 100, reason: `${kind} ${i}` }),
                  { content: 'refunded' },
                ],
              },
            },
            policy: policy.version,
          },
          { taskQueue, key: testKey('tester') },
        );
        runs.push({ workflowId, kind });
      };
      // Waiting runs: support has half an hour. Escalating runs: stage 0 ends SPACING_S seconds apart.
      for (let i = 0; i < restarts; i++) await start('waiting', i, waitingPolicy);
      // One more escalating run than crashes: its deadline passes while the server is up, after the last restart.
      for (let i = 0; i <= restarts; i++) await start('escalating', restarts + i, escalatingPolicies[i]!);
      for (const run of runs) {
        const [req] = await waitFor(async () => {
          const p = await pendingApprovals(client, run.workflowId);
          return p.length === 1 ? p : undefined;
        }, `the request of ${run.workflowId}`);
        run.request = req;
      }
      const escalating = runs.filter((r) => r.kind === 'escalating');
      const crashes: string[] = [];
      for (let c = 0; c < restarts; c++) {
        const victim = escalating[c]!;
        const deadline = Date.parse(victim.request!.deadline);
        await waitFor(() => (Date.now() > deadline - 1_500 ? true : undefined), 'shortly before a deadline', 60_000);
        await connection.close();
        await server.crash();
        const downAt = Date.now();
        // The crash window: the server stays down until the victim's deadline has passed.
        await waitFor(() => (Date.now() > deadline + 1_000 ? true : undefined), 'the deadline to pass while down');
        await server.restart();
        crashes.push(`down ${((Date.now() - downAt) / 1000).toFixed(1)} s across the deadline of ${victim.workflowId}`);
        connection = await Connection.connect({ address: server.address });
        client = new Client({ connection });
        if (!worker.running) {
          // The worker is expected to ride out the outage; if it died, say so and bring it back.
          workerRestarts += 1;
          await worker.start();
        }
      }
      const live = client;
      const stages = await Promise.all(
        runs.map((run) =>
          waitFor(
            async () => {
              const p = await withDeadline(live, 5_000, () => pendingApprovals(live, run.workflowId));
              const want = run.kind === 'escalating' ? 1 : 0;
              return p.length === 1 && p[0]?.stage === want ? p[0] : undefined;
            },
            `${run.workflowId} at its expected stage`,
            60_000,
          ),
        ),
      );
      stages.forEach((req, i) => {
        assert.equal(req.requestId, runs[i]!.request!.requestId, 'the same request is pending after the crashes');
      });
      for (const [i, run] of runs.entries()) {
        await approveAs(live, run.workflowId, stages[i]!, run.kind === 'escalating' ? 'ada' : 'sam');
      }
      const results = await Promise.all(runs.map((run) => runResult(live, run.workflowId)));
      const refunds = rowsPerKey(db, 'hitl_refund');
      let timersFired = 0;
      for (const [i, run] of runs.entries()) {
        assert.equal(results[i]?.outcomes[0]?.status, 'executed', `${run.workflowId} ran its refund`);
        assert.equal(rowsOfCall(refunds, run.workflowId, run.request!.argsHash), 1, `${run.workflowId}: one refund`);
        const trail = await auditTrail(live, run.workflowId);
        const escalations = trail.filter((e) => e.kind === 'approval_escalated').length;
        timersFired += escalations;
        assert.equal(escalations, run.kind === 'escalating' ? 1 : 0, `${run.workflowId}: escalations`);
        const notices = trail.filter((e) => e.kind === 'notification' && /^escalated to/.test(e.detail)).length;
        assert.equal(notices, run.kind === 'escalating' ? 1 : 0, `${run.workflowId}: escalation notices`);
        assert.deepEqual(await workflowTaskFailures(live, run.workflowId), [], `${run.workflowId}: task failures`);
      }
      assert.equal(
        [...refunds.values()].reduce((a, b) => a + b, 0),
        runs.length,
        'one refund row per run',
      );
      report(t, [
        `server crashes (SIGKILL) and restarts: ${restarts}; ${crashes.join('; ')}`,
        `runs: ${runs.length} (${restarts} waiting for approval, ${escalating.length} with escalation timers), all completed`,
        `escalation timers fired: ${timersFired} for ${escalating.length} timers; refund rows: ${runs.length}`,
        `worker restarts needed after an outage: ${workerRestarts} (unexpected exits: ${worker.unexpectedExits})`,
        `took ${Math.round((Date.now() - started) / 1000)} s; worker log: ${worker.logPath}`,
      ]);
      assert.equal(timersFired, escalating.length);
    } finally {
      await worker.stop();
      await connection.close();
      await server.crash();
      db.close();
    }
  });
});
