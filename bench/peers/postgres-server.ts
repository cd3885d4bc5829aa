// A Temporal server on PostgreSQL for a benchmark: the tests' startPostgresTemporal (the repository's config file,
// schema script, registration script and production dynamic config, two fresh databases on the test run's throwaway
// PostgreSQL), wrapped as a BenchServer so a benchmark can swap it for the dev server. It also names PostgreSQL's
// processes, whose CPU belongs to the server's side of the bill.
import { readdirSync, readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { sharedPostgres } from '../../test/support/postgres';
import { startPostgresTemporal } from '../../test/support/temporal-postgres';
import { procStatFields } from './common';
import type { BenchServer } from './dev-server';

/** A BenchServer on PostgreSQL: `pid` is the Temporal server's process, `databasePids` PostgreSQL's. */
export interface BenchPostgresServer extends BenchServer {
  /** PostgreSQL's processes now (its postmaster and every backend and helper under it); they come and go. */
  databasePids(): number[];
}

/** Process ids with their parent ids, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), Number(procStatFields(`/proc/${name}/stat`)[1]));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/**
 * The postmaster listening on a port: the process whose command line is PostgreSQL's server with `-p PORT`.
 * @throws Error when there is none
 */
function postmasterPid(port: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const portAt = argv.indexOf('-p');
    if (argv[0]?.endsWith('/postgres') === true && portAt > 0 && argv[portAt + 1] === String(port)) return Number(name);
  }
  throw new Error(`no PostgreSQL postmaster with -p ${port} in /proc`);
}

/**
 * Starts a Temporal server on PostgreSQL (all four services in one process) and connects a client to it.
 * @returns the server; `stop()` stops Temporal (PostgreSQL stays for the next size: `stopSharedPostgres` ends it)
 * @throws Error when PostgreSQL is not installed, the Temporal server cannot be built, or either does not start
 */
export async function startBenchPostgresServer(): Promise<BenchPostgresServer> {
  const temporal = await startPostgresTemporal();
  const pg = await sharedPostgres();
  const postmaster = postmasterPid(pg.port);
  const connection = await Connection.connect({ address: temporal.address });
  const pid = temporal.pids[0];
  if (pid === undefined) throw new Error('the Temporal server on PostgreSQL reported no process');
  return {
    address: temporal.address,
    pid,
    client: new Client({ connection }),
    databasePids() {
      const byParent = parents();
      return [postmaster, ...[...byParent].filter(([, ppid]) => ppid === postmaster).map(([child]) => child)];
    },
    async stop() {
      await connection.close();
      await temporal.stop();
    },
  };
}
