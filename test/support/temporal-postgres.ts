import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { freePort } from './dev-server';
import { repoRoot, temporalCliPath, tempDir, waitFor } from './env';
import { runSql, sharedPostgres } from './postgres';

const exec = promisify(execFile);

/** The Temporal server's services, each of which `temporal-server start --service NAME` can run alone. */
export type TemporalService = 'frontend' | 'history' | 'matching' | 'worker';

/** What a test's own Temporal server on PostgreSQL runs and how clients reach it. */
export interface PostgresTemporalOptions {
  /** The processes to start, each running these services (default: one process running all four). */
  processes?: TemporalService[][];
  /** The frontend's gRPC port (default: a free one), for a client profile written before the server starts. */
  frontendPort?: number;
  /** More variables for the server processes (TLS: TEMPORAL_TLS_*, see deploy/temporal/config.yaml). */
  env?: Record<string, string>;
  /**
   * How the registration script's `temporal` CLI and the readiness check reach the frontend: the environment
   * configuration variables (`TEMPORAL_CONFIG_FILE`, `TEMPORAL_PROFILE`…) for the CLI, connection options for the check.
   */
  client?: { env: Record<string, string>; connection: Omit<ConnectionOptions, 'address'> };
}

/** A running Temporal server on PostgreSQL that a test started for itself. */
export interface PostgresTemporal {
  /** The frontend's gRPC address, `127.0.0.1:port`. */
  address: string;
  /** The log file of each process, by the services it runs. */
  logs: string[];
  /** The process ids, in the order of the options' `processes`. */
  pids: number[];
  /** Stops every process (SIGTERM, then SIGKILL after 20 s) and waits until they are gone. */
  stop(): Promise<void>;
}

/**
 * Free ports below 32768: the cluster_membership table keeps a service's membership port in a SMALLINT, so the
 * kernel's ephemeral ports (above 32767) make the server fail at its start.
 * @param count - how many
 */
async function lowPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!ports.has(port) && (await canListen(port))) ports.add(port);
  }
  return [...ports];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The Temporal server binary (`TEMPORAL_SERVER`, else built and cached by scripts/temporal-server.sh). */
export function temporalServerPath(tool: 'server' | 'sql-tool' = 'server'): string {
  const fromEnv = process.env[tool === 'server' ? 'TEMPORAL_SERVER' : 'TEMPORAL_SQL_TOOL'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return execFileSync('bash', [join(repoRoot, 'scripts/temporal-server.sh'), tool], { encoding: 'utf8' }).trim();
}

/**
 * Starts a Temporal server on PostgreSQL as `npm run server:postgres` does, with the repository's config file, schema
 * script and registration script, but on the test run's throwaway PostgreSQL ({@link sharedPostgres}, two databases
 * of its own) and free ports, in one or several processes.
 * @param options - see {@link PostgresTemporalOptions}
 * @returns the server, once the namespace `default` and the search attributes are registered
 * @throws Error with the end of the logs when the schema set-up, a process or the registration fails
 */
export async function startPostgresTemporal(options: PostgresTemporalOptions = {}): Promise<PostgresTemporal> {
  const pg = await sharedPostgres();
  const suffix = randomBytes(4).toString('hex');
  const dbEnv = {
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(pg.port),
    POSTGRES_USER: 'postgres',
    DBNAME: `temporal_${suffix}`,
    VISIBILITY_DBNAME: `temporal_visibility_${suffix}`,
  };
  const gomodcache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  try {
    await exec('sh', [join(repoRoot, 'deploy/temporal/setup-schema.sh')], {
      env: {
        ...process.env,
        ...dbEnv,
        SQL_PASSWORD: pg.superuserPassword,
        SQL_TOOL: temporalServerPath('sql-tool'),
        SCHEMA_ROOT: join(gomodcache, 'go.temporal.io/server@v1.31.2/schema/postgresql/v12'),
      },
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`schema set-up failed: ${e.message}\n${(e.stderr ?? '').slice(-3000)}`);
  }

  const [http, history, matching, worker] = await Promise.all(Array.from({ length: 4 }, () => freePort()));
  const frontend = options.frontendPort ?? (await freePort());
  const membership = await lowPorts(4);
  const serverEnv = {
    ...dbEnv,
    POSTGRES_PWD: pg.superuserPassword,
    FRONTEND_GRPC_PORT: String(frontend),
    FRONTEND_HTTP_PORT: String(http),
    HISTORY_GRPC_PORT: String(history),
    MATCHING_GRPC_PORT: String(matching),
    WORKER_GRPC_PORT: String(worker),
    FRONTEND_MEMBERSHIP_PORT: String(membership[0]),
    HISTORY_MEMBERSHIP_PORT: String(membership[1]),
    MATCHING_MEMBERSHIP_PORT: String(membership[2]),
    WORKER_MEMBERSHIP_PORT: String(membership[3]),
    LOG_LEVEL: process.env['HITL_TEST_LOG'] === 'warn' ? 'warn' : 'error',
    ...options.env,
  };
  const address = `127.0.0.1:${frontend}`;
  const dir = tempDir('hitl-temporal-pg-');
  const server = temporalServerPath();
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const groups = options.processes ?? [['frontend', 'history', 'matching', 'worker']];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await gone;
        clearTimeout(killer);
      }),
    );
  };
  const spawnGroup = (services: TemporalService[]): void => {
    const logFile = join(dir, `${services.join('+')}.log`);
    const fd = openSync(logFile, 'a');
    children.push(
      spawn(
        server,
        [
          ...['--config-file', 'deploy/temporal/config.yaml', '--allow-no-auth', 'start'],
          ...services.flatMap((s) => ['--service', s]),
        ],
        { cwd: repoRoot, stdio: ['ignore', fd, fd], env: { ...process.env, ...serverEnv } },
      ),
    );
    closeSync(fd);
    logs.push(logFile);
  };
  const [first, ...rest] = groups;
  if (first !== undefined) spawnGroup(first);
  if (rest.length > 0) {
    // The first process to start on a fresh database writes the cluster's metadata; processes that start at the same
    // moment race it, and the losers exit ("SaveClusterMetadata encountered version mismatch"). Start the others
    // once the row is there, as an operator would (or as restarts on failure end up doing).
    const metadata = await waitFor(
      async () => {
        if (children[0]?.exitCode !== null) return 'exited';
        const rows = await runSql(
          pg.url({ database: dbEnv.DBNAME }),
          'SELECT 1 FROM cluster_metadata_info LIMIT 1',
        ).catch(() => []);
        return rows.length > 0 ? 'written' : undefined;
      },
      'the first server process to write the cluster metadata',
      60_000,
    );
    if (metadata !== 'written') {
      await stop();
      throw new Error(`the first server process exited; see ${logs[0] ?? ''}`);
    }
    for (const services of rest) spawnGroup(services);
  }
  const tails = (): string =>
    logs.map((file) => `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
  try {
    const up = await waitFor(
      async () => {
        const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
        if (dead !== undefined) return `a server process exited (code ${dead.exitCode})`;
        const connection = await Connection.connect({
          address,
          connectTimeout: 1_000,
          ...options.client?.connection,
        });
        try {
          await connection.workflowService.getSystemInfo({});
          return 'up';
        } finally {
          await connection.close();
        }
      },
      `the Temporal frontend on ${address}`,
      90_000,
    );
    if (up !== 'up') throw new Error(up);
    await exec('sh', [join(repoRoot, 'deploy/temporal/register.sh')], {
      env: { ...process.env, TEMPORAL_CLI: temporalCliPath(), TEMPORAL_ADDRESS: address, ...options.client?.env },
    });
  } catch (err) {
    await stop();
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${tails()}`);
  }
  return { address, logs, pids: children.map((c) => c.pid ?? -1), stop };
}
