import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { runResult, runStatus } from '../client';
import { openAuditStore } from '../src/node/audit/open-store';
import { postgresAuditSchemaSql } from '../src/node/audit/postgres-schema';
import { openPostgresAuditStore } from '../src/node/audit/postgres-store';
import { maskPostgresUrl } from '../src/node/audit/postgres-url';
import type { AuditStore } from '../src/node/audit/sqlite-store';
import { verifyChain } from '../src/node/audit/verify';
import { CHAIN_CLOSED, GENESIS_HASH, recordHash, type AuditRecord } from '../src/shared/audit/chain';
import { AuditStoreUnavailable, ConfigError, FailureType } from '../src/shared/errors';
import type { AuditEntry } from '../src/shared/run-state';
import { approveAs } from './support/decisions';
import { freePort } from './support/dev-server';
import { hitl } from './support/cli';
import { closeSharedEnv, tempDir, waitFor } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import { examplePolicy } from './support/policies';
import { runSql, sharedPostgres, stopSharedPostgres, type PostgresServer } from './support/postgres';
import { entryOf, wholeAuditTrail } from './support/run-history';

// Run alone, this file stops what it started; in test/all.ts these run once more, after every suite, as no-ops.
after(async () => {
  await closeSharedEnv();
  await stopSharedPostgres();
});

/** What a rejection must be: an ApplicationFailure of this type that Temporal will not retry. */
function failure(type: string): (err: unknown) => boolean {
  return (err) => err instanceof ApplicationFailure && err.type === type && err.nonRetryable === true;
}

type Draft = Pick<AuditEntry, 'kind' | 'detail'> & Partial<Omit<AuditRecord, 'hash' | 'prev'>>;

/** Records hashed and chained from the genesis hash (or `prev`), seq from 1 unless a draft says otherwise. */
function chained(workflowId: string, drafts: Draft[], prev = GENESIS_HASH): AuditRecord[] {
  return drafts.map((d, i) => {
    const unhashed = {
      seq: i + 1,
      at: '2025-01-01T00:00:00.000Z',
      actor: 'system',
      workflowId,
      runId: 'run-1',
      ...d,
      prev,
    };
    const record = { ...unhashed, hash: recordHash(unhashed) };
    prev = record.hash;
    return record;
  });
}

/** Three records, with and without the optional fields, so a round trip through the table shows both. */
function threeRecords(workflowId: string): AuditRecord[] {
  return chained(workflowId, [
    {
      kind: 'run_started',
      detail: 'goal: refund invoice 2',
      actor: 'sam',
      policyVersion: '3',
      policySha256: 'ab'.repeat(32),
    },
    {
      kind: 'approval_requested',
      detail: 'issue_refund: 3.00 on invoice 2 — "charged twice"',
      requestId: 'req-1',
      tool: 'issue_refund',
      argsHash: 'cd'.repeat(32),
    },
    { kind: 'decision', detail: "approved by sue {it's fine}\\n", actor: 'sue', requestId: 'req-1' },
  ]);
}

/** A role of its own (roles are shared by every database of the server), with a password. */
async function createRole(server: PostgresServer, prefix: string): Promise<{ role: string; password: string }> {
  const role = `${prefix}_${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  await runSql(server.url(), `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  return { role, password };
}

/** A store on a database of its own, connected as the superuser (who creates the table). */
async function freshStore(server: PostgresServer): Promise<{ store: AuditStore; url: string }> {
  const url = server.url({ database: await server.createDatabase() });
  return { store: openPostgresAuditStore(url), url };
}

/** A database set up by the administrator's SQL, and a store connected as its writer role. */
async function writerStore(
  server: PostgresServer,
): Promise<{ store: AuditStore; writerUrl: string; adminUrl: string; password: string }> {
  const database = await server.createDatabase();
  const { role, password } = await createRole(server, 'hitl_writer');
  const adminUrl = server.url({ database });
  await runSql(adminUrl, postgresAuditSchemaSql(role));
  const writerUrl = server.url({ user: role, password, database });
  return { store: openPostgresAuditStore(writerUrl), writerUrl, adminUrl, password };
}

/** Starts a run whose hard-gated refund sue approves; returns its id once the run has decided. */
async function refundRun(h: Harness): Promise<string> {
  const run = await h.startScripted(
    [call('issue_refund', { invoiceId: 2, amountCents: 300, reason: 'charged twice' }), answer('refunded')],
    { requestedBy: 'sam', policy: examplePolicy },
  );
  const [req] = await h.pending(run.workflowId);
  assert.ok(req);
  await approveAs(h.client, run.workflowId, req, 'sue');
  return run.workflowId;
}

/** Waits until the store holds the run's closing entry, and returns its records. */
function closedRecords(store: AuditStore, workflowId: string): Promise<AuditRecord[]> {
  return waitFor(async () => {
    const records = await store.records(workflowId);
    return records.some((r) => r.kind === CHAIN_CLOSED) ? records : undefined;
  }, `the closed audit chain of ${workflowId} in PostgreSQL`);
}

describe('PostgreSQL audit store', () => {
  let server: PostgresServer;
  before(async () => {
    server = await sharedPostgres();
  });

  it('writes a batch once: sent again it is present, and a key twice in one batch is one record', async () => {
    const { store } = await freshStore(server);
    const records = threeRecords('wf-once');
    assert.deepEqual(await store.append(records.slice(0, 2)), { stored: 2, present: 0 });
    assert.deepEqual(await store.append(records.slice(0, 2)), { stored: 0, present: 2 }, 'sent again: skipped');
    assert.deepEqual(await store.append(records), { stored: 1, present: 2 }, 'two known, one new');
    const [single] = chained('wf-twice', [{ kind: 'run_started', detail: 'goal: twice' }]);
    assert.ok(single);
    assert.deepEqual(await store.append([single, single]), { stored: 1, present: 1 });
    assert.deepEqual(await store.records('wf-once'), records, 'every field back as written, absent ones absent');
    assert.deepEqual(await store.records('wf-twice'), [single]);
    await store.close();
  });

  it('refuses another record under a stored key (AuditConflict) and stores nothing of that batch', async () => {
    const { store } = await freshStore(server);
    const records = threeRecords('wf-conflict');
    await store.append(records.slice(0, 2));
    const altered = chained('wf-conflict', [
      { kind: 'run_started', detail: 'goal: refund invoice 2' },
      { kind: 'approval_requested', detail: 'issue_refund: 3,000.00 on invoice 2' },
    ])[1];
    const bystander = chained('wf-bystander', [{ kind: 'run_started', detail: 'goal: unrelated' }]);
    assert.ok(altered);
    await assert.rejects(store.append([...bystander, altered]), failure(FailureType.AuditConflict));
    assert.deepEqual(await store.records('wf-bystander'), [], 'the batch was one transaction');
    assert.deepEqual(await store.records('wf-conflict'), records.slice(0, 2), 'the stored records unchanged');
    const [first] = bystander;
    assert.ok(first);
    const sameKey = { ...first, detail: 'goal: another' };
    await assert.rejects(
      store.append([first, { ...sameKey, hash: recordHash(sameKey) }]),
      failure(FailureType.AuditConflict),
      'two records under one key in the same batch',
    );
    assert.deepEqual(await store.records('wf-bystander'), []);
    await store.close();
  });

  it('refuses a record that does not match its hash (InvalidAuditRecord) and stores nothing of that batch', async () => {
    const { store } = await freshStore(server);
    const [good, bad] = threeRecords('wf-forged');
    assert.ok(good && bad);
    await assert.rejects(
      store.append([good, { ...bad, detail: 'approved by nobody' }]),
      failure(FailureType.InvalidAuditRecord),
    );
    const nul = chained('wf-nul', [{ kind: 'run_started', detail: 'goal: a\u0000b' }]);
    await assert.rejects(store.append(nul), failure(FailureType.InvalidAuditRecord), 'PostgreSQL text has no NUL');
    assert.deepEqual(await store.workflowIds(), []);
    await store.close();
  });

  it('refuses UPDATE, DELETE and TRUNCATE through triggers, for the owner that created the table and the superuser', async () => {
    const owner = await createRole(server, 'hitl_owner');
    const database = await server.createDatabase(owner.role);
    const ownerUrl = server.url({ user: owner.role, password: owner.password, database });
    const store = openPostgresAuditStore(ownerUrl);
    const records = threeRecords('wf-append-only');
    await store.append(records);
    const [table] = await runSql<{ tableowner: string }>(
      ownerUrl,
      "SELECT tableowner FROM pg_tables WHERE tablename = 'hitl_audit'",
    );
    assert.equal(table?.tableowner, owner.role, 'the store created the table as its connecting role');
    for (const url of [ownerUrl, server.url({ database })]) {
      await assert.rejects(runSql(url, "UPDATE hitl_audit SET detail = 'changed'"), /append-only: UPDATE refused/);
      await assert.rejects(runSql(url, 'UPDATE hitl_audit SET seq = 9 WHERE false'), /append-only: UPDATE refused/);
      await assert.rejects(runSql(url, 'DELETE FROM hitl_audit WHERE seq = 2'), /append-only: DELETE refused/);
      await assert.rejects(runSql(url, 'TRUNCATE hitl_audit'), /append-only: TRUNCATE refused/);
    }
    assert.deepEqual(await store.records('wf-append-only'), records, 'every record unchanged');
    await store.close();
  });

  it('lets the writer role of the schema SQL insert and select, never update, delete, truncate or create', async () => {
    const database = await server.createDatabase();
    const writer = await createRole(server, 'hitl_writer');
    const writerUrl = server.url({ user: writer.role, password: writer.password, database });
    const store = openPostgresAuditStore(writerUrl);
    const records = threeRecords('wf-writer');
    await assert.rejects(
      store.append(records),
      (err: unknown) =>
        err instanceof ConfigError && /no table hitl_audit and this role may not create it/.test(err.message),
    );
    const adminUrl = server.url({ database });
    const [missing] = await runSql<{ oid: string | null }>(adminUrl, "SELECT to_regclass('hitl_audit') AS oid");
    assert.equal(missing?.oid, null, 'the writer created nothing');

    const schema = await hitl(['audit', 'postgres-schema', '--writer', writer.role]);
    assert.equal(schema.code, 0, schema.stderr);
    await runSql(adminUrl, schema.stdout);
    assert.deepEqual(await store.append(records), { stored: 3, present: 0 }, 'the same store, once the table is there');
    assert.deepEqual(await store.append(records), { stored: 0, present: 3 });
    assert.deepEqual(await store.records('wf-writer'), records);

    await assert.rejects(
      runSql(writerUrl, "UPDATE hitl_audit SET detail = 'x'"),
      /permission denied for table hitl_audit/,
    );
    await assert.rejects(runSql(writerUrl, 'DELETE FROM hitl_audit'), /permission denied for table hitl_audit/);
    await assert.rejects(runSql(writerUrl, 'TRUNCATE hitl_audit'), /permission denied for table hitl_audit/);
    await assert.rejects(runSql(writerUrl, 'ALTER TABLE hitl_audit DISABLE TRIGGER USER'), /must be owner/);
    await assert.rejects(runSql(writerUrl, 'DROP TABLE hitl_audit'), /must be owner/);
    const [counted] = await runSql<{ n: number }>(writerUrl, 'SELECT count(*)::int AS n FROM hitl_audit');
    assert.equal(counted?.n, 3, 'the writer reads the table');
    await store.close();
  });

  it('lists records by seq then arrival, workflow ids by their first record, and records since a time', async () => {
    const { store, url } = await freshStore(server);
    const record = (workflowId: string, runId: string, seq: number, at: string): AuditRecord => {
      const unhashed = { seq, at, kind: 'run_started' as const, actor: 'system', detail: `${runId} #${seq}` };
      const r = { ...unhashed, workflowId, runId, prev: GENESIS_HASH };
      return { ...r, hash: recordHash(r) };
    };
    const t = (n: number): string => `2025-02-0${n}T00:00:00.000Z`;
    const z = record('wf-z', 'run-1', 1, t(1));
    const late = [record('wf-order', 'run-2', 1, t(3)), record('wf-order', 'run-2', 3, t(3))];
    const early = [record('wf-order', 'run-1', 1, t(2)), record('wf-order', 'run-1', 2, t(2))];
    const a = record('wf-a', 'run-1', 1, t(4));
    const b = record('wf-b', 'run-1', 1, t(2));
    for (const batch of [[z], late, early, [a, b]]) await store.append(batch);
    // Rows laid out by key (run-1 before run-2, wf-a first), so the order of arrival is not the order on disk.
    await runSql(url, 'CLUSTER hitl_audit USING hitl_audit_pkey');
    assert.deepEqual(
      (await store.records('wf-order')).map((r) => r.detail),
      ['run-2 #1', 'run-1 #1', 'run-1 #2', 'run-2 #3'],
      'by seq, then the order they arrived in',
    );
    assert.deepEqual(await store.workflowIds(), ['wf-z', 'wf-order', 'wf-a', 'wf-b'], 'oldest first, not by name');
    assert.deepEqual(
      (await store.recordsSince(t(3))).map((r) => `${r.workflowId} ${r.detail}`),
      ['wf-order run-2 #1', 'wf-order run-2 #3', 'wf-a run-1 #1'],
    );
    assert.deepEqual(
      (await store.recordsSince()).map((r) => `${r.workflowId} ${r.detail}`),
      [
        'wf-z run-1 #1',
        'wf-order run-1 #1',
        'wf-order run-1 #2',
        'wf-b run-1 #1',
        'wf-order run-2 #1',
        'wf-order run-2 #3',
        'wf-a run-1 #1',
      ],
      'every record, by time then arrival',
    );
    await store.close();
  });
});

describe('choosing and naming the audit store', () => {
  it('opens PostgreSQL for a postgres:// or postgresql:// location, from the argument or HITL_AUDIT_DB, else SQLite', async () => {
    const server = await sharedPostgres();
    const url = server.url({ database: await server.createDatabase() });
    const store = openAuditStore(url);
    assert.equal(store.location, url.replace(`:${server.superuserPassword}@`, ':***@'), 'the password masked');
    await store.append(threeRecords('wf-chosen'));
    assert.equal((await runSql(url, 'SELECT 1 FROM hitl_audit')).length, 3, 'written to PostgreSQL');
    await store.close();

    const saved = process.env['HITL_AUDIT_DB'];
    try {
      process.env['HITL_AUDIT_DB'] = url.replace(/^postgres:/, 'postgresql:');
      const fromEnv = openAuditStore();
      assert.equal((await fromEnv.records('wf-chosen')).length, 3);
      assert.match(fromEnv.location, /^postgresql:\/\/postgres:\*\*\*@/);
      await fromEnv.close();
      const file = join(tempDir('hitl-audit-choice-'), 'audit.sqlite');
      process.env['HITL_AUDIT_DB'] = file;
      const sqlite = openAuditStore();
      assert.equal(sqlite.location, file);
      assert.deepEqual(await sqlite.workflowIds(), []);
      await sqlite.close();
      process.env['HITL_AUDIT_DB'] = 'postgres://u:s3cr3t-pw@db.example:99999/audit';
      assert.throws(
        () => openAuditStore(),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes('HITL_AUDIT_DB') &&
          err.message.includes('postgres://u:***@db.example:99999/audit') &&
          !err.message.includes('s3cr3t'),
      );
    } finally {
      if (saved === undefined) delete process.env['HITL_AUDIT_DB'];
      else process.env['HITL_AUDIT_DB'] = saved;
    }
  });

  it('refuses a malformed URL with a ConfigError that says what is wrong and hides the password', () => {
    const cases: [string, RegExp][] = [
      ['postgres://u:s3cr3t@host:99999/db', /does not parse as a URL/],
      ['postgres://u:s3cr3t@/db', /does not parse as a URL/],
      ['postgres://u:s3cr3t@host/db%zz', /the database name has a broken percent-encoding/],
      ['postgres://u:s3cr3t%g@host/db', /the password has a broken percent-encoding/],
      ['postgres://u:s3cr3t@host/db/more', /the database name contains "\/"/],
      ['postgresql:/u:s3cr3t@host/db', /must start with postgres:\/\/ or postgresql:\/\//],
    ];
    for (const [url, expected] of cases) {
      assert.throws(
        () => openAuditStore(url, { source: '--db' }),
        (err: unknown) =>
          err instanceof ConfigError &&
          expected.test(err.message) &&
          err.message.includes('(--db)') &&
          !err.message.includes('s3cr3t'),
        url,
      );
    }
  });

  it('masks passwords in connection strings, well formed or not', () => {
    const cases: [string, string][] = [
      ['postgres://u:secret@h:5432/db', 'postgres://u:***@h:5432/db'],
      ['postgres://u@h/db', 'postgres://u@h/db'],
      ['postgres://u:p@ss/w@h/db', 'postgres://u:***@h/db'],
      ['postgres://u:secret/db', 'postgres://u:***/db'],
      ['postgres://[::1]:5432/db', 'postgres://[::1]:5432/db'],
      ['postgresql://h/db?sslmode=require&password=secret', 'postgresql://h/db?sslmode=require&password=***'],
    ];
    for (const [url, masked] of cases) assert.equal(maskPostgresUrl(url), masked, url);
  });

  it('reports a store it cannot reach as AuditStoreUnavailable (retried), without the password', async () => {
    const server = await sharedPostgres();
    const port = await freePort();
    const down = openPostgresAuditStore(`postgres://hitl:s3cr3t-pw@127.0.0.1:${port}/audit`, {
      connectTimeoutMs: 2_000,
    });
    await assert.rejects(
      down.append(threeRecords('wf-down')),
      (err: unknown) =>
        err instanceof AuditStoreUnavailable &&
        err.message.startsWith(`audit store postgres://hitl:***@127.0.0.1:${port}/audit: `) &&
        !err.message.includes('s3cr3t'),
    );
    await down.close();
    const wrongPassword = 'not-the-password-at-all';
    const refused = openPostgresAuditStore(server.url({ password: wrongPassword }));
    await assert.rejects(
      refused.records('wf-any'),
      (err: unknown) =>
        err instanceof AuditStoreUnavailable &&
        /password authentication failed/.test(err.message) &&
        !err.message.includes(wrongPassword),
    );
    await refused.close();
    const cli = await hitl(['audit', 'verify', 'wf-any', '--db', `postgres://hitl:s3cr3t-pw@127.0.0.1:${port}/audit`]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /error: audit store postgres:\/\/hitl:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(cli.stderr + cli.stdout, /s3cr3t/);
  });
});

describe('a worker on the PostgreSQL audit store', () => {
  it('writes a real run as the writer role, and hitl audit and hitl audit verify read it with --db URL', async () => {
    const server = await sharedPostgres();
    const { store, writerUrl, adminUrl, password } = await writerStore(server);
    const { workflowId, records } = await withWorker(
      async (h) => {
        const id = await refundRun(h);
        await runResult(h.client, id);
        const stored = await closedRecords(store, id);
        assert.deepEqual(stored.map(entryOf), (await wholeAuditTrail(h.client, id)).map(entryOf));
        return { workflowId: id, records: stored };
      },
      { auditStore: store },
    );
    await store.close();
    assert.ok(records.some((r) => r.kind === 'decision' && r.actor.startsWith('sue')));
    assert.deepEqual(verifyChain(workflowId, records), { workflowId, records: records.length, closed: true });

    const shown = await hitl(['audit', workflowId, '--from', 'store', '--json', '--db', writerUrl]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(
      (JSON.parse(shown.stdout) as AuditRecord[]).map((r) => r.hash),
      records.map((r) => r.hash),
    );
    const verified = await hitl(['audit', 'verify', workflowId, '--db', writerUrl]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`^${workflowId}: ${records.length} entries, ok, closed`));
    const fromEnv = await hitl(['audit', 'verify', '--all'], { HITL_AUDIT_DB: writerUrl });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, new RegExp(`^${workflowId}: `));
    const exported = await hitl(['audit', 'export', '--db', writerUrl]);
    assert.equal(exported.stdout.trim().split('\n').length, records.length);
    for (const out of [shown, verified, fromEnv, exported]) assert.ok(!`${out.stdout}${out.stderr}`.includes(password));

    // Behind the triggers (an owner who disables them): verify reads the altered row from PostgreSQL.
    await runSql(adminUrl, 'ALTER TABLE hitl_audit DISABLE TRIGGER USER');
    await runSql(adminUrl, "UPDATE hitl_audit SET detail = 'nothing happened' WHERE workflow_id = $1 AND seq = 3", [
      workflowId,
    ]);
    await runSql(adminUrl, 'ALTER TABLE hitl_audit ENABLE TRIGGER USER');
    const tampered = await hitl(['audit', 'verify', workflowId, '--db', writerUrl]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /BROKEN at entry 3: entry 3 altered/);
  });

  it('starts while the store cannot be reached, holds the run entries, and writes them all once it is there', async () => {
    const server = await sharedPostgres();
    const database = `hitl_late_${randomBytes(3).toString('hex')}`;
    const store = openAuditStore(server.url({ database }));
    await withWorker(
      async (h) => {
        const workflowId = await refundRun(h);
        await waitFor(
          async () => ((await runStatus(h.client, workflowId)).phase === 'completed' ? true : undefined),
          'the run to reach its end',
        );
        const { status } = await h.client.workflow.getHandle(workflowId).describe();
        assert.equal(status.name, 'RUNNING', 'the run holds its entries until the store is there');
        await runSql(server.url(), `CREATE DATABASE ${database}`);
        await runResult(h.client, workflowId);
        const records = await store.records(workflowId);
        assert.deepEqual(records.map(entryOf), (await wholeAuditTrail(h.client, workflowId)).map(entryOf));
        assert.equal(records.at(-1)?.kind, CHAIN_CLOSED);
        assert.equal(verifyChain(workflowId, records).broken, undefined);
      },
      { auditStore: store },
    );
    await store.close();
  });
});
