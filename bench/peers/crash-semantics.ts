// Crash semantics vs LangGraph.js: SIGKILL the process running an approved, irreversible tool after the tool has
// committed its refund row and before it returns, then recover as each system's user would, and count the refund rows
// (duplicates = rows − 1 per run).
//   LangGraph: a child process runs the refund graph (SqliteSaver on a file) to interrupt(), resumes it with an
//   approval; the tool node inserts the refund and waits; the parent kills the child once it says `committed`; a new
//   child invokes the same thread with null, as LangGraph documents for resuming, and the interrupted node runs again.
//   Ours: a worker process (bench/peers/worker-process.ts) on a dev server of its own; a run is approved with
//   `decide`; its `issue_refund` activity commits and is held; the parent kills the worker; a fresh worker carries on.
//   tsx bench/peers/crash-semantics.ts [--quick] [--kills 50] [--only ours|langgraph]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { generateBillingDb, openBillingDb, type BillingDb } from '../../activities/billing/index';
import { auditTrail, pendingApprovals, startAgentRun } from '../../client';
import { approveAs } from '../../test/support/decisions';
import { tempDir, waitFor } from '../../test/support/env';
import { answer, call } from '../../test/support/harness';
import { recordBenchmark } from '../support';
import { announce, reportFailure, spawnTsx, stopChild, type LineChild } from './common';
import { startBenchServer } from './dev-server';
import { langGraphRefundRows } from './langgraph-agent';
import { startWorkerProcess, writeWorkflowBundle } from './worker-control';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    kills: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick;
const kills = Number(values.kills ?? (quick ? 3 : 50));
const only = values.only;

/** What one system's kills came to. */
interface Tally {
  kills: number;
  /** Kills at which the refund row was already committed (the window the benchmark aims at). */
  committedAtKill: number;
  /** Runs or threads that reached their end after the restart. */
  finished: number;
  rows: number;
  /** Sum over runs of rows beyond the first. */
  duplicates: number;
  /** Runs that ended with no refund row. */
  lost: number;
  /** Ours only: retries that found the key in the idempotency ledger and returned its stored result. */
  replayed?: number;
}

function newBillingDb(dir: string): { path: string; db: BillingDb } {
  const path = join(dir, 'billing.sqlite');
  generateBillingDb(path, { customers: 20, invoices: 60 });
  return { path, db: openBillingDb(path) };
}

function tally(perRun: { atKill: number; rows: number; finished: boolean }[]): Tally {
  return {
    kills: perRun.length,
    committedAtKill: perRun.filter((r) => r.atKill >= 1).length,
    finished: perRun.filter((r) => r.finished).length,
    rows: perRun.reduce((n, r) => n + r.rows, 0),
    duplicates: perRun.reduce((n, r) => n + Math.max(0, r.rows - 1), 0),
    lost: perRun.filter((r) => r.rows === 0).length,
  };
}

async function langGraphCrashes(): Promise<Tally> {
  const dir = tempDir('hitl-bench-crash-lg-');
  const billing = newBillingDb(dir);
  const checkpoints = join(dir, 'checkpoints.sqlite');
  const child = (mode: string, thread: string): LineChild =>
    spawnTsx('bench/peers/crash-langgraph-child.ts', [mode, checkpoints, billing.path, thread], {});
  const perRun: { atKill: number; rows: number; finished: boolean }[] = [];
  for (let i = 0; i < kills; i++) {
    const thread = `crash-${i}-${nanoid(6)}`;
    const doomed = child('crash', thread);
    await doomed.waitForLine((l) => l === 'committed', 'the committed refund');
    const atKill = langGraphRefundRows(billing.db, thread);
    await stopChild(doomed, 'SIGKILL');
    const recovery = child('recover', thread);
    const line = await recovery.waitForLine((l) => l.startsWith('recovered '), 'the recovery');
    await recovery.exited;
    perRun.push({ atKill, rows: langGraphRefundRows(billing.db, thread), finished: line === 'recovered (end)' });
    process.stderr.write(`langgraph kill ${i + 1}/${kills}: ${perRun.at(-1)?.rows} row(s)\n`);
  }
  billing.db.close();
  return tally(perRun);
}

const ourRefundRows = (db: BillingDb, workflowId: string): number =>
  db
    .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund WHERE idempotency_key LIKE ?')
    .get(`${workflowId}:%`)?.n ?? 0;

async function ourCrashes(): Promise<Tally> {
  const dir = tempDir('hitl-bench-crash-ours-');
  const billing = newBillingDb(dir);
  const [server, bundlePath] = await Promise.all([
    startBenchServer(join(dir, 'temporal.sqlite')),
    writeWorkflowBundle(),
  ]);
  const taskQueue = `bench-crash-${nanoid(6)}`;
  const base = { address: server.address, taskQueue, billingDbPath: billing.path, bundlePath };
  const runs: { workflowId: string; handle: WorkflowHandle; atKill: number }[] = [];
  let worker: LineChild | undefined;
  try {
    for (let i = 0; i < kills; i++) {
      // Each kill gets a fresh worker; it also serves the retries of earlier kills once their attempts time out.
      worker = await startWorkerProcess({ ...base, holdAfterCommit: 'issue_refund' });
      const scenario = {
        goal: 'bench',
        turns: [call('issue_refund', { invoiceId: (i % 60) + 1, amountCents: 1, reason: 'bench' }), answer('done')],
      };
      const { workflowId, handle } = await startAgentRun(
        server.client,
        { goal: 'bench', requestedBy: 'bench', model: { provider: 'scripted', scenario } },
        { taskQueue },
      );
      const [req] = await waitFor(async () => {
        const p = await pendingApprovals(server.client, workflowId);
        return p.length === 1 ? p : undefined;
      }, `the request of ${workflowId}`);
      if (req === undefined) throw new Error(`no request on ${workflowId}`);
      await approveAs(server.client, workflowId, req, 'bench');
      await worker.waitForLine((l) => l === `committed ${workflowId} issue_refund`, 'the committed refund');
      const atKill = ourRefundRows(billing.db, workflowId);
      await stopChild(worker, 'SIGKILL');
      worker = undefined;
      runs.push({ workflowId, handle, atKill });
      process.stderr.write(`ours kill ${i + 1}/${kills}: ${atKill} row(s) at the kill\n`);
    }
    // The last worker: no hold. The held attempts are retried once their start-to-close timeout passes.
    worker = await startWorkerProcess(base);
    process.stderr.write('ours: waiting for the runs to finish (retries follow the tool’s start-to-close timeout)\n');
    const perRun = await Promise.all(
      runs.map(async (r) => {
        let finished = true;
        try {
          await r.handle.result();
        } catch {
          finished = false;
        }
        const trail = await auditTrail(server.client, r.workflowId);
        const replayed = trail.some((e) => e.kind === 'tool_executed' && /idempotency ledger/.test(e.detail));
        return { atKill: r.atKill, rows: ourRefundRows(billing.db, r.workflowId), finished, replayed };
      }),
    );
    return { ...tally(perRun), replayed: perRun.filter((r) => r.replayed).length };
  } finally {
    if (worker !== undefined) await stopChild(worker, 'SIGTERM');
    await server.stop();
    billing.db.close();
  }
}

async function main(): Promise<void> {
  announce(`crash semantics: ${kills} SIGKILLs per system`, quick);
  const started = Date.now();
  const results: [string, Tally][] = [];
  if (only !== 'ours') results.push(['LangGraph.js (plain insert in the node)', await langGraphCrashes()]);
  if (only !== 'langgraph') results.push(['Temporal (ours, idempotency ledger)', await ourCrashes()]);
  const table = [
    '| system | SIGKILLs | row committed at the kill | finished after restart | refund rows | duplicate refunds | lost refunds | retries answered by the ledger |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      ([name, t]) =>
        `| ${name} | ${t.kills} | ${t.committedAtKill} | ${t.finished} | ${t.rows} | ${t.duplicates} | ${t.lost} | ` +
        `${t.replayed ?? '—'} |`,
    ),
  ];
  process.stdout.write(`${table.join('\n')}\n(${Math.round((Date.now() - started) / 1000)} s)\n`);
  recordBenchmark(
    'Crash during an approved irreversible tool vs LangGraph.js',
    `tsx bench/peers/crash-semantics.ts --kills ${kills}${only !== undefined ? ` --only ${only}` : ''}`,
    table,
    [
      'Each kill: one approved refund (1 cent) whose tool has committed its `hitl_refund` row and not yet returned,',
      'and the process running it gets SIGKILL. LangGraph: a child process runs a StateGraph (MessagesAnnotation,',
      'SqliteSaver on a file, default durability) to `interrupt()` in the tool node, resumes it with',
      '`new Command({ resume })`; the node inserts the refund with the toolkit’s `recordRefund` (a plain insert, as a',
      'typical LangGraph user writes it: no idempotency key) and then waits; after the kill a new child calls',
      '`invoke(null)` on the same thread_id, as LangGraph documents for resuming, and the interrupted node runs again',
      'from its start with the stored resume value. LangGraph’s documentation does warn that code before and around',
      '`interrupt()` re-runs on resume and that side effects should be idempotent; a user who follows that (an',
      'upsert, a key) would not see these duplicates. Ours: a dev server on a SQLite file, the worker in a child',
      'process built by `createWorker` from a prebundled workflow file, with an activity interceptor that holds the',
      'first attempt of `issue_refund` after it returns from the real activity (effect and ledger row committed);',
      'the run is approved with `decide`, the worker killed once it reports the commit, and the next kill’s worker',
      'started. Samples overlap: a killed attempt is retried only after the tool’s 1-minute start-to-close timeout',
      '(the activity has no heartbeat), by whichever worker is alive then; a final worker without the hold lets',
      'every run finish. The retry carries the same idempotency key, so the ledger returns the stored result.',
    ],
  );
}

main().catch(reportFailure);
