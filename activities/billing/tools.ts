import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/shared/errors';
import { formatUsd } from '../../src/shared/tools/billing';
import { type BillingDb, tableNames } from './db';
import type {
  ContactUpdate,
  CustomerContact,
  CustomerDeleted,
  CustomerSummary,
  DeleteCustomerArgs,
  EmailsSent,
  FindCustomersArgs,
  GetInvoiceArgs,
  InvoiceSummary,
  InvoiceView,
  IssueRefundArgs,
  ListInvoicesArgs,
  RefundIssued,
  SendEmailArgs,
  UpdateCustomerContactArgs,
} from './tool-results';

export type * from './tool-results';

// The billing tools' effects on the Chinook database. Each function is synchronous and trusts its (already parsed)
// arguments; index.ts parses, and wraps the writes in the idempotency ledger's transaction. Money is in USD cents:
// Chinook stores dollars as NUMERIC(10,2), converted with Math.round(dollars * 100).

type Row = Record<string, unknown>;

interface CustomerRow {
  CustomerId: number;
  FirstName: string;
  LastName: string;
  Company: string | null;
  Address: string | null;
  Country: string | null;
  Phone: string | null;
  Email: string;
}

const cents = (dollars: number): number => Math.round(dollars * 100);
const now = (): string => new Date().toISOString();

function refuse(message: string, details: Row): never {
  throw ApplicationFailure.create({ type: FailureType.ToolRefused, nonRetryable: true, message, details: [details] });
}

// SQLite's lower() and LIKE fold ASCII only; 'GONÇALVES' must find 'Gonçalves'.
const folding = new WeakSet<BillingDb>();
function registerFold(db: BillingDb): void {
  if (folding.has(db)) return;
  db.function('hitl_fold', { deterministic: true }, (v: unknown) =>
    typeof v === 'string' ? v.normalize('NFC').toLowerCase() : null,
  );
  folding.add(db);
}

/**
 * `find_customers`: customers whose `FirstName LastName`, Email or Company contains the query, case-insensitively
 * (Unicode case folding, not just ASCII), ordered by CustomerId.
 * @param db - the billing database
 * @param args - query and optional limit (default 10, at most 50)
 * @returns `{ customers }`, possibly empty
 */
export function searchCustomers(db: BillingDb, args: FindCustomersArgs): { customers: CustomerSummary[] } {
  registerFold(db);
  const rows = db
    .prepare<{ q: string; limit: number }, CustomerRow>(
      `SELECT * FROM Customer
       WHERE instr(hitl_fold(FirstName || ' ' || LastName), @q) > 0
          OR instr(hitl_fold(Email), @q) > 0
          OR instr(hitl_fold(Company), @q) > 0
       ORDER BY CustomerId LIMIT @limit`,
    )
    .all({ q: args.query.normalize('NFC').toLowerCase(), limit: Math.min(args.limit ?? 10, 50) });
  return {
    customers: rows.map((r) => ({
      customerId: r.CustomerId,
      name: `${r.FirstName} ${r.LastName}`,
      email: r.Email,
      company: r.Company,
      country: r.Country,
    })),
  };
}

/**
 * `list_invoices`: a customer's invoices, oldest first, with what has been refunded on each.
 * @param db - the billing database
 * @param args - the customer
 * @returns `{ customerId, invoices }`; amounts in USD cents
 * @throws ApplicationFailure `ToolRefused` (non-retryable) when the customer does not exist
 */
export function listCustomerInvoices(
  db: BillingDb,
  args: ListInvoicesArgs,
): { customerId: number; invoices: InvoiceSummary[] } {
  requireCustomer(db, args.customerId);
  const rows = db
    .prepare<[number], { InvoiceId: number; InvoiceDate: string; Total: number; refunded: number }>(
      `SELECT i.InvoiceId, i.InvoiceDate, i.Total,
              (SELECT COALESCE(SUM(r.amount_cents), 0) FROM hitl_refund r WHERE r.invoice_id = i.InvoiceId) AS refunded
       FROM Invoice i WHERE i.CustomerId = ? ORDER BY i.InvoiceDate, i.InvoiceId`,
    )
    .all(args.customerId);
  return {
    customerId: args.customerId,
    invoices: rows.map((r) => ({
      invoiceId: r.InvoiceId,
      date: r.InvoiceDate,
      totalCents: cents(r.Total),
      refundedCents: r.refunded,
    })),
  };
}

/**
 * `get_invoice`: one invoice with its lines, total, refunds so far and what remains refundable.
 * @param db - the billing database
 * @param args - the invoice
 * @returns the invoice; amounts in USD cents
 * @throws ApplicationFailure `ToolRefused` (non-retryable) when the invoice does not exist
 */
export function readInvoice(db: BillingDb, args: GetInvoiceArgs): InvoiceView {
  const { invoice, totalCents, refundedCents } = invoiceBalance(db, args.invoiceId);
  const withTracks = tableNames(db).some((n) => n.toLowerCase() === 'track');
  const lines = db
    .prepare<[number], { InvoiceLineId: number; TrackId: number; UnitPrice: number; Quantity: number; Name: unknown }>(
      withTracks
        ? `SELECT l.InvoiceLineId, l.TrackId, l.UnitPrice, l.Quantity, t.Name
           FROM InvoiceLine l LEFT JOIN Track t ON t.TrackId = l.TrackId
           WHERE l.InvoiceId = ? ORDER BY l.InvoiceLineId`
        : `SELECT InvoiceLineId, TrackId, UnitPrice, Quantity, NULL AS Name
           FROM InvoiceLine WHERE InvoiceId = ? ORDER BY InvoiceLineId`,
    )
    .all(args.invoiceId);
  return {
    invoiceId: args.invoiceId,
    customerId: invoice.CustomerId,
    date: invoice.InvoiceDate,
    lines: lines.map((l) => ({
      invoiceLineId: l.InvoiceLineId,
      trackId: l.TrackId,
      ...(typeof l.Name === 'string' ? { trackName: l.Name } : {}),
      unitPriceCents: cents(l.UnitPrice),
      quantity: l.Quantity,
    })),
    totalCents,
    refundedCents,
    refundableCents: Math.max(0, totalCents - refundedCents),
  };
}

/**
 * `update_customer_contact`: sets the given Email, Phone and Address, leaving the others as they were, and writes the
 * full Customer row before and after to `hitl_change_log` so a person can undo it.
 * @param db - the billing database, inside the ledger's transaction
 * @param args - customer and new values
 * @param idempotencyKey - recorded on the change-log row
 * @returns the contact fields before and after, and the change-log id
 * @throws ApplicationFailure `ToolRefused` (non-retryable) when the customer does not exist
 */
export function updateContact(db: BillingDb, args: UpdateCustomerContactArgs, idempotencyKey: string): ContactUpdate {
  const before = requireCustomer(db, args.customerId);
  db.prepare<[string | null, string | null, string | null, number]>(
    `UPDATE Customer SET Email = COALESCE(?, Email), Phone = COALESCE(?, Phone), Address = COALESCE(?, Address)
     WHERE CustomerId = ?`,
  ).run(args.email ?? null, args.phone ?? null, args.address ?? null, args.customerId);
  const after = requireCustomer(db, args.customerId);
  const changeId = logChange(db, 'Customer', args.customerId, before, after, idempotencyKey);
  return { customerId: args.customerId, before: contact(before), after: contact(after), changeId };
}

/**
 * `send_email`: queues one `hitl_outbox` row per distinct recipient, addressed to `Customer.Email`. Checks every
 * recipient before writing anything.
 * @param db - the billing database, inside the ledger's transaction
 * @param args - recipients, subject and body
 * @param idempotencyKey - recorded on every outbox row
 * @returns the outbox rows written, in the order of `customerIds`
 * @throws ApplicationFailure `ToolRefused` (non-retryable), naming every unknown id, when a recipient does not exist
 */
export function queueEmails(db: BillingDb, args: SendEmailArgs, idempotencyKey: string): EmailsSent {
  const ids = [...new Set(args.customerIds)];
  const lookup = db.prepare<[number], { Email: string }>('SELECT Email FROM Customer WHERE CustomerId = ?');
  const recipients = ids.map((customerId) => ({ customerId, toEmail: lookup.get(customerId)?.Email }));
  const unknown = recipients.filter((r) => r.toEmail === undefined).map((r) => r.customerId);
  if (unknown.length > 0) {
    refuse(`No email sent: no customer with id ${unknown.join(', ')}`, { unknownCustomerIds: unknown });
  }
  const insert = db.prepare<[number, string, string, string, string, string]>(
    `INSERT INTO hitl_outbox (customer_id, to_email, subject, body, idempotency_key, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const at = now();
  return {
    sent: recipients.map(({ customerId, toEmail = '' }) => ({
      customerId,
      toEmail,
      outboxId: Number(insert.run(customerId, toEmail, args.subject, args.body, idempotencyKey, at).lastInsertRowid),
    })),
  };
}

/**
 * `issue_refund`: records a refund against an invoice if it fits in what remains refundable
 * (`Math.round(Invoice.Total * 100)` minus the refunds already recorded).
 * @param db - the billing database, inside the ledger's transaction
 * @param args - invoice, amount in USD cents and reason
 * @param idempotencyKey - recorded on the refund row
 * @returns the refund and what remains refundable after it, in USD cents
 * @throws ApplicationFailure `ToolRefused` (non-retryable) when the invoice does not exist or the amount exceeds what
 *   remains refundable; nothing is written
 */
export function recordRefund(db: BillingDb, args: IssueRefundArgs, idempotencyKey: string): RefundIssued {
  const { totalCents, refundedCents } = invoiceBalance(db, args.invoiceId);
  const remaining = totalCents - refundedCents;
  if (args.amountCents > remaining) {
    refuse(
      `Refund of ${formatUsd(args.amountCents)} (${args.amountCents} cents) on invoice #${args.invoiceId} exceeds ` +
        `the ${formatUsd(Math.max(0, remaining))} (${Math.max(0, remaining)} cents) still refundable ` +
        `(total ${totalCents} cents, already refunded ${refundedCents} cents)`,
      {
        invoiceId: args.invoiceId,
        amountCents: args.amountCents,
        refundableCents: remaining,
        totalCents,
        refundedCents,
      },
    );
  }
  const refundId = db
    .prepare<[number, number, string, string, string]>(
      'INSERT INTO hitl_refund (invoice_id, amount_cents, reason, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)',
    )
    .run(args.invoiceId, args.amountCents, args.reason, idempotencyKey, now()).lastInsertRowid;
  return {
    refundId: Number(refundId),
    invoiceId: args.invoiceId,
    amountCents: args.amountCents,
    refundableCentsAfter: remaining - args.amountCents,
  };
}

/**
 * `delete_customer`: deletes a customer's invoice lines, invoices and Customer row, after writing all of them to
 * `hitl_change_log` as one before-image (`{ customer, invoices, invoiceLines }`, after-image NULL). Refunds and
 * outbox rows are records of what happened and are kept.
 * @param db - the billing database, inside the ledger's transaction
 * @param args - the customer (the reason is kept by the caller's audit trail)
 * @param idempotencyKey - recorded on the change-log row
 * @returns the number of rows deleted per table and the change-log id
 * @throws ApplicationFailure `ToolRefused` (non-retryable) when the customer does not exist
 */
export function removeCustomer(db: BillingDb, args: DeleteCustomerArgs, idempotencyKey: string): CustomerDeleted {
  const customer = requireCustomer(db, args.customerId);
  const invoices = db
    .prepare<[number], Row>('SELECT * FROM Invoice WHERE CustomerId = ? ORDER BY InvoiceId')
    .all(args.customerId);
  const invoiceLines = db
    .prepare<[number], Row>(
      `SELECT l.* FROM InvoiceLine l JOIN Invoice i ON i.InvoiceId = l.InvoiceId
       WHERE i.CustomerId = ? ORDER BY l.InvoiceLineId`,
    )
    .all(args.customerId);
  const changeId = logChange(
    db,
    'Customer',
    args.customerId,
    { customer, invoices, invoiceLines },
    null,
    idempotencyKey,
  );
  const lines = db
    .prepare<[number]>(
      'DELETE FROM InvoiceLine WHERE InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE CustomerId = ?)',
    )
    .run(args.customerId).changes;
  const deletedInvoices = db.prepare<[number]>('DELETE FROM Invoice WHERE CustomerId = ?').run(args.customerId).changes;
  const deletedCustomers = db
    .prepare<[number]>('DELETE FROM Customer WHERE CustomerId = ?')
    .run(args.customerId).changes;
  return { customerId: args.customerId, deletedCustomers, deletedInvoices, deletedInvoiceLines: lines, changeId };
}

/**
 * Counts refund rows, for tests and benchmarks.
 * @param db - the billing database
 * @param invoiceId - only this invoice's refunds; all refunds when omitted
 * @returns number of `hitl_refund` rows
 */
export function countRefunds(db: BillingDb, invoiceId?: number): number {
  const row =
    invoiceId === undefined
      ? db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund').get()
      : db
          .prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund WHERE invoice_id = ?')
          .get(invoiceId);
  return row?.n ?? 0;
}

/**
 * Counts outbox rows (emails sent), for tests and benchmarks.
 * @param db - the billing database
 * @returns number of `hitl_outbox` rows
 */
export function countOutbox(db: BillingDb): number {
  return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM hitl_outbox').get()?.n ?? 0;
}

function requireCustomer(db: BillingDb, customerId: number): CustomerRow {
  const row = db.prepare<[number], CustomerRow>('SELECT * FROM Customer WHERE CustomerId = ?').get(customerId);
  return row ?? refuse(`No customer with id ${customerId}`, { customerId });
}

function invoiceBalance(
  db: BillingDb,
  invoiceId: number,
): { invoice: { CustomerId: number; InvoiceDate: string }; totalCents: number; refundedCents: number } {
  const invoice = db
    .prepare<[number], { CustomerId: number; InvoiceDate: string; Total: number; refunded: number }>(
      `SELECT i.CustomerId, i.InvoiceDate, i.Total,
              (SELECT COALESCE(SUM(r.amount_cents), 0) FROM hitl_refund r WHERE r.invoice_id = i.InvoiceId) AS refunded
       FROM Invoice i WHERE i.InvoiceId = ?`,
    )
    .get(invoiceId);
  if (invoice === undefined) return refuse(`No invoice with id ${invoiceId}`, { invoiceId });
  return { invoice, totalCents: cents(invoice.Total), refundedCents: invoice.refunded };
}

function contact(row: CustomerRow): CustomerContact {
  return { email: row.Email, phone: row.Phone, address: row.Address };
}

function logChange(db: BillingDb, table: string, rowId: number, before: unknown, after: unknown, key: string): number {
  const result = db
    .prepare<[string, number, string | null, string | null, string, string]>(
      `INSERT INTO hitl_change_log (table_name, row_id, before_json, after_json, idempotency_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .run(
      table,
      rowId,
      before === null ? null : JSON.stringify(before),
      after === null ? null : JSON.stringify(after),
      key,
      now(),
    );
  return Number(result.lastInsertRowid);
}
