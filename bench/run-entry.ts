// What a run costs to enter the worker: the time to replay one recorded run into a fresh workflow (what a worker
// does for a run that is not in its cache when a decision, a query or a timer comes for it), with the workflows
// bundled as the worker bundles them and, side by side, without the modules the worker preloads (Ed25519 and zod
// evaluated again for every run, as before they were shared). No server: the SDK's replayer feeds the history.
// Rounds take turns between the two bundles; each round replays `--batch` copies of the history in one replayer.
//   npm run bench:entry [-- --rounds 6] [--batch 40] [--history hard-approved.after-read-only-local]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { quietBundlerLogger, repoRoot } from '../test/support/env';
import { workflowSpanSinks } from '../src/node/telemetry/tracing';
import { workflowBundleOptions } from '../worker';
import { median, p99 } from './peers/common';
import { recordBenchmark } from './support';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    batch: { type: 'string', default: '40' },
    history: { type: 'string', default: 'hard-approved.after-read-only-local' },
  },
});
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const historyName = values.history;

const { History } = proto.temporal.api.history.v1;
const ids = JSON.parse(readFileSync(join(repoRoot, 'test/histories/workflow-ids.json'), 'utf8')) as Record<
  string,
  string
>;
const history = History.decode(readFileSync(join(repoRoot, 'test/histories', `${historyName}.pb`)));
const workflowId = ids[historyName] ?? historyName;

type Side = 'per run' | 'shared';
const { preloadModules, ...unshared } = workflowBundleOptions;
const bundles: Record<Side, WorkflowBundle> = {
  'per run': await bundleWorkflowCode({ ...unshared, logger: quietBundlerLogger }),
  shared: await bundleWorkflowCode({ ...workflowBundleOptions, logger: quietBundlerLogger }),
};

/** Replays `batch` copies of the history in one replayer; returns each replay's duration in ms. */
async function replayBatch(bundle: WorkflowBundle): Promise<number[]> {
  const replays = Array.from({ length: batch }, () => ({ workflowId, history }));
  const took: number[] = [];
  let last = performance.now();
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle, sinks: workflowSpanSinks(undefined) },
    replays,
  )) {
    if (result.error !== undefined) throw new Error(`replay failed: ${result.error.message}`);
    const now = performance.now();
    took.push(now - last);
    last = now;
  }
  return took;
}

const samples: Record<Side, number[]> = { 'per run': [], shared: [] };
for (let r = 0; r < rounds; r++) {
  for (const side of ['per run', 'shared'] as const) samples[side].push(...(await replayBatch(bundles[side])));
}

const fmt = (ms: number): string => ms.toFixed(1);
const base = median(samples['per run']);
const table = [
  '| modules | replays | replay p50 (ms) | replay p99 (ms) | ratio to per run |',
  '|---|---|---|---|---|',
  ...(['per run', 'shared'] as const).map(
    (side) =>
      `| ${side === 'shared' ? `shared (${preloadModules.length} preloaded)` : 'each run its own'} | ` +
      `${samples[side].length} | ${fmt(median(samples[side]))} | ${fmt(p99(samples[side]))} | ` +
      `${(median(samples[side]) / base).toFixed(2)} |`,
  ),
];
process.stdout.write(`${table.join('\n')}\n`);
recordBenchmark(
  'What a run costs to enter the worker',
  `npm run bench:entry -- --rounds ${rounds} --batch ${batch} --history ${historyName}`,
  table,
  [
    `Each sample replays the recorded run \`test/histories/${historyName}.pb\` (${history.events.length} events: a`,
    'signed start, a hard-gated refund, a signed approval) into a new workflow, as a worker does for a run that is not',
    'in its cache. "Each run its own": the workflows bundled without `preloadModules`, so every run evaluates',
    'Ed25519 and zod again; "shared": as the worker bundles them.',
  ],
);
