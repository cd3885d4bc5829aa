// Decision to execution: from the moment a client sends `approve` to the moment the approved tool activity starts
// (its ActivityTaskStarted event time on the server), through the `decide` update, the `decision` signal and the
// hitl CLI. Runs against a fresh dev server started from the project's Temporal CLI (or the running server
// HITL_TEST_TEMPORAL_ADDRESS names, e.g. `npm run server:postgres`'s), one worker, scripted model.
// Each way is measured twice: deciding the moment the request appears (the worker is still busy with the request's
// notification) and deciding after a reader's pause (--think ms, default 1000), as a person would. With --signed the
// worker's policy requires signatures: the start and every decision are signed (Ed25519) and verified in the run.
//   npm run bench:decision -- [--samples 20] [--think 1000] [--signed]
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { tsToMs } from '@temporalio/common';
import { decide, pendingApprovals, signalDecision, startAgentRun } from '../client';
import { signDecision } from '../src/node/client/signing';
import { createKey } from '../src/node/identity/keys';
import { parseApproverRegistry } from '../src/node/identity/registry-file';
import { DecisionSchema } from '../src/shared/decision';
import { DEFAULT_POLICY } from '../src/shared/policy/default-policy';
import { PolicySchema } from '../src/shared/policy/schema';
import { decisionOn } from '../test/support/decisions';
import { closeSharedEnv, externalServerAddress, repoRoot, sharedEnv, tempDir, waitFor } from '../test/support/env';
import { withWorker } from '../test/support/harness';
import { ONE_REFUND_MODEL, quantile, recordBenchmark } from './support';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '20' },
    think: { type: 'string', default: '1000' },
    signed: { type: 'boolean', default: false },
  },
});
const signed = values.signed;
const keysDir = tempDir('hitl-bench-keys-');
const benchKey = createKey('bench', { dir: keysDir });
const workerOptions = signed
  ? {
      policy: {
        policy: PolicySchema.parse({ ...DEFAULT_POLICY, version: 'bench-signed', signatures: 'required' }),
        source: 'bench',
      },
      registry: parseApproverRegistry(benchKey.line, 'bench registry'),
    }
  : {};
const samples = Number(values.samples);
const thinkMs = Number(values.think);
const cliSamples = Math.max(3, Math.round(samples / 4));
const run = promisify(execFile);
type Way = 'update' | 'signal' | 'hitl approve (CLI process)';
type Via = `${Way}, ${'at once' | 'after a pause'}`;
const WAYS: Via[] = [
  'update, at once',
  'update, after a pause',
  'signal, at once',
  'signal, after a pause',
  'hitl approve (CLI process), after a pause',
];

async function main(): Promise<void> {
  await sharedEnv();
  const latencies = Object.fromEntries(WAYS.map((w) => [w, [] as number[]])) as Record<Via, number[]>;
  const { address } = await sharedEnv();
  await withWorker(async (h) => {
    const plan: Via[] = [];
    for (let i = 0; i < samples; i++) plan.push(...WAYS.slice(0, 4));
    for (let i = 0; i < cliSamples; i++) plan.push('hitl approve (CLI process), after a pause');
    for (const via of plan) {
      const { workflowId, handle } = await startAgentRun(
        h.client,
        {
          goal: 'bench',
          requestedBy: 'bench',
          model: ONE_REFUND_MODEL,
        },
        { taskQueue: h.taskQueue, ...(signed ? { key: benchKey.key } : {}) },
      );
      const [req] = await waitFor(async () => {
        const p = await pendingApprovals(h.client, workflowId);
        return p.length === 1 ? p : undefined;
      }, 'pending request');
      const decision = DecisionSchema.parse(decisionOn(req!, 'bench'));
      if (via.endsWith('after a pause')) await new Promise((r) => setTimeout(r, thinkMs));
      const sentAt = Date.now();
      // The signature is made when the decision is sent, as a reviewer's client would, so its cost is measured too.
      const ctx = { namespace: h.client.options.namespace, workflowId };
      if (via.startsWith('update')) await decide(h.client, workflowId, decision, signed ? { key: benchKey.key } : {});
      else if (via.startsWith('signal')) {
        await signalDecision(h.client, workflowId, signed ? signDecision(decision, benchKey.key, ctx) : decision);
      } else {
        await run(
          process.execPath,
          [
            join(repoRoot, 'bin/hitl.mjs'),
            ...(signed ? ['--keys-dir', keysDir] : []),
            'approve',
            workflowId,
            '--as',
            'bench',
          ],
          { env: { ...process.env, TEMPORAL_ADDRESS: address } },
        );
      }
      await handle.result();
      const history = await handle.fetchHistory();
      const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes != null) ?? [];
      const refundScheduled = scheduled.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'issue_refund',
      );
      const startedEvent = history.events?.find(
        (e) =>
          e.activityTaskStartedEventAttributes != null &&
          String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(refundScheduled?.eventId),
      );
      if (startedEvent?.eventTime == null) throw new Error(`no ActivityTaskStarted for issue_refund in ${workflowId}`);
      latencies[via].push(tsToMs(startedEvent.eventTime) - sentAt);
    }
  }, workerOptions);
  await closeSharedEnv();
  const rows = (Object.keys(latencies) as Via[]).map(
    (via) =>
      `| ${via} | ${latencies[via].length} | ${quantile(latencies[via], 0.5).toFixed(0)} | ${quantile(latencies[via], 0.99).toFixed(0)} |`,
  );
  const table = ['| decision sent through | samples | p50 (ms) | p99 (ms) |', '|---|---|---|---|', ...rows];
  process.stdout.write(`${table.join('\n')}\n`);
  const external = externalServerAddress();
  const command = `${external !== undefined ? `HITL_TEST_TEMPORAL_ADDRESS=${external} ` : ''}npm run bench:decision -- --samples ${samples} --think ${thinkMs}${signed ? ' --signed' : ''}`;
  const title = `Decision to execution${signed ? ', signed' : ''}${external !== undefined ? ', external server' : ''}`;
  const serverWords =
    external !== undefined
      ? 'The server HITL_TEST_TEMPORAL_ADDRESS names (npm run server:postgres: Temporal Server 1.31.2 on PostgreSQL)'
      : 'Dev server (SQLite, in-memory)';
  recordBenchmark(title, command, table, [
    'Time from the client sending approve to the ActivityTaskStarted event of the approved tool (server clock, same',
    `machine). ${serverWords}, one worker, scripted model; the ways take turns. Between the decision`,
    "and the tool come the tool's precheck activity and two workflow tasks. 'At once': sent the moment the request",
    `appears, while the worker is busy with its notification; 'after a pause': sent ${thinkMs} ms later, as a reader`,
    'would. The CLI row includes starting the `hitl` process (Node + tsx), looking the request up and sending the',
    'update.',
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
