import assert from 'node:assert/strict';
import { approveAs, decideAs } from './decisions';
import { answer, call, type Harness } from './harness';
import { policyVariant } from './policies';

/**
 * The policy of the seeded history: three hard gates, each decided by one group (the example policy's groups:
 * support sam and sue, finance fiona, frank and felix, admins ada and alan). Deletions expire after 2 s.
 */
export const SEED_POLICY = policyVariant('seeded-reviewers-1', {
  send_email: { gate: 'hard', approvers: { groups: ['support'] } },
  issue_refund: { gate: 'hard', approvers: { groups: ['finance'] }, timeout: '10m', onTimeout: 'deny' },
  delete_customer: { gate: 'hard', approvers: { groups: ['admins'] }, timeout: '2s', onTimeout: 'deny' },
});

/** A scripted reviewer's habit, and the tool its runs propose. */
export const HABITS = {
  /** sam (support) approves every email as proposed. */
  approvesEverything: { tool: 'send_email', reviewer: 'sam' },
  /** fiona (finance) approves every refund after halving its amount. */
  editsAmounts: { tool: 'issue_refund', reviewer: 'fiona' },
  /** ada (admins) never answers: every deletion expires. */
  letsExpire: { tool: 'delete_customer', reviewer: 'ada' },
} as const;

/** Runs how many runs at once. */
const AT_ONCE = 6;

/**
 * Runs `perHabit` scripted runs for each of {@link HABITS} on the harness's worker, decided by its scripted reviewer,
 * and waits for every run to end. Each run proposes one call and then answers.
 * @returns the workflow ids, per habit
 */
export async function seedReviewedRuns(h: Harness, perHabit: number): Promise<Record<keyof typeof HABITS, string[]>> {
  const ids: Record<keyof typeof HABITS, string[]> = { approvesEverything: [], editsAmounts: [], letsExpire: [] };
  const jobs = (Object.keys(HABITS) as (keyof typeof HABITS)[]).flatMap((habit) =>
    Array.from({ length: perHabit }, (_, i) => ({ habit, i })),
  );
  // Calls name customers and invoices that exist, so no precheck stops an approved call for want of one.
  const count = (table: 'Customer' | 'Invoice') => Number(h.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get());
  const sizes = { customers: count('Customer'), invoices: count('Invoice') };
  for (let start = 0; start < jobs.length; start += AT_ONCE) {
    await Promise.all(
      jobs.slice(start, start + AT_ONCE).map(async ({ habit, i }) => {
        ids[habit].push(await seedOne(h, habit, i, sizes));
      }),
    );
  }
  return ids;
}

async function seedOne(
  h: Harness,
  habit: keyof typeof HABITS,
  i: number,
  sizes: { customers: number; invoices: number },
): Promise<string> {
  const { tool, reviewer } = HABITS[habit];
  const customerId = 1 + (i % sizes.customers);
  const args =
    tool === 'send_email'
      ? { customerIds: [customerId], subject: 'Your invoice', body: 'Your invoice is attached.' }
      : tool === 'issue_refund'
        ? { invoiceId: 1 + (i % sizes.invoices), amountCents: 40, reason: 'duplicate charge' }
        : { customerId, reason: 'asked to be forgotten' };
  const run = await h.startScripted([call(tool, args), answer('done')], {
    policy: SEED_POLICY,
    requestedBy: 'tester',
  });
  const [req] = await h.pending(run.workflowId);
  assert.ok(req);
  if (habit === 'approvesEverything') await approveAs(h.client, run.workflowId, req, reviewer);
  else if (habit === 'editsAmounts') {
    await decideAs(h.client, run.workflowId, req, reviewer, 'edit', { args: { ...args, amountCents: 20 } });
  }
  await run.result();
  return run.workflowId;
}
