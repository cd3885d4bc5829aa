// Durable state per agent step. Ours: the bytes of the run's history (every run of its chain, as the server's API
// serialises it) plus the transcript store the worker keeps the conversation in; LangGraph.js: what its SqliteSaver
// keeps for the same scripted run (checkpoints, their metadata and pending writes; and the file). Each is divided by
// the number of steps.
//   tsx bench/peers/history-bytes.ts [--quick] [--steps 10,100,1000]
import { PolicyBook } from '../../src/node/policy-book';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { openTranscriptStore } from '../../src/node/transcript-store';
import { openSqliteAuditStore } from '../../src/node/audit/sqlite-store';
import { DEFAULT_POLICY } from '../../src/shared/policy/default-policy';
import { closeSharedEnv, sharedEnv, tempDir } from '../../test/support/env';
import { freshBillingDb } from '../../test/support/harness';
import { createWorker } from '../../worker';
import { recordBenchmark } from '../support';
import { announce, cell, connectHistoryClient, reportFailure, sqliteFileBytes } from './common';
import { runStepGraph } from './langgraph-agent';
import { runTemporalSteps, type TemporalStepRun } from './temporal-steps';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, steps: { type: 'string' } },
});
const quick = values.quick;
const stepCounts = (values.steps ?? (quick ? '10,50' : '10,100,1000')).split(',').map(Number);

const kib = (bytes: number): string => cell(bytes / 1024, 1);

/**
 * One of our runs on a worker of its own (shared dev server and bundle, as the test harness does), whose transcript
 * store is a fresh file, so the file holds this run's conversation and nothing else.
 */
async function ourRun(steps: number, histories: Client) {
  const { env, bundle } = await sharedEnv();
  const transcriptFile = join(tempDir('hitl-bench-transcripts-'), 'transcripts.sqlite');
  const transcripts = openTranscriptStore(transcriptFile);
  const billing = freshBillingDb();
  const taskQueue = `bench-bytes-${nanoid(8)}`;
  const worker = await createWorker({
    connection: env.nativeConnection,
    taskQueue,
    billingDb: billing.db,
    workflowBundle: bundle,
    transcripts,
    auditStore: openSqliteAuditStore(join(dirname(transcriptFile), 'audit.sqlite')),
    policies: PolicyBook.of(DEFAULT_POLICY, 'built-in default'),
  });
  // maxSteps well above the scripted turns, so the cap never ends a run early (1,100 for 1,000 steps).
  const maxSteps = steps + Math.max(100, steps / 10);
  const run: TemporalStepRun = await worker.runUntil(
    runTemporalSteps(env.client, taskQueue, steps, maxSteps, histories),
  );
  transcripts.close();
  billing.db.close();
  return { ...run, transcriptBytes: sqliteFileBytes(transcriptFile) };
}

async function main(): Promise<void> {
  announce(`durable bytes per step: steps ${stepCounts.join(', ')}`, quick);
  const { db } = freshBillingDb();
  const dir = tempDir('hitl-bench-bytes-');
  const rows: string[] = [];
  const failures: string[] = [];
  const histories = await connectHistoryClient((await sharedEnv()).address);
  for (const steps of stepCounts) {
    const ours = await ourRun(steps, histories.client);
    if (ours.error !== undefined) {
      failures.push(`${steps} steps: ${ours.error} (after ${ours.stepsDone} get_invoice calls)`);
    }
    const lg = await runStepGraph(db, join(dir, `checkpoints-${steps}.sqlite`), steps, 'async');
    const done = ours.error === undefined ? 'completed' : `failed after ${ours.stepsDone} steps`;
    const total = ours.historyBytes + ours.transcriptBytes;
    const row =
      `| ${steps} | ${done} | ${ours.runs} | ${ours.events} | ${kib(ours.historyBytes)} | ${kib(ours.transcriptBytes)} | ` +
      `${kib(total / ours.stepsDone)} | ${kib(lg.checkpointBytes)} | ${kib(lg.fileBytes)} | ${lg.checkpoints} | ` +
      `${kib(lg.checkpointBytes / steps)} | ${ours.error === undefined ? cell(total / lg.checkpointBytes, 2) : '—'} |`;
    process.stdout.write(`${row}\n`);
    rows.push(row);
  }
  await histories.close();
  await closeSharedEnv();
  const table = [
    '| steps | our run | runs in chain | events | our history (KiB) | our transcript store file (KiB) | ours per step (KiB) | LangGraph checkpoints + writes (KiB) | LangGraph file (KiB) | checkpoints | LangGraph per step (KiB) | ours ÷ LangGraph |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Durable state per agent step vs LangGraph.js',
    `tsx bench/peers/history-bytes.ts --steps ${stepCounts.join(',')}`,
    table,
    [
      'The scripted run of the durability-tax benchmark (N steps of one model call and one `get_invoice`, then a',
      'final answer), once per N. Ours: the run is started with `startAgentRun` (maxSteps N + 100 at least, 1,100 for',
      '1,000; other inputs at their defaults, continue-as-new included) on the shared in-memory dev server, on a',
      'worker of its own built by `createWorker` whose transcript store is a fresh file. "Our history" is the sum,',
      'over every run of the workflow id’s chain, of `History.encode(history).finish().length` from',
      '`@temporalio/proto` on what `fetchHistory()` returns: the protobuf bytes of all events with their payloads.',
      '"Transcript store file" is the size of that store’s SQLite file (and WAL, if any) after the run: the',
      'conversation kept outside the history, counted with SQLite’s page overhead. "Ours per step" is both together,',
      'divided by the steps. LangGraph: the same run as a StateGraph over MessagesAnnotation with SqliteSaver (default',
      '`async` durability) on a fresh file: the bytes of the thread’s `checkpoints.checkpoint` and `metadata` blobs',
      'plus its `writes.value` blobs (its per-step figure), and the file’s size after a WAL checkpoint. Payloads are',
      'JSON on both sides and nothing is compressed. Our history also holds what LangGraph keeps nowhere (audit',
      'entries, search-attribute upserts, activity summaries, the scripted scenario in the run input). A growing',
      'per-step figure means each step stores state that grows with the run (e.g. a conversation copied into every',
      'step). A run that failed is divided by the steps it completed, and has no ratio.',
      ...(failures.length > 0 ? [`Our runs that did not complete: ${failures.join('; ')}.`] : []),
    ],
  );
}

main().catch(reportFailure);
