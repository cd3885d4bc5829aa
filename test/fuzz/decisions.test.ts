import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { nanoid } from 'nanoid';
import { pendingApprovals, runResult, signalDecision } from '../../client';
import type { AuditEntry, DecisionReceipt } from '../../src/shared/run-state';
import { approveAs, signedOn } from '../support/decisions';
import { waitFor } from '../support/env';
import { call, withWorker, type Harness } from '../support/harness';
import { runHistories, wholeAuditTrail, workflowTaskFailures } from '../support/run-history';
import { compact, refusedPayloads, type FuzzTarget, type PayloadBatch } from './decision-arbitraries';
import { examplePolicy as example } from '../support/policies';

// Property: no generated bad decision payload, sent through the `decision` signal and the `decide` update at once,
// is ever taken. Each run under fire has one pending refund (support decides; the run was requested by sam, so sue
// is the one person who may decide) and one closed request (rejected before the fuzzing starts). After every batch:
// nothing ran, the request is still pending with no approvals, every signal is on the audit trail as
// `decision_refused`, and the updates left no trace. When a run has taken its share, a valid approval must still work
// and the refund must run once. HITL_FUZZ_RUNS sets the number of batches (default 120, about 4,400 messages);
// HITL_FUZZ_SEED replays a failure.

const numRuns = envInt('HITL_FUZZ_RUNS', 120);
const seed = process.env['HITL_FUZZ_SEED'] !== undefined ? envInt('HITL_FUZZ_SEED', 0) : undefined;
/** Most payloads per batch. */
const MAX_BATCH = 40;
/** Payloads per live run before the next one takes over: keeps each history well under Temporal's limits. */
const PAYLOADS_PER_RUN = 400;
/** Updates in flight at once. */
const UPDATE_CONCURRENCY = 8;
/** continueAsNewAfterEvents of every other run. */
const CONTINUE_AS_NEW_AFTER = 300;
/** How the server fails an update whose workflow task failed (here: a continue-as-new refused for new events). */
const TASK_FAILURE =
  /FAILED_PRECONDITION: Unable to perform workflow execution update due to unexpected workflow task failure/;
const FORGED = ['sam', 'fiona', 'frank', 'felix', 'ada', 'alan', 'mallory', 'alice', 'Sue', 'SUE', 'support', '*'];

/** A live run under fire. */
interface Target extends FuzzTarget {
  workflowId: string;
  handle: WorkflowHandle;
  /** Audit entries before the fuzzing started. */
  baseline: number;
  /** Payloads sent so far (each once as a signal and once as an update). */
  sent: number;
  /**
   * Updates sent again because the server dropped them for a failed workflow task: the worker tried to continue the
   * run as new while they arrived. Neither taken nor refused, so sent again under the same update id.
   */
  resent: number;
}

describe('fuzz: bad decision payloads through the signal and the update', () => {
  it('never takes one: nothing runs, the request stays pending, the audit trail and the history stay consistent', async (t) => {
    const started = Date.now();
    let total = 0;
    let runsUsed = 0;
    let segments = 0;
    let resent = 0;
    await withWorker(
      async (h) => {
        let target = await openTarget(h, 0);
        runsUsed = 1;
        await fc.assert(
          fc.asyncProperty(
            fc.constant(null).chain(() => refusedPayloads(target, MAX_BATCH)),
            async (batch) => {
              if (target.sent >= PAYLOADS_PER_RUN) {
                segments += await closeTarget(h, target);
                resent += target.resent;
                target = await openTarget(h, runsUsed);
                runsUsed += 1;
              }
              await fire(h, target, batch);
              total += batch.payloads.length;
            },
          ),
          { numRuns, endOnFailure: true, includeErrorInReport: true, ...(seed !== undefined ? { seed } : {}) },
        );
        segments += await closeTarget(h, target);
        resent += target.resent;
      },
      { policy: { policy: example, source: 'policies/example.yaml' } },
    );
    t.diagnostic(
      `${total} generated payloads, each sent as a signal and as an update (${total * 2} messages) to ${runsUsed} ` +
        `live run(s) (${segments - runsUsed} continue-as-new) in ${numRuns} batches; none taken; ${resent} update(s) ` +
        `dropped by the server while the run continued as new and sent again; ` +
        `took ${Math.round((Date.now() - started) / 1000)} s`,
    );
  });
});

/**
 * Starts a run, rejects its first refund (a closed request to aim at), and waits for its second to be pending. Every
 * other run continues as new after a few hundred history events, so payloads also land on a carried request.
 */
async function openTarget(h: Harness, n: number): Promise<Target> {
  // Each run refunds its own invoice, so the valid approval at the end always finds enough left to refund.
  const invoiceId = n + 1;
  const threshold = n % 2 === 1 ? CONTINUE_AS_NEW_AFTER : undefined;
  const second = { name: 'issue_refund', arguments: { invoiceId, amountCents: 2, reason: 'second' } };
  const run = await h.startScripted(
    [
      call('issue_refund', { invoiceId, amountCents: 3, reason: 'first' }),
      { toolCalls: [second], onRejected: { toolCalls: [second] } },
      { content: 'refunded', onRejected: { content: 'not refunded' } },
    ],
    {
      requestedBy: 'sam',
      policy: example,
      ...(threshold !== undefined ? { continueAsNewAfterEvents: threshold } : {}),
    },
  );
  const [first] = await h.pending(run.workflowId);
  assert.ok(first);
  await signalDecision(
    h.client,
    run.workflowId,
    signedOn(run.workflowId, first, 'sue', 'reject', { reason: 'the wrong amount' }),
  );
  const [pending] = await waitFor(async () => {
    const p = await pendingApprovals(h.client, run.workflowId);
    return p.length === 1 && p[0]?.requestId !== first.requestId ? p : undefined;
  }, 'the second refund request');
  assert.ok(pending);
  // The request opens, then its notification goes out and is logged: the baseline starts after that entry.
  const trail = await waitFor(async () => {
    const entries = await wholeAuditTrail(h.client, run.workflowId);
    const notified = entries.some((e) => e.kind === 'notification' && e.requestId === pending.requestId);
    return notified ? entries : undefined;
  }, 'the notification of the second request');
  return {
    workflowId: run.workflowId,
    handle: h.client.workflow.getHandle(run.workflowId),
    pending: { requestId: pending.requestId, argsHash: pending.argsHash, args: pending.args, effect: pending.effect },
    closed: { requestId: first.requestId, argsHash: first.argsHash },
    approver: 'sue',
    forgedApprovers: FORGED,
    baseline: trail.length,
    sent: 0,
    resent: 0,
  };
}

/** Sends every payload as a signal and as an update, then checks that nothing was taken. */
async function fire(h: Harness, target: Target, batch: PayloadBatch): Promise<void> {
  const payloads = batch.payloads;
  const signals = Promise.all(payloads.map((p) => signalDecision(h.client, target.workflowId, p)));
  const taken: unknown[] = [];
  const oddRefusals: string[] = [];
  let next = 0;
  const updates = Array.from({ length: UPDATE_CONCURRENCY }, async () => {
    while (next < payloads.length) {
      const p = payloads[next++];
      // As the client's `decide` does: one update id, sent again when the server drops the update for a failed
      // workflow task (a continue-as-new refused because the update arrived meanwhile).
      const updateId = `fuzz-${nanoid()}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await target.handle.executeUpdate<DecisionReceipt, [unknown]>('decide', { args: [p], updateId });
          taken.push(p);
        } catch (err) {
          const refused =
            err instanceof WorkflowUpdateFailedError &&
            err.cause instanceof ApplicationFailure &&
            err.cause.type === 'InvalidDecision';
          const described = describeError(err);
          if (!refused && TASK_FAILURE.test(described) && attempt < 6) {
            target.resent += 1;
            await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
            continue;
          }
          if (!refused) oddRefusals.push(`${described} for ${compact(p)}`);
        }
        break;
      }
    }
  });
  await Promise.all([signals, ...updates]);
  target.sent += payloads.length;
  // Per request id named, the run records the first few refusals of a segment one by one, then a count every 100
  // (setup signals count too): at least one entry for a batch of refused signals, at most one per signal.
  const leastRecorded = Math.min(1, target.sent);
  const want = target.baseline + leastRecorded;
  // The stitched trail of every segment; a `run_continued` entry marks a continue-as-new and is not a refusal.
  const readTrail = async () =>
    (await wholeAuditTrail(h.client, target.workflowId)).filter((e) => e.kind !== 'run_continued');
  const trail = await waitFor(
    async () => {
      const entries = await readTrail();
      return entries.length >= want ? entries : undefined;
    },
    `${want} audit entries`,
    30_000,
  ).catch(readTrail);
  const added = trail.slice(target.baseline);
  const decisions = added.filter((e) => e.kind === 'decision').map((e) => `${e.actor}: ${e.detail}`);
  assert.deepEqual(decisions, [], 'decisions taken from the fuzzed payloads');
  assert.deepEqual(taken.map(compact), [], 'updates the workflow took');
  assert.deepEqual(oddRefusals, [], 'updates refused other than by the validator');
  const pending = await pendingApprovals(h.client, target.workflowId);
  assert.deepEqual(
    pending.map((r) => [r.requestId, r.argsHash, r.approvals.length, r.stage]),
    [[target.pending.requestId, target.pending.argsHash, 0, 0]],
    'the request is still pending, unchanged, with no approvals',
  );
  assert.equal(countRunRefunds(h, target.workflowId), 0, 'no refund without a valid approval');
  assert.equal(count(trail, 'decision'), 1, 'the one decision is the setup rejection');
  assert.ok(
    added.every((e) => e.kind === 'decision_refused'),
    'every entry added is a refused signal',
  );
  assert.ok(added.length >= leastRecorded, `at least ${leastRecorded} refusals recorded, got ${added.length}`);
  assert.ok(added.length <= target.sent, `at most one entry per signal (${target.sent}), none per update`);
  // A refusal recorded one by one, or the running count of a request id's refusals past the first few.
  const refusal = (e: AuditEntry) =>
    e.kind === 'decision_refused' &&
    (e.detail.startsWith('signal refused: ') || /^\d+ signals naming request .* refused so far/.test(e.detail));
  const strays = added.filter((e) => !refusal(e));
  assert.deepEqual(strays, [], 'every entry since the fuzzing began is a refused signal or a count of them');
}

/** Checks the history, then approves validly and expects the refund to run once. */
async function closeTarget(h: Harness, target: Target): Promise<number> {
  const segments = await runHistories(h.client, target.workflowId);
  const events = segments.flat();
  assert.deepEqual(await workflowTaskFailures(h.client, target.workflowId), [], 'no workflow task failed');
  if (target.resent > 0) {
    // Only where the run did continue as new and the server refused a completion for new events.
    const refusedCompletions = events.filter((e) => e.workflowTaskFailedEventAttributes != null).length;
    assert.ok(
      segments.length > 1 && refusedCompletions > 0,
      'updates dropped for a task failure without a continue-as-new',
    );
  }
  const updateEvents = events.filter(
    (e) =>
      e.workflowExecutionUpdateAdmittedEventAttributes != null ||
      e.workflowExecutionUpdateAcceptedEventAttributes != null ||
      e.workflowExecutionUpdateCompletedEventAttributes != null,
  );
  assert.equal(updateEvents.length, 0, 'refused updates leave no trace in the history');
  const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes != null).length;
  assert.equal(signals, target.sent + 1, 'every signal is in the history (and the setup rejection)');

  const receipt = await approveAs(h.client, target.workflowId, target.pending, target.approver);
  assert.equal(receipt.closed, true);
  // A deadline, so a run that never ends fails the test instead of hanging it.
  const result = await h.client.withDeadline(Date.now() + 60_000, () => runResult(h.client, target.workflowId));
  assert.deepEqual(
    result.outcomes.map((o) => o.status),
    ['rejected', 'executed'],
  );
  assert.equal(countRunRefunds(h, target.workflowId), 1, 'the valid approval ran the refund once');
  return segments.length;
}

function countRunRefunds(h: Harness, workflowId: string): number {
  return (
    h.db
      .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund WHERE idempotency_key LIKE ?')
      .get(`${workflowId}:%`)?.n ?? 0
  );
}

/** An error and its causes on one line. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) parts.push(`${e.name}: ${e.message}`);
  if (parts.length === 0) parts.push(typeof err === 'string' ? err : JSON.stringify(err));
  return parts.join(' <- ');
}

function count(trail: readonly AuditEntry[], kind: AuditEntry['kind']): number {
  return trail.filter((e) => e.kind === kind).length;
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return n;
}
