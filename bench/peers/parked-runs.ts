// Parked runs: many runs waiting for approval at once on one worker, against a dev server on a SQLite file (WAL,
// synchronous=normal: scripts/server.sh's defaults). Memory of the worker and of the server while they wait, then
// every request approved: decisions per second and the time until every run has finished. Repeated for growing
// numbers of runs, to see where the SQLite dev server stops coping.
//   tsx bench/peers/parked-runs.ts [--quick] [--sizes 250,500,1000,2000] [--concurrency 20] [--max-cached N]
//     [--clients N] [--worker-heap MiB] [--start-rate N] [--phase-minutes 15] [--workflow-threads N]
//     [--server dev|postgres]
// --start-rate paces the starts (runs per second; default: as fast as --concurrency allows), so that a worker with a
// small cache parks each run before it is evicted instead of replaying it for every step.
// --max-cached sets the worker's HITL_MAX_CACHED_WORKFLOWS (default: the SDK's own, sized from the heap);
// --workflow-threads its HITL_WORKFLOW_THREADS (default: the SDK's one thread); a list (1,2) measures each size once
// per value, one after the other, for a before and after in one run.
// --server postgres runs each size against a fresh Temporal server on PostgreSQL instead of the dev server (the
// tests' startPostgresTemporal: the repository's config and production dynamic config, new databases on a throwaway
// PostgreSQL with fsync off); PostgreSQL's CPU is counted beside the server's.
// BENCH_MEMORY_LOG=<file> has the worker append its memory figures to the file every 5 s (see worker-process.ts).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { nanoid } from 'nanoid';
import { countRefunds, generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { Client, Connection } from '@temporalio/client';
import { pendingApprovals, startAgentRun, type ApprovalRequest } from '../../client';
import { approveAs } from '../../test/support/decisions';
import { tempDir, waitFor } from '../../test/support/env';
import { answer, call } from '../../test/support/harness';
import { recordBenchmark } from '../support';
import {
  announce,
  cell,
  cpuShares,
  mapLimit,
  median,
  p99,
  reportFailure,
  residentMiB,
  sleep,
  stopChild,
  threadCpuMs,
} from './common';
import { startBenchServer, type BenchServer } from './dev-server';
import { startBenchPostgresServer } from './postgres-server';
import { stopSharedPostgres } from '../../test/support/postgres';
import { startWorkerProcess, writeWorkflowBundle } from './worker-control';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    concurrency: { type: 'string', default: '20' },
    'max-cached': { type: 'string' },
    clients: { type: 'string', default: '1' },
    'worker-heap': { type: 'string' },
    'start-rate': { type: 'string' },
    'phase-minutes': { type: 'string', default: '15' },
    'workflow-threads': { type: 'string' },
    server: { type: 'string', default: 'dev' },
  },
});
/** The worker process's V8 old-space limit (MiB), if set: `--max-old-space-size`. */
const workerHeap = values['worker-heap'];
/** Clients (each on a connection of its own) the decisions are spread over, round robin. */
const clientCount = Number(values.clients);
const maxCached = values['max-cached'];
// The worker process inherits the environment; createWorker reads the setting from it.
if (maxCached !== undefined) process.env['HITL_MAX_CACHED_WORKFLOWS'] = maxCached;
const workflowThreads = values['workflow-threads'];
/** Workflow thread counts to measure each size with; `undefined` leaves the SDK's default. */
const threadCounts: (number | undefined)[] = workflowThreads?.split(',').map(Number) ?? [undefined];
const serverKind = values.server;
if (serverKind !== 'dev' && serverKind !== 'postgres')
  throw new Error(`--server takes dev or postgres, not ${serverKind}`);
/** CPU used so far by the threads of several processes (ms), by thread id. */
const processesCpuMs = (pids: readonly number[]): Map<number, number> =>
  new Map(pids.flatMap((pid) => [...threadCpuMs(pid)]));
// Each run's notification is an info line; thousands of them would bury the figures.
process.env['HITL_LOG_LEVEL'] ??= 'warn';
const cacheNote =
  maxCached !== undefined
    ? `the worker keeps at most ${maxCached} runs cached (HITL_MAX_CACHED_WORKFLOWS); the rest replay when they wake`
    : "the worker's workflow cache is the SDK's default, sized from the heap";
const quick = values.quick;
const sizes = (values.sizes ?? (quick ? '50' : '250,500,1000,2000')).split(',').map(Number);
const concurrency = Number(values.concurrency);
/** How long one phase may take before the size counts as one the setup does not cope with. */
const PHASE_TIMEOUT_MS = Number(values['phase-minutes']) * 60_000;
/** Starts per second at most, if set. */
const startRate = values['start-rate'] !== undefined ? Number(values['start-rate']) : undefined;

interface SizeResult {
  runs: number;
  /** The worker's workflow threads, if set. */
  threads: number | undefined;
  startPerSec: number;
  parkedAfterMs: number;
  /** Reading every run's pending request once, after all parked (ms). */
  readAllMs: number;
  workerIdleMiB: number;
  serverIdleMiB: number;
  workerMiB: number;
  serverMiB: number;
  decisionsPerSec: number;
  decideP50: number;
  decideP99: number;
  allDoneMs: number;
  workerPeakMiB: number;
  serverPeakMiB: number;
  refunds: number;
  failures: number;
  /** Where the CPU went while the decisions were sent, one line. */
  decisionCpu?: string;
  error?: string;
}

async function measure(size: number, threads: number | undefined, bundlePath: string): Promise<SizeResult> {
  // The worker process inherits the environment; createWorker reads the setting from it.
  if (threads !== undefined) process.env['HITL_WORKFLOW_THREADS'] = String(threads);
  else delete process.env['HITL_WORKFLOW_THREADS'];
  const dir = tempDir('hitl-bench-parked-');
  const billingPath = join(dir, 'billing.sqlite');
  // One invoice per run: a refund's precheck compares the invoice with what was approved, so runs sharing an invoice
  // would find it changed by each other's refunds and ask again.
  generateBillingDb(billingPath, { customers: 60, invoices: size });
  const server: BenchServer & { databasePids?: () => number[] } =
    serverKind === 'postgres' ? await startBenchPostgresServer() : await startBenchServer(join(dir, 'temporal.sqlite'));
  const taskQueue = `bench-parked-${nanoid(6)}`;
  const worker = await startWorkerProcess({
    address: server.address,
    taskQueue,
    billingDbPath: billingPath,
    bundlePath,
    ...(workerHeap !== undefined ? { nodeOptions: `--max-old-space-size=${workerHeap}` } : {}),
  });
  const result: SizeResult = {
    runs: size,
    threads,
    startPerSec: NaN,
    parkedAfterMs: NaN,
    readAllMs: NaN,
    workerIdleMiB: residentMiB(worker.pid).rss,
    serverIdleMiB: residentMiB(server.pid).rss,
    workerMiB: NaN,
    serverMiB: NaN,
    decisionsPerSec: NaN,
    decideP50: NaN,
    decideP99: NaN,
    allDoneMs: NaN,
    workerPeakMiB: NaN,
    serverPeakMiB: NaN,
    refunds: 0,
    failures: 0,
  };
  try {
    const t0 = performance.now();
    const runs = await mapLimit(
      Array.from({ length: size }, (_, i) => i),
      concurrency,
      async (i) => {
        if (startRate !== undefined) {
          const due = t0 + (i * 1000) / startRate;
          const now = performance.now();
          if (due > now) await sleep(due - now);
        }
        const scenario = {
          goal: 'bench',
          turns: [call('issue_refund', { invoiceId: i + 1, amountCents: 1, reason: 'bench' }), answer('done')],
        };
        return startAgentRun(
          server.client,
          { goal: 'bench', requestedBy: 'bench', model: { provider: 'scripted', scenario } },
          { taskQueue },
        );
      },
    );
    result.startPerSec = size / ((performance.now() - t0) / 1000);
    // Parked, as the server sees it: every run's AgentStatus search attribute says it waits for approval. Counting
    // asks the server only; querying each run until it parks would replay evicted runs on the worker over and over.
    try {
      await waitFor(
        async () => {
          const { count } = await server.client.workflow.count(
            `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND AgentStatus = 'AwaitingApproval'`,
          );
          if (count === size) return count;
          await sleep(1_000); // a count scans visibility: once a second is enough
          return undefined;
        },
        `${size} runs awaiting approval`,
        PHASE_TIMEOUT_MS,
      );
    } catch (err) {
      // Say where the runs that did not park are, so a timeout can be told apart from runs paused or failed.
      const byStatus = await server.client.workflow
        .count(`TaskQueue = '${taskQueue}' GROUP BY ExecutionStatus`)
        .then(({ groups }) => groups.map((g) => `${g.groupValues.map(String).join('/')}: ${g.count}`).join(', '))
        .catch(
          (countErr: unknown) => `not counted: ${countErr instanceof Error ? countErr.message : String(countErr)}`,
        );
      throw new Error(`${err instanceof Error ? err.message : String(err)} (runs by status: ${byStatus})`);
    }
    result.parkedAfterMs = performance.now() - t0;
    // Each run's request once, as a reviewer's inbox reads it (a run out of the worker's cache replays to answer).
    const t2 = performance.now();
    const requests = await mapLimit(runs, concurrency, async ({ workflowId }) => {
      const [req] = await pendingApprovals(server.client, workflowId);
      if (req === undefined) throw new Error(`${workflowId} is awaiting approval but lists no request`);
      return req;
    });
    result.readAllMs = performance.now() - t2;
    // Let the notifications and search-attribute updates settle, so memory is that of runs at rest.
    await sleep(3_000);
    ({ rss: result.workerMiB } = residentMiB(worker.pid));
    ({ rss: result.serverMiB } = residentMiB(server.pid));

    const latencies: number[] = [];
    const connections = await Promise.all(
      Array.from({ length: clientCount - 1 }, () => Connection.connect({ address: server.address })),
    );
    const clients = [server.client, ...connections.map((connection) => new Client({ connection }))];
    const cpuBefore = {
      worker: threadCpuMs(worker.pid),
      server: threadCpuMs(server.pid),
      database: processesCpuMs(server.databasePids?.() ?? []),
      bench: process.cpuUsage(),
    };
    const t1 = performance.now();
    await mapLimit(runs, concurrency, async ({ workflowId }, i) => {
      const req = requests[i] as ApprovalRequest;
      const client = clients[i % clients.length] ?? server.client;
      const sent = performance.now();
      try {
        await approveAs(client, workflowId, req, 'bench');
        latencies.push(performance.now() - sent);
      } catch {
        result.failures += 1;
      }
    });
    const decideMs = performance.now() - t1;
    result.decisionsPerSec = latencies.length / (decideMs / 1000);
    const w = cpuShares(worker.pid, cpuBefore.worker, threadCpuMs(worker.pid), decideMs);
    const sv = cpuShares(server.pid, cpuBefore.server, threadCpuMs(server.pid), decideMs);
    const b = process.cpuUsage(cpuBefore.bench);
    const databasePids = server.databasePids?.();
    const pg =
      databasePids !== undefined
        ? cpuShares(-1, cpuBefore.database, processesCpuMs(databasePids), decideMs).total
        : undefined;
    result.decisionCpu =
      `${size} runs${threads !== undefined ? ` on ${threads} workflow thread(s)` : ''}: worker ${cell(w.total, 0)}% (main thread ${cell(w.main, 0)}%, busiest other threads ` +
      `${w.busiest.map((x) => `${cell(x, 0)}%`).join(', ')}), server ${cell(sv.total, 0)}%, ` +
      `${pg !== undefined ? `PostgreSQL ${cell(pg, 0)}%, ` : ''}benchmark ` +
      `${cell(((b.user + b.system) / 1000 / decideMs) * 100, 0)}%`;
    process.stdout.write(`CPU while deciding, ${result.decisionCpu}\n`);
    await Promise.all(connections.map((c) => c.close()));
    result.decideP50 = median(latencies);
    result.decideP99 = p99(latencies);
    const outcomes = await Promise.allSettled(runs.map(({ handle }) => handle.result()));
    result.allDoneMs = performance.now() - t1;
    result.failures += outcomes.filter((o) => o.status === 'rejected').length;
    ({ peak: result.workerPeakMiB } = residentMiB(worker.pid));
    ({ peak: result.serverPeakMiB } = residentMiB(server.pid));
    const db = openBillingDb(billingPath);
    result.refunds = countRefunds(db);
    db.close();
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await stopChild(worker, 'SIGTERM');
    await server.stop();
  }
  return result;
}

async function main(): Promise<void> {
  announce(`parked runs: ${sizes.join(', ')} runs, ${concurrency} calls in flight`, quick);
  const bundlePath = await writeWorkflowBundle();
  const rows: string[] = [];
  const errors: string[] = [];
  const cpuLines: string[] = [];
  async function measureRow(size: number, threads: number | undefined): Promise<string> {
    const r = await measure(size, threads, bundlePath);
    const label = `${size} runs${threads !== undefined ? ` on ${threads} workflow thread(s)` : ''}`;
    if (r.error !== undefined) errors.push(`${label}: ${r.error}`);
    if (r.decisionCpu !== undefined) cpuLines.push(r.decisionCpu);
    const perRunKiB = (parked: number, idle: number): string => cell(((parked - idle) * 1024) / r.runs, 0);
    const row =
      `| ${r.runs} | ${r.threads ?? '1 (default)'} | ${cell(r.startPerSec, 0)} | ${cell(r.parkedAfterMs / 1000, 1)} | ${cell(r.readAllMs / 1000, 1)} | ` +
      `${cell(r.workerIdleMiB, 0)} → ${cell(r.workerMiB, 0)} | ${perRunKiB(r.workerMiB, r.workerIdleMiB)} | ` +
      `${cell(r.serverIdleMiB, 0)} → ${cell(r.serverMiB, 0)} | ${perRunKiB(r.serverMiB, r.serverIdleMiB)} | ` +
      `${cell(r.decisionsPerSec, 1)} | ${cell(r.decideP50, 0)} | ${cell(r.decideP99, 0)} | ` +
      `${cell(r.allDoneMs / 1000, 1)} | ${cell(r.workerPeakMiB, 0)} | ${cell(r.serverPeakMiB, 0)} | ${r.refunds} | ` +
      `${r.failures} |`;
    process.stdout.write(`${row}\n`);
    return row;
  }
  for (const size of sizes) for (const threads of threadCounts) rows.push(await measureRow(size, threads));
  const table = [
    '| parked runs | workflow threads | starts/s | all parked after (s) | every request read in (s) | worker RSS idle → parked (MiB) | per run (KiB) | server RSS idle → parked (MiB) | per run (KiB) | decisions/s | decide p50 (ms) | decide p99 (ms) | approve-all to all finished (s) | worker peak RSS (MiB) | server peak RSS (MiB) | refunds written | failed decisions or runs |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  if (errors.length > 0) process.stdout.write(`did not finish:\n${errors.join('\n')}\n`);
  const onPostgres = serverKind === 'postgres';
  recordBenchmark(
    `Parked runs on one worker and ${onPostgres ? 'Temporal on PostgreSQL' : 'a SQLite dev server'}`,
    `tsx bench/peers/parked-runs.ts --sizes ${sizes.join(',')} --concurrency ${concurrency}` +
      (maxCached !== undefined ? ` --max-cached ${maxCached}` : '') +
      (clientCount !== 1 ? ` --clients ${clientCount}` : '') +
      (workerHeap !== undefined ? ` --worker-heap ${workerHeap}` : '') +
      (startRate !== undefined ? ` --start-rate ${startRate}` : '') +
      (values['phase-minutes'] !== '15' ? ` --phase-minutes ${values['phase-minutes']}` : '') +
      (workflowThreads !== undefined ? ` --workflow-threads ${workflowThreads}` : '') +
      (onPostgres ? ' --server postgres' : ''),
    table,
    [
      ...(onPostgres
        ? [
            'For each size, a fresh Temporal Server 1.31.2 on PostgreSQL (all four services in one process, the',
            "repository's deploy/temporal/config.yaml and deploy/dynamicconfig/production-sql.yaml, two new databases on",
            'a throwaway PostgreSQL with fsync and synchronous_commit off; "server RSS" is the Temporal process alone)',
          ]
        : [
            'For each size, a fresh dev server (`scripts/server.sh`: SQLite file with journal_mode=wal and',
            'synchronous=normal, headless, free ports)',
          ]),
      'and one worker process (`createWorker`, SDK defaults, prebundled',
      `workflows), all on this machine with the benchmark. Each run is a scripted \`issue_refund\` of 1 cent (spread`,
      `over as many invoices) under the default policy, so it parks on a hard gate. Runs are started ${concurrency}`,
      `at a time${startRate !== undefined ? `, at most ${startRate} a second` : ''}; "all parked" is from the first start until visibility counts every run as`,
      "`AgentStatus = 'AwaitingApproval'`; then each run's request is read once with the `pendingApprovals` query",
      '("every request read in"). The worker logs at warn. Resident memory (VmRSS from /proc) is read once the worker',
      'is ready ("idle") and 3 s after the last',
      'run parked; "per run" is the difference divided by the runs. Then every request is approved with `decide`,',
      `${concurrency} updates in flight from ${clientCount} client(s) (each its own gRPC connection, round robin):`,
      'decisions/s counts completed updates; "approve-all to all finished" runs until',
      'every run’s result is in (precheck, the refund, a second model call). Peak RSS is VmHWM over the whole size.',
      `A size that fails or takes over ${values['phase-minutes']} minutes in one phase is where this setup stops coping.`,
      `Cache: ${cacheNote}.`,
      ...(workerHeap !== undefined ? [`The worker runs with --max-old-space-size=${workerHeap} (MiB).`] : []),
      ...(workflowThreads !== undefined
        ? [
            `Workflow threads (HITL_WORKFLOW_THREADS): each size measured with ${workflowThreads.replace(/,/g, ', then ')},`,
            'each time with a fresh server and worker.',
          ]
        : []),
      ...(cpuLines.length > 0
        ? [
            'CPU while the decisions were sent (shares of one core from /proc, so 200% is both cores; the workflow',
            'thread is among the "other threads", beside the garbage collector and the SDK core):',
            `${cpuLines.join('; ')}.`,
          ]
        : []),
      ...(errors.length > 0 ? [`Did not finish: ${errors.join('; ')}.`] : []),
    ],
  );
}

// The throwaway PostgreSQL of --server postgres outlives each size's Temporal server; it goes with the benchmark.
main()
  .finally(() => stopSharedPostgres())
  .catch(reportFailure);
