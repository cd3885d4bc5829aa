import type { z } from 'zod';
import type * as billing from '../../src/shared/tools/billing';

// The shapes of the billing tools' arguments and results. Money is in USD cents.

/** Arguments of `find_customers`. */
export type FindCustomersArgs = z.infer<typeof billing.findCustomers.parameters>;
/** Arguments of `list_invoices`. */
export type ListInvoicesArgs = z.infer<typeof billing.listInvoices.parameters>;
/** Arguments of `get_invoice`. */
export type GetInvoiceArgs = z.infer<typeof billing.getInvoice.parameters>;
/** Arguments of `update_customer_contact`. */
export type UpdateCustomerContactArgs = z.infer<typeof billing.updateCustomerContact.parameters>;
/** Arguments of `send_email`. */
export type SendEmailArgs = z.infer<typeof billing.sendEmail.parameters>;
/** Arguments of `issue_refund`. */
export type IssueRefundArgs = z.infer<typeof billing.issueRefund.parameters>;
/** Arguments of `delete_customer`. */
export type DeleteCustomerArgs = z.infer<typeof billing.deleteCustomer.parameters>;

/** One customer in `find_customers`' result. */
export interface CustomerSummary {
  customerId: number;
  /** `FirstName LastName`. */
  name: string;
  email: string;
  company: string | null;
  country: string | null;
}

/** One invoice in `list_invoices`' result. Amounts in USD cents. */
export interface InvoiceSummary {
  invoiceId: number;
  /** `Invoice.InvoiceDate` as stored, e.g. `2021-01-01 00:00:00`. */
  date: string;
  totalCents: number;
  /** Sum of the refunds recorded against the invoice. */
  refundedCents: number;
}

/** One line of `get_invoice`'s result. */
export interface InvoiceLineView {
  invoiceLineId: number;
  trackId: number;
  /** `Track.Name`; absent when the database has no Track table or no such track. */
  trackName?: string;
  unitPriceCents: number;
  quantity: number;
}

/** `get_invoice`'s result. Amounts in USD cents; `refundableCents` is never negative. */
export interface InvoiceView extends InvoiceSummary {
  customerId: number;
  lines: InvoiceLineView[];
  refundableCents: number;
}

/** The contact fields `update_customer_contact` can change. */
export interface CustomerContact {
  email: string;
  phone: string | null;
  address: string | null;
}

/** `update_customer_contact`'s result. `changeId` is the `hitl_change_log` row holding the full before/after rows. */
export interface ContactUpdate {
  customerId: number;
  before: CustomerContact;
  after: CustomerContact;
  changeId: number;
}

/** `send_email`'s result: one outbox row per distinct recipient. */
export interface EmailsSent {
  sent: { customerId: number; toEmail: string; outboxId: number }[];
}

/** `issue_refund`'s result. Amounts in USD cents. */
export interface RefundIssued {
  refundId: number;
  invoiceId: number;
  amountCents: number;
  /** What can still be refunded on the invoice after this refund. */
  refundableCentsAfter: number;
}

/** `delete_customer`'s result: rows deleted, and the `hitl_change_log` row holding their before-image. */
export interface CustomerDeleted {
  customerId: number;
  deletedCustomers: number;
  deletedInvoices: number;
  deletedInvoiceLines: number;
  changeId: number;
}
