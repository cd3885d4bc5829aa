import { escapeIdentifier, type Pool } from 'pg';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { formatZodError } from '../../shared/zod-format';
import { logger } from '../logger';

/** The audit table, in the connection's current schema (`public` unless `search_path` says otherwise). */
export const POSTGRES_AUDIT_TABLE = 'hitl_audit';

/** The triggers that keep the table append-only. */
export const POSTGRES_AUDIT_TRIGGERS = ['hitl_audit_no_update', 'hitl_audit_no_delete', 'hitl_audit_no_truncate'];

// The columns and key are the SQLite store's, plus `arrival` (the order rows came in, as SQLite's rowid). `at` sorts
// byte by byte (COLLATE "C"), as SQLite compares text, whatever the database's locale. The triggers are per
// statement, so even an UPDATE or DELETE that matches no row is refused. CREATE OR REPLACE TRIGGER needs
// PostgreSQL 14 or later.
const TABLE_SQL = `
CREATE TABLE IF NOT EXISTS hitl_audit (
  workflow_id    text        NOT NULL,
  run_id         text        NOT NULL,
  seq            integer     NOT NULL,
  at             text        COLLATE "C" NOT NULL,
  kind           text        NOT NULL,
  actor          text        NOT NULL,
  request_id     text,
  tool           text,
  args_hash      text,
  detail         text        NOT NULL,
  policy_version text,
  policy_sha256  text,
  prev_hash      text        NOT NULL,
  hash           text        NOT NULL,
  facts          text,
  stored_at      timestamptz NOT NULL DEFAULT now(),
  arrival        bigint      GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME hitl_audit_arrival_seq),
  PRIMARY KEY (workflow_id, run_id, seq)
);
CREATE INDEX IF NOT EXISTS hitl_audit_at ON hitl_audit (at, arrival);
CREATE OR REPLACE FUNCTION hitl_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'hitl_audit is append-only: % refused', TG_OP;
END
$$;
CREATE OR REPLACE TRIGGER hitl_audit_no_update BEFORE UPDATE ON hitl_audit
  FOR EACH STATEMENT EXECUTE FUNCTION hitl_audit_refuse_change();
CREATE OR REPLACE TRIGGER hitl_audit_no_delete BEFORE DELETE ON hitl_audit
  FOR EACH STATEMENT EXECUTE FUNCTION hitl_audit_refuse_change();
CREATE OR REPLACE TRIGGER hitl_audit_no_truncate BEFORE TRUNCATE ON hitl_audit
  FOR EACH STATEMENT EXECUTE FUNCTION hitl_audit_refuse_change();
`.trim();

/** A role name as PostgreSQL stores it (unquoted names are folded to lower case when the role is created). */
const RoleName = z
  .string()
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'a role name: letters, digits, _ and $, not starting with a digit');

/**
 * The SQL an administrator runs once, as the role that is to own the audit table, before workers connect as a
 * limited role: the table, its index, the append-only triggers, and (with `writerRole`) the grants that let that role
 * INSERT and SELECT and nothing else (no UPDATE, DELETE, TRUNCATE or schema changes). One transaction; safe to run
 * again. The writer role must exist already (`CREATE ROLE hitl_writer LOGIN PASSWORD '…'`).
 * @param writerRole - the role workers connect as; without it, only the table and its triggers
 * @returns SQL text for `psql -v ON_ERROR_STOP=1 -f -`
 * @throws ConfigError when `writerRole` is not a plain role name
 */
export function postgresAuditSchemaSql(writerRole?: string): string {
  const lines = [
    '-- The hitl audit store (see docs/operations.md, "The audit store").',
    'BEGIN;',
    TABLE_SQL,
    'REVOKE ALL ON TABLE hitl_audit FROM PUBLIC;',
  ];
  if (writerRole !== undefined) {
    const parsed = RoleName.safeParse(writerRole);
    if (!parsed.success) throw new ConfigError(`bad writer role "${writerRole}": ${formatZodError(parsed.error)}`);
    const role = escapeIdentifier(parsed.data);
    lines.push(
      `REVOKE ALL ON TABLE hitl_audit FROM ${role};`,
      `GRANT SELECT, INSERT ON TABLE hitl_audit TO ${role};`,
      // An identity column draws its values without this grant; it is here so a copy of the table with a bigserial
      // column works for the writer too.
      `GRANT USAGE ON SEQUENCE hitl_audit_arrival_seq TO ${role};`,
    );
  }
  lines.push('COMMIT;', '');
  return lines.join('\n');
}

interface SchemaState {
  present: boolean;
  owner: boolean;
  may_create: boolean;
  triggers: number;
}

const STATE_SQL = `
SELECT c.oid IS NOT NULL AS present,
       coalesce(pg_has_role(c.relowner, 'USAGE'), false) AS owner,
       coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) AS may_create,
       (SELECT count(*)::int FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = ANY($1::text[])) AS triggers
FROM (SELECT to_regclass('hitl_audit') AS oid) AS r
LEFT JOIN pg_class AS c ON c.oid = r.oid`;

/**
 * Makes sure the audit table is there. With `create`, a role that owns the table (or, when there is none, may
 * create tables in the schema) creates what is missing: the table, its index and its triggers. A limited role (the
 * writer of {@link postgresAuditSchemaSql}) changes nothing and uses the table as it finds it.
 * @param pool - connections to the store
 * @param create - whether to create what is missing when the role may
 * @param location - the store, password masked, for messages
 * @throws ConfigError when there is no table and this role may not (or must not) create it; errors of the
 *   connection as they come
 */
export async function ensurePostgresSchema(pool: Pool, create: boolean, location: string): Promise<void> {
  const { rows } = await pool.query<SchemaState>(STATE_SQL, [POSTGRES_AUDIT_TRIGGERS]);
  const state = rows[0];
  if (state === undefined) throw new Error('the schema query returned no row');
  if (state.present && state.triggers === POSTGRES_AUDIT_TRIGGERS.length) return;
  if (create && (state.present ? state.owner : state.may_create)) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // Workers that start together would otherwise race to create the same table.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [POSTGRES_AUDIT_TABLE]);
      await client.query(TABLE_SQL);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
    return;
  }
  if (!state.present) {
    const why = create ? 'this role may not create it' : 'creating it is switched off';
    throw new ConfigError(
      `the audit store ${location} has no table ${POSTGRES_AUDIT_TABLE} and ${why}: run the SQL of ` +
        '`hitl audit postgres-schema --writer ROLE` as its owner (docs/operations.md, "The audit store")',
    );
  }
  logger.warn(
    { store: location, triggers: state.triggers },
    `${POSTGRES_AUDIT_TABLE} lacks some of its append-only triggers and this role may not add them`,
  );
}
