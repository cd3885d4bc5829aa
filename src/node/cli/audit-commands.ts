import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { auditTrail } from '../client/index';
import { auditStoreLocation, openAuditStore, type AuditStoreLocation } from '../audit/open-store';
import { postgresAuditSchemaSql } from '../audit/postgres-schema';
import { refuseSchemeTypo } from '../audit/postgres-url';
import { openSqliteAuditStore, type AuditStore } from '../audit/sqlite-store';
import { verifyChain, type ChainReport } from '../audit/verify';
import type { AuditRecord } from '../../shared/audit/chain';
import type { AuditFacts } from '../../shared/run-state';
import { AuditChainBroken, AuditStoreUnavailable, ConfigError, InputError } from '../../shared/errors';
import { displayJson, escapeTerminal } from '../../shared/render/escape';
import { parseDuration } from './duration';
import { formatAudit } from './format';
import { note, print, withClient } from './io';

/** The columns `hitl audit export --format csv` writes, in order. */
export const EXPORT_COLUMNS = [
  'workflowId',
  'runId',
  'seq',
  'at',
  'kind',
  'actor',
  'requestId',
  'tool',
  'argsHash',
  'policyVersion',
  'policySha256',
  'gate',
  'rule',
  'decision',
  'signer',
  'groups',
  'detail',
  'prev',
  'hash',
] as const;

/** The export columns read from an entry's facts. */
const FACT_COLUMNS: Readonly<Record<string, true>> = {
  gate: true,
  rule: true,
  decision: true,
  signer: true,
  groups: true,
};

/**
 * Adds `hitl audit ID`, `hitl audit verify [ID|--all]`, `hitl audit export` and `hitl audit postgres-schema`.
 * @param program - the CLI's root command
 */
export function addAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description("print a run's audit trail (from the audit store; from Temporal while the store has none of it)")
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .option(
      '--db <file|url>',
      'the audit store: a SQLite file or a postgres:// URL (default: HITL_AUDIT_DB, else .data/audit.sqlite)',
    )
    .option('--from <source>', 'store or temporal (default: the store, else Temporal)')
    .action(async (workflowId: string, opts: { json?: boolean; db?: string; from?: string }, cmd: Command) => {
      if (opts.from !== undefined && opts.from !== 'store' && opts.from !== 'temporal') {
        throw new InputError(`--from takes store or temporal, not "${opts.from}"`);
      }
      if (opts.from !== 'temporal') {
        const records = await withStore(opts.db, opts.from === 'store', (store) => store.records(workflowId));
        if (records !== undefined && (records.length > 0 || opts.from === 'store')) {
          if (records.length === 0) throw new InputError(`the audit store has no entries for ${workflowId}`);
          print(opts.json === true ? displayJson(records, 2) : formatAudit(records));
          return;
        }
        if (opts.from === undefined) note('the audit store has none of this run yet: reading it from Temporal');
      }
      await withClient(cmd, async (client) => {
        const entries = await auditTrail(client, workflowId);
        print(opts.json === true ? displayJson(entries, 2) : formatAudit(entries));
      });
    });

  audit
    .command('verify')
    .description(
      "recompute runs' hash chains in the audit store and name the first entry altered, removed, inserted or reordered",
    )
    .argument('[workflowId]')
    .option('--all', 'every run in the store')
    .option('--json', 'print JSON')
    .action(async (workflowId: string | undefined, opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const { db } = cmd.optsWithGlobals<{ db?: string }>();
      if ((workflowId === undefined) === (opts.all !== true)) {
        throw new InputError('name one workflow id, or --all');
      }
      const reports = await withStore(db, true, async (store) => {
        const ids = workflowId !== undefined ? [workflowId] : await store.workflowIds();
        const out: ChainReport[] = [];
        for (const id of ids) out.push(verifyChain(id, await store.records(id)));
        return out;
      });
      const all = reports ?? [];
      print(opts.json === true ? displayJson(all, 2) : all.map(formatReport).join('\n'));
      const broken = all.filter((r) => r.broken !== undefined).length;
      if (broken > 0) throw new AuditChainBroken(`${broken} of ${all.length} chain(s) broken`);
      if (opts.json !== true) {
        note(`${all.length} chain(s) verified`);
      }
    });

  audit
    .command('postgres-schema')
    .description(
      'print the SQL an administrator runs once to create the PostgreSQL audit table, its append-only triggers and ' +
        "a writer role's grants (INSERT and SELECT only)",
    )
    .option('--writer <role>', 'the role workers connect as (it must exist)')
    .action((opts: { writer?: string }) => {
      process.stdout.write(postgresAuditSchemaSql(opts.writer));
    });

  audit
    .command('export')
    .description('every audit entry since a time, for a compliance review')
    .option('--since <when>', 'a duration back from now (30d, 12h) or an ISO-8601 time (default: everything)')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (opts: { since?: string; format: string; out?: string }, cmd: Command) => {
      const { db } = cmd.optsWithGlobals<{ db?: string }>();
      if (opts.format !== 'jsonl' && opts.format !== 'csv') {
        throw new InputError(`--format takes jsonl or csv, not "${opts.format}"`);
      }
      const since = opts.since !== undefined ? sinceTime(opts.since) : undefined;
      const records = (await withStore(db, true, (store) => store.recordsSince(since))) ?? [];
      const text = opts.format === 'csv' ? toCsv(records) : records.map((r) => `${JSON.stringify(r)}\n`).join('');
      if (opts.out !== undefined) {
        writeFileSync(opts.out, text);
        note(`${records.length} entries written to ${opts.out}`);
      } else {
        process.stdout.write(text);
      }
    });
}

/**
 * Opens the audit store read-only and runs `fn`.
 * @returns what `fn` returns; undefined when the store's file does not exist (or the PostgreSQL store cannot be
 *   read) and `required` is false
 * @throws InputError when the file does not exist and `required` is true; ConfigError or AuditStoreUnavailable when
 *   the PostgreSQL store cannot be read and `required` is true
 */
export async function withStore<T>(
  db: string | undefined,
  required: boolean,
  fn: (store: AuditStore) => Promise<T>,
): Promise<T | undefined> {
  const where = auditStoreLocation(db, '--db');
  if (where.postgres) return withPostgresStore(where, required, fn);
  refuseSchemeTypo(where.value, where.source);
  const file = where.value;
  if (!existsSync(file)) {
    if (required) throw new InputError(`no audit store at ${file} (set HITL_AUDIT_DB or --db)`);
    return undefined;
  }
  const store = openSqliteAuditStore(file, { readonly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * {@link withStore} for a PostgreSQL URL. The CLI never creates the table (it reads), and gives up on a connection
 * after 5 seconds.
 */
async function withPostgresStore<T>(
  where: AuditStoreLocation,
  required: boolean,
  fn: (store: AuditStore) => Promise<T>,
): Promise<T | undefined> {
  const store = openAuditStore(where.value, { source: where.source, createSchema: false, connectTimeoutMs: 5_000 });
  try {
    return await fn(store);
  } catch (err) {
    if (required || !(err instanceof AuditStoreUnavailable || err instanceof ConfigError)) throw err;
    note(`cannot read the audit store: ${err.message}`);
    return undefined;
  } finally {
    await store.close();
  }
}

/** `--since`: a duration back from now, or an ISO-8601 time. */
export function sinceTime(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = new Date(text);
    if (Number.isNaN(t.getTime())) throw new InputError(`"${text}" is not an ISO-8601 time`);
    return t.toISOString();
  }
  return new Date(Date.now() - parseDuration(text)).toISOString();
}

/**
 * CSV with a header row. A cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab
 * or a carriage return) gets a leading `'`, as OWASP's advice on CSV injection says.
 */
function toCsv(records: readonly AuditRecord[]): string {
  const rows = records.map((r) =>
    EXPORT_COLUMNS.map((c) => {
      const v = c in FACT_COLUMNS ? r.facts?.[c as keyof AuditFacts] : r[c as Exclude<typeof c, keyof AuditFacts>];
      const text = v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
      return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    }),
  );
  return stringify([[...EXPORT_COLUMNS], ...rows]);
}

function formatReport(r: ChainReport): string {
  const state =
    r.broken !== undefined
      ? `BROKEN at entry ${r.brokenAt}: ${r.broken}`
      : r.closed
        ? 'ok, closed'
        : 'ok, open (the run has not ended)';
  return escapeTerminal(`${r.workflowId}: ${r.records} entries, ${state}`);
}
