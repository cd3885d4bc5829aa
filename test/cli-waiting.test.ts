import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApprovalRequest } from '../src/shared/run-state';
import type { WaitingRun } from '../src/node/client/waiting';
import {
  AGENT_RUN_WORKFLOW,
  AgentDecidersKey,
  AgentPendingToolsKey,
  AgentRiskTierKey,
  AgentStatusKey,
} from '../src/shared/messages';
import { hitl } from './support/cli';
import { stopAs } from './support/decisions';
import { sharedEnv, waitFor } from './support/env';
import { call, answer, withWorker } from './support/harness';
import { examplePolicy } from './support/policies';

const example = { policy: examplePolicy, source: 'policies/example.yaml' };
const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'duplicate charge' });

interface PendingJson {
  requests: ApprovalRequest[];
  paused: unknown[];
  unreadable: WaitingRun[];
}

describe('hitl pending and show say what waits, and why they cannot say more', () => {
  it('lists a waiting run with no worker up, from its search attributes, and says why it has no details', async () => {
    const { address } = await sharedEnv();
    const env = { TEMPORAL_ADDRESS: address };
    let workflowId = '';
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(500)), answer('done')]);
        workflowId = run.workflowId;
        await h.pending(workflowId);
        // With the worker up, the details and the commands.
        const listed = await waitFor(async () => {
          const out = await hitl(['pending', '--as', 'sam', '--json'], env);
          const json = JSON.parse(out.stdout) as PendingJson;
          return json.requests.some((r) => r.workflowId === workflowId) ? json : undefined;
        }, 'the request in hitl pending --as sam');
        assert.ok(!listed.unreadable.some((r) => r.workflowId === workflowId));
        const notMine = JSON.parse((await hitl(['pending', '--as', 'fiona', '--json'], env)).stdout) as PendingJson;
        assert.ok(!notMine.requests.some((r) => r.workflowId === workflowId), 'fiona is not in support');
      },
      { policy: example },
    );
    // The worker is gone: visibility still lists the run, with what waits and who may decide.
    const out = await hitl(['pending', '--json'], env);
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout) as PendingJson;
    const unread = json.unreadable.find((r) => r.workflowId === workflowId);
    assert.ok(unread, `the run is listed as unreadable: ${out.stdout}`);
    assert.deepEqual(unread.tools, ['issue_refund']);
    assert.deepEqual(unread.deciders, ['sam', 'sue']);
    assert.deepEqual(unread.groups, ['support']);
    assert.equal(unread.risk, 'hard');
    assert.match(unread.unreadable ?? '', /no worker (answered|is polling)/);
    assert.ok(unread.deadline !== undefined && Date.parse(unread.deadline) > Date.now());

    const text = await hitl(['pending', '--as', 'sue'], env);
    assert.match(text.stdout, new RegExp(`${workflowId}  details unavailable: no worker`));
    assert.match(
      text.stdout,
      /waiting on issue_refund \(hard gate\); may decide: sam, sue \(groups support\); deadline \S+ \(in \d+ (h|min)\)/,
    );
    assert.match(text.stderr, /\d+ waiting run\(s\) could not be read/);

    const shown = await hitl(['show', workflowId], env);
    assert.equal(shown.code, 3, shown.stderr);
    assert.match(shown.stderr, new RegExp(`cannot read run ${workflowId}: no worker .* \\(namespace default\\)`));

    // Clean up: a worker takes the run again and a stop ends it.
    await withWorker(
      async (h) => {
        const { closedRequests } = await stopAs(h.client, workflowId, { by: 'ada', reason: 'test over' });
        assert.equal(closedRequests, 1);
      },
      { policy: example, taskQueue: unread.taskQueue },
    );
  });

  it('shows search attributes a hostile client wrote as text, on the lines hitl pending writes', async () => {
    const { address, env: testEnv } = await sharedEnv();
    const hostile = 'issue_refund\r\x1b[2K\nagent-fake  approve: npx hitl approve x y --as YOU';
    const handle = await testEnv.client.workflow.start(AGENT_RUN_WORKFLOW, {
      taskQueue: `nobody-${Date.now()}`,
      workflowId: `forged-${Date.now()}`,
      args: [{}],
      typedSearchAttributes: [
        { key: AgentStatusKey, value: 'AwaitingApproval' },
        { key: AgentPendingToolsKey, value: [hostile] },
        { key: AgentDecidersKey, value: ['fiona\x1b[8m'] },
        { key: AgentRiskTierKey, value: 'hard\u202e' },
      ],
    });
    try {
      const out = await waitFor(async () => {
        // CI set, as on a CI machine: output that is not a terminal still gets no colour.
        const listed = await hitl(['pending'], { TEMPORAL_ADDRESS: address, CI: 'true' });
        return listed.stdout.includes(handle.workflowId) ? listed : undefined;
      }, 'the forged run in hitl pending');
      const forged = out.stdout.split('\n').filter((l) => l.includes(handle.workflowId) || l.includes('agent-fake'));
      // One line names the run, and the forged text stays inside the next one, escaped.
      assert.equal(forged.length, 2, out.stdout);
      assert.match(forged[0] ?? '', /details unavailable: no worker is polling task queue nobody-/);
      for (const raw of ['\x1b', '\r', '\u202e']) assert.ok(!out.stdout.includes(raw), 'no raw control character');
      assert.match(out.stdout, /waiting on issue_refund\\r\\x1b\[2K\\nagent-fake {2}approve:/);
      assert.match(out.stdout, /may decide: fiona\\x1b\[8m/);
      const json = JSON.parse((await hitl(['pending', '--json'], { TEMPORAL_ADDRESS: address })).stdout) as PendingJson;
      const listed = json.unreadable.find((r) => r.workflowId === handle.workflowId);
      assert.deepEqual(listed?.tools, [hostile], 'JSON keeps the value as it is, for a program to escape');
      assert.ok(!json.requests.some((r) => r.workflowId === handle.workflowId), 'no request is made up for it');
    } finally {
      await handle.terminate('test over');
    }
  });

  it('names the address and namespace it could not reach, and exits with 3', async () => {
    const out = await hitl(['--address', '127.0.0.1:1', '--namespace', 'nowhere', 'pending']);
    assert.equal(out.code, 3);
    assert.match(out.stderr, /^error: cannot reach Temporal at 127\.0\.0\.1:1 \(namespace nowhere\): /);
  });

  it('exits with 2 on a usage error and prints its version', async () => {
    assert.equal((await hitl(['pendin'])).code, 2);
    assert.equal((await hitl(['approve'])).code, 2);
    const version = await hitl(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
