// Durable state per agent step: the bytes of our run's history (every run of its chain, as the server's API
// serialises it) and the bytes LangGraph.js's SqliteSaver keeps for the same scripted run (checkpoints, their
// metadata and pending writes; and the file size), each divided by the number of steps.
//   tsx bench/peers/history-bytes.ts [--quick] [--steps 10,100,1000]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeSharedEnv, sharedEnv, tempDir } from '../../test/support/env';
import { freshBillingDb, withWorker } from '../../test/support/harness';
import { recordBenchmark } from '../support';
import { announce, cell, connectHistoryClient, reportFailure } from './common';
import { runStepGraph } from './langgraph-agent';
import { runTemporalSteps } from './temporal-steps';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, steps: { type: 'string' } },
});
const quick = values.quick;
const stepCounts = (values.steps ?? (quick ? '10,50' : '10,100,1000')).split(',').map(Number);

const kib = (bytes: number): string => cell(bytes / 1024, 1);

async function main(): Promise<void> {
  announce(`history bytes per step: steps ${stepCounts.join(', ')}`, quick);
  const { db } = freshBillingDb();
  const dir = tempDir('hitl-bench-bytes-');
  const rows: string[] = [];
  const failures: string[] = [];
  const histories = await connectHistoryClient((await sharedEnv()).address);
  await withWorker(async (h) => {
    for (const steps of stepCounts) {
      // maxSteps well above the scripted turns, so the cap never ends a run early (1,100 for 1,000 steps).
      const ours = await runTemporalSteps(h, steps, steps + Math.max(100, steps / 10), histories.client);
      if (ours.error !== undefined) {
        failures.push(`${steps} steps: ${ours.error} (after ${ours.stepsDone} get_invoice calls)`);
      }
      const lg = await runStepGraph(db, join(dir, `checkpoints-${steps}.sqlite`), steps, 'async');
      const done = ours.error === undefined ? 'completed' : `failed after ${ours.stepsDone} steps`;
      const row =
        `| ${steps} | ${done} | ${kib(ours.historyBytes)} | ${kib(ours.historyBytes / ours.stepsDone)} | ${ours.events} | ` +
        `${ours.runs} | ${kib(lg.checkpointBytes)} | ${kib(lg.checkpointBytes / steps)} | ${lg.checkpoints} | ` +
        `${kib(lg.fileBytes)} | ${ours.error === undefined ? cell(ours.historyBytes / lg.checkpointBytes, 2) : '—'} |`;
      process.stdout.write(`${row}\n`);
      rows.push(row);
    }
  });
  await histories.close();
  await closeSharedEnv();
  const table = [
    '| steps | our run | our history (KiB) | per step (KiB) | events | runs in chain | LangGraph checkpoints + writes (KiB) | per step (KiB) | checkpoints | LangGraph file (KiB) | ours ÷ LangGraph |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Durable state per agent step vs LangGraph.js',
    `tsx bench/peers/history-bytes.ts --steps ${stepCounts.join(',')}`,
    table,
    [
      'The scripted run of the durability-tax benchmark (N steps of one model call and one `get_invoice`, then a',
      'final answer). Ours: the sum, over every run of the workflow id’s chain (one unless it continued as new), of',
      '`History.encode(history).finish().length` from `@temporalio/proto` on what `fetchHistory()` returns, i.e. the',
      'protobuf bytes of all events with their payloads; the run was started with `startScripted` (maxSteps N + 100',
      'at least, 1,100 for 1,000) on the shared in-memory dev server. LangGraph: the same run as a StateGraph over',
      'MessagesAnnotation with SqliteSaver (default `async` durability) on a fresh file: the bytes of the thread’s',
      '`checkpoints.checkpoint` and `metadata` blobs plus its `writes.value` blobs, and the file’s size after a WAL',
      'checkpoint. Both store payloads as JSON, so the figures compare like with like; neither is compressed. Our',
      'history also holds what LangGraph keeps nowhere (the audit trail’s inputs, search-attribute upserts, activity',
      'summaries, the scripted scenario in the run input). A growing per-step figure means each step stores state',
      'that grows with the run (e.g. a conversation copied into every step). A run that failed is divided by the',
      'steps it completed, and has no ratio.',
      ...(failures.length > 0 ? [`Our runs that did not complete: ${failures.join('; ')}.`] : []),
    ],
  );
}

main().catch(reportFailure);
