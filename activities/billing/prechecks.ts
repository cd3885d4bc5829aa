import { deleteCustomer, formatUsd, issueRefund, sendEmail } from '../../src/shared/tools/billing';
import type { PrecheckActivities } from '../../src/shared/activity-types';
import type { PrecheckInput, PrecheckResult } from '../../src/shared/tools/types';
import type { BillingDb } from './db';

/** The billing prechecks, keyed by activity type (`precheck_<tool>`): every precheck the catalog names. */
export type BillingPrechecks = PrecheckActivities;

/** What a call would touch, for people (`lines`) and for comparing (`facts`). */
interface Effect {
  lines: string[];
  facts: Record<string, unknown>;
}

/** A check's own verdict on the arguments and the world now, before the approved effect is compared. */
type Check = { ok: true; note: string; effect: Effect } | { ok: false; reason: string; effect?: Effect };

/**
 * The differences between the approved facts and the facts now, in words (`customers.0.email: a@x.com → b@y.com`);
 * empty when they are the same.
 */
function differences(approved: unknown, now: unknown, path = ''): string[] {
  if (JSON.stringify(approved) === JSON.stringify(now)) return [];
  const bothObjects = approved !== null && now !== null && typeof approved === 'object' && typeof now === 'object';
  if (!bothObjects) return [`${path || 'effect'}: ${JSON.stringify(approved)} → ${JSON.stringify(now)}`];
  const keys = [...new Set([...Object.keys(approved), ...Object.keys(now)])].sort();
  return keys.flatMap((k) =>
    differences(
      (approved as Record<string, unknown>)[k],
      (now as Record<string, unknown>)[k],
      path === '' ? k : `${path}.${k}`,
    ),
  );
}

/**
 * Creates the prechecks: what a gated call would touch (resolved when its request opens, shown to the reviewers and
 * bound by their decisions), and the check that runs after approval and before execution. An approval may be hours
 * old, so the check re-reads the world: `send_email` its recipients' addresses, `issue_refund` what the invoice still
 * has refundable (USD cents), `delete_customer` that the customer still exists. A call whose idempotency key is in
 * the ledger already ran: it passes, and its tool replays the recorded result. A call whose effect differs from the
 * approved one answers `changed` with the difference. They only read.
 *
 * @param db - the billing database
 * @returns the precheck activities; each answers `{ ok: false, reason }` instead of throwing for a failed check
 * @throws nothing for a failed check (it answers `ok: false`); a database error fails the attempt and Temporal retries it
 */
export function createBillingPrechecks(db: BillingDb): BillingPrechecks {
  const ranAlready = db.prepare<[string], number>('SELECT 1 FROM hitl_idempotency WHERE key = ?').pluck();
  const settle = (input: PrecheckInput, check: (args: unknown) => Check): Promise<PrecheckResult> =>
    new Promise((resolve) => {
      if (input.idempotencyKey !== undefined && ranAlready.get(input.idempotencyKey) !== undefined) {
        resolve({ ok: true, note: 'the call ran already: its tool replays the recorded result' });
        return;
      }
      const checked = check(input.args);
      if (!checked.ok || input.approvedEffect === undefined) {
        resolve(checked);
        return;
      }
      const changed = differences(input.approvedEffect, checked.effect.facts);
      resolve(
        changed.length === 0
          ? checked
          : {
              ok: false,
              changed: true,
              reason: `changed since the approval: ${changed.join('; ')}`,
              effect: checked.effect,
            },
      );
    });

  const recipients = db.prepare<[number], { Email: string; name: string }>(
    "SELECT Email, FirstName || ' ' || LastName AS name FROM Customer WHERE CustomerId = ?",
  );
  const balance = db.prepare<[number, number], { customerId: number; totalCents: number; refundedCents: number }>(
    `SELECT CustomerId AS customerId, CAST(ROUND(Total * 100) AS INTEGER) AS totalCents,
            (SELECT COALESCE(SUM(amount_cents), 0) FROM hitl_refund WHERE invoice_id = ?) AS refundedCents
       FROM Invoice WHERE InvoiceId = ?`,
  );
  const customer = db.prepare<[number], { name: string; Email: string; invoices: number }>(
    `SELECT FirstName || ' ' || LastName AS name, Email,
            (SELECT COUNT(*) FROM Invoice i WHERE i.CustomerId = c.CustomerId) AS invoices
       FROM Customer c WHERE CustomerId = ?`,
  );

  return {
    precheck_send_email: (input) =>
      settle(input, (raw) => {
        const parsed = sendEmail.parameters.safeParse(raw);
        if (!parsed.success) return { ok: false, reason: 'the arguments no longer parse' };
        const ids = [...new Set(parsed.data.customerIds)];
        const found = ids.map((customerId) => ({ customerId, row: recipients.get(customerId) }));
        const missing = found.filter((f) => f.row === undefined).map((f) => f.customerId);
        if (missing.length > 0) return { ok: false, reason: `no customer with id ${missing.join(', ')}` };
        const to = found.map((f) => ({ customerId: f.customerId, email: f.row?.Email ?? '' }));
        return {
          ok: true,
          note: `${to.length} recipient(s) still exist`,
          effect: {
            lines: found.map((f) => `to ${f.row?.name ?? ''} <${f.row?.Email ?? ''}> (customer #${f.customerId})`),
            facts: { recipients: to },
          },
        };
      }),
    precheck_issue_refund: (input) =>
      settle(input, (raw) => {
        const parsed = issueRefund.parameters.safeParse(raw);
        if (!parsed.success) return { ok: false, reason: 'the arguments no longer parse' };
        const { invoiceId, amountCents } = parsed.data;
        const row = balance.get(invoiceId, invoiceId);
        if (row === undefined) return { ok: false, reason: `invoice #${invoiceId} no longer exists` };
        const remaining = row.totalCents - row.refundedCents;
        const effect: Effect = {
          lines: [
            `invoice #${invoiceId} of customer #${row.customerId}: total ${formatUsd(row.totalCents)}, ` +
              `refunded so far ${formatUsd(row.refundedCents)}, refundable ${formatUsd(Math.max(remaining, 0))}`,
          ],
          facts: {
            invoiceId,
            customerId: row.customerId,
            totalCents: row.totalCents,
            refundedCents: row.refundedCents,
          },
        };
        return amountCents <= remaining
          ? { ok: true, note: `${formatUsd(remaining)} still refundable on invoice #${invoiceId}`, effect }
          : {
              ok: false,
              reason: `only ${formatUsd(Math.max(remaining, 0))} is still refundable on invoice #${invoiceId} (refunds since the proposal)`,
              effect,
            };
      }),
    precheck_delete_customer: (input) =>
      settle(input, (raw) => {
        const parsed = deleteCustomer.parameters.safeParse(raw);
        if (!parsed.success) return { ok: false, reason: 'the arguments no longer parse' };
        const { customerId } = parsed.data;
        const row = customer.get(customerId);
        if (row === undefined) return { ok: false, reason: `customer #${customerId} no longer exists` };
        return {
          ok: true,
          note: `customer #${customerId} still exists`,
          effect: {
            lines: [`customer #${customerId}, ${row.name} <${row.Email}>, with ${row.invoices} invoice(s)`],
            facts: { customerId, name: row.name, email: row.Email, invoices: row.invoices },
          },
        };
      }),
  };
}
