import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../../shared/audit/chain';
import type { StoredAudit } from '../../shared/activity-types';
import { ConfigError } from '../../shared/errors';
import {
  AUDIT_COLUMN_LIST,
  AUDIT_COLUMNS,
  auditConflict,
  fromRow,
  refuseMismatchedHash,
  toRow,
  type AuditRow,
} from './rows';

/** Environment variable naming the audit store: a SQLite file, or a PostgreSQL URL (see `openAuditStore`). */
export const AUDIT_DB_ENV = 'HITL_AUDIT_DB';

/** The store used when neither an option nor `HITL_AUDIT_DB` names one. */
export const DEFAULT_AUDIT_DB_PATH = fileURLToPath(new URL('../../../.data/audit.sqlite', import.meta.url));

/** The audit store: append-only, outside Temporal, so the record outlives the workflow's history. */
export interface AuditStore {
  /** Where it is, for messages: a file path, or a PostgreSQL URL with its password masked. */
  readonly location: string;
  /**
   * Writes records in one transaction; a record already stored under the same (workflow id, run id, seq) is skipped
   * when identical.
   * @throws ApplicationFailure `InvalidAuditRecord` (non-retryable) when a record does not match its hash;
   *   `AuditConflict` (non-retryable) when the store holds a different record under the same key
   */
  append(records: readonly AuditRecord[]): Promise<StoredAudit>;
  /** A workflow's records in the order they were stored (by seq, then arrival). */
  records(workflowId: string): Promise<AuditRecord[]>;
  /** The workflow ids with records, oldest first by their first record. */
  workflowIds(): Promise<string[]>;
  /**
   * Records written at or after `since` (ISO-8601 workflow time), oldest first.
   * @param since - ISO-8601 time; every record when undefined
   */
  recordsSince(since?: string): Promise<AuditRecord[]>;
  /** Closes the connection. */
  close(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hitl_audit (
  workflow_id    TEXT    NOT NULL,
  run_id         TEXT    NOT NULL,
  seq            INTEGER NOT NULL,
  at             TEXT    NOT NULL,
  kind           TEXT    NOT NULL,
  actor          TEXT    NOT NULL,
  request_id     TEXT,
  tool           TEXT,
  args_hash      TEXT,
  detail         TEXT    NOT NULL,
  policy_version TEXT,
  policy_sha256  TEXT,
  prev_hash      TEXT    NOT NULL,
  hash           TEXT    NOT NULL,
  stored_at      TEXT    NOT NULL,
  facts          TEXT,
  PRIMARY KEY (workflow_id, run_id, seq)
);
CREATE INDEX IF NOT EXISTS hitl_audit_at ON hitl_audit (at);
CREATE TRIGGER IF NOT EXISTS hitl_audit_no_update BEFORE UPDATE ON hitl_audit
BEGIN SELECT RAISE(ABORT, 'hitl_audit is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS hitl_audit_no_delete BEFORE DELETE ON hitl_audit
BEGIN SELECT RAISE(ABORT, 'hitl_audit is append-only: DELETE refused'); END;
`;

/**
 * The audit store's file: the argument, else `HITL_AUDIT_DB`, else {@link DEFAULT_AUDIT_DB_PATH}.
 * @param path - an explicit file
 */
export function auditStorePath(path?: string): string {
  const fromEnv = process.env[AUDIT_DB_ENV];
  return path ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : DEFAULT_AUDIT_DB_PATH);
}

/**
 * Opens (and creates) the SQLite audit store. UPDATE and DELETE are refused by triggers, so the store stays
 * append-only whatever code writes to it.
 * @param path - the file (see {@link auditStorePath})
 * @param options - `busyTimeoutMs`: how long a write waits for a lock another connection holds (default 2,000 ms);
 *   `readonly`: open for reading only (the CLI)
 * @throws ConfigError when the file cannot be opened or created
 */
export function openSqliteAuditStore(
  path?: string,
  options: { busyTimeoutMs?: number; readonly?: boolean } = {},
): AuditStore {
  const file = auditStorePath(path);
  let db: Database.Database;
  try {
    if (options.readonly === true) {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } else {
      if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
      const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('hitl_audit')").all();
      // A store written before entries carried facts gets the column (ALTER TABLE is not refused by the triggers).
      if (!columns.some((c) => c.name === 'facts')) db.exec('ALTER TABLE hitl_audit ADD COLUMN facts TEXT');
    }
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
  } catch (err) {
    throw new ConfigError(`cannot open the audit store ${file}: ${(err as Error).message}`, { cause: err });
  }
  const existing = db.prepare<[string, string, number], string>(
    'SELECT hash FROM hitl_audit WHERE workflow_id = ? AND run_id = ? AND seq = ?',
  );
  existing.pluck();
  const insert = db.prepare<unknown[]>(
    `INSERT INTO hitl_audit (${AUDIT_COLUMN_LIST}, stored_at) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')}, ?)`,
  );
  const byWorkflow = db.prepare<[string], AuditRow>(
    `SELECT ${AUDIT_COLUMN_LIST} FROM hitl_audit WHERE workflow_id = ? ORDER BY seq, rowid`,
  );
  const ids = db.prepare<[], string>('SELECT workflow_id FROM hitl_audit GROUP BY workflow_id ORDER BY MIN(rowid)');
  ids.pluck();
  const since = db.prepare<[string], AuditRow>(
    `SELECT ${AUDIT_COLUMN_LIST} FROM hitl_audit WHERE at >= ? ORDER BY at, rowid`,
  );
  const write = db.transaction((records: readonly AuditRecord[]): StoredAudit => {
    let stored = 0;
    let present = 0;
    const now = new Date().toISOString();
    for (const r of records) {
      refuseMismatchedHash(r);
      const had = existing.get(r.workflowId, r.runId, r.seq);
      if (had !== undefined) {
        if (had !== r.hash) throw auditConflict(r, had);
        present += 1;
        continue;
      }
      const row = toRow(r);
      insert.run(...AUDIT_COLUMNS.map((c) => row[c]), now);
      stored += 1;
    }
    return { stored, present };
  });
  return {
    location: file,
    // A promise that rejects (not a throw) when the write is refused, as callers of an async store expect.
    append: (records) => new Promise((resolve) => resolve(write(records))),
    records: (workflowId) => Promise.resolve(byWorkflow.all(workflowId).map(fromRow)),
    workflowIds: () => Promise.resolve(ids.all()),
    recordsSince: (from) => Promise.resolve(since.all(from ?? '').map(fromRow)),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}
