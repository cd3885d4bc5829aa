import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { auditTrail, decide, UpdateRefusedError, runResult, type Decision } from '../../client';
import type { DecisionReceipt } from '../../src/shared/run-state';
import { signedOn } from '../support/decisions';
import { sharedEnv } from '../support/env';
import { call, withWorker } from '../support/harness';
import { examplePolicy } from '../support/policies';
import { envCount, report, rowsPerKey } from './support';

// Two reviewers, each on a client of their own (own connection), decide the same pending request at the same moment.
// Under the example policy a refund under $50 needs one approval from support (sam, sue), so whichever decision the
// workflow takes first closes the request and the other must be refused.

type Pairing = 'approve/approve' | 'approve/reject' | 'reject/approve';
const PAIRINGS: readonly Pairing[] = ['approve/approve', 'approve/reject', 'reject/approve'];

/** How many requests are raced at once; each race itself fires its two decisions together. */
const PARALLEL = 10;

describe('chaos: two clients decide the same request at once', () => {
  it('takes exactly one decision each time, refuses the other, and writes one refund row per approval', async (t) => {
    const races = envCount('HITL_CHAOS_RACES', 50);
    const started = Date.now();
    const { address } = await sharedEnv();
    const connections = await Promise.all([Connection.connect({ address }), Connection.connect({ address })]);
    const [sams, sues] = connections.map((connection) => new Client({ connection })) as [Client, Client];
    try {
      await withWorker(async (h) => {
        const runs = await Promise.all(
          Array.from({ length: races }, (_, i) =>
            h.startScripted(
              [
                call('issue_refund', { invoiceId: (i % 60) + 1, amountCents: 1, reason: `race ${i}` }),
                { content: 'refunded', onRejected: { content: 'not refunded' } },
              ],
              { policy: examplePolicy },
            ),
          ),
        );
        const tally = { approved: 0, rejected: 0, samWon: 0, sueWon: 0, losersRefused: 0 };
        const problems: string[] = [];
        for (let from = 0; from < races; from += PARALLEL) {
          await Promise.all(
            runs.slice(from, from + PARALLEL).map(async (run, j) => {
              const i = from + j;
              const pairing = PAIRINGS[i % PAIRINGS.length]!;
              const [req] = await h.pending(run.workflowId);
              assert.ok(req);
              const [samSays, sueSays] = pairing.split('/') as ['approve' | 'reject', 'approve' | 'reject'];
              const decision = (says: 'approve' | 'reject', approver: string): Decision =>
                says === 'approve'
                  ? signedOn(run.workflowId, req, approver)
                  : signedOn(run.workflowId, req, approver, 'reject', { reason: 'no' });
              // Both updates leave before either answer comes back; who sends first alternates.
              const sam = () => decide(sams, run.workflowId, decision(samSays, 'sam'));
              const sue = () => decide(sues, run.workflowId, decision(sueSays, 'sue'));
              const [bySam, bySue] =
                i % 2 === 0
                  ? await Promise.allSettled([sam(), sue()])
                  : await Promise.allSettled([sue(), sam()]).then(([a, b]) => [b, a] as const);
              const won = [bySam, bySue].filter((r) => r.status === 'fulfilled');
              const lost = [bySam, bySue].filter((r) => r.status === 'rejected');
              if (won.length !== 1 || lost.length !== 1) {
                problems.push(`${run.workflowId} (${pairing}): ${won.length} decisions taken, ${lost.length} refused`);
                return;
              }
              const receipt: DecisionReceipt = won[0]!.value;
              const refusal: unknown = lost[0]!.reason;
              const winner = receipt.approver;
              const expected = winner === 'sam' ? samSays : sueSays;
              tally[winner === 'sam' ? 'samWon' : 'sueWon'] += 1;
              tally[expected === 'approve' ? 'approved' : 'rejected'] += 1;
              if (!receipt.closed || receipt.decision !== expected) {
                problems.push(`${run.workflowId}: the winning receipt says ${JSON.stringify(receipt)}`);
              }
              const closedBy = `already closed \\(${expected === 'approve' ? 'approved' : 'rejected'} by ${winner} at`;
              if (refusal instanceof UpdateRefusedError && new RegExp(closedBy).test(refusal.message)) {
                tally.losersRefused += 1;
              } else {
                problems.push(`${run.workflowId}: the loser was told ${String(refusal)}`);
              }
              const result = await runResult(h.client, run.workflowId);
              const outcome = result.outcomes[0];
              const rows = [...rowsPerKey(h.db, 'hitl_refund').entries()].filter(([key]) =>
                key.startsWith(`${run.workflowId}:`),
              );
              const refundRows = rows.reduce((n, [, count]) => n + count, 0);
              const trail = await auditTrail(h.client, run.workflowId);
              const decisions = trail.filter((e) => e.kind === 'decision').map((e) => e.actor);
              const ok =
                outcome?.status === (expected === 'approve' ? 'executed' : 'rejected') &&
                outcome.decidedBy === winner &&
                refundRows === (expected === 'approve' ? 1 : 0) &&
                decisions.length === 1 &&
                decisions[0] === winner &&
                !trail.some((e) => e.kind === 'decision_refused');
              if (!ok) {
                problems.push(
                  `${run.workflowId}: outcome ${outcome?.status} by ${outcome?.decidedBy}, ${refundRows} refund rows, ` +
                    `decisions on the trail ${JSON.stringify(decisions)} (winner ${winner}, ${expected})`,
                );
              }
            }),
          );
        }
        report(t, [
          `races: ${races} (${PAIRINGS.join(', ')} in turn), two clients on two connections`,
          `taken: ${tally.approved} approvals, ${tally.rejected} rejections; sam won ${tally.samWon}, sue won ${tally.sueWon}`,
          `losers refused as already closed: ${tally.losersRefused}; refund rows: ${rowsRefunded(h.db)}`,
          `took ${Math.round((Date.now() - started) / 1000)} s`,
          ...problems.slice(0, 20).map((p) => `problem: ${p}`),
        ]);
        assert.deepEqual(problems, []);
        assert.equal(tally.losersRefused, races);
        assert.equal(rowsRefunded(h.db), tally.approved, 'one refund row per approval, none per rejection');
      });
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});

function rowsRefunded(db: Parameters<typeof rowsPerKey>[0]): number {
  return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund').get()?.n ?? 0;
}
