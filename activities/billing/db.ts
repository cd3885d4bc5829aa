import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ConfigError } from '../../src/shared/errors';
import { generateBillingDb } from './seed';

/**
 * The billing database handle: a plain better-sqlite3 `Database`, opened and checked by {@link openBillingDb}.
 * Synchronous by design: every tool call is one short SQLite transaction.
 */
export type BillingDb = Database.Database;

/** Environment variable naming the billing database file. */
export const BILLING_DB_ENV = 'HITL_BILLING_DB';

/** `<repo root>/.data/billing.sqlite`: generated on first use when nothing else is named. */
export const DEFAULT_BILLING_DB_PATH = resolve(
  fileURLToPath(new URL('../..', import.meta.url)),
  '.data',
  'billing.sqlite',
);

/** Chinook tables and the columns the toolkit reads or writes. Anything else in the file is left alone. */
const REQUIRED_CHINOOK: Readonly<Record<string, readonly string[]>> = {
  Customer: ['CustomerId', 'FirstName', 'LastName', 'Company', 'Address', 'Country', 'Phone', 'Email'],
  Invoice: ['InvoiceId', 'CustomerId', 'InvoiceDate', 'Total'],
  InvoiceLine: ['InvoiceLineId', 'InvoiceId', 'TrackId', 'UnitPrice', 'Quantity'],
  Employee: ['EmployeeId'],
};

// The toolkit's own tables. No foreign keys into Chinook: refunds, emails and change logs are records of what
// happened and must outlive the rows they mention (delete_customer would otherwise be blocked or cascade).
const TOOLKIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS hitl_refund (
  refund_id       INTEGER PRIMARY KEY,
  invoice_id      INTEGER NOT NULL,
  amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
  reason          TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  created_at      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS hitl_refund_invoice ON hitl_refund (invoice_id);
CREATE TABLE IF NOT EXISTS hitl_outbox (
  outbox_id       INTEGER PRIMARY KEY,
  customer_id     INTEGER NOT NULL,
  to_email        TEXT    NOT NULL,
  subject         TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  created_at      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS hitl_change_log (
  change_id       INTEGER PRIMARY KEY,
  table_name      TEXT    NOT NULL,
  row_id          INTEGER NOT NULL,
  before_json     TEXT,
  after_json      TEXT,
  idempotency_key TEXT    NOT NULL,
  created_at      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS hitl_idempotency (
  key         TEXT PRIMARY KEY,
  tool        TEXT NOT NULL,
  args_hash   TEXT NOT NULL,
  result_json TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
`;

/**
 * Opens the billing database: the file named by `path`, else by `HITL_BILLING_DB`, else
 * `<repo root>/.data/billing.sqlite`, which is generated (see {@link generateBillingDb}) if it does not exist yet.
 * Sets `journal_mode = WAL`, `busy_timeout = 5000`, `foreign_keys = ON`, checks the Chinook tables, and creates the
 * toolkit's `hitl_*` tables if they are missing. Chinook's own tables are never altered.
 *
 * @param path - SQLite file to open; overrides `HITL_BILLING_DB`
 * @returns the open database; the caller closes it
 * @throws ConfigError when a named file does not exist, is not a SQLite database, or lacks a Chinook table, column
 *   or a table one of them references
 */
export function openBillingDb(path?: string): BillingDb {
  const fromEnv = process.env[BILLING_DB_ENV];
  const named = path ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  const file = resolve(named ?? DEFAULT_BILLING_DB_PATH);
  if (named === undefined) {
    ensureDefaultDb(file);
  } else if (!existsSync(file)) {
    const source = path !== undefined ? 'openBillingDb(path)' : BILLING_DB_ENV;
    throw new ConfigError(
      `Billing database not found: ${file} (named by ${source}). Point ${BILLING_DB_ENV} at an existing SQLite ` +
        `file in the Chinook schema, or leave it unset to use the generated ${DEFAULT_BILLING_DB_PATH}.`,
    );
  }

  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    checkChinookSchema(db, file);
    db.exec(TOOLKIT_SCHEMA);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Cannot use ${file} as the billing database: ${(err as Error).message}`, { cause: err });
  }
}

function ensureDefaultDb(file: string): void {
  if (existsSync(file)) return;
  try {
    generateBillingDb(file);
  } catch (err) {
    // Another process may have generated it between our check and our rename; its file is as good as ours.
    if (!existsSync(file)) throw err;
  }
}

/**
 * Names of the tables present in the database, in their stored spelling.
 * @param db - open database
 * @returns table names
 */
export function tableNames(db: BillingDb): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .all()
    .map((r) => r.name);
}

function checkChinookSchema(db: BillingDb, file: string): void {
  const present = new Set(tableNames(db).map((n) => n.toLowerCase()));
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(REQUIRED_CHINOOK)) {
    if (!present.has(table.toLowerCase())) {
      missing.push(`table ${table}`);
      continue;
    }
    const have = new Set(
      db
        .prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)')
        .all(table)
        .map((c) => c.name.toLowerCase()),
    );
    for (const column of columns) if (!have.has(column.toLowerCase())) missing.push(`column ${table}.${column}`);
    // With foreign_keys = ON, SQLite refuses to write a child row whose parent table is missing (e.g. no Track).
    const parents = db
      .prepare<[string], { table: string }>('SELECT "table" FROM pragma_foreign_key_list(?)')
      .all(table);
    for (const { table: parent } of parents) {
      if (!present.has(parent.toLowerCase())) missing.push(`table ${parent} (referenced by ${table})`);
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(
      `${file} is not a Chinook-schema billing database: missing ${[...new Set(missing)].join(', ')}. ` +
        `Point ${BILLING_DB_ENV} at a Chinook database, or unset it to use the generated default.`,
    );
  }
}
