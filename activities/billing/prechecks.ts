import { deleteCustomer, formatUsd, issueRefund } from '../../src/shared/tools/billing';
import type { PrecheckActivities } from '../../src/shared/activity-types';
import type { BillingDb } from './db';

/** The billing prechecks, keyed by activity type (`precheck_<tool>`): every precheck the catalog names. */
export type BillingPrechecks = PrecheckActivities;

/**
 * Creates the context-refresh activities that run after approval and before execution. An approval may be hours
 * old: `issue_refund` re-reads what the invoice still has refundable (USD cents), `delete_customer` checks that the
 * customer still exists. They only read.
 *
 * @param db - the billing database
 * @returns the precheck activities; each answers `{ ok: false, reason }` instead of throwing for a failed check
 * @throws nothing for a failed check (it answers `ok: false`); a database error fails the attempt and Temporal retries it
 */
export function createBillingPrechecks(db: BillingDb): BillingPrechecks {
  return {
    precheck_issue_refund(input) {
      const parsed = issueRefund.parameters.safeParse(input.args);
      if (!parsed.success) return Promise.resolve({ ok: false, reason: 'the arguments no longer parse' });
      const { invoiceId, amountCents } = parsed.data;
      const row = db
        .prepare<[number, number], { totalCents: number; refundedCents: number }>(
          `SELECT CAST(ROUND(Total * 100) AS INTEGER) AS totalCents,
                  (SELECT COALESCE(SUM(amount_cents), 0) FROM hitl_refund WHERE invoice_id = ?) AS refundedCents
             FROM Invoice WHERE InvoiceId = ?`,
        )
        .get(invoiceId, invoiceId);
      if (row === undefined) return Promise.resolve({ ok: false, reason: `invoice #${invoiceId} no longer exists` });
      const remaining = row.totalCents - row.refundedCents;
      return Promise.resolve(
        amountCents <= remaining
          ? { ok: true, note: `${formatUsd(remaining)} still refundable on invoice #${invoiceId}` }
          : {
              ok: false,
              reason: `only ${formatUsd(Math.max(remaining, 0))} is still refundable on invoice #${invoiceId} (refunds since the proposal)`,
            },
      );
    },
    precheck_delete_customer(input) {
      const parsed = deleteCustomer.parameters.safeParse(input.args);
      if (!parsed.success) return Promise.resolve({ ok: false, reason: 'the arguments no longer parse' });
      const exists = db.prepare('SELECT 1 FROM Customer WHERE CustomerId = ?').pluck().get(parsed.data.customerId);
      return Promise.resolve(
        exists !== undefined
          ? { ok: true, note: `customer #${parsed.data.customerId} still exists` }
          : { ok: false, reason: `customer #${parsed.data.customerId} no longer exists` },
      );
    },
  };
}
