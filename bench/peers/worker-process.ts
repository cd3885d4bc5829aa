// A worker in a process of its own, for the benchmarks that kill it (crash semantics) or weigh it (parked runs).
// It is the project's worker as `createWorker` builds it (same activities, same options), from a prebundled workflow
// file so a restart takes a second or two, plus, when BENCH_HOLD_AFTER_COMMIT names a tool, an activity interceptor
// that lets that tool's first attempt run to its end (its effect and ledger row committed) and then never return, so
// the parent can SIGKILL the process in the window between the commit and Temporal hearing of the completion.
//
// Environment: TEMPORAL_ADDRESS, HITL_TASK_QUEUE, HITL_BILLING_DB (as for `npm run worker`), BENCH_WORKFLOW_BUNDLE
// (the bundle's code file), BENCH_HOLD_AFTER_COMMIT (optional tool name). Prints `ready` once the worker exists, and
// `committed <workflowId> <activityType>` when a held tool has committed.
import { appendFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  type ActivityExecuteInput,
  type ActivityInterceptorsFactory,
  type Next,
  type ActivityInboundCallsInterceptor,
} from '@temporalio/worker';
import { connectionConfig } from '../../src/node/config';
import { createWorker } from '../../worker';

const bundlePath = process.env['BENCH_WORKFLOW_BUNDLE'];
const heldTool = process.env['BENCH_HOLD_AFTER_COMMIT'];
const memoryLog = process.env['BENCH_MEMORY_LOG'];

/** Never settles, and keeps the event loop alive (a bare pending promise would let the process exit). */
function holdForever(): Promise<never> {
  return new Promise(() => {
    setInterval(() => undefined, 60_000);
  });
}

const holdAfterCommit: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(
      input: ActivityExecuteInput,
      next: Next<ActivityInboundCallsInterceptor, 'execute'>,
    ): Promise<unknown> {
      const result = await next(input);
      // Only the first attempt is held: the retry after the crash must be free to finish.
      if (ctx.info.activityType === heldTool && ctx.info.attempt === 1) {
        process.stdout.write(`committed ${ctx.info.workflowExecution?.workflowId ?? '?'} ${ctx.info.activityType}\n`);
        return holdForever();
      }
      return result;
    },
  },
});

/**
 * Appends the main thread's memory figures (MiB) to a file every 5 s: resident set, V8 heap used and total, memory
 * held outside the heap (external, array buffers). What RSS holds beyond them is the workflow threads' heaps and
 * native memory (the SDK's core, SQLite).
 */
function logMemory(path: string): void {
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const line = [Date.now(), m.rss, m.heapUsed, m.heapTotal, m.external, m.arrayBuffers].map((v, i) =>
      i === 0 ? String(v) : mib(v),
    );
    appendFileSync(path, `${line.join(' ')}\n`);
  }, 5_000);
  timer.unref();
}

async function main(): Promise<void> {
  if (bundlePath === undefined || bundlePath === '') throw new Error('BENCH_WORKFLOW_BUNDLE is not set');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cfg = connectionConfig();
  const connection = await NativeConnection.connect({ address: cfg.address });
  const worker = await createWorker({
    connection,
    workflowBundle: { codePath: bundlePath },
    // createWorker keeps its own activity interceptors (liveness heartbeats) and adds these after them.
    ...(heldTool !== undefined && heldTool !== '' ? { extra: { interceptors: { activity: [holdAfterCommit] } } } : {}),
  });
  process.stdout.write('ready\n');
  if (memoryLog !== undefined && memoryLog !== '') logMemory(memoryLog);
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
