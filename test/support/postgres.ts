import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './dev-server';

const exec = promisify(execFile);

/** Where Debian and Ubuntu install PostgreSQL's server binaries, one folder per major version. */
const PG_ROOT = '/usr/lib/postgresql';

/** A PostgreSQL server of the test run: superuser `postgres` with a password, on 127.0.0.1. */
export interface PostgresServer {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** The folder of `initdb`, `pg_ctl` and `postgres`. */
  binDir: string;
  /** The superuser's password. */
  superuserPassword: string;
  /** A connection URL; the superuser on database `postgres` unless told otherwise. */
  url(options?: { user?: string; password?: string; database?: string }): string;
  /**
   * Creates a database of its own (a test's, or a Temporal server's).
   * @param owner - its owner (default the superuser)
   * @returns its name
   */
  createDatabase(owner?: string): Promise<string>;
}

/**
 * The folder of PostgreSQL's server binaries: `HITL_PG_BIN`, else the newest `/usr/lib/postgresql/N/bin` that holds
 * `postgres`.
 * @throws Error saying how to install PostgreSQL when there is none
 */
export function postgresBinDir(): string {
  const fromEnv = process.env['HITL_PG_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `PostgreSQL is not installed: no ${PG_ROOT}/*/bin/postgres. The PostgreSQL audit store tests start a real ` +
        'server. Install it with `sudo apt-get install -y postgresql` (Debian, Ubuntu; .ci/run does this), or set ' +
        'HITL_PG_BIN to a folder holding initdb, pg_ctl and postgres.',
    );
  }
  return join(PG_ROOT, newest, 'bin');
}

/** PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/** Runs a PostgreSQL tool (as the server's user) in `cwd`; rejects with its output on failure. */
async function tool(command: string, args: string[], cwd: string): Promise<void> {
  const [file, argv] = asServerUser(command, args);
  try {
    await exec(file, argv, { cwd });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Running extends PostgresServer {
  dir: string;
  stop(): Promise<void>;
}

let shared: Promise<Running> | undefined;

/**
 * Starts (once per test process) a throwaway PostgreSQL server: `initdb` into a fresh temp folder (owned by the
 * `postgres` user when the tests run as root), `pg_ctl start` on a free port of 127.0.0.1 with its socket in that
 * folder, password authentication over TCP. {@link stopSharedPostgres} stops it and removes the folder; a process
 * that exits without calling it stops the server on its way out.
 * @returns the server
 * @throws Error when PostgreSQL is not installed (saying how to install it) or does not start (with its log)
 */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= start();
  return shared;
}

/** Stops the server of {@link sharedPostgres} if it was started, and removes its folder. */
export async function stopSharedPostgres(): Promise<void> {
  if (shared === undefined) return;
  const server = shared;
  shared = undefined;
  await (await server.catch(() => undefined))?.stop();
}

async function start(): Promise<Running> {
  const binDir = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'hitl-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'pwfile'), uid, gid);
  }
  const pgCtl = join(binDir, 'pg_ctl');
  const stopNow = (): void => {
    const [file, argv] = asServerUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    try {
      execFileSync(file, argv, { cwd: dir, stdio: 'ignore' });
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await tool(
      join(binDir, 'initdb'),
      [
        ...['-D', data, '-U', 'postgres', `--pwfile=${join(dir, 'pwfile')}`, '-A', 'scram-sha-256'],
        ...['-E', 'UTF8', '--locale=C', '--no-sync'],
      ],
      dir,
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // Durability settings off: the server lives as long as the test run.
  const serverOptions = ['-c listen_addresses=127.0.0.1', `-k ${dir}`, '-c fsync=off', '-c synchronous_commit=off'];
  let port = 0;
  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    try {
      await tool(
        pgCtl,
        ['-D', data, '-l', log, '-w', '-t', '60', '-o', [`-p ${port}`, ...serverOptions].join(' '), 'start'],
        dir,
      );
      break;
    } catch (err) {
      // Another process may have taken the port between freePort() and the server's bind.
      if (attempt < 3) continue;
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      stopNow();
      throw new Error(`${(err as Error).message}\nserver log:\n${tail}`);
    }
  }
  process.once('exit', stopNow);
  let databases = 0;
  const url = (o: { user?: string; password?: string; database?: string } = {}): string => {
    const user = encodeURIComponent(o.user ?? 'postgres');
    const secret = o.password ?? (o.user === undefined ? password : undefined);
    return `postgres://${user}${secret !== undefined ? `:${encodeURIComponent(secret)}` : ''}@127.0.0.1:${port}/${
      o.database ?? 'postgres'
    }`;
  };
  return {
    port,
    binDir,
    superuserPassword: password,
    dir,
    url,
    createDatabase: async (owner) => {
      databases += 1;
      const name = `hitl_test_${databases}_${randomBytes(3).toString('hex')}`;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(
          `CREATE DATABASE ${name}${owner !== undefined ? ` OWNER ${pg.escapeIdentifier(owner)}` : ''}`,
        );
      } finally {
        await client.end();
      }
      return name;
    },
    stop: async () => {
      process.removeListener('exit', stopNow);
      await tool(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop'], dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs SQL on a connection of its own and closes it.
 * @param url - where, as whom
 * @param text - the statement(s); with `params`, one statement
 * @returns the rows
 */
export async function runSql<R extends object = Record<string, unknown>>(
  url: string,
  text: string,
  params?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}
