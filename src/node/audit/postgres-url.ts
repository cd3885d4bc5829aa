import { ConfigError } from '../../shared/errors';

/** How a PostgreSQL connection string starts: `postgres://` or `postgresql://` (any case, as URL schemes are). */
const SCHEME = /^postgres(?:ql)?:\/\//i;

/** A scheme that names PostgreSQL but is not followed by `//`: a typo, not a file name. */
const SCHEME_ONLY = /^postgres(?:ql)?:(?!\/\/)/i;

/**
 * Whether an audit store location is a PostgreSQL connection string rather than a SQLite file path.
 * @param location - the `--db` value, `HITL_AUDIT_DB`, or a path
 * @returns true when it starts with `postgres://` or `postgresql://`
 */
export function isPostgresUrl(location: string): boolean {
  return SCHEME.test(location.trim());
}

/**
 * A connection string fit for messages: the password (in the user info, or a `password=` parameter) replaced by
 * `***`. Works on malformed strings too, since those end up in error messages.
 * @param url - a connection string
 * @returns the same string without its password
 */
export function maskPostgresUrl(url: string): string {
  const scheme = SCHEME.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length);
  // The user info ends at the last `@` before the path: a password with an unencoded `@` or `/` is masked whole.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const colon = rest.indexOf(':');
    if (colon >= 0 && colon < at) rest = `${rest.slice(0, colon + 1)}***${rest.slice(at)}`;
  } else {
    // No user info: `user:secret/db` would read as host `user` and port `secret`; mask a "port" that is not a number.
    const end = rest.search(/[/?#]/);
    const authority = end >= 0 ? rest.slice(0, end) : rest;
    const port = /:([^:\]]*)$/.exec(authority);
    if (port?.[1] !== undefined && !/^\d*$/.test(port[1])) {
      rest = `${authority.slice(0, port.index + 1)}***${rest.slice(authority.length)}`;
    }
  }
  return scheme + rest.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Checks a PostgreSQL connection string before any connection is tried, so a typo stops the worker at its start
 * instead of failing every audit write.
 * @param url - the connection string
 * @param source - where it came from, for the message (e.g. `HITL_AUDIT_DB`)
 * @returns the string, trimmed
 * @throws ConfigError naming what is wrong (the message shows the string with its password masked)
 */
export function checkPostgresUrl(url: string, source: string): string {
  const text = url.trim();
  const bad = (problem: string): ConfigError =>
    new ConfigError(`the audit store URL ${maskPostgresUrl(text)} (${source}) is malformed: ${problem}`);
  if (!SCHEME.test(text)) throw bad('it must start with postgres:// or postgresql://');
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw bad(
      'it does not parse as a URL (is the port a number from 1 to 65535, and are special characters in the user ' +
        'name and password percent-encoded?)',
    );
  }
  const parts: [string, string][] = [
    ['user name', parsed.username],
    ['password', parsed.password],
    ['database name', parsed.pathname.slice(1)],
  ];
  for (const [name, value] of parts) {
    try {
      decodeURIComponent(value);
    } catch {
      throw bad(`the ${name} has a broken percent-encoding`);
    }
  }
  if (parsed.pathname.slice(1).includes('/')) throw bad('the database name contains "/"');
  return text;
}

/**
 * The typo check for locations that are meant as files: `postgres:host/db` or `postgresql:/db` names PostgreSQL
 * but would otherwise be taken for a SQLite file of that name.
 * @param location - an audit store location that {@link isPostgresUrl} rejected
 * @param source - where it came from, for the message
 * @throws ConfigError when it starts with a PostgreSQL scheme without `//`
 */
export function refuseSchemeTypo(location: string, source: string): void {
  if (SCHEME_ONLY.test(location.trim())) checkPostgresUrl(location, source);
}
