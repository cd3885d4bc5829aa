// `npm run demo`: the main job end to end on this machine. Makes sure the Temporal CLI, a dev server and a worker are
// up (starting what is missing; the worker runs in this process on task queue hitl-demo), starts the shipped refund-desk scenario, shows each approval request with the exact
// commands to decide it, waits for the run and prints its result and audit trail.
// `npm run demo -- --approve-as alice` decides from a separate client instead: it approves the refund and rejects
// the account deletion, so both paths show up unattended.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { generateBillingDb, openBillingDb } from '../activities/billing/index';
import {
  auditTrail,
  connectClient,
  decide,
  loadScenario,
  pendingApprovals,
  runResult,
  runStatus,
  startAgentRun,
} from '../client';
import { formatAudit, formatResult, decisionCommands } from '../src/cli/format';
import { connectionConfig } from '../src/config';
import { customSearchAttributes } from '../src/messages';
import { renderApprovalRequest } from '../src/render/approval';
import { createWorker } from '../worker';

const { temporal } = proto;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const say = (text: string): void => void process.stdout.write(`${text}\n`);

const { values: flags } = parseArgs({
  options: {
    'approve-as': { type: 'string' },
    scenario: { type: 'string', default: join(repoRoot, 'scenarios/refund-desk.json') },
    timeout: { type: 'string', default: '30' },
  },
});

async function tryConnect(address: string): Promise<Connection | undefined> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.ensureConnected();
    return connection;
  } catch {
    return undefined;
  }
}

async function ensureServer(address: string): Promise<Connection> {
  const existing = await tryConnect(address);
  if (existing !== undefined) {
    say(`server: using the Temporal server at ${address}`);
    return existing;
  }
  const cli = execFileSync('bash', [join(repoRoot, 'scripts/temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  mkdirSync(join(repoRoot, '.temporal'), { recursive: true });
  const log = openSync(join(repoRoot, '.temporal/server.log'), 'a');
  const child = spawn('bash', [join(repoRoot, 'scripts/server.sh')], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, TEMPORAL_CLI: cli },
  });
  child.unref();
  say(
    `server: started a dev server (pid ${child.pid ?? '?'}, log .temporal/server.log); stop it with: kill ${child.pid ?? '?'}`,
  );
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const connection = await tryConnect(address);
    if (connection !== undefined) return connection;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the dev server did not answer on ${address} within 90 s; see .temporal/server.log`);
}

async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = customSearchAttributes.map((k) => k.name).filter((name) => customAttributes?.[name] === undefined);
  if (missing.length === 0) return;
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
  });
  say(`server: registered the search attributes ${missing.join(', ')}`);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cfg = connectionConfig();
  const connection = await ensureServer(cfg.address);
  await ensureSearchAttributes(connection, cfg.namespace);
  const client = new Client({ connection, namespace: cfg.namespace });

  // The demo runs its own worker, on a task queue of its own, so a worker left over from elsewhere (with another
  // billing database) cannot take its tasks.
  const taskQueue = process.env['HITL_TASK_QUEUE'] ?? 'hitl-demo';
  // A fresh copy of the generated database each time, so a second demo finds invoice 1 unrefunded again.
  const billingPath = process.env['HITL_BILLING_DB'] ?? join(repoRoot, '.data/demo.sqlite');
  if (process.env['HITL_BILLING_DB'] === undefined) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${billingPath}${suffix}`, { force: true });
    generateBillingDb(billingPath);
  }
  const billingDb = openBillingDb(billingPath);
  const native = await NativeConnection.connect({ address: cfg.address });
  const worker = await createWorker({ connection: native, billingDb, taskQueue });
  const running = worker.run();
  say(`worker: started a worker in this process on task queue ${taskQueue}, billing db ${billingPath}`);

  const scenario = await loadScenario(flags.scenario);
  const approver = flags['approve-as'];
  const { workflowId } = await startAgentRun(
    client,
    {
      goal: scenario.goal,
      requestedBy: process.env['USER'] ?? 'demo',
      model: { provider: 'scripted', scenario },
      approvalTimeoutMs: Number(flags.timeout) * 60_000,
    },
    { taskQueue },
  );
  say(`\nrun: started ${workflowId}`);
  say(`     Web UI: http://localhost:8233/namespaces/${cfg.namespace}/workflows/${workflowId}`);

  // Decisions come from a separate client connection, as they would from a reviewer's machine.
  const reviewer = approver !== undefined ? (await connectClient()).client : undefined;
  const seen = new Set<string>();
  for (;;) {
    const status = await runStatus(client, workflowId);
    if (status.phase === 'completed' || status.phase === 'failed') break;
    const pending = (await pendingApprovals(client, workflowId)).filter((p) => !seen.has(p.requestId));
    for (const req of pending) {
      seen.add(req.requestId);
      say(`\n--- approval request ---\n${renderApprovalRequest(req)}`);
      if (reviewer === undefined || approver === undefined) {
        say(
          `\nIn a second terminal, decide with one of:\n${decisionCommands(req)
            .replace(/YOUR_NAME/g, 'alice')
            .replace(/hitl /g, 'npx hitl ')}`,
        );
        continue;
      }
      const reject = req.tool === 'delete_customer';
      const receipt = await decide(reviewer, workflowId, {
        requestId: req.requestId,
        decision: reject ? 'reject' : 'approve',
        approver,
        argsHash: req.argsHash,
        ...(reject ? { reason: 'accounts with invoices are kept for 7 years for tax purposes' } : {}),
      });
      say(`\n${approver} ${reject ? 'rejected' : 'approved'} ${receipt.requestId}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }

  const result = await runResult(client, workflowId);
  say(`\n--- result ---\n${formatResult(result)}`);
  say(`\n--- audit trail ---\n${formatAudit(await auditTrail(client, workflowId))}`);
  const refunds = billingDb
    .prepare("SELECT COUNT(*) FROM hitl_refund WHERE idempotency_key LIKE ? || ':%'")
    .pluck()
    .get(workflowId) as number;
  say(`\nbilling db: ${refunds} refund row(s) for this run`);
  worker.shutdown();
  await running;
  await native.close();
  billingDb.close();
  await reviewer?.connection.close();
  await connection.close();
  say(`\nSee the whole story in the Web UI: http://localhost:8233/namespaces/${cfg.namespace}/workflows/${workflowId}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
