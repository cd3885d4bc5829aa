// The parent's side of bench/peers/worker-process.ts: bundle the workflows once to a file, start worker processes
// from it, wait until they are ready.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { tempDir } from '../../test/support/env';
import { workflowBundleOptions } from '../../worker';
import { spawnTsx, type LineChild } from './common';

const noop = (): void => undefined;
const quietLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: (message: string) => process.stderr.write(`bundler: ${message}\n`),
  log: noop,
};

/**
 * Bundles the workflows once and writes the code to a temp file, so each worker process starts without bundling.
 * @returns the file's path
 */
export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions,
    logger: quietLogger,
  });
  const path = join(tempDir('hitl-bench-bundle-'), 'workflows.js');
  writeFileSync(path, code);
  return path;
}

/** Where a worker process runs. */
export interface WorkerProcessOptions {
  address: string;
  taskQueue: string;
  billingDbPath: string;
  bundlePath: string;
  /** A tool whose first attempt is held after its commit (see worker-process.ts). */
  holdAfterCommit?: string;
  /** `NODE_OPTIONS` for the worker process (e.g. `--max-old-space-size=512`); default: the environment's. */
  nodeOptions?: string;
}

/**
 * Starts bench/peers/worker-process.ts and waits until it prints `ready`.
 * @param options - see {@link WorkerProcessOptions}
 * @returns the running child
 * @throws Error when the child exits first or is not ready within a minute
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<LineChild> {
  const proc = spawnTsx('bench/peers/worker-process.ts', [], {
    TEMPORAL_ADDRESS: options.address,
    HITL_TASK_QUEUE: options.taskQueue,
    HITL_BILLING_DB: options.billingDbPath,
    BENCH_WORKFLOW_BUNDLE: options.bundlePath,
    BENCH_HOLD_AFTER_COMMIT: options.holdAfterCommit ?? '',
    // Where a worker keeps runs' conversations, if it keeps them in a transcript store: beside the billing database,
    // so every worker process of one benchmark (a restart included) finds them, and nothing lands in .data/.
    HITL_TRANSCRIPT_DB: join(dirname(options.billingDbPath), 'transcripts.sqlite'),
    HITL_AUDIT_DB: join(dirname(options.billingDbPath), 'audit.sqlite'),
    ...(options.nodeOptions !== undefined ? { NODE_OPTIONS: options.nodeOptions } : {}),
  });
  await proc.waitForLine((line) => line === 'ready', 'ready');
  return proc;
}
