// Fewer hops per decision and per step: the approval round trip and the per-step time of the same scripted agent,
// before and after the changes that took hops out, side by side in one run, beside LangGraph.js in this process.
//   before: a dev server without eager activity execution, and workflows bundled without PATCHES.precheckInTool,
//           PATCHES.auditWhenQuiet and PATCHES.readOnlyLocal (new runs take the path runs from before them take),
//           and without the worker's preloadModules (every run evaluates Ed25519 and zod itself);
//   after:  the dev server as scripts/server.sh starts it, and the workflows as they are.
// Each has its own dev server (scripts/server.sh on a SQLite file) and its own worker in this process; samples take
// turns (before, after, LangGraph).
//   npm run bench:hops [-- --samples 15] [--think 1000] [--steps 10,100] [--long 1000]
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Command } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { tsToMs } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { approveAs } from '../test/support/decisions';
import { closeSharedEnv, sharedBundle, tempDir } from '../test/support/env';
import { answer, call, freshBillingDb, withWorker, type Harness } from '../test/support/harness';
import { PATCHES } from '../workflows/patch-ids';
import { chainEvents, connectHistoryClient, historyChain, median, p99, reportFailure, sleep } from './peers/common';
import { startBenchServer, type BenchServer } from './peers/dev-server';
import { buildRefundGraph, refundInput, runStepGraph, type RefundDecision } from './peers/langgraph-agent';
import type { LoopTimes } from './peers/scripted-agent';
import { runTemporalSteps } from './peers/temporal-steps';
import { recordBenchmark } from './support';
import { bundleWithout } from './withheld-bundle';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '15' },
    think: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '10,100' },
    long: { type: 'string' },
  },
});
const samples = Number(values.samples);
const thinkMs = Number(values.think);
const stepCounts = values.steps.split(',').map(Number);
const longSteps = values.long !== undefined ? Number(values.long) : undefined;
const REFUND = { invoiceId: 1, amountCents: 1, reason: 'bench' };
const WITHHELD = [PATCHES.precheckInTool, PATCHES.auditWhenQuiet, PATCHES.readOnlyLocal];

type Side = 'before' | 'after';
const SIDES: readonly Side[] = ['before', 'after'];

/** Per-step durations: from the run's start to the first tool start, then between consecutive tool starts. */
function stepDurations(t: LoopTimes): number[] {
  return t.toolStarts.map((at, i) => at - (i === 0 ? t.startedAt : (t.toolStarts[i - 1] ?? at)));
}

/** One approval on our side: start a run, wait for its request, pause, approve, read the tool's start time. */
async function approvalOnce(h: Harness): Promise<number> {
  const run = await h.startScripted([call('issue_refund', REFUND), answer('done')], { requestedBy: 'bench' });
  const [req] = await h.pending(run.workflowId);
  if (req === undefined) throw new Error(`no pending request on ${run.workflowId}`);
  await sleep(thinkMs);
  const sentAt = Date.now();
  await approveAs(h.client, run.workflowId, req, 'bench');
  await run.result();
  const events = chainEvents(await historyChain(h.client, run.workflowId));
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'issue_refund');
  const started = events.find(
    (e) =>
      e.activityTaskStartedEventAttributes != null &&
      String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled?.eventId),
  );
  if (started?.eventTime == null) throw new Error(`no ActivityTaskStarted for issue_refund in ${run.workflowId}`);
  return tsToMs(started.eventTime) - sentAt;
}

interface Figures {
  approval: number[];
  /** Steps → per-run "total ÷ steps" and every step's duration. */
  steps: Map<number, { perStep: number[]; durations: number[] }>;
}

const figures = (): Figures => ({ approval: [], steps: new Map() });

function addSteps(f: Figures, steps: number, t: LoopTimes): void {
  const entry = f.steps.get(steps) ?? { perStep: [], durations: [] };
  entry.perStep.push((t.finishedAt - t.startedAt) / steps);
  entry.durations.push(...stepDurations(t));
  f.steps.set(steps, entry);
}

async function main(): Promise<void> {
  process.stderr.write(
    `hops: ${samples} approvals and ${samples} step runs of ${stepCounts.join(', ')} steps per side` +
      `${longSteps !== undefined ? `, one run of ${longSteps} steps` : ''}\n`,
  );
  const dir = tempDir('hitl-bench-hops-');
  const billing = freshBillingDb();
  const [beforeBundle, afterBundle] = await Promise.all([
    bundleWithout(WITHHELD, { shareModules: false }),
    sharedBundle(),
  ]);
  const servers: Record<Side, BenchServer> = {
    before: await startBenchServer(join(dir, 'before.sqlite'), [
      '--dynamic-config-value',
      'system.enableActivityEagerExecution=false',
    ]),
    after: await startBenchServer(join(dir, 'after.sqlite')),
  };
  const results: Record<Side | 'langgraph', Figures> = {
    before: figures(),
    after: figures(),
    langgraph: figures(),
  };

  const saver = SqliteSaver.fromConnString(join(dir, 'approval-checkpoints.sqlite'));
  let toolStartedAt = NaN;
  const graph = buildRefundGraph({
    db: billing.db,
    checkpointer: saver,
    refund: REFUND,
    onToolStart: () => {
      toolStartedAt = performance.now();
    },
  });
  const langGraphApproval = async (): Promise<number> => {
    const config = { configurable: { thread_id: randomUUID() } };
    await graph.invoke(refundInput(), config);
    await sleep(thinkMs);
    toolStartedAt = NaN;
    const sentAt = performance.now();
    const resume: RefundDecision = { decision: 'approve' };
    await graph.invoke(new Command({ resume }), config);
    return toolStartedAt - sentAt;
  };
  let file = 0;
  const langGraphSteps = (steps: number) =>
    runStepGraph(billing.db, join(dir, `steps-${file++}.sqlite`), steps, 'async');

  const natives: NativeConnection[] = [];
  const histories: { client: Awaited<ReturnType<typeof connectHistoryClient>>['client']; close(): Promise<void> }[] =
    [];
  try {
    const harness = async (side: Side, fn: (h: Harness) => Promise<void>): Promise<void> => {
      const native = await NativeConnection.connect({ address: servers[side].address });
      natives.push(native);
      await withWorker(fn, {
        server: { nativeConnection: native, client: servers[side].client },
        bundle: side === 'before' ? beforeBundle : afterBundle,
        billing,
      });
    };
    // Both workers run at once, each on its own server; nested so that both are up for the whole run.
    await harness('before', (before) =>
      harness('after', async (after) => {
        const sides: Record<Side, Harness> = { before, after };
        const history = Object.fromEntries(
          await Promise.all(
            SIDES.map(async (side) => {
              const c = await connectHistoryClient(servers[side].address);
              histories.push(c);
              return [side, c.client] as const;
            }),
          ),
        ) as Record<Side, (typeof histories)[number]['client']>;
        const steps = async (side: Side, n: number): Promise<LoopTimes> => {
          const h = sides[side];
          const run = await runTemporalSteps(h.client, h.taskQueue, n, n + 100, history[side]);
          if (run.error !== undefined) throw new Error(`${side}, ${n} steps: ${run.error}`);
          return run;
        };
        // Warm-up: module loading, JIT, each worker's first tasks.
        for (const side of SIDES) {
          await approvalOnce(sides[side]);
          await steps(side, 3);
        }
        await langGraphApproval();
        await langGraphSteps(3);
        for (let i = 0; i < samples; i++) {
          for (const side of SIDES) results[side].approval.push(await approvalOnce(sides[side]));
          results.langgraph.approval.push(await langGraphApproval());
          for (const n of stepCounts) {
            for (const side of SIDES) addSteps(results[side], n, await steps(side, n));
            addSteps(results.langgraph, n, await langGraphSteps(n));
          }
          process.stderr.write(`sample ${i + 1} of ${samples} done\n`);
        }
        if (longSteps !== undefined) {
          for (const side of SIDES) addSteps(results[side], longSteps, await steps(side, longSteps));
          addSteps(results.langgraph, longSteps, await langGraphSteps(longSteps));
        }
      }),
    );
  } finally {
    saver.db.close();
    for (const h of histories) await h.close();
    for (const n of natives) await n.close();
    for (const side of SIDES) await servers[side].stop();
    await closeSharedEnv();
  }

  const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : '—');
  const lg = results.langgraph;
  const rows: string[] = [];
  const approvalRow = (side: Side): string => {
    const a = results[side].approval;
    return (
      `| decision → approved tool starts, after a ${thinkMs} ms pause | ${side} | ${a.length} | ${ms(median(a))} | ` +
      `${ms(p99(a))} | ${ms(median(lg.approval))} | ${ratio(median(a), median(lg.approval))} |`
    );
  };
  rows.push(approvalRow('before'), approvalRow('after'));
  const allSteps = [...stepCounts, ...(longSteps !== undefined ? [longSteps] : [])];
  for (const n of allSteps) {
    for (const side of SIDES) {
      const ours = results[side].steps.get(n);
      const theirs = lg.steps.get(n);
      if (ours === undefined || theirs === undefined) continue;
      rows.push(
        `| per agent step (auto \`get_invoice\`), ${n} steps, p50 of the steps | ${side} | ${ours.perStep.length} run(s) | ` +
          `${ms(median(ours.durations))} | ${ms(p99(ours.durations))} | ${ms(median(theirs.durations))} | ` +
          `${ratio(median(ours.durations), median(theirs.durations))} |`,
      );
    }
  }
  const table = [
    '| measure | side | samples | ours p50 (ms) | ours p99 (ms) | LangGraph.js p50 (ms) | ours ÷ LangGraph |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Fewer hops per decision and per step: before and after',
    `npm run bench:hops -- --samples ${samples} --think ${thinkMs} --steps ${stepCounts.join(',')}` +
      (longSteps !== undefined ? ` --long ${longSteps}` : ''),
    table,
    [
      'Before: a dev server (scripts/server.sh, SQLite file) started with `system.enableActivityEagerExecution=false`,',
      'and a worker whose workflow bundle answers false for `precheck-in-tool`, `audit-when-quiet` and',
      '`read-only-local` (new runs take the path runs from before those changes take: a precheck activity and a',
      'workflow task of its own before an approved tool; an audit store activity after every entry; auto reads as',
      'activity tasks), bundled without the worker’s `preloadModules` (each run evaluates Ed25519 and zod itself). After:',
      'a dev server as scripts/server.sh starts it',
      '(eager activity execution on) and the workflows as they are. Both servers and both workers run at once, each',
      'worker in this process with its own task queue; samples take turns (before, after, LangGraph). Decision: a',
      'scripted `issue_refund` (hard gate under the default policy), approved with `decide` after the pause, timed from',
      'just before the update is sent (client clock) to the tool’s ActivityTaskStarted event (server clock, same',
      'machine). LangGraph: `invoke(new Command({ resume }))` to the tool node’s first line after `interrupt()`',
      '(SqliteSaver on a file), in this process. Steps: a scripted run of N `get_invoice` calls (auto) then an answer,',
      'each step timed between consecutive tool starts on ours (ActivityTaskStarted event times; for the local',
      'activities of `after`, the marker’s complete_time, taken by the worker on the same machine), and between tool node starts on a',
      'LangGraph StateGraph with SqliteSaver (`async` durability). Ratios are of p50s from this one run.',
    ],
  );
}

main().catch(reportFailure);
