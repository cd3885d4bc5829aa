import { openPostgresAuditStore, type PostgresAuditStoreOptions } from './postgres-store';
import { isPostgresUrl, refuseSchemeTypo } from './postgres-url';
import { AUDIT_DB_ENV, DEFAULT_AUDIT_DB_PATH, openSqliteAuditStore, type AuditStore } from './sqlite-store';

/** Where the audit store is: a SQLite file or a PostgreSQL URL, and where that was said. */
export interface AuditStoreLocation {
  /** The file path or the connection string (with its password: never print it, print the store's `location`). */
  value: string;
  /** Where it came from, for messages: the caller's name for the argument, `HITL_AUDIT_DB`, or `default`. */
  source: string;
  /** Whether it is a PostgreSQL URL. */
  postgres: boolean;
}

/**
 * Resolves the audit store's location: the argument, else `HITL_AUDIT_DB`, else the SQLite file
 * `.data/audit.sqlite`. A value that starts with `postgres://` or `postgresql://` is a PostgreSQL URL; anything else
 * is a SQLite file path.
 * @param location - an explicit location (a `--db` flag, an option)
 * @param source - what to call the explicit location in messages (default "the audit store location")
 * @param env - the environment to read (default `process.env`)
 * @returns the location and where it came from
 */
export function auditStoreLocation(
  location?: string,
  source = 'the audit store location',
  env: NodeJS.ProcessEnv = process.env,
): AuditStoreLocation {
  const fromEnv = env[AUDIT_DB_ENV];
  const [value, from] =
    location !== undefined
      ? [location, source]
      : fromEnv !== undefined && fromEnv.trim() !== ''
        ? [fromEnv, AUDIT_DB_ENV]
        : [DEFAULT_AUDIT_DB_PATH, 'default'];
  return { value, source: from, postgres: isPostgresUrl(value) };
}

/** Options of {@link openAuditStore}. */
export interface OpenAuditStoreOptions extends Pick<PostgresAuditStoreOptions, 'createSchema' | 'connectTimeoutMs'> {
  /** What to call the explicit location in messages, e.g. `--db`. */
  source?: string;
}

/**
 * Opens the audit store named by the argument, else `HITL_AUDIT_DB`, else `.data/audit.sqlite`: PostgreSQL for a
 * `postgres://` or `postgresql://` URL (connecting on first use, so a store that is down does not stop a worker
 * from starting), else a SQLite file (opened and created now).
 * @param location - an explicit location (see {@link auditStoreLocation})
 * @param options - see {@link OpenAuditStoreOptions}
 * @returns the store; its `location` never shows a password
 * @throws ConfigError naming what is wrong when the URL is malformed (its password masked), when a value names
 *   PostgreSQL without `//`, or when the SQLite file cannot be opened or created
 * @example
 * const store = openAuditStore(process.env.HITL_AUDIT_DB); // e.g. postgres://hitl_writer:…@db:5432/hitl
 */
export function openAuditStore(location?: string, options: OpenAuditStoreOptions = {}): AuditStore {
  const where = auditStoreLocation(location, options.source);
  if (where.postgres) {
    return openPostgresAuditStore(where.value, {
      source: where.source,
      ...(options.createSchema !== undefined ? { createSchema: options.createSchema } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
  }
  refuseSchemeTypo(where.value, where.source);
  return openSqliteAuditStore(where.value);
}
