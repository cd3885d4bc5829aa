import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { nanoid } from 'nanoid';
import { countRefunds } from '../../activities/billing/index';
import { auditTrail, pendingApprovals, startAgentRun } from '../../client';
import { PolicyBook } from '../../src/node/policy-book';
import type { AgentRunResult } from '../../src/shared/run-state';
import { createWorker } from '../../worker';
import { approveAs } from '../support/decisions';
import { sharedBundle, waitFor } from '../support/env';
import { answer, call, freshBillingDb, sharedAuditStore, sharedTranscripts } from '../support/harness';
import { TEST_REGISTRY, TEST_STATE_KEY, testKey } from '../support/keys';
import { examplePolicy } from '../support/policies';
import { startPostgresTemporal } from '../support/temporal-postgres';

describe('Temporal on PostgreSQL with its services in separate processes', () => {
  it('completes a gated run through frontend, history, matching and worker processes of their own', async () => {
    const bundle = await sharedBundle();
    const server = await startPostgresTemporal({
      processes: [['history'], ['matching'], ['frontend'], ['worker']],
    });
    const billing = freshBillingDb();
    const taskQueue = `split-${nanoid(8)}`;
    const connection = await Connection.connect({ address: server.address });
    const native = await NativeConnection.connect({ address: server.address });
    try {
      // Four processes, one service each: what the frontend reports is the cluster the other three joined.
      assert.equal(server.pids.length, 4);
      assert.ok(new Set(server.pids).size === 4 && server.pids.every((pid) => pid > 0));
      const client = new Client({ connection });
      const worker = await createWorker({
        connection: native,
        taskQueue,
        billingDb: billing.db,
        workflowBundle: bundle,
        transcripts: sharedTranscripts(),
        auditStore: sharedAuditStore().store,
        policies: PolicyBook.of(examplePolicy, 'test'),
        registry: TEST_REGISTRY,
        stateKey: TEST_STATE_KEY,
      });
      await worker.runUntil(async () => {
        const { workflowId, handle } = await startAgentRun(
          client,
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
            policy: examplePolicy.version,
          },
          { taskQueue, key: testKey('tester') },
        );
        const [request] = await waitFor(async () => {
          const pending = await pendingApprovals(client, workflowId);
          return pending.length === 1 ? pending : undefined;
        }, 'the refund request');
        assert.equal(request?.tool, 'issue_refund');
        assert.equal(countRefunds(billing.db), 0, 'nothing runs before the approval');
        await approveAs(client, workflowId, request, 'sam');
        const result = (await handle.result()) as AgentRunResult;
        assert.equal(result.outcomes[0]?.status, 'executed');
        assert.equal(result.outcomes[0]?.decidedBy, 'sam');
        assert.equal(countRefunds(billing.db), 1, 'the refund ran once');
        const trail = await auditTrail(client, workflowId);
        assert.equal(trail.filter((e) => e.kind === 'tool_executed').length, 1);
      });
    } finally {
      await native.close();
      await connection.close();
      billing.db.close();
      await server.stop();
    }
  });
});
