import { ApplicationFailure } from '@temporalio/common';
import { DatabaseError, Pool, type PoolClient } from 'pg';
import type { AuditRecord } from '../../shared/audit/chain';
import type { StoredAudit } from '../../shared/activity-types';
import { AuditStoreUnavailable, ConfigError, FailureType } from '../../shared/errors';
import { logger } from '../logger';
import { ensurePostgresSchema } from './postgres-schema';
import { checkPostgresUrl, maskPostgresUrl } from './postgres-url';
import {
  AUDIT_COLUMN_LIST,
  AUDIT_COLUMNS,
  auditConflict,
  fromRow,
  refuseMismatchedHash,
  toRow,
  type AuditRow,
} from './rows';
import type { AuditStore } from './sqlite-store';

/** Options of {@link openPostgresAuditStore}. */
export interface PostgresAuditStoreOptions {
  /**
   * Create the table, its index and its triggers when they are missing and the connecting role may (it owns the
   * table, or may create tables in the schema when there is none). A limited writer role never changes the schema
   * whatever this says. Default true; the CLI, which only reads, passes false.
   */
  createSchema?: boolean;
  /** Most connections open at once. Default 4. */
  maxConnections?: number;
  /** How long to wait for a connection, in milliseconds. Default 10,000. */
  connectTimeoutMs?: number;
  /**
   * How long one statement may run, in milliseconds (the server cancels it after that). Default 20,000, inside the
   * audit activity's 30-second start-to-close timeout.
   */
  statementTimeoutMs?: number;
  /** Where the URL came from, for messages (e.g. `HITL_AUDIT_DB`). Default: "the audit store location". */
  source?: string;
}

// One statement per batch: the records as parallel arrays, inserted in batch order (so `arrival` follows it); a key
// the table has already is left alone and missing from RETURNING.
const INSERT_SQL = `
INSERT INTO hitl_audit (${AUDIT_COLUMN_LIST})
SELECT ${AUDIT_COLUMN_LIST}
FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${c === 'seq' ? 'integer' : 'text'}[]`).join(', ')})
  WITH ORDINALITY AS r(${AUDIT_COLUMN_LIST}, n)
ORDER BY n
ON CONFLICT (workflow_id, run_id, seq) DO NOTHING
RETURNING workflow_id, run_id, seq`;

const EXISTING_SQL = `
SELECT workflow_id, run_id, seq, a.hash
FROM hitl_audit AS a JOIN unnest($1::text[], $2::text[], $3::integer[]) AS k(workflow_id, run_id, seq)
  USING (workflow_id, run_id, seq)`;

type Key = Pick<AuditRow, 'workflow_id' | 'run_id' | 'seq'>;

const keyOf = (r: AuditRecord): string => JSON.stringify([r.workflowId, r.runId, r.seq]);
const keyOfRow = (r: Key): string => JSON.stringify([r.workflow_id, r.run_id, r.seq]);

/**
 * Opens the PostgreSQL audit store: the SQLite store's table and semantics in a database several workers share.
 * Nothing connects until the first call, so a store that is down does not stop a worker from starting: the audit
 * activity fails (retryably) and the runs' outboxes hold their records until it is back. Append-only: triggers
 * refuse UPDATE, DELETE and TRUNCATE for every role, the owner included; a writer role set up with
 * `postgresAuditSchemaSql` has no privilege to try.
 * @param url - `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (libpq parameters such as `sslmode` may follow)
 * @param options - see {@link PostgresAuditStoreOptions}
 * @returns the store; its `location` is the URL with the password masked
 * @throws ConfigError naming what is wrong when the URL is malformed
 * @remarks `append` rejects with ApplicationFailure `InvalidAuditRecord` (non-retryable) when a record does not
 *   match its hash or holds a NUL character (PostgreSQL text cannot), `AuditConflict` (non-retryable) when the store
 *   holds a different record under the same key; every call rejects with `AuditStoreUnavailable` (retryable) when
 *   the store cannot be reached or refuses the statement, and with ConfigError when the table is missing and this
 *   role may not create it.
 */
export function openPostgresAuditStore(url: string, options: PostgresAuditStoreOptions = {}): AuditStore {
  const text = checkPostgresUrl(url, options.source ?? 'the audit store location');
  const location = maskPostgresUrl(text);
  const password = decodeURIComponent(new URL(text).password);
  const statementTimeout = options.statementTimeoutMs ?? 20_000;
  const pool = new Pool({
    connectionString: text,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: statementTimeout,
    // The client gives up a little after the server would have, for a connection that went silent.
    query_timeout: statementTimeout + 5_000,
    keepAlive: true,
    application_name: 'hitl-agent audit store',
  });
  // An idle connection that breaks (a restarted server) is reported here; without a listener it would end the process.
  pool.on('error', (err) => logger.warn({ store: location, error: hide(err.message) }, 'audit store connection lost'));

  /** A message without the password, in case a driver or server ever quotes it. */
  function hide(message: string): string {
    return password.length >= 4 ? message.split(password).join('***') : message;
  }

  /** Errors of the connection or the server as `AuditStoreUnavailable`; refusals of the records as they are. */
  function unavailable(err: unknown): unknown {
    if (err instanceof ApplicationFailure || err instanceof ConfigError) return err;
    const code = err instanceof DatabaseError && err.code !== undefined ? ` (SQLSTATE ${err.code})` : '';
    const message = err instanceof Error ? err.message : String(err);
    return new AuditStoreUnavailable(`audit store ${location}: ${hide(message)}${code}`);
  }

  let schema: Promise<void> | undefined;
  function ready(): Promise<void> {
    schema ??= ensurePostgresSchema(pool, options.createSchema ?? true, location).catch((err: unknown) => {
      schema = undefined;
      throw err;
    });
    return schema;
  }

  async function query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      await ready();
      return (await pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw unavailable(err);
    }
  }

  async function transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    let broken = false;
    try {
      await ready();
      client = await pool.connect();
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (client !== undefined) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw unavailable(err);
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: closed instead of returned to the pool.
      client?.release(broken);
    }
  }

  let closed = false;
  return {
    location,
    append: async (records) => {
      for (const r of records) check(r);
      if (records.length === 0) return { stored: 0, present: 0 };
      return transaction((client) => write(client, records));
    },
    records: async (workflowId) =>
      (
        await query<AuditRow>(
          `SELECT ${AUDIT_COLUMN_LIST} FROM hitl_audit WHERE workflow_id = $1 ORDER BY seq, arrival`,
          [workflowId],
        )
      ).map(fromRow),
    workflowIds: async () =>
      (
        await query<{ workflow_id: string }>(
          'SELECT workflow_id FROM hitl_audit GROUP BY workflow_id ORDER BY min(arrival)',
          [],
        )
      ).map((r) => r.workflow_id),
    recordsSince: async (since) =>
      (
        await query<AuditRow>(`SELECT ${AUDIT_COLUMN_LIST} FROM hitl_audit WHERE at >= $1 ORDER BY at, arrival`, [
          since ?? '',
        ])
      ).map(fromRow),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Refuses a record the store must not take: one that does not match its hash, or text PostgreSQL cannot hold. */
function check(r: AuditRecord): void {
  refuseMismatchedHash(r);
  if (Object.values(r).some((v) => typeof v === 'string' && v.includes('\u0000'))) {
    throw ApplicationFailure.nonRetryable(
      `audit record ${r.workflowId} #${r.seq} holds a NUL character, which PostgreSQL text cannot store`,
      FailureType.InvalidAuditRecord,
    );
  }
}

/** Writes a batch inside the caller's transaction: a key already stored (or sent twice) must hold the same record. */
async function write(client: PoolClient, records: readonly AuditRecord[]): Promise<StoredAudit> {
  // A key twice in one batch is one record sent twice (or a conflict), as the SQLite store's loop would see it.
  const first = new Map<string, AuditRecord>();
  let present = 0;
  for (const r of records) {
    const earlier = first.get(keyOf(r));
    if (earlier === undefined) first.set(keyOf(r), r);
    else if (earlier.hash !== r.hash) throw auditConflict(r, earlier.hash);
    else present += 1;
  }
  const fresh = [...first.values()];
  const rows = fresh.map(toRow);
  const inserted = await client.query<Key>(
    INSERT_SQL,
    AUDIT_COLUMNS.map((c) => rows.map((row) => row[c])),
  );
  const stored = new Set(inserted.rows.map(keyOfRow));
  const skipped = fresh.filter((r) => !stored.has(keyOf(r)));
  if (skipped.length > 0) {
    const had = await client.query<Key & { hash: string }>(EXISTING_SQL, [
      skipped.map((r) => r.workflowId),
      skipped.map((r) => r.runId),
      skipped.map((r) => r.seq),
    ]);
    const hashes = new Map(had.rows.map((row) => [keyOfRow(row), row.hash]));
    for (const r of skipped) {
      const hash = hashes.get(keyOf(r));
      if (hash !== r.hash) throw auditConflict(r, hash);
      present += 1;
    }
  }
  return { stored: stored.size, present };
}
