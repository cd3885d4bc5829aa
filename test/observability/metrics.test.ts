import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nanoid } from 'nanoid';
import { generateBillingDb } from '../../activities/billing/index';
import { startAgentRun } from '../../client';
import type { ScenarioTurn } from '../../src/shared/model/types';
import { decideAs, approveAs } from '../support/decisions';
import { repoRoot, sharedEnv, tempDir, waitFor } from '../support/env';
import { answer, call } from '../support/harness';
import { testKey } from '../support/keys';
import { parsePrometheus, total, type Sample } from '../support/prometheus';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';
import { pendingApprovals } from '../../client';
import { METRIC } from '../../src/shared/metric-names';

/** A free TCP port on 127.0.0.1 (bound, then released for the worker). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The metric names a dashboard's queries use (identifiers followed by a label set, a range or a parenthesis). */
function metricsOfDashboard(dashboard: unknown): Set<string> {
  const names = new Set<string>();
  const functions = new Set([
    'sum',
    'rate',
    'increase',
    'max',
    'histogram_quantile',
    'by',
    'le',
    'clamp_min',
    'without',
  ]);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') {
          for (const [name] of value.matchAll(/\b(?:hitl|temporal)_[a-z0-9_]+/g))
            if (!functions.has(name)) names.add(name);
        } else visit(value);
      }
    }
  };
  visit(dashboard);
  return names;
}

describe('metrics', () => {
  let worker: WorkerProcess;
  let port: number;
  let taskQueue: string;

  before(async () => {
    const { address } = await sharedEnv();
    const dbPath = join(tempDir('hitl-metrics-'), 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 20, invoices: 60 });
    port = await freePort();
    taskQueue = `metrics-${nanoid(6)}`;
    worker = new WorkerProcess({
      address,
      taskQueue,
      billingDbPath: dbPath,
      bundlePath: await writeSharedBundle(),
      env: { HITL_METRICS_PORT: String(port), HITL_METRICS_POLL_MS: '1000' },
    });
    await worker.start();
  });

  after(async () => {
    await worker.stop();
  });

  const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    return { text, samples: parsePrometheus(text) };
  };

  it('serves the SDK metrics and the gate metrics of an approved and a rejected run on HITL_METRICS_PORT', async () => {
    const { env } = await sharedEnv();
    const client = env.client;
    const start = async (turns: ScenarioTurn[]) =>
      startAgentRun(
        client,
        {
          goal: 'metrics',
          requestedBy: 'tester',
          model: { provider: 'scripted', scenario: { goal: 'metrics', turns } },
        },
        { taskQueue, key: testKey('tester') },
      );
    const refund = (invoiceId: number) => ({ invoiceId, amountCents: 500, reason: 'charged twice' });
    const approved = await start([call('issue_refund', refund(1)), answer('refunded')]);
    const rejected = await start([call('issue_refund', refund(2)), answer('not refunded')]);
    const pendingOf = (workflowId: string) =>
      waitFor(async () => (await pendingApprovals(client, workflowId))[0], `a pending request on ${workflowId}`);
    const [a, r] = await Promise.all([pendingOf(approved.workflowId), pendingOf(rejected.workflowId)]);

    // Both runs wait: the gauge counts them from the server's view.
    await waitFor(async () => {
      const { samples } = await scrape();
      return total(samples, 'hitl_runs_waiting', { taskQueue }) === 2 ? true : undefined;
    }, 'hitl_runs_waiting to reach 2');

    await approveAs(client, approved.workflowId, a, 'alice');
    await decideAs(client, rejected.workflowId, r, 'alice', 'reject', { reason: 'not owed' });
    await Promise.all([approved.handle.result(), rejected.handle.result()]);

    let last = '';
    const { samples } = await waitFor(async () => {
      const s = await scrape();
      last = s.text;
      const done =
        total(s.samples, 'hitl_requests_closed', { taskQueue }) === 2 &&
        total(s.samples, 'hitl_runs_waiting', { taskQueue }) === 0;
      return done ? s : undefined;
    }, 'the closures and the gauge back at 0').catch((err: unknown) => {
      const lines = last.split('\n').filter((l) => l.startsWith('hitl_'));
      throw new Error(`${(err as Error).message}; the project's lines of the last scrape:\n${lines.join('\n')}`);
    });
    const q = { taskQueue };
    assert.equal(total(samples, 'hitl_requests_opened', { ...q, tool: 'issue_refund', gate: 'hard' }), 2);
    assert.equal(total(samples, 'hitl_requests_closed', { ...q, outcome: 'approved', gate: 'hard' }), 1);
    assert.equal(total(samples, 'hitl_requests_closed', { ...q, outcome: 'rejected', gate: 'hard' }), 1);
    assert.equal(total(samples, 'hitl_requests_expired', q), 0);
    assert.equal(total(samples, 'hitl_decision_time_count', q), 2);
    assert.ok(total(samples, 'hitl_decision_time_sum', q) > 0, 'time to decision is recorded in ms');
    assert.ok(
      samples.some((s) => s.name === 'hitl_decision_time_bucket' && s.labels['le'] === '60000'),
      'the decision-time buckets are the hours-and-days ones',
    );
    assert.ok(
      total(samples, 'temporal_workflow_completed', { task_queue: taskQueue }) >= 2,
      'the SDK metrics are served too',
    );
  });

  it('has a Grafana dashboard that parses and queries only metrics the worker serves', async () => {
    const dashboard: unknown = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana-dashboard.json'), 'utf8'));
    const used = metricsOfDashboard(dashboard);
    assert.ok(used.size >= 8, `the dashboard queries ${[...used].join(', ')}`);
    const { samples } = await scrape();
    const served = new Set(samples.map((s) => s.name));
    // Counters of events this run did not provoke (escalations, refusals, failed deliveries, expiries) are absent from
    // the scrape until their first event: those must at least be metrics the code emits.
    const emitted = new Set<string>(Object.values(METRIC));
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    const missing = [...used].filter((name) => !served.has(name) && !emitted.has(base(name)));
    assert.deepEqual(missing, [], 'every metric the dashboard queries is served or emitted by the worker');
    const scraped = [...used].filter((name) => served.has(name));
    assert.ok(scraped.length >= 6, `queried and in the scrape: ${scraped.join(', ')}`);
  });
});
