import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import Long from 'long';
import { nanoid } from 'nanoid';
import { countOutbox, countRefunds } from '../activities/billing/index';
import { createRunSupportActivities } from '../activities/run-support';
import {
  auditTrail,
  decide,
  pendingApprovals,
  runStatus,
  signalDecision,
  stopRun,
  UpdateRefusedError,
} from '../client';
import { signFor } from '../src/node/client/signing';
import { sealDigest } from '../src/node/identity/state-key';
import { PolicyBook } from '../src/node/policy-book';
import { DecisionSchema, type Decision } from '../src/shared/decision';
import { decisionStatement } from '../src/shared/identity/statements';
import { AGENT_RUN_WORKFLOW } from '../src/shared/messages';
import { policyHash } from '../src/shared/policy/pin';
import type { ApprovalRequest } from '../src/shared/run-state';
import { approveAs, decideAs, decisionOn, signedOn, stopAs } from './support/decisions';
import { waitFor } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import { strangerKey, TEST_REGISTRY, TEST_STATE_KEY, testKey, testRegistry, testRegistryLine } from './support/keys';
import { examplePolicy, policyVariant } from './support/policies';
import { runHistories } from './support/run-history';

const { EventType } = proto.temporal.api.enums.v1;
const example = { policy: examplePolicy, source: 'policies/example.yaml' };
const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'duplicate charge' });
const NAMESPACE = 'default';

/** A refused update whose reason matches `pattern`. */
function refusedWith(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UpdateRefusedError, `expected a refusal, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

/** A run that failed with an ApplicationFailure whose message matches `pattern`. */
function failedWith(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError, `expected the run to fail, got ${String(err)}`);
    assert.match(err.cause?.message ?? '', pattern);
    return true;
  };
}

/** A decision parsed as `hitl` sends it, signed by `key` (the approver's own, another's, or a stranger's). */
function signedWith(
  workflowId: string,
  request: ApprovalRequest,
  approver: string,
  key: ReturnType<typeof testKey>,
  extras: Partial<Decision> = {},
  at?: Date,
): Decision {
  const d = DecisionSchema.parse({ ...decisionOn(request, approver), ...extras });
  const content = decisionStatement(d, { argsHash: d.argsHash, effectHash: d.effectHash });
  return {
    ...d,
    signature: signFor(d.approver, key, content, { namespace: NAMESPACE, workflowId, ...(at ? { at } : {}) }),
  };
}

/** Starts a run straight through the Temporal client, with any arguments: what a client with the address can do. */
async function startRaw(h: Harness, args: unknown[], extra: Record<string, unknown> = {}) {
  return h.client.workflow.start(AGENT_RUN_WORKFLOW, {
    taskQueue: h.taskQueue,
    workflowId: `attack-${nanoid(8)}`,
    args,
    ...extra,
  });
}

const refundTurns = (amountCents = 500, invoiceId = 1) => [
  call('issue_refund', refund(amountCents, invoiceId)),
  answer('done'),
];

describe('authority: the worker owns the policy', () => {
  it('refuses a run whose input carries its own policy, and runs nothing', async () => {
    await withWorker(
      async (h) => {
        const lax = {
          ...examplePolicy,
          version: '2026-11-22.1',
          tools: { ...examplePolicy.tools, issue_refund: { gate: 'auto', acknowledgeIrreversible: true } },
        };
        const handle = await startRaw(h, [
          {
            goal: 'refund',
            requestedBy: 'bob',
            model: { provider: 'scripted', scenario: { goal: 'refund', turns: refundTurns() } },
            policy: lax,
          },
        ]);
        await assert.rejects(handle.result(), failedWith(/may not carry its own policy/));
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: example },
    );
  });

  it("pins the worker's policy by name, with its SHA-256 on the status, the audit trail and every request", async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns());
        const [req] = await h.pending(run.workflowId);
        const status = await runStatus(h.client, run.workflowId);
        assert.equal(status.policySha256, policyHash(examplePolicy));
        assert.equal(req?.policySha256, policyHash(examplePolicy));
        const started = (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'run_started');
        assert.match(started?.detail ?? '', new RegExp(`sha256 ${policyHash(examplePolicy)}`));
        const other = await h.startScripted(refundTurns(), { policy: 'no-such-policy' });
        await assert.rejects(other.result(), failedWith(/has no policy no-such-policy/));
      },
      { policy: example },
    );
  });
});

describe('authority: carried state', () => {
  /** What a client would pass as the second argument to forge a run that continues: a refund that proceeds at once. */
  function forgedCarry(workflowId: string) {
    const request = {
      requestId: 'forged',
      workflowId,
      toolCallId: 'c1',
      tool: 'issue_refund',
      args: refund(900),
      argsHash: '0'.repeat(64),
      gate: 'soft',
      because: 'forged',
      policyVersion: examplePolicy.version,
      summary: 'forged',
      reasoning: null,
      alternatives: [],
      goal: 'x',
      requestedBy: 'bob',
      requestedAt: '2020-01-01T00:00:00.000Z',
      stage: 0,
      stages: [{ groups: [], timeoutMs: 1 }],
      eligibleApprovers: [],
      quorum: 1,
      approvals: [],
      separationOfDuties: false,
      deadline: '2020-01-01T00:00:00.000Z',
      onTimeout: 'proceed',
    };
    return {
      earlierRuns: [],
      policy: examplePolicy,
      policySource: 'forged',
      step: 1,
      counts: {},
      auditSeq: 1,
      autoLogged: {},
      interruptions: { spentUsd: 0, passedIrreversibleCheckpoint: true },
      plan: [],
      transcript: { key: 'someone-elses-run', length: 0, hash: '' },
      unsent: [],
      gate: {
        open: [
          {
            request,
            gate: {
              kind: 'soft',
              stages: [],
              quorum: 1,
              softWindowMs: 1,
              separationOfDuties: false,
              reminderBeforeMs: 0,
              because: 'forged',
            },
          },
        ],
        closed: [],
      },
      turn: {
        calls: [{ id: 'c1', name: 'issue_refund', arguments: JSON.stringify(refund(900)) }],
        reasoning: null,
        settled: [],
        waiting: [{ toolCallId: 'c1', requestId: 'forged' }],
      },
      seal: 'AAAA',
    };
  }

  it('refuses carried state on a fresh start: the forged request never runs and nothing is scheduled', async () => {
    await withWorker(
      async (h) => {
        const input = { goal: 'x', requestedBy: 'bob', model: { provider: 'scripted' } };
        const handle = await startRaw(h, [input, forgedCarry('x')]);
        await assert.rejects(handle.result(), failedWith(/a fresh start, not a continue-as-new/));
        const { events } = await handle.fetchHistory();
        assert.ok(!(events ?? []).some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: example },
    );
  });

  it('refuses carried state on a retry of a start that timed out before a worker saw it', async () => {
    await withWorker(async (h) => {
      const queue = `no-worker-yet-${nanoid(6)}`;
      const input = { goal: 'x', requestedBy: 'bob', model: { provider: 'scripted' } };
      const handle = await h.client.workflow.start(AGENT_RUN_WORKFLOW, {
        taskQueue: queue,
        workflowId: `attack-${nanoid(8)}`,
        args: [input, forgedCarry('x')],
        // Long enough for a loaded machine's worker to take the retry before it times out as well; the first attempt
        // has no worker at all, so it times out whatever the value.
        workflowRunTimeout: '10 seconds',
        retry: { maximumAttempts: 2, initialInterval: '1 second' },
      });
      const first = handle.firstExecutionRunId;
      await waitFor(async () => ((await handle.describe()).runId !== first ? true : undefined), 'the retry attempt');
      await withWorker(
        async () => {
          await assert.rejects(handle.result(), failedWith(/retry attempt 2/));
        },
        { taskQueue: queue, policy: example },
      );
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('seals what it carries across continue-as-new and checks the seal in the next segment', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns(), { continueAsNewAfterEvents: 50 });
        const [req] = await h.pending(run.workflowId);
        await waitFor(
          async () => {
            await signalDecision(h.client, run.workflowId, { garbage: true });
            return (await runStatus(h.client, run.workflowId)).earlierRuns.length > 0 ? true : undefined;
          },
          'the run to continue as new',
          60_000,
        );
        await approveAs(h.client, run.workflowId, req!, 'sam');
        await run.result();
        const [first, second] = await runHistories(h.client, run.workflowId);
        const activities = (events: typeof first) =>
          (events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
        assert.ok(activities(first).includes('sealState'), 'the first segment sealed its state');
        assert.equal(activities(second)[0], 'openState', 'the next segment checked the seal before anything else');
        assert.equal(countRefunds(h.db), 1);
      },
      { policy: example },
    );
  });

  it("refuses a state that is unsealed or whose seal does not match (the workers' own check)", async () => {
    const activities = createRunSupportActivities({
      policies: PolicyBook.of(examplePolicy, 'test'),
      registry: TEST_REGISTRY,
      stateKey: TEST_STATE_KEY,
    });
    const digest = 'a'.repeat(64);
    const seal = sealDigest(TEST_STATE_KEY, 'run-1', digest);
    assert.equal((await activities.openState({ workflowId: 'run-1', digest, seal })).ok, true);
    assert.equal((await activities.openState({ workflowId: 'run-1', digest: 'b'.repeat(64), seal })).ok, false);
    assert.equal((await activities.openState({ workflowId: 'run-2', digest, seal })).ok, false);
    assert.equal((await activities.openState({ workflowId: 'run-1', digest })).ok, false);
  });
});

describe('authority: identities are proved, not claimed', () => {
  it('refuses unsigned decisions, another person’s key and an unregistered key claiming a name; takes a proved quorum', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns(6000, 2), { requestedBy: 'bob' });
        const [req] = await h.pending(run.workflowId);
        const id = run.workflowId;
        await assert.rejects(
          decide(h.client, id, decisionOn(req!, 'fiona')),
          refusedWith(/requires a signed decision/),
        );
        await assert.rejects(
          decide(h.client, id, signedWith(id, req!, 'fiona', testKey('bob'))),
          refusedWith(/"bob" is not registered to sign for "fiona"/),
        );
        await assert.rejects(
          decide(h.client, id, signedWith(id, req!, 'fiona', strangerKey('fiona'))),
          refusedWith(/does not verify under the key of "fiona"/),
        );
        assert.equal((await approveAs(h.client, id, req!, 'fiona')).approvalsNeeded, 1);
        assert.equal(countRefunds(h.db, 2), 0, 'one proved approval of two runs nothing');
        await approveAs(h.client, id, req!, 'frank');
        await run.result();
        assert.equal(countRefunds(h.db, 2), 1);
      },
      { policy: example },
    );
  });

  it('refuses a signature sent to another run, moved to another request, with a tampered reason, or too old', async () => {
    await withWorker(
      async (h) => {
        const a = await h.startScripted([
          {
            toolCalls: [
              { name: 'issue_refund', arguments: refund(100) },
              { name: 'issue_refund', arguments: refund(200, 2) },
            ],
          },
          answer('done'),
        ]);
        const b = await h.startScripted(refundTurns(300, 3));
        const [a1, a2] = await h.pending(a.workflowId, 2);
        const [b1] = await h.pending(b.workflowId);
        const forA = signedWith(a.workflowId, a1!, 'sam', testKey('sam'));
        await assert.rejects(
          decide(h.client, b.workflowId, {
            ...forA,
            requestId: b1!.requestId,
            argsHash: b1!.argsHash,
            effectHash: b1!.effect?.sha256,
          }),
          refusedWith(/made for run .* not this run/),
        );
        await assert.rejects(
          decide(h.client, a.workflowId, {
            ...forA,
            requestId: a2!.requestId,
            argsHash: a2!.argsHash,
            effectHash: a2!.effect?.sha256,
          }),
          refusedWith(/does not verify/),
        );
        const reject = signedWith(a.workflowId, a1!, 'sam', testKey('sam'), { decision: 'reject', reason: 'too much' });
        await assert.rejects(
          decide(h.client, a.workflowId, { ...reject, reason: 'approved after all' }),
          refusedWith(/does not verify/),
        );
        const old = signedWith(a.workflowId, a1!, 'sam', testKey('sam'), {}, new Date(Date.now() - 20 * 60_000));
        await assert.rejects(
          decide(h.client, a.workflowId, old),
          refusedWith(/older than the policy's 15-minute window/),
        );
        // A refused signal changes nothing and is recorded in bounded size.
        await signalDecision(h.client, a.workflowId, { ...forA, reason: 'x'.repeat(3_000) });
        await waitFor(async () => {
          const trail = await auditTrail(h.client, a.workflowId);
          return trail.some((e) => e.kind === 'decision_refused') ? trail : undefined;
        }, 'the refused signal on the audit trail');
        assert.equal((await pendingApprovals(h.client, a.workflowId)).length, 2);
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: example },
    );
  });

  it('refuses a key removed from the registry and takes a second, rotated key of the same person', async () => {
    const rotated = strangerKey('sam');
    const registry = testRegistry([testRegistryLine({ ...rotated, name: 'sam' })], ['sue']);
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns());
        const [req] = await h.pending(run.workflowId);
        await assert.rejects(
          decide(h.client, run.workflowId, signedWith(run.workflowId, req!, 'sue', testKey('sue'))),
          refusedWith(/no key is registered for "sue"/),
        );
        await decide(h.client, run.workflowId, signedWith(run.workflowId, req!, 'sam', { ...rotated, name: 'sam' }));
        await run.result();
        assert.equal(countRefunds(h.db), 1);
      },
      { policy: example, registry },
    );
  });

  it('takes a delegated signer for the people it may sign for, and the audit trail names both', async () => {
    const bridge = strangerKey('slack-bridge');
    const registry = testRegistry([testRegistryLine(bridge, ['sam'])]);
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns());
        const [req] = await h.pending(run.workflowId);
        await assert.rejects(
          decide(h.client, run.workflowId, signedWith(run.workflowId, req!, 'sue', bridge)),
          refusedWith(/"slack-bridge" is not registered to sign for "sue"/),
        );
        await decide(h.client, run.workflowId, signedWith(run.workflowId, req!, 'sam', bridge));
        await run.result();
        const decision = (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'decision');
        assert.equal(decision?.actor, 'sam, via slack-bridge');
      },
      { policy: example, registry },
    );
  });

  it('takes the requester from the signed start: separation of duties compares proved identities', async () => {
    await withWorker(
      async (h) => {
        const unsigned = await h.startScripted(refundTurns(), { requestedBy: 'sam', unsigned: true });
        await assert.rejects(unsigned.result(), failedWith(/requires a signed start/));
        const run = await h.startScripted(refundTurns(), { requestedBy: 'Sam' });
        const [req] = await h.pending(run.workflowId);
        await assert.rejects(approveAs(h.client, run.workflowId, req!, 'sam'), refusedWith(/separation of duties/));
        assert.equal((await runStatus(h.client, run.workflowId)).requestedBy, 'sam');
      },
      { policy: example },
    );
  });

  it('gives a client without an approver key, such as the worker’s own connection, no way to decide', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns());
        const [req] = await h.pending(run.workflowId);
        const worker = strangerKey('worker');
        await assert.rejects(
          decide(h.client, run.workflowId, decisionOn(req!, 'sam')),
          refusedWith(/requires a signed/),
        );
        await assert.rejects(
          decide(h.client, run.workflowId, signedWith(run.workflowId, req!, 'sam', worker)),
          refusedWith(/"worker" is not registered|no key is registered for "worker"/),
        );
        assert.ok(
          TEST_REGISTRY.keys.every((k) => !('secretKey' in k)),
          'the registry holds public keys only',
        );
        assert.equal((await pendingApprovals(h.client, run.workflowId)).length, 1);
      },
      { policy: example },
    );
  });

  it('lets only the requester or a member of the policy’s groups stop a run, with a signed stop', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns(), { requestedBy: 'bob' });
        await h.pending(run.workflowId);
        await assert.rejects(
          stopAs(h.client, run.workflowId, { by: 'mallory', reason: 'because' }),
          refusedWith(/"mallory" may not stop this run/),
        );
        await assert.rejects(
          stopRun(h.client, run.workflowId, { by: 'ada', reason: 'unsigned' }),
          refusedWith(/requires a signed stop/),
        );
        assert.equal(
          (await stopAs(h.client, run.workflowId, { by: 'ada', reason: 'customer called' })).closedRequests,
          1,
        );
        await run.result();
        assert.equal(countRefunds(h.db), 0);
      },
      { policy: example },
    );
  });

  it('normalises names: the same person under another spelling does not count twice towards a quorum', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns(6000, 2), { requestedBy: 'bob' });
        const [req] = await h.pending(run.workflowId);
        await approveAs(h.client, run.workflowId, req!, 'fiona');
        await assert.rejects(
          decide(h.client, run.workflowId, signedOn(run.workflowId, req!, 'ＦＩＯＮＡ')),
          refusedWith(/fiona already approved/),
        );
        assert.equal(countRefunds(h.db, 2), 0);
      },
      { policy: example },
    );
  });
});

describe('authority: what runs is what was approved', () => {
  const strictEmail = policyVariant('strict-email', {
    send_email: {
      gate: 'soft',
      softWindow: '2s',
      approvers: { groups: ['support'] },
      rules: [
        {
          name: 'several recipients',
          when: { arg: 'customerIds', measure: 'count', op: 'gt', value: 1 },
          gate: 'hard',
          approvers: { groups: ['support'], quorum: 2 },
        },
      ],
    },
  });

  it('rebuilds a request an edit raises: the soft window no longer applies and one approval is not enough', async () => {
    await withWorker(
      async (h) => {
        const email = { customerIds: [1], subject: 'Hello', body: 'Hi.' };
        const run = await h.startScripted([call('send_email', email), answer('sent')], { policy: strictEmail });
        const [soft] = await h.pending(run.workflowId);
        assert.equal(soft?.gate, 'soft');
        const receipt = await decideAs(h.client, run.workflowId, soft, 'sam', 'edit', {
          args: { ...email, customerIds: [1, 2, 3] },
        });
        assert.equal(receipt.closed, false);
        const [hard] = await h.pending(run.workflowId);
        assert.equal(hard?.gate, 'hard');
        assert.equal(hard?.quorum, 2);
        assert.equal(hard?.onTimeout, 'deny');
        assert.match(hard?.summary ?? '', /3 customers/);
        // Past the soft window the email would have gone out before the rebuild; now it waits for a second approver.
        await waitFor(() => (Date.now() > Date.parse(soft.deadline) + 1_500 ? true : undefined), 'the old window');
        assert.equal((await pendingApprovals(h.client, run.workflowId)).length, 1);
        assert.equal(countOutbox(h.db), 0);
        // What the edited email touches is resolved again while it waits; the second approver sees and binds it.
        const [current] = await waitFor(async () => {
          const p = await pendingApprovals(h.client, run.workflowId);
          return p[0]?.effect !== undefined ? p : undefined;
        }, 'the effect of the edited call');
        assert.equal(current?.effect?.lines.length, 3);
        await approveAs(h.client, run.workflowId, current, 'sue');
        await run.result();
        assert.equal(countOutbox(h.db), 3);
      },
      { policy: example },
    );
  });

  it('shows what an email will touch, and sends the request back when the address changes after approval', async () => {
    const hardEmail = policyVariant('hard-email', { send_email: { gate: 'hard', approvers: { groups: ['support'] } } });
    await withWorker(
      async (h) => {
        const run = await h.startScripted(
          [call('send_email', { customerIds: [2], subject: 'Hi', body: 'Hello.' }), answer('sent')],
          {
            policy: hardEmail,
          },
        );
        const [req] = await h.pending(run.workflowId);
        const address = h.db.prepare('SELECT Email FROM Customer WHERE CustomerId = 2').pluck().get() as string;
        assert.match(req?.effect?.lines.join(' ') ?? '', new RegExp(address.replace('.', '\\.')));
        h.db.prepare("UPDATE Customer SET Email = 'attacker@example.net' WHERE CustomerId = 2").run();
        await approveAs(h.client, run.workflowId, req!, 'sam');
        const [again] = await waitFor(async () => {
          const p = await pendingApprovals(h.client, run.workflowId);
          return p[0]?.revision === 1 ? p : undefined;
        }, 'the request back with its reviewers');
        assert.match(again?.effect?.lines.join(' ') ?? '', /attacker@example\.net/);
        assert.equal(again?.approvals.length, 0);
        const reopened = (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'approval_reopened');
        assert.match(reopened?.detail ?? '', /attacker@example\.net/);
        assert.equal(countOutbox(h.db), 0, 'nothing went out to the rewritten address');
        await approveAs(h.client, run.workflowId, again, 'sue');
        await run.result();
        assert.deepEqual(h.db.prepare('SELECT to_email FROM hitl_outbox').pluck().all(), ['attacker@example.net']);
      },
      { policy: example },
    );
  });

  it('does not refund twice after temporal workflow reset, to the first workflow task or to the approval’s', async () => {
    await withWorker(
      async (h) => {
        const run = await h.startScripted(refundTurns(700, 2));
        const [req] = await h.pending(run.workflowId);
        await approveAs(h.client, run.workflowId, req!, 'sam');
        await run.result();
        assert.equal(countRefunds(h.db, 2), 1);
        const reset = async (pick: (events: proto.temporal.api.history.v1.IHistoryEvent[]) => number) => {
          const handle = h.client.workflow.getHandle(run.workflowId);
          const events = (await handle.fetchHistory()).events ?? [];
          const response = await h.client.workflowService.resetWorkflowExecution({
            namespace: NAMESPACE,
            workflowExecution: { workflowId: run.workflowId },
            workflowTaskFinishEventId: Long.fromNumber(pick(events)),
            requestId: nanoid(),
            reason: 'attack: run the refund again',
          });
          return h.client.workflow.getHandle(run.workflowId, response.runId);
        };
        const completed = (events: proto.temporal.api.history.v1.IHistoryEvent[]) =>
          events
            .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
            .map((e) => Number(e.eventId));
        // To the first workflow task: the run starts over, proposes the refund again, and a person approves it again.
        const fromStart = await reset((events) => completed(events)[0]!);
        const [again] = await h.pending(run.workflowId);
        await approveAs(h.client, run.workflowId, again!, 'sam');
        await fromStart.result();
        assert.equal(countRefunds(h.db, 2), 1, 'the second approval found the recorded refund');
        // To the task that took the approval: the precheck finds the call in the ledger and the tool replays it.
        const fromApproval = await reset((events) => {
          const accepted = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
          return completed(events).find((id) => id > Number(accepted?.eventId))!;
        });
        await fromApproval.result();
        assert.equal(countRefunds(h.db, 2), 1);
        const trail = await auditTrail(h.client, run.workflowId);
        assert.ok(!trail.some((e) => e.kind === 'precheck_failed'), 'the precheck never reports that it did not run');
        assert.ok(
          trail.some((e) => e.kind === 'tool_executed' && /replayed from the idempotency ledger/.test(e.detail)),
        );
      },
      { policy: example },
    );
  });
});
