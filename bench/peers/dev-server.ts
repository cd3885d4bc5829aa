// A Temporal dev server of the benchmark's own, on free ports and a SQLite file, started with the project's
// scripts/server.sh (so with its WAL pragmas and search attributes). Unlike the tests' helper it exposes the server's
// pid, for its memory, and stops it gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../test/support/dev-server';
import { repoRoot, temporalCliPath, waitFor } from '../../test/support/env';

/** A running dev server and a client connected to it. */
export interface BenchServer {
  /** gRPC address, `host:port`. */
  address: string;
  /** The server's pid (server.sh execs the CLI, so the script's pid is the server's). */
  pid: number;
  client: Client;
  /** Closes the client, sends SIGTERM and waits until the server has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `scripts/server.sh --db-filename <dbFile> --headless` on free ports and waits until it answers.
 * @param dbFile - the server's SQLite file
 * @param extraArgs - more arguments for the server (they win over server.sh's defaults, e.g. a dynamic config value)
 * @returns the server, with a connected client
 * @throws Error when it does not answer within a minute
 */
export async function startBenchServer(dbFile: string, extraArgs: readonly string[] = []): Promise<BenchServer> {
  const [port, httpPort, metricsPort, uiPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const args = [
    ...['--port', String(port), '--http-port', String(httpPort), '--metrics-port', String(metricsPort)],
    ...['--ui-port', String(uiPort), '--db-filename', dbFile, '--headless'],
    ...extraArgs,
  ];
  const child: ChildProcess = spawn('bash', [join(repoRoot, 'scripts/server.sh'), ...args], {
    stdio: 'ignore',
    env: { ...process.env, TEMPORAL_CLI: temporalCliPath() },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the dev server');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  const connection = await waitFor(
    async () => {
      const c = await Connection.connect({ address, connectTimeout: 500 });
      try {
        await c.workflowService.getSystemInfo({});
        return c;
      } catch (err) {
        await c.close();
        throw err;
      }
    },
    `the dev server on ${address}`,
    60_000,
  );
  return {
    address,
    pid,
    client: new Client({ connection }),
    async stop() {
      await connection.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
