import { z } from 'zod';
import { defineTool } from './types';

const id = z.number().int().positive();

/** `find_customers`: search customers by name, email or company (case-insensitive substring). */
export const findCustomers = defineTool({
  name: 'find_customers',
  description: 'Find customers whose name, email or company contains the query (case-insensitive).',
  parameters: z.strictObject({
    query: z.string().trim().min(1).max(200),
    limit: z.number().int().min(1).max(50).optional(),
  }),
  classification: { reversibility: 'reversible', blastRadius: 'none', externalEffects: [], financialImpact: 'none' },
  describe: (a) => `Search customers matching "${a.query}" (at most ${a.limit ?? 10})`,
});

/** `list_invoices`: a customer's invoices with what has been refunded so far. */
export const listInvoices = defineTool({
  name: 'list_invoices',
  description: "List a customer's invoices: id, date, total and the amount refunded so far (USD cents).",
  parameters: z.strictObject({ customerId: id }),
  classification: { reversibility: 'reversible', blastRadius: 'none', externalEffects: [], financialImpact: 'none' },
  describe: (a) => `List the invoices of customer #${a.customerId}`,
});

/** `get_invoice`: one invoice with its lines. */
export const getInvoice = defineTool({
  name: 'get_invoice',
  description: 'Read one invoice with its lines, its total and its remaining refundable amount (USD cents).',
  parameters: z.strictObject({ invoiceId: id }),
  classification: { reversibility: 'reversible', blastRadius: 'none', externalEffects: [], financialImpact: 'none' },
  describe: (a) => `Read invoice #${a.invoiceId} with its lines`,
});

/** `update_customer_contact`: change email, phone or address; the before-image goes to the change log. */
export const updateCustomerContact = defineTool({
  name: 'update_customer_contact',
  description: "Update a customer's email, phone or postal address. The previous values are kept so it can be undone.",
  parameters: z
    .strictObject({
      customerId: id,
      email: z.email().max(60).optional(),
      phone: z.string().trim().min(3).max(24).optional(),
      address: z.string().trim().min(3).max(70).optional(),
    })
    .refine((a) => a.email !== undefined || a.phone !== undefined || a.address !== undefined, {
      message: 'give at least one of email, phone, address',
    }),
  classification: {
    reversibility: 'partially_reversible',
    blastRadius: 'single_record',
    externalEffects: [],
    financialImpact: 'none',
  },
  describe: (a) => {
    const parts = [
      a.email !== undefined ? `email to ${a.email}` : undefined,
      a.phone !== undefined ? `phone to ${a.phone}` : undefined,
      a.address !== undefined ? `address to "${a.address}"` : undefined,
    ].filter((p): p is string => p !== undefined);
    return `Change customer #${a.customerId}'s ${parts.join(', ')}`;
  },
});

/** `send_email`: one email per recipient, written to the outbox table. */
export const sendEmail = defineTool({
  name: 'send_email',
  description: 'Send an email to one or more customers. Cannot be unsent.',
  parameters: z.strictObject({
    customerIds: z.array(id).min(1).max(500),
    subject: z.string().trim().min(1).max(200),
    body: z.string().min(1).max(20_000),
  }),
  classification: {
    reversibility: 'irreversible',
    blastRadius: 'single_record',
    externalEffects: ['email'],
    financialImpact: 'none',
  },
  describe: (a) => {
    const who = a.customerIds.length === 1 ? `customer #${a.customerIds[0]}` : `${a.customerIds.length} customers`;
    return `Email ${who}: "${a.subject}"`;
  },
  precheck: 'precheck_send_email',
});

/** `issue_refund`: refund part or all of an invoice; never more than what remains refundable. */
export const issueRefund = defineTool({
  name: 'issue_refund',
  description:
    'Refund an amount in USD cents against an invoice. Refuses more than the invoice total minus earlier refunds.',
  parameters: z.strictObject({
    invoiceId: id,
    amountCents: z.number().int().positive().max(100_000_000),
    reason: z.string().trim().min(1).max(500),
  }),
  classification: {
    reversibility: 'irreversible',
    blastRadius: 'single_record',
    externalEffects: ['payment'],
    financialImpact: 'refund',
  },
  describe: (a) => `Refund ${formatUsd(a.amountCents)} on invoice #${a.invoiceId} (reason: ${a.reason})`,
  precheck: 'precheck_issue_refund',
});

/** `delete_customer`: delete a customer with all their invoices and invoice lines. */
export const deleteCustomer = defineTool({
  name: 'delete_customer',
  description: 'Delete a customer together with all of their invoices and invoice lines. Cannot be undone.',
  parameters: z.strictObject({ customerId: id, reason: z.string().trim().min(1).max(500) }),
  classification: {
    reversibility: 'irreversible',
    blastRadius: 'customer',
    externalEffects: [],
    financialImpact: 'none',
  },
  describe: (a) => `Delete customer #${a.customerId} with all their invoices (reason: ${a.reason})`,
  precheck: 'precheck_delete_customer',
});

/**
 * Formats USD cents as dollars, e.g. `1999` → `$19.99`.
 * @param cents - integer amount in USD cents
 */
export function formatUsd(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The billing toolkit, in the order the model sees it. */
export const billingTools = [
  findCustomers,
  listInvoices,
  getInvoice,
  updateCustomerContact,
  sendEmail,
  issueRefund,
  deleteCustomer,
] as const;
