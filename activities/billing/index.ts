import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType } from '../../src/shared/errors';
import { formatZodError } from '../../src/shared/zod-format';
import { MAX_TOOL_RESULT_BYTES } from '../../src/shared/model/limits';
import {
  deleteCustomer,
  findCustomers,
  getInvoice,
  issueRefund,
  listInvoices,
  sendEmail,
  updateCustomerContact,
} from '../../src/shared/tools/billing';
import type { ToolActivities } from '../../src/shared/activity-types';
import type { ToolActivityInput, ToolActivityResult, ToolDefinition } from '../../src/shared/tools/types';
import type { BillingDb } from './db';
import { holdAfterCommit, holdAfterCommitFromEnv } from './fault-injection';
import { runOnce } from './ledger';
import {
  listCustomerInvoices,
  queueEmails,
  readInvoice,
  recordRefund,
  removeCustomer,
  searchCustomers,
  updateContact,
} from './tools';

export { BILLING_DB_ENV, DEFAULT_BILLING_DB_PATH, openBillingDb, type BillingDb } from './db';
export {
  FIXTURE_CUSTOMER,
  FIXTURE_INVOICE,
  generateBillingDb,
  type GenerateBillingDbOptions,
  type GeneratedBillingDb,
} from './seed';
export { FAULT_HOLD_AFTER_COMMIT_ENV } from './fault-injection';
export { runOnce, type LedgerRequest } from './ledger';
export { countOutbox, countRefunds } from './tools';

/** A tool activity: parses `input.args` again, runs the tool, returns its JSON result. */
export type ToolActivity = (input: ToolActivityInput) => Promise<ToolActivityResult>;

/** The billing activities, keyed by tool name: one for every tool in the catalog. */
export type BillingActivities = ToolActivities;

/**
 * Creates the billing tool activities on an open database, one per tool, keyed by tool name, ready to register
 * with a worker. Every activity parses `input.args` with the tool's zod schema. Reads run directly and return
 * `replayed: false`; writes run through {@link runOnce} keyed by `input.idempotencyKey`, so retries, crashes and
 * replays apply each call at most once. Amounts are in USD cents.
 *
 * For fault-injection tests only, `HITL_FAULT_HOLD_AFTER_COMMIT` (read once, here; off when unset) makes listed write
 * tools wait after their first commit before they return (see `fault-injection.ts`).
 *
 * @param db - the billing database, from `openBillingDb`
 * @returns the activities; the caller keeps ownership of `db`
 * @throws (from each activity) ApplicationFailure, all non-retryable: `InvalidToolArguments` when the arguments fail
 *   the schema or a write has no idempotency key; `ToolRefused` when a business rule refuses the call (unknown
 *   customer or invoice, refund above what is refundable), nothing written; `IdempotencyConflict` when the key was
 *   already used with other arguments
 * @throws ConfigError when `HITL_FAULT_HOLD_AFTER_COMMIT` is set but malformed
 */
export function createBillingActivities(db: BillingDb): BillingActivities {
  const holds = holdAfterCommitFromEnv();
  const read =
    <S extends z.ZodType>(tool: ToolDefinition<S>, run: (args: z.infer<S>) => unknown): ToolActivity =>
    (input) =>
      settle(() => ({ data: boundResult(tool.name, run(parseArgs(tool, input.args))), replayed: false }));
  const write =
    <S extends z.ZodType>(tool: ToolDefinition<S>, run: (args: z.infer<S>, key: string) => unknown): ToolActivity =>
    (input) =>
      settle(() => {
        const args = parseArgs(tool, input.args);
        const key = requireKey(tool.name, input.idempotencyKey);
        return runOnce(db, { key, tool: tool.name, args }, () => run(args, key));
      }).then((result) => holdAfterCommit(holds, tool.name, result));

  return {
    find_customers: read(findCustomers, (a) => searchCustomers(db, a)),
    list_invoices: read(listInvoices, (a) => listCustomerInvoices(db, a)),
    get_invoice: read(getInvoice, (a) => readInvoice(db, a)),
    update_customer_contact: write(updateCustomerContact, (a, key) => updateContact(db, a, key)),
    send_email: write(sendEmail, (a, key) => queueEmails(db, a, key)),
    issue_refund: write(issueRefund, (a, key) => recordRefund(db, a, key)),
    delete_customer: write(deleteCustomer, (a, key) => removeCustomer(db, a, key)),
  };
}

/**
 * A read's result, if it is within {@link MAX_TOOL_RESULT_BYTES} as JSON; else the model is told to ask for less.
 * @throws ApplicationFailure `ToolRefused` (non-retryable) naming the size and the limit
 */
function boundResult(tool: string, data: unknown): unknown {
  const bytes = Buffer.byteLength(JSON.stringify(data) ?? '');
  if (bytes <= MAX_TOOL_RESULT_BYTES) return data;
  throw ApplicationFailure.create({
    type: FailureType.ToolRefused,
    nonRetryable: true,
    message: `${tool} would return ${bytes} bytes; the limit is ${MAX_TOOL_RESULT_BYTES} bytes: ask for less (a narrower search, fewer rows)`,
  });
}

// better-sqlite3 is synchronous; the executor turns a throw into a rejection.
function settle(body: () => ToolActivityResult): Promise<ToolActivityResult> {
  return new Promise((resolve) => resolve(body()));
}

function parseArgs<S extends z.ZodType>(tool: ToolDefinition<S>, args: unknown): z.infer<S> {
  const parsed = tool.parameters.safeParse(args);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({
    type: FailureType.InvalidToolArguments,
    nonRetryable: true,
    message: `Invalid arguments for ${tool.name}: ${formatZodError(parsed.error)}`,
    details: [parsed.error.issues],
  });
}

function requireKey(tool: string, key: unknown): string {
  if (typeof key === 'string' && key.length > 0) return key;
  throw ApplicationFailure.create({
    type: FailureType.InvalidToolArguments,
    nonRetryable: true,
    message: `${tool} needs a non-empty idempotencyKey`,
  });
}
