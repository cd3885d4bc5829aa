import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { nanoid } from 'nanoid';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, pendingApprovals, startAgentRun } from '../client';
import { TEST_REGISTRY, TEST_STATE_KEY, testKey } from './support/keys';
import { policyVariant } from './support/policies';
import { PolicyBook } from '../src/node/policy-book';
import type { AgentRunResult } from '../src/shared/run-state';
import { createWorker } from '../worker';
import { OwnDevServer } from './support/dev-server';
import { approveAs } from './support/decisions';
import { sharedEnv, tempDir, waitFor } from './support/env';
import { answer, call, freshBillingDb, sharedAuditStore, sharedTranscripts } from './support/harness';

describe('durable timers across a server crash', () => {
  it('escalates a request whose deadline passed while the server and the worker were down, then runs it once', async () => {
    const { bundle } = await sharedEnv();
    const server = await OwnDevServer.start(join(tempDir('hitl-server-'), 'dev.sqlite'));
    const billing = freshBillingDb();
    const taskQueue = `restart-${nanoid(8)}`;
    const policy = policyVariant('restart-test', {
      issue_refund: {
        gate: 'hard',
        approvers: { groups: ['support'] },
        timeout: '3s',
        onTimeout: 'escalate',
        escalation: [{ groups: ['admins'], timeout: '5m' }],
      },
    });
    const connect = async () => {
      const connection = await Connection.connect({ address: server.address });
      return { connection, client: new Client({ connection }) };
    };
    const runWorker = async () => {
      const native = await NativeConnection.connect({ address: server.address });
      const worker = await createWorker({
        connection: native,
        taskQueue,
        billingDb: billing.db,
        workflowBundle: bundle,
        transcripts: sharedTranscripts(),
        auditStore: sharedAuditStore().store,
        policies: PolicyBook.of(policy, 'test'),
        registry: TEST_REGISTRY,
        stateKey: TEST_STATE_KEY,
      });
      const running = worker.run();
      return {
        stop: async () => {
          worker.shutdown();
          await running;
          await native.close();
        },
      };
    };

    let first = await connect();
    let worker = await runWorker();
    const { workflowId } = await startAgentRun(
      first.client,
      {
        goal: 'refund',
        requestedBy: 'tester',
        model: {
          provider: 'scripted',
          scenario: {
            goal: 'refund',
            turns: [call('issue_refund', { invoiceId: 1, amountCents: 300, reason: 'dup' }), answer('done')],
          },
        },
        policy: policy.version,
      },
      { taskQueue, key: testKey('tester') },
    );
    const [req] = await waitFor(async () => {
      const p = await pendingApprovals(first.client, workflowId);
      return p.length === 1 ? p : undefined;
    }, 'the request at stage 0');
    assert.equal(req?.stage, 0);

    // Worker and server go down before the stage-0 deadline and come back after it.
    await worker.stop();
    await first.connection.close();
    await server.crash();
    const deadline = Date.parse(req.deadline);
    await waitFor(() => (Date.now() > deadline + 500 ? true : undefined), 'the stage-0 deadline to pass');
    await server.restart();
    first = await connect();
    worker = await runWorker();
    try {
      const client = first.client;
      const [escalated] = await waitFor(
        async () => {
          const p = await pendingApprovals(client, workflowId);
          return p[0]?.stage === 1 ? p : undefined;
          // The restarted server works through its queues first; on a busy two-core machine that can take a while.
        },
        'the escalation after the restart',
        60_000,
      );
      assert.deepEqual(escalated?.eligibleApprovers, ['ada', 'alan']);
      await approveAs(client, workflowId, escalated, 'ada');
      const result = (await client.workflow.getHandle(workflowId).result()) as AgentRunResult;
      assert.equal(result.outcomes[0]?.status, 'executed');
      assert.equal(countRefunds(billing.db), 1);
      const trail = await auditTrail(client, workflowId);
      assert.equal(trail.filter((e) => e.kind === 'approval_escalated').length, 1, 'the timer fired once');
    } finally {
      await worker.stop();
      await first.connection.close();
      await server.crash();
    }
  });
});
