import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import Database from 'better-sqlite3';
import {
  BILLING_DB_ENV,
  type BillingActivities,
  type BillingDb,
  countOutbox,
  countRefunds,
  createBillingActivities,
  generateBillingDb,
  openBillingDb,
  runOnce,
} from '../activities/billing/index';
import { FIXTURE_CUSTOMER, FIXTURE_INVOICE } from '../activities/billing/seed';
import { createBillingPrechecks } from '../activities/billing/prechecks';
import { withPrechecks } from '../activities/precheck-first';
import { ConfigError, FailureType } from '../src/shared/errors';
import { toolNames } from '../src/shared/tools/catalog';

let dir: string;
let fileCounter = 0;
const opened: BillingDb[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hitl-billing-'));
});

after(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function tempPath(name = 'billing'): string {
  return join(dir, `${name}-${++fileCounter}.sqlite`);
}

function open(path: string): BillingDb {
  const db = openBillingDb(path);
  opened.push(db);
  return db;
}

/** A freshly generated database (default sizes, seed 42) with its activities. */
function fresh(): { db: BillingDb; tools: BillingActivities } {
  const path = tempPath();
  generateBillingDb(path);
  const db = open(path);
  return { db, tools: createBillingActivities(db) };
}

async function rejectsWith(promise: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.type, type);
  assert.equal(caught.nonRetryable, true);
  return caught;
}

function count(db: BillingDb, table: string, where = '1 = 1', ...params: number[]): number {
  return (
    db.prepare<number[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get(...params)?.n ?? 0
  );
}

const refund = { invoiceId: FIXTURE_INVOICE.invoiceId, amountCents: 300, reason: 'charged twice' };

describe('billing activities', () => {
  it('exposes exactly one activity per catalog tool, named after it', () => {
    const { tools } = fresh();
    assert.deepEqual(Object.keys(tools).sort(), [...toolNames].sort());
  });

  it('issues a refund once when the same idempotency key arrives twice', async () => {
    const { db, tools } = fresh();
    const first = await tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1' });
    const second = await tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1' });
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.deepEqual(second.data, first.data);
    assert.equal(countRefunds(db, refund.invoiceId), 1);
    assert.equal(countRefunds(db), 1);
  });

  it('treats the same key with different arguments as a non-retryable IdempotencyConflict', async () => {
    const { db, tools } = fresh();
    await tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1' });
    const err = await rejectsWith(
      tools.issue_refund({ args: { ...refund, amountCents: 301 }, idempotencyKey: 'wf-1:call-1' }),
      FailureType.IdempotencyConflict,
    );
    assert.match(err.message, /wf-1:call-1/);
    assert.match(err.message, /[0-9a-f]{64}.*[0-9a-f]{64}/);
    assert.equal(countRefunds(db), 1);
  });

  it('treats the same key reused by another tool as an IdempotencyConflict', async () => {
    const { tools } = fresh();
    await tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1' });
    await rejectsWith(
      tools.send_email({ args: { customerIds: [1], subject: 's', body: 'b' }, idempotencyKey: 'wf-1:call-1' }),
      FailureType.IdempotencyConflict,
    );
  });

  it('refuses a refund above the refundable amount and writes nothing, not even a ledger row', async () => {
    const { db, tools } = fresh();
    const err = await rejectsWith(
      tools.issue_refund({ args: { ...refund, amountCents: 993 }, idempotencyKey: 'wf-1:call-1' }),
      FailureType.ToolRefused,
    );
    assert.match(err.message, /993 cents/);
    assert.match(err.message, /992 cents/);
    assert.equal(countRefunds(db), 0);
    assert.equal(count(db, 'hitl_idempotency'), 0);
    // The refusal was not recorded, so the same key may still carry a valid refund.
    const ok = await tools.issue_refund({ args: { ...refund, amountCents: 992 }, idempotencyKey: 'wf-1:call-1' });
    assert.equal(ok.replayed, false);
  });

  it('allows two partial refunds and refuses a third that exceeds what remains', async () => {
    const { db, tools } = fresh();
    const a = await tools.issue_refund({ args: { ...refund, amountCents: 500 }, idempotencyKey: 'k:1' });
    const b = await tools.issue_refund({ args: { ...refund, amountCents: 400 }, idempotencyKey: 'k:2' });
    assert.deepEqual(a.data, { refundId: 1, invoiceId: 1, amountCents: 500, refundableCentsAfter: 492 });
    assert.deepEqual(b.data, { refundId: 2, invoiceId: 1, amountCents: 400, refundableCentsAfter: 92 });
    const err = await rejectsWith(
      tools.issue_refund({ args: { ...refund, amountCents: 93 }, idempotencyKey: 'k:3' }),
      FailureType.ToolRefused,
    );
    assert.match(err.message, /93 cents.*92 cents/);
    assert.equal(countRefunds(db, 1), 2);
    const invoice = await tools.get_invoice({ args: { invoiceId: 1 }, idempotencyKey: 'r' });
    const { totalCents, refundedCents, refundableCents } = invoice.data as Record<string, number>;
    assert.deepEqual(
      { totalCents, refundedCents, refundableCents },
      { totalCents: 992, refundedCents: 900, refundableCents: 92 },
    );
  });

  it('refuses a refund on an invoice that does not exist', async () => {
    const { db, tools } = fresh();
    await rejectsWith(
      tools.issue_refund({ args: { ...refund, invoiceId: 99_999 }, idempotencyKey: 'k' }),
      FailureType.ToolRefused,
    );
    assert.equal(countRefunds(db), 0);
  });

  it('writes one outbox row per recipient when emailing three customers', async () => {
    const { db, tools } = fresh();
    const result = await tools.send_email({
      args: { customerIds: [1, 2, 3], subject: 'Your refund', body: 'Hello' },
      idempotencyKey: 'wf:mail',
    });
    assert.equal(countOutbox(db), 3);
    const sent = (result.data as { sent: { customerId: number; toEmail: string }[] }).sent;
    assert.deepEqual(
      sent.map((s) => s.customerId),
      [1, 2, 3],
    );
    assert.equal(sent[0]?.toEmail, FIXTURE_CUSTOMER.email);
    await tools.send_email({
      args: { customerIds: [1, 2, 3], subject: 'Your refund', body: 'Hello' },
      idempotencyKey: 'wf:mail',
    });
    assert.equal(countOutbox(db), 3);
  });

  it('sends no email at all when one recipient does not exist', async () => {
    const { db, tools } = fresh();
    const err = await rejectsWith(
      tools.send_email({ args: { customerIds: [1, 4242], subject: 's', body: 'b' }, idempotencyKey: 'k' }),
      FailureType.ToolRefused,
    );
    assert.match(err.message, /4242/);
    assert.equal(countOutbox(db), 0);
  });

  it('keeps the before-image when updating a customer contact', async () => {
    const { db, tools } = fresh();
    const result = await tools.update_customer_contact({
      args: { customerId: 1, email: 'new@example.com', phone: '+1 555 0100' },
      idempotencyKey: 'k',
    });
    const data = result.data as { before: { email: string; address: string }; after: object; changeId: number };
    assert.equal(data.before.email, FIXTURE_CUSTOMER.email);
    assert.deepEqual(data.after, { email: 'new@example.com', phone: '+1 555 0100', address: FIXTURE_CUSTOMER.address });
    const log = db
      .prepare<[number], { table_name: string; row_id: number; before_json: string; after_json: string }>(
        'SELECT * FROM hitl_change_log WHERE change_id = ?',
      )
      .get(data.changeId);
    assert.equal(log?.table_name, 'Customer');
    assert.equal(log?.row_id, 1);
    const before = JSON.parse(log?.before_json ?? '{}') as Record<string, unknown>;
    assert.equal(before['Email'], FIXTURE_CUSTOMER.email);
    assert.equal(before['Phone'], FIXTURE_CUSTOMER.phone);
    assert.equal((JSON.parse(log?.after_json ?? '{}') as Record<string, unknown>)['Email'], 'new@example.com');
    const row = db.prepare<[], { Email: string }>('SELECT Email FROM Customer WHERE CustomerId = 1').get();
    assert.equal(row?.Email, 'new@example.com');
  });

  it('removes the customer with their invoices and invoice lines on delete_customer', async () => {
    const { db, tools } = fresh();
    const invoices = count(db, 'Invoice', 'CustomerId = ?', 1);
    const lines = count(db, 'InvoiceLine', 'InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE CustomerId = ?)', 1);
    await tools.issue_refund({ args: refund, idempotencyKey: 'k:refund' });
    const result = await tools.delete_customer({
      args: { customerId: 1, reason: 'GDPR request' },
      idempotencyKey: 'k',
    });
    assert.deepEqual(result.data, {
      customerId: 1,
      deletedCustomers: 1,
      deletedInvoices: invoices,
      deletedInvoiceLines: lines,
      changeId: 1,
    });
    assert.equal(count(db, 'Customer', 'CustomerId = ?', 1), 0);
    assert.equal(count(db, 'Invoice', 'CustomerId = ?', 1), 0);
    assert.equal(count(db, 'InvoiceLine', 'InvoiceId = ?', FIXTURE_INVOICE.invoiceId), 0);
    const image = db.prepare<[], { before_json: string }>('SELECT before_json FROM hitl_change_log').get();
    const parsed = JSON.parse(image?.before_json ?? '{}') as { invoices: unknown[]; invoiceLines: unknown[] };
    assert.equal(parsed.invoices.length, invoices);
    assert.equal(parsed.invoiceLines.length, lines);
    assert.equal(countRefunds(db), 1, 'refunds are records of what happened and stay');
    await rejectsWith(tools.list_invoices({ args: { customerId: 1 }, idempotencyKey: 'r' }), FailureType.ToolRefused);
  });

  it('rejects invalid arguments as InvalidToolArguments with the schema message', async () => {
    const { db, tools } = fresh();
    const err = await rejectsWith(
      tools.issue_refund({ args: { invoiceId: 1, amountCents: -5, reason: 'x' }, idempotencyKey: 'k' }),
      FailureType.InvalidToolArguments,
    );
    assert.match(err.message, /amountCents/);
    await rejectsWith(
      tools.find_customers({ args: { query: 'a', extra: true }, idempotencyKey: 'k' }),
      FailureType.InvalidToolArguments,
    );
    await rejectsWith(
      tools.update_customer_contact({ args: { customerId: 1 }, idempotencyKey: 'k' }),
      FailureType.InvalidToolArguments,
    );
    assert.equal(countRefunds(db), 0);
  });

  it('refuses reads of a customer or invoice that does not exist', async () => {
    const { tools } = fresh();
    await rejectsWith(
      tools.list_invoices({ args: { customerId: 9999 }, idempotencyKey: 'r' }),
      FailureType.ToolRefused,
    );
    await rejectsWith(tools.get_invoice({ args: { invoiceId: 9999 }, idempotencyKey: 'r' }), FailureType.ToolRefused);
  });

  it('finds customers case-insensitively, beyond ASCII, and honours the limit', async () => {
    const { tools } = fresh();
    const found = await tools.find_customers({ args: { query: 'GONÇALVES' }, idempotencyKey: 'r' });
    assert.deepEqual(found.data, {
      customers: [
        {
          customerId: 1,
          name: 'Luís Gonçalves',
          email: FIXTURE_CUSTOMER.email,
          company: FIXTURE_CUSTOMER.company,
          country: FIXTURE_CUSTOMER.country,
        },
      ],
    });
    const many = await tools.find_customers({ args: { query: '@', limit: 5 }, idempotencyKey: 'r' });
    assert.equal((many.data as { customers: unknown[] }).customers.length, 5);
  });

  it('reads an invoice with its lines in cents, totals matching Invoice.Total', async () => {
    const { tools } = fresh();
    const result = await tools.get_invoice({ args: { invoiceId: 1 }, idempotencyKey: 'r' });
    const data = result.data as { lines: { unitPriceCents: number; quantity: number; trackName?: string }[] };
    assert.deepEqual(
      data.lines.map((l) => [l.unitPriceCents, l.quantity]),
      FIXTURE_INVOICE.lines.map(([, c, q]) => [c, q]),
    );
    assert.ok(data.lines.every((l) => typeof l.trackName === 'string'));
    assert.equal(result.replayed, false);
  });
});

describe('tool activities with their precheck inside (withPrechecks)', () => {
  function checked(): { db: BillingDb; tools: BillingActivities } {
    const { db } = fresh();
    return { db, tools: withPrechecks(createBillingActivities(db), createBillingPrechecks(db)) };
  }
  const precheck = { name: 'precheck_issue_refund' };

  it('runs the tool after a precheck that passes, and returns the precheck with the result', async () => {
    const { db, tools } = checked();
    const result = await tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1', precheck });
    assert.equal(result.precheck?.ok, true);
    assert.match(result.precheck?.ok === true ? result.precheck.note : '', /still refundable on invoice #/);
    assert.equal(result.replayed, false);
    assert.equal(countRefunds(db), 1);
  });

  it('does not run the tool when the precheck finds less refundable than the call asks, and says why', async () => {
    const { db, tools } = checked();
    const result = await tools.issue_refund({
      args: { ...refund, amountCents: 993 },
      idempotencyKey: 'wf-1:call-1',
      precheck,
    });
    assert.equal(result.precheck?.ok, false);
    assert.match(result.precheck?.ok === false ? result.precheck.reason : '', /only \$9\.92 is still refundable/);
    assert.equal(result.data, null);
    assert.equal(countRefunds(db), 0);
    assert.equal(count(db, 'hitl_idempotency'), 0);
  });

  it('answers changed, without running the tool, when the invoice moved since the reviewers approved it', async () => {
    const { db, tools } = checked();
    const approvedEffect = { invoiceId: refund.invoiceId, customerId: 0, totalCents: 0, refundedCents: 0 };
    const result = await tools.issue_refund({
      args: refund,
      idempotencyKey: 'wf-1:call-1',
      precheck: { ...precheck, approvedEffect },
    });
    assert.equal(result.precheck?.ok === false && result.precheck.changed, true);
    assert.equal(countRefunds(db), 0);
  });

  it('lets a call that already ran pass on the ledger and replays its result, once', async () => {
    const { db, tools } = checked();
    const whole = { ...refund, amountCents: 992 };
    const first = await tools.issue_refund({ args: whole, idempotencyKey: 'wf-1:call-1' });
    // Nothing is refundable now, so the check itself would fail: the ledger answers first.
    const again = await tools.issue_refund({ args: whole, idempotencyKey: 'wf-1:call-1', precheck });
    assert.equal(again.precheck?.ok, true);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.data, first.data);
    assert.equal(countRefunds(db), 1);
  });

  it('refuses a precheck the worker does not have as a non-retryable UnknownTool, running nothing', async () => {
    const { db, tools } = checked();
    await rejectsWith(
      tools.issue_refund({ args: refund, idempotencyKey: 'wf-1:call-1', precheck: { name: 'precheck_nothing' } }),
      FailureType.UnknownTool,
    );
    assert.equal(countRefunds(db), 0);
  });
});

describe('runOnce', () => {
  it('rolls back the effect’s writes when it throws, and records nothing', () => {
    const { db } = fresh();
    assert.throws(
      () =>
        runOnce(db, { key: 'k', tool: 'issue_refund', args: {} }, () => {
          db.prepare(
            "INSERT INTO hitl_refund (invoice_id, amount_cents, reason, idempotency_key, created_at) VALUES (1, 1, 'r', 'k', 'now')",
          ).run();
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(countRefunds(db), 0);
    assert.equal(count(db, 'hitl_idempotency'), 0);
  });

  it('replays across two connections to the same file', async () => {
    const path = tempPath();
    generateBillingDb(path);
    const first = createBillingActivities(open(path));
    const secondDb = open(path);
    const second = createBillingActivities(secondDb);
    const a = await first.issue_refund({ args: refund, idempotencyKey: 'wf:1' });
    const b = await second.issue_refund({ args: refund, idempotencyKey: 'wf:1' });
    assert.deepEqual([a.replayed, b.replayed], [false, true]);
    assert.deepEqual(b.data, a.data);
    assert.equal(countRefunds(secondDb), 1);
  });
});

describe('generateBillingDb', () => {
  const tables = ['Employee', 'Customer', 'Track', 'Invoice', 'InvoiceLine'];
  const dump = (path: string): Record<string, unknown[]> => {
    const db = new Database(path, { readonly: true });
    try {
      return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
    } finally {
      db.close();
    }
  };

  it('produces identical rows for the same seed and different rows for another', () => {
    const a = tempPath('a');
    const b = tempPath('b');
    const c = tempPath('c');
    generateBillingDb(a, { seed: 7 });
    generateBillingDb(b, { seed: 7 });
    generateBillingDb(c, { seed: 8 });
    assert.deepEqual(dump(a), dump(b));
    assert.notDeepEqual(dump(a)['Customer'], dump(c)['Customer']);
  });

  it('makes every Invoice.Total equal to the sum of its lines', () => {
    const path = tempPath();
    const summary = generateBillingDb(path, { customers: 10, invoices: 50 });
    assert.equal(summary.customers, 10);
    assert.equal(summary.invoices, 50);
    const db = new Database(path, { readonly: true });
    const mismatched = db
      .prepare<[], { n: number }>(
        `SELECT COUNT(*) AS n FROM Invoice i WHERE CAST(ROUND(i.Total * 100) AS INTEGER) !=
           (SELECT SUM(CAST(ROUND(l.UnitPrice * 100) AS INTEGER) * l.Quantity) FROM InvoiceLine l
            WHERE l.InvoiceId = i.InvoiceId)`,
      )
      .get();
    db.close();
    assert.equal(mismatched?.n, 0);
  });

  it('refuses to overwrite an existing file', () => {
    const path = tempPath();
    generateBillingDb(path, { customers: 2, invoices: 2 });
    assert.throws(() => generateBillingDb(path), ConfigError);
  });
});

describe('openBillingDb', () => {
  it('throws a ConfigError naming a missing file and the environment variable', () => {
    const missing = join(dir, 'nope.sqlite');
    assert.throws(
      () => openBillingDb(missing),
      (err: unknown) =>
        err instanceof ConfigError && err.message.includes(missing) && err.message.includes(BILLING_DB_ENV),
    );
  });

  it('throws a ConfigError when HITL_BILLING_DB names a missing file', () => {
    const missing = join(dir, 'from-env.sqlite');
    const saved = process.env[BILLING_DB_ENV];
    process.env[BILLING_DB_ENV] = missing;
    try {
      assert.throws(
        () => openBillingDb(),
        (err: unknown) => err instanceof ConfigError && err.message.includes(missing),
      );
    } finally {
      if (saved === undefined) delete process.env[BILLING_DB_ENV];
      else process.env[BILLING_DB_ENV] = saved;
    }
  });

  it('throws a ConfigError naming the Chinook tables a file lacks', () => {
    const path = tempPath('empty');
    const raw = new Database(path);
    raw.exec('CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY)');
    raw.close();
    assert.throws(
      () => openBillingDb(path),
      (err: unknown) =>
        err instanceof ConfigError && /table Invoice/.test(err.message) && /column Customer\.Email/.test(err.message),
    );
  });

  it('throws a ConfigError naming a table that Chinook’s foreign keys need but the file lacks', () => {
    const path = tempPath('no-track');
    const raw = new Database(path);
    raw.exec(CHINOOK_SUBSET.slice(0, CHINOOK_SUBSET.indexOf('CREATE TABLE [Track]')));
    raw.close();
    assert.throws(
      () => openBillingDb(path),
      (err: unknown) => err instanceof ConfigError && /table Track \(referenced by InvoiceLine\)/.test(err.message),
    );
  });

  it('sets WAL, a busy timeout and foreign keys', () => {
    const { db } = fresh();
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  });

  it('adds its own tables to a Chinook-only database without changing Chinook’s tables', async () => {
    const path = tempPath('chinook-only');
    const raw = new Database(path);
    raw.pragma('foreign_keys = OFF'); // Track's parents (Album, Genre, MediaType) are left out on purpose
    raw.exec(CHINOOK_SUBSET);
    const schemaOf = (db: BillingDb): Record<string, string> =>
      Object.fromEntries(
        db
          .prepare<[], { name: string; sql: string }>(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'hitl_%' ORDER BY name",
          )
          .all()
          .map((r) => [r.name, r.sql]),
      );
    const before = schemaOf(raw);
    raw.close();

    const db = open(path);
    const tools = createBillingActivities(db);
    assert.deepEqual(schemaOf(db), before);
    assert.ok(before['Customer']?.includes('[SupportRepId] INTEGER'));
    const names = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'hitl_%'").all();
    for (const t of ['hitl_refund', 'hitl_outbox', 'hitl_change_log', 'hitl_idempotency']) {
      assert.ok(
        names.some((n) => n.name === t),
        `${t} created`,
      );
    }

    const invoice = await tools.get_invoice({ args: { invoiceId: 1 }, idempotencyKey: 'r' });
    assert.equal((invoice.data as { totalCents: number }).totalCents, 198);
    await tools.issue_refund({ args: { invoiceId: 1, amountCents: 99, reason: 'test' }, idempotencyKey: 'k:1' });
    await rejectsWith(
      tools.issue_refund({ args: { invoiceId: 1, amountCents: 100, reason: 'test' }, idempotencyKey: 'k:2' }),
      FailureType.ToolRefused,
    );
    await tools.delete_customer({ args: { customerId: 1, reason: 'test' }, idempotencyKey: 'k:3' });
    assert.equal(count(db, 'InvoiceLine'), 0);
    db.close();

    const again = open(path); // reopening finds its tables already there
    assert.equal(countRefunds(again), 1);
    assert.deepEqual(schemaOf(again), before);
  });
});

// Chinook's DDL, verbatim, for the tables the toolkit touches, with two invoice lines worth $1.98.
const CHINOOK_SUBSET = `
CREATE TABLE [Employee]
(
    [EmployeeId] INTEGER  NOT NULL,
    [LastName] NVARCHAR(20)  NOT NULL,
    [FirstName] NVARCHAR(20)  NOT NULL,
    [Title] NVARCHAR(30),
    [ReportsTo] INTEGER,
    [BirthDate] DATETIME,
    [HireDate] DATETIME,
    [Address] NVARCHAR(70),
    [City] NVARCHAR(40),
    [State] NVARCHAR(40),
    [Country] NVARCHAR(40),
    [PostalCode] NVARCHAR(10),
    [Phone] NVARCHAR(24),
    [Fax] NVARCHAR(24),
    [Email] NVARCHAR(60),
    CONSTRAINT [PK_Employee] PRIMARY KEY  ([EmployeeId]),
    FOREIGN KEY ([ReportsTo]) REFERENCES [Employee] ([EmployeeId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [Customer]
(
    [CustomerId] INTEGER  NOT NULL,
    [FirstName] NVARCHAR(40)  NOT NULL,
    [LastName] NVARCHAR(20)  NOT NULL,
    [Company] NVARCHAR(80),
    [Address] NVARCHAR(70),
    [City] NVARCHAR(40),
    [State] NVARCHAR(40),
    [Country] NVARCHAR(40),
    [PostalCode] NVARCHAR(10),
    [Phone] NVARCHAR(24),
    [Fax] NVARCHAR(24),
    [Email] NVARCHAR(60)  NOT NULL,
    [SupportRepId] INTEGER,
    CONSTRAINT [PK_Customer] PRIMARY KEY  ([CustomerId]),
    FOREIGN KEY ([SupportRepId]) REFERENCES [Employee] ([EmployeeId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [Invoice]
(
    [InvoiceId] INTEGER  NOT NULL,
    [CustomerId] INTEGER  NOT NULL,
    [InvoiceDate] DATETIME  NOT NULL,
    [BillingAddress] NVARCHAR(70),
    [BillingCity] NVARCHAR(40),
    [BillingState] NVARCHAR(40),
    [BillingCountry] NVARCHAR(40),
    [BillingPostalCode] NVARCHAR(10),
    [Total] NUMERIC(10,2)  NOT NULL,
    CONSTRAINT [PK_Invoice] PRIMARY KEY  ([InvoiceId]),
    FOREIGN KEY ([CustomerId]) REFERENCES [Customer] ([CustomerId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [InvoiceLine]
(
    [InvoiceLineId] INTEGER  NOT NULL,
    [InvoiceId] INTEGER  NOT NULL,
    [TrackId] INTEGER  NOT NULL,
    [UnitPrice] NUMERIC(10,2)  NOT NULL,
    [Quantity] INTEGER  NOT NULL,
    CONSTRAINT [PK_InvoiceLine] PRIMARY KEY  ([InvoiceLineId]),
    FOREIGN KEY ([InvoiceId]) REFERENCES [Invoice] ([InvoiceId])
		ON DELETE NO ACTION ON UPDATE NO ACTION,
    FOREIGN KEY ([TrackId]) REFERENCES [Track] ([TrackId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [Track]
(
    [TrackId] INTEGER  NOT NULL,
    [Name] NVARCHAR(200)  NOT NULL,
    [AlbumId] INTEGER,
    [MediaTypeId] INTEGER  NOT NULL,
    [GenreId] INTEGER,
    [Composer] NVARCHAR(220),
    [Milliseconds] INTEGER  NOT NULL,
    [Bytes] INTEGER,
    [UnitPrice] NUMERIC(10,2)  NOT NULL,
    CONSTRAINT [PK_Track] PRIMARY KEY  ([TrackId]),
    FOREIGN KEY ([AlbumId]) REFERENCES [Album] ([AlbumId])
		ON DELETE NO ACTION ON UPDATE NO ACTION,
    FOREIGN KEY ([GenreId]) REFERENCES [Genre] ([GenreId])
		ON DELETE NO ACTION ON UPDATE NO ACTION,
    FOREIGN KEY ([MediaTypeId]) REFERENCES [MediaType] ([MediaTypeId])
		ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE INDEX [IFK_InvoiceCustomerId] ON [Invoice] ([CustomerId]);
CREATE INDEX [IFK_InvoiceLineInvoiceId] ON [InvoiceLine] ([InvoiceId]);
INSERT INTO [Employee] ([EmployeeId], [LastName], [FirstName]) VALUES (1, 'Adams', 'Andrew');
INSERT INTO [Customer] ([CustomerId], [FirstName], [LastName], [Email], [SupportRepId])
  VALUES (1, 'Leonie', 'Köhler', 'leonekohler@surfeu.de', 1);
INSERT INTO [Track] ([TrackId], [Name], [MediaTypeId], [Milliseconds], [UnitPrice])
  VALUES (2, 'Balls to the Wall', 2, 342562, 0.99), (4, 'Restless and Wild', 2, 252051, 0.99);
INSERT INTO [Invoice] ([InvoiceId], [CustomerId], [InvoiceDate], [Total]) VALUES (1, 1, '2021-01-01 00:00:00', 1.98);
INSERT INTO [InvoiceLine] ([InvoiceLineId], [InvoiceId], [TrackId], [UnitPrice], [Quantity])
  VALUES (1, 1, 2, 0.99, 1), (2, 1, 4, 0.99, 1);
`;
