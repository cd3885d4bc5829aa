import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  type WorkflowBundle,
} from '@temporalio/worker';
import { customSearchAttributes } from '../../src/shared/messages';
import { workflowBundleOptions } from '../../worker';

/** What every integration test shares: one Temporal server and one workflow bundle per test run. */
export interface SharedEnv {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
  /** Absolute path of the Temporal CLI binary (the dev server runs from it; tests run its commands). */
  cliPath: string;
  /** gRPC address of the server, `host:port`. */
  address: string;
}

/**
 * The variable that points the shared environment at a running server instead of a dev server of its own (e.g.
 * `npm run server:postgres`'s, as `npm run test:postgres` does). That server must have the namespace `default` and
 * the project's search attributes.
 */
export const EXTERNAL_SERVER_ENV = 'HITL_TEST_TEMPORAL_ADDRESS';

/** The external server's address when {@link EXTERNAL_SERVER_ENV} names one. */
export function externalServerAddress(): string | undefined {
  const value = process.env[EXTERNAL_SERVER_ENV]?.trim();
  return value !== undefined && value !== '' ? value : undefined;
}

let shared: Promise<SharedEnv> | undefined;

/**
 * Dynamic config the test server starts with, as `scripts/server.sh` does (see the reasons there): the history queue
 * readers of the one-shard dev server may poll 1000 times a second instead of 20, and an activity scheduled by a
 * workflow task may start on the worker that completed the task (eager activity execution).
 */
export const DEV_SERVER_TUNING = [
  ...['transfer', 'timer', 'visibility'].map((queue) => `history.${queue}ProcessorMaxPollRPS=1000`),
  'system.enableActivityEagerExecution=true',
].flatMap((value) => ['--dynamic-config-value', value]);

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The Temporal CLI binary, from `$TEMPORAL_CLI` or the project's install script (which caches it). */
export function temporalCliPath(): string {
  const fromEnv = process.env['TEMPORAL_CLI'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return execFileSync('bash', [join(repoRoot, 'scripts/temporal-cli.sh')], { encoding: 'utf8' }).trim();
}

/**
 * Starts (once) the shared dev server with the project's search attributes, or connects to the server
 * {@link EXTERNAL_SERVER_ENV} names, and bundles the workflows (once).
 * @returns the shared environment
 */
export function sharedEnv(): Promise<SharedEnv> {
  shared ??= (async () => {
    // Quiet by default: the suites provoke errors on purpose (updates aborted by a continue-as-new, tasks of killed
    // workers), and the assertions judge the outcome. HITL_TEST_LOG=warn shows the SDK's and the server's warnings.
    const verbose = process.env['HITL_TEST_LOG'] === 'warn';
    const level = verbose ? 'WARN' : 'ERROR';
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) } },
    });
    const cliPath = temporalCliPath();
    const external = externalServerAddress();
    const [env, bundle] = await Promise.all([
      external !== undefined
        ? TestWorkflowEnvironment.createFromExistingServer({ address: external, namespace: 'default' })
        : TestWorkflowEnvironment.createLocal({
            server: {
              executable: { type: 'existing-path', path: cliPath },
              searchAttributes: [...customSearchAttributes],
              extraArgs: DEV_SERVER_TUNING,
              log: { format: 'pretty', level: verbose ? 'warn' : 'never' },
            },
          }),
      sharedBundle(),
    ]);
    return { env, bundle, cliPath, address: external ?? env.address };
  })();
  return shared;
}

let bundled: Promise<WorkflowBundle> | undefined;

/**
 * The workflows, bundled once per test process (what {@link sharedEnv} hands out), without starting a server: for
 * tests that run servers of their own.
 * @returns the bundle
 */
export function sharedBundle(): Promise<WorkflowBundle> {
  bundled ??= bundleWorkflowCode({
    ...workflowBundleOptions,
    logger: quietBundlerLogger,
  });
  return bundled;
}

/** Stops the shared server if it was started (closes the connections to an external one). Safe to call again (a suite run alone and test/all.ts both call it). */
export async function closeSharedEnv(): Promise<void> {
  if (shared === undefined) return;
  const started = shared;
  shared = undefined;
  const { env } = await started;
  await env.teardown();
}

/** A fresh temp directory for one test. */
export function tempDir(prefix = 'hitl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const noop = (): void => undefined;
/** A bundler logger that prints only errors. */
export const quietBundlerLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: (message: string, meta?: Record<string, unknown>) =>
    process.stderr.write(`${message} ${JSON.stringify(meta ?? {})}\n`),
  log: noop,
};

/**
 * Polls `probe` until it returns a value other than `undefined`, for conditions that have no push notification
 * (a query answering with a pending request, a visibility listing catching up).
 *
 * @param probe - returns `undefined` while the condition does not hold
 * @param what - what is awaited, for the timeout message
 * @param timeoutMs - give up after this long
 * @throws Error naming `what` on timeout
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
