import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot, sharedEnv, tempDir } from './env';

/** Where and how a {@link WorkerProcess} runs. */
export interface WorkerProcessOptions {
  /** gRPC address of the Temporal server, `host:port`. */
  address: string;
  taskQueue: string;
  /** An existing billing database file (e.g. from `generateBillingDb`). */
  billingDbPath: string;
  /** The workflow bundle's code file, from {@link writeSharedBundle}. */
  bundlePath: string;
  /** Extra environment for the child: model endpoint, fault injection… */
  env?: Record<string, string>;
}

let bundleFile: Promise<string> | undefined;

/**
 * Writes the shared workflow bundle (bundled once per test process by `sharedEnv`) to a temp file, once, so worker
 * processes start from it without bundling again.
 * @returns the file's path
 */
export function writeSharedBundle(): Promise<string> {
  bundleFile ??= (async () => {
    const { bundle } = await sharedEnv();
    const path = join(tempDir('hitl-bundle-'), 'workflows.js');
    writeFileSync(path, bundle.code);
    return path;
  })();
  return bundleFile;
}

/**
 * A worker in a child process (`test/chaos/worker-child.ts`) that a test can SIGKILL and start again. Its stdout and
 * stderr go to a log file in a temp directory ({@link WorkerProcess.logPath}) for post-mortems.
 */
export class WorkerProcess {
  readonly logPath: string;
  readonly #options: WorkerProcessOptions;
  readonly #transcriptDb: string;
  #child: ChildProcess | undefined;
  #starts = 0;
  #unexpectedExits = 0;

  constructor(options: WorkerProcessOptions) {
    this.#options = options;
    const dir = tempDir('hitl-worker-');
    this.logPath = join(dir, 'worker.log');
    this.#transcriptDb = join(dir, 'transcripts.sqlite');
  }

  /** Times the process was started. */
  get starts(): number {
    return this.#starts;
  }

  /** Times it exited without being killed by {@link WorkerProcess.kill} or {@link WorkerProcess.stop}. */
  get unexpectedExits(): number {
    return this.#unexpectedExits;
  }

  /** The running child's process id (undefined when none runs): a worker's default identity is `pid@host`. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** Whether a child is running. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Starts the child and waits until it prints `ready` (the worker exists and is about to poll).
   * @param timeoutMs - give up after this long
   * @throws Error when the child exits first or does not get ready in time (the message names the log file)
   */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error('the worker process is already running');
    const o = this.#options;
    const log = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/chaos/worker-child.ts')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', log],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: o.address,
        HITL_TASK_QUEUE: o.taskQueue,
        HITL_BILLING_DB: o.billingDbPath,
        HITL_CHAOS_BUNDLE: o.bundlePath,
        HITL_TRANSCRIPT_DB: this.#transcriptDb,
        // The audit store beside it: every process of a test writes one store, and nothing lands in .data/.
        HITL_AUDIT_DB: join(dirname(this.#transcriptDb), 'audit.sqlite'),
        HITL_LOG_LEVEL: 'warn',
        ...o.env,
      },
    });
    closeSync(log);
    this.#child = child;
    this.#starts += 1;
    child.once('exit', () => {
      if (this.#child === child) {
        this.#unexpectedExits += 1;
        this.#child = undefined;
      }
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`worker process not ready after ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null, signal: string | null) =>
        fail(new Error(`worker process exited before it was ready (code ${code}, signal ${signal})`));
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        reject(new Error(`${err.message}; see ${this.logPath}`));
      };
      child.once('exit', onExit);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      });
    });
  }

  /** SIGKILLs the child (no shutdown, as in a crash) and waits until it is gone. */
  async kill(): Promise<void> {
    await this.#end('SIGKILL');
  }

  /**
   * SIGTERMs the child (a graceful shutdown: no new tasks, in-flight activities get their grace period) and waits
   * until it has exited.
   * @returns its exit code (null if a signal ended it after all) and the time it took to exit, in ms
   */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new Error('the worker process is not running');
    }
    this.#child = undefined;
    const started = Date.now();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    return { ...(await exited), ms: Date.now() - started };
  }

  /** Ends the child at the end of a test; a crash is as good as a shutdown here. */
  async stop(): Promise<void> {
    await this.#end('SIGKILL');
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}
