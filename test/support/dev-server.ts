import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { repoRoot, temporalCliPath, waitFor } from './env';

/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * A dev server of its own, started with the project's `scripts/server.sh` on a SQLite file, so a test can kill it and
 * start it again on the same file and port (the shared test server keeps its data in memory).
 */
export class OwnDevServer {
  readonly address: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;

  private constructor(port: number, args: string[]) {
    this.address = `127.0.0.1:${port}`;
    this.#args = args;
  }

  /**
   * Picks free ports and starts the server on `dbFile`.
   * @param dbFile - the server's SQLite file; kept across restarts
   */
  static async start(dbFile: string): Promise<OwnDevServer> {
    const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const args = [
      ...['--port', String(port), '--http-port', String(httpPort), '--metrics-port', String(metricsPort)],
      ...['--db-filename', dbFile, '--headless'],
    ];
    const server = new OwnDevServer(port, args);
    await server.restart();
    return server;
  }

  /** Starts the server (again) and waits until it answers. */
  async restart(): Promise<void> {
    this.#child = spawn('bash', [join(repoRoot, 'scripts/server.sh'), ...this.#args], {
      stdio: 'ignore',
      env: { ...process.env, TEMPORAL_CLI: temporalCliPath() },
    });
    await waitFor(
      async () => {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 500 });
        try {
          await connection.workflowService.getSystemInfo({});
          return true;
        } finally {
          await connection.close();
        }
      },
      `the dev server on ${this.address}`,
      60_000,
    );
  }

  /** Kills the server at once (SIGKILL: no shutdown, as in a crash) and waits until the process is gone. */
  async crash(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.#child = undefined;
  }
}
