// What payload encryption costs: the decision round trip (a `decide` update after a reader's pause, to the approved
// tool's ActivityTaskStarted) and the time per agent step of a 10-step run, each measured on a worker with plain
// payloads and on one with the AES-256-GCM codec (clients alike), taking turns in one run on one dev server.
//   npm run bench:encryption -- [--samples 15] [--think 500] [--steps 10]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tsToMs } from '@temporalio/common';
import { decide, pendingApprovals, startAgentRun } from '../client';
import { addPayloadKey, loadPayloadKeys } from '../src/node/codec/payload-keys';
import { DecisionSchema } from '../src/shared/decision';
import { decisionOn } from '../test/support/decisions';
import { closeSharedEnv, sharedEnv, tempDir, waitFor } from '../test/support/env';
import { withWorker, type Harness } from '../test/support/harness';
import { testKey } from '../test/support/keys';
import { connectHistoryClient } from './peers/common';
import { runTemporalSteps } from './peers/temporal-steps';
import { ONE_REFUND_MODEL, quantile, recordBenchmark } from './support';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '15' },
    think: { type: 'string', default: '500' },
    steps: { type: 'string', default: '10' },
  },
});
const samples = Number(values.samples);
const thinkMs = Number(values.think);
const steps = Number(values.steps);

async function decisionMs(h: Harness): Promise<number> {
  const { workflowId, handle } = await startAgentRun(
    h.client,
    {
      goal: 'bench',
      requestedBy: 'alice',
      model: ONE_REFUND_MODEL,
    },
    { taskQueue: h.taskQueue, key: testKey('alice') },
  );
  const [req] = await waitFor(async () => {
    const p = await pendingApprovals(h.client, workflowId);
    return p.length === 1 ? p : undefined;
  }, 'pending request');
  const decision = DecisionSchema.parse(decisionOn(req!, 'bob'));
  await new Promise((r) => setTimeout(r, thinkMs));
  const sentAt = Date.now();
  await decide(h.client, workflowId, decision, { key: testKey('bob') });
  await handle.result();
  const history = await handle.fetchHistory();
  const refund = history.events?.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'issue_refund',
  );
  const started = history.events?.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(refund?.eventId),
  );
  if (started?.eventTime == null) throw new Error(`no ActivityTaskStarted for issue_refund in ${workflowId}`);
  return tsToMs(started.eventTime) - sentAt;
}

async function main(): Promise<void> {
  const { address } = await sharedEnv();
  const file = join(tempDir('hitl-bench-codec-'), 'payload-keys.json');
  addPayloadKey(file, 'bench');
  const keys = loadPayloadKeys(file);
  const histories = await connectHistoryClient(address);
  const decision = { plain: [] as number[], encrypted: [] as number[] };
  const perStep = { plain: [] as number[], encrypted: [] as number[] };
  await withWorker(async (plain) => {
    await withWorker(
      async (encrypted) => {
        for (let i = 0; i < samples; i += 1) {
          for (const [name, h] of [
            ['plain', plain],
            ['encrypted', encrypted],
          ] as const) {
            decision[name].push(await decisionMs(h));
            const run = await runTemporalSteps(h.client, h.taskQueue, steps, steps + 5, histories.client);
            if (run.error !== undefined) throw new Error(`${name} step run failed: ${run.error}`);
            perStep[name].push((run.finishedAt - run.startedAt) / steps);
          }
        }
      },
      { payloadKeys: keys! },
    );
  });
  await histories.close();
  await closeSharedEnv();
  const p50 = (xs: number[]) => quantile(xs, 0.5);
  const row = (what: string, xs: { plain: number[]; encrypted: number[] }) =>
    `| ${what} | ${p50(xs.plain).toFixed(1)} | ${p50(xs.encrypted).toFixed(1)} | ${(p50(xs.encrypted) / p50(xs.plain)).toFixed(2)}× |`;
  const table = [
    '| measure (p50) | plain payloads (ms) | encrypted payloads (ms) | ratio |',
    '|---|---|---|---|',
    row(`decide update after a ${thinkMs} ms pause → approved tool starts`, decision),
    row(`per agent step, ${steps}-step run (auto tool)`, perStep),
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Payload encryption cost',
    `npm run bench:encryption -- --samples ${samples} --think ${thinkMs} --steps ${steps}`,
    table,
    [
      `${samples} samples of each, plain and encrypted taking turns on one dev server; signed decisions (the default`,
      'policy with test keys); the encrypted side encrypts every payload of client and worker with AES-256-GCM and',
      "encodes failures. Per step: the run's first to last history event, divided by the steps.",
    ],
  );
}

main().catch(async (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
  await closeSharedEnv();
});
