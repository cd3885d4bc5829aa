import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decide, pendingApprovals, signalDecision, UpdateRefusedError } from '../../client';
import { signFor } from '../../src/node/client/signing';
import type { SigningKey } from '../../src/node/identity/keys';
import { DecisionSchema, type Decision } from '../../src/shared/decision';
import { decisionStatement } from '../../src/shared/identity/statements';
import type { ApprovalRequest } from '../../src/shared/run-state';
import { decisionOn, stopAs } from '../support/decisions';
import { answer, call, withWorker, type Harness } from '../support/harness';
import { strangerKey, testKey, testRegistry, testRegistryLine } from '../support/keys';
import { examplePolicy } from '../support/policies';

// Property: over generated decisions (who they name, which key signs them, what was changed after signing, which way
// they travel), a refund runs if and only if at least two different finance people who did not request the run
// approved it with their own keys or through the registered delegate, untampered. The refund of $60 (6000 cents) is a large
// refund under the example policy: finance decides, two people must approve; bob requested the run.
// HITL_FUZZ_SIGNATURE_RUNS sets the number of generated sequences (default 20); HITL_FUZZ_SEED replays a failure.

const RUNS = Number(process.env['HITL_FUZZ_SIGNATURE_RUNS'] ?? 20);
const SEED = process.env['HITL_FUZZ_SEED'] !== undefined ? Number(process.env['HITL_FUZZ_SEED']) : undefined;
const FINANCE = new Set(['fiona', 'frank', 'felix']);
const PEOPLE = ['fiona', 'frank', 'felix', 'sam', 'bob', 'mallory'] as const;
const BRIDGE = strangerKey('chat-bridge');

/** One generated decision attempt. */
interface Attempt {
  subject: (typeof PEOPLE)[number];
  /** Whose key signs: the subject's own, another registered person's, a stranger's, the bridge's, or none. */
  signer: 'own' | 'other' | 'stranger' | 'bridge' | 'unsigned';
  /** What is changed after signing. */
  tamper: 'none' | 'reason' | 'workflow' | 'age' | 'decision';
  channel: 'update' | 'signal';
}

const attempt: fc.Arbitrary<Attempt> = fc.record({
  subject: fc.constantFrom(...PEOPLE, 'fiona', 'frank', 'felix'),
  // Honest approvals often enough that runs reach their quorum too, not only refusals.
  signer: fc.constantFrom('own', 'own', 'own', 'own', 'other', 'stranger', 'bridge', 'unsigned'),
  tamper: fc.constantFrom('none', 'none', 'none', 'none', 'reason', 'workflow', 'age', 'decision'),
  channel: fc.constantFrom('update', 'signal'),
});

/** Whether an attempt is an honest approval by someone who may decide the large refund. */
function honest(a: Attempt): boolean {
  const keyOk = a.signer === 'own' || (a.signer === 'bridge' && a.subject === 'frank');
  return keyOk && a.tamper === 'none' && FINANCE.has(a.subject);
}

/** The payload an attempt sends. */
function payload(a: Attempt, workflowId: string, req: ApprovalRequest): Decision {
  const d = DecisionSchema.parse({ ...decisionOn(req, a.subject), reason: 'checked' });
  if (a.signer === 'unsigned') return d;
  const key: SigningKey =
    a.signer === 'own'
      ? testKey(a.subject)
      : a.signer === 'other'
        ? testKey(a.subject === 'sam' ? 'sue' : 'sam')
        : a.signer === 'stranger'
          ? strangerKey(a.subject)
          : BRIDGE;
  const at = a.tamper === 'age' ? new Date(Date.now() - 30 * 60_000) : new Date();
  const signedFor = a.tamper === 'workflow' ? `${workflowId}-other` : workflowId;
  const content = decisionStatement(d, { argsHash: d.argsHash, effectHash: d.effectHash });
  const signed = {
    ...d,
    signature: signFor(d.approver, key, content, { namespace: 'default', workflowId: signedFor, at }),
  };
  if (a.tamper === 'workflow') signed.signature = { ...signed.signature, workflowId };
  if (a.tamper === 'reason') return { ...signed, reason: 'changed after signing' };
  if (a.tamper === 'decision') return { ...signed, decision: 'reject' };
  return signed;
}

async function tryOne(h: Harness, attempts: Attempt[]): Promise<boolean> {
  // Every run refunds the same invoice: earlier runs' refunds would leave too little for this one.
  h.db.prepare('DELETE FROM hitl_refund WHERE invoice_id = 2').run();
  const run = await h.startScripted(
    [call('issue_refund', { invoiceId: 2, amountCents: 6000, reason: 'x' }), answer('done')],
    {
      requestedBy: 'bob',
    },
  );
  const [req] = await h.pending(run.workflowId);
  const closed = async () => (await h.client.workflow.getHandle(run.workflowId).describe()).status.name !== 'RUNNING';
  for (const a of attempts) {
    const message = payload(a, run.workflowId, req!);
    try {
      if (a.channel === 'signal') await signalDecision(h.client, run.workflowId, message);
      else await decide(h.client, run.workflowId, message);
    } catch (err) {
      // A refusal, or a run that has already finished (its quorum was met by earlier attempts).
      assert.ok(err instanceof UpdateRefusedError || (await closed()), String(err));
    }
  }
  // A refused update after the signals: the run has handled every signal sent before it.
  await decide(h.client, run.workflowId, { ...decisionOn(req!, 'mallory'), reason: 'probe' }).catch(() => undefined);
  const open = !(await closed()) && (await pendingApprovals(h.client, run.workflowId)).length > 0;
  if (open) await stopAs(h.client, run.workflowId, { by: 'ada', reason: 'property checked' });
  await run.result();
  const refunds = h.db
    .prepare<[string], number>('SELECT COUNT(*) FROM hitl_refund WHERE idempotency_key LIKE ?')
    .pluck()
    .get(`${run.workflowId}:%`);
  // Every decision here is an approval, so the refund runs exactly when two proved approvals arrived.
  const proved = new Set(attempts.filter(honest).map((a) => a.subject));
  assert.equal(refunds, proved.size >= 2 ? 1 : 0, `${proved.size} proved approver(s): ${JSON.stringify(attempts)}`);
  return refunds === 1;
}

describe('fuzz: signed decisions', () => {
  it('never runs a call without a verified quorum for the gate of its exact arguments', async (t) => {
    const registry = testRegistry([testRegistryLine(BRIDGE, ['frank'])]);
    let sent = 0;
    let ran = 0;
    await withWorker(
      async (h) => {
        await fc.assert(
          fc.asyncProperty(fc.array(attempt, { minLength: 3, maxLength: 10 }), async (attempts) => {
            sent += attempts.length;
            if (await tryOne(h, attempts)) ran += 1;
          }),
          {
            numRuns: RUNS,
            endOnFailure: true,
            includeErrorInReport: true,
            ...(SEED !== undefined ? { seed: SEED } : {}),
          },
        );
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' }, registry },
    );
    t.diagnostic(
      `${sent} generated decisions over ${RUNS} runs; ${ran} run(s) reached two proved finance approvals and refunded ` +
        'once; no other run refunded',
    );
  });
});
