// `npm run demo`: the main job end to end on this machine. Makes sure the Temporal CLI, a dev server and a worker are
// up (starting what is missing; the worker runs in this process on task queue hitl-demo), starts the shipped
// refund-desk scenario under the shipped example policy (its timers scaled down so a person can watch them), shows each
// approval request with the exact commands to decide it, waits for the run and prints its result and audit trail.
// `npm run demo -- --approve-as alice` (or `--unattended`) decides from a separate client instead, as the policy's own
// people: the soft-gated email is left to proceed, the small refund escalates to an admin who approves it, two finance
// members approve the large refund and an admin rejects the account deletion.
// Flags: --policy FILE (default policies/example.yaml), --time-scale N (default 180: 30m becomes 10 s),
// --scenario FILE (default scenarios/refund-desk.json), --timeout MINUTES (the run's own approval timeout, scaled too).
// --model local runs the scenario's goal with the local GGUF model instead of its scripted turns (`npm run
// model:fetch` first; HITL_MODEL_PATH names another file), for at most --max-steps model calls (default 8).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { generateBillingDb, openBillingDb, type BillingDb } from '../activities/billing/index';
import { auditTrail, connectClient, loadScenario, runResult, startAgentRun } from '../client';
import { formatAudit, formatResult } from '../src/node/cli/format';
import type { Scenario } from '../src/shared/model/types';
import { connectionConfig, connectOptions } from '../src/node/config';
import { ensureSearchAttributes } from '../src/node/search-attributes';
import { loadPolicyFile } from '../src/node/policy-file';
import type { Policy } from '../src/shared/policy/schema';
import { formatUsd } from '../src/shared/tools/billing';
import { createWorker } from '../worker';
import { createKey, loadKey, registryLine } from '../src/node/identity/keys';
import { parseApproverRegistry } from '../src/node/identity/registry-file';
import { PolicyBook } from '../src/node/policy-book';
import { normalizeName } from '../src/shared/identity/names';
import type { ApproverRegistry } from '../src/shared/identity/signatures';
import { scalePolicyTimers } from './demo-policy';
import { followRun } from './demo-reviewer';
import { LocalMailServer, WebhookReceiver } from './local-receivers';
import { NotificationDispatcher } from '../src/node/notify/dispatcher';
import { NotifySettingsSchema } from '../src/node/notify/settings';
import { escapeTerminal } from '../src/shared/render/escape';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const say = (text: string): void => void process.stdout.write(`${text}\n`);

const { values: flags } = parseArgs({
  options: {
    'approve-as': { type: 'string' },
    unattended: { type: 'boolean', default: false },
    scenario: { type: 'string', default: join(repoRoot, 'scenarios/refund-desk.json') },
    policy: { type: 'string', default: join(repoRoot, 'policies/example.yaml') },
    'time-scale': { type: 'string', default: '180' },
    // The run's own approval timeout in minutes, for requests whose policy entry sets none; scaled like the policy.
    timeout: { type: 'string', default: '30' },
    model: { type: 'string', default: 'scripted' },
    'max-steps': { type: 'string', default: '8' },
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

interface Inputs {
  scenario: Scenario;
  /** The policy as written, for the line that names it. */
  shipped: Policy;
  /** The policy the run gets: the shipped one with its timers scaled. */
  policy: Policy;
  scale: number;
  timeoutMinutes: number;
  /** Whether the local model drives the run (else the scenario's scripted turns). */
  local: boolean;
  /** The local model's step budget (model calls). */
  maxSteps: number;
}

/** Starts the run, follows it (deciding when unattended) and prints how it ended. */
async function demoRun(
  client: Client,
  taskQueue: string,
  billingDb: BillingDb,
  inputs: Inputs,
  keysDir: string,
): Promise<void> {
  const { scenario, shipped, policy, scale } = inputs;
  const namespace = client.options.namespace;
  say(
    `policy ${shipped.version} from ${relative(process.cwd(), flags.policy) || flags.policy}` +
      (scale === 1 ? ', timers as written' : `, timers ${scale}× faster for the demo`),
  );
  // The person running the demo requests the run; under separation of duties they may not decide its requests.
  const requestedBy = process.env['USER']?.trim() || 'demo';
  const key = loadKey(requestedBy, keysDir);
  const { workflowId } = await startAgentRun(
    client,
    {
      goal: scenario.goal,
      requestedBy,
      ...(inputs.local
        ? // Some sampling: at temperature 0 a small model tends to repeat its first call until the budget runs out.
          { model: { provider: 'local' as const, temperature: 0.7 }, maxSteps: inputs.maxSteps }
        : { model: { provider: 'scripted' as const, scenario } }),
      approvalTimeoutMs: Math.max(1_000, Math.round((inputs.timeoutMinutes * 60_000) / scale)),
      policy: policy.version,
    },
    { taskQueue, ...(key !== undefined ? { key } : {}) },
  );
  const link = `http://localhost:8233/namespaces/${namespace}/workflows/${workflowId}`;
  say(`\nrun: started ${workflowId}, requested by ${requestedBy}`);
  if (inputs.local) {
    say(
      `     model: the local GGUF model, at most ${inputs.maxSteps} model calls; goal: ${escapeTerminal(scenario.goal)}`,
    );
  }
  say(`     Web UI: ${link}`);

  // Decisions come from a separate client connection, as they would from a reviewer's machine.
  const approveAs = flags['approve-as'];
  const unattended = flags.unattended || approveAs !== undefined;
  if (!unattended && scale !== 1) {
    say("     (deadlines are short at this time scale; `npm run demo -- --time-scale 1` keeps the policy's own)");
  }
  const reviewer = unattended ? (await connectClient()).client : undefined;
  try {
    await followRun({
      client,
      workflowId,
      ...(reviewer !== undefined ? { reviewer } : {}),
      ...(approveAs !== undefined ? { approveAs } : {}),
      keysDir: relative(process.cwd(), keysDir) || keysDir,
      say,
    });
  } finally {
    await reviewer?.connection.close();
  }

  const result = await runResult(client, workflowId);
  say(`\n--- result ---\n${formatResult(result)}`);
  say(`\n--- audit trail ---\n${formatAudit(await auditTrail(client, workflowId))}`);
  const refunds = billingDb
    .prepare<[string], { invoice_id: number; amount_cents: number; reason: string }>(
      "SELECT invoice_id, amount_cents, reason FROM hitl_refund WHERE idempotency_key LIKE ? || ':%' ORDER BY refund_id",
    )
    .all(workflowId);
  say(`\n--- billing db: ${refunds.length} refund row(s) for this run ---`);
  for (const r of refunds) say(`  invoice ${r.invoice_id}: ${formatUsd(r.amount_cents)} (${r.reason})`);
  say(`\nSee the whole story in the Web UI: ${link}`);
}

/**
 * Signing keys for the policy's people and `others` in `dir` (made once, kept across demos), and the approver
 * registry of their public keys for the demo's worker.
 */
function demoRegistry(policy: Policy, others: string[], dir: string): ApproverRegistry {
  const people = [...new Set([...Object.values(policy.groups).flat(), ...others.map(normalizeName)])].sort();
  const lines = people.map((person) => registryLine(loadKey(person, dir) ?? createKey(person, { dir }).key));
  return parseApproverRegistry(lines.join('\n'), `${dir} (the demo's people)`);
}

/**
 * A webhook receiver and an SMTP server on 127.0.0.1, and notification settings that send every notification to the
 * webhook and each group's email to its people (`NAME@example.com`); each arrival is printed as it comes.
 */
async function startLocalNotifications(policy: Policy) {
  const secret = randomBytes(24).toString('hex');
  const [hook, mail] = await Promise.all([WebhookReceiver.start(secret), LocalMailServer.start()]);
  const started = performance.now();
  const since = (at: number) => `+${((at - started) / 1000).toFixed(1)} s`;
  hook.onReceive = (r) => {
    const n = r.json as { kind?: string; text?: string };
    const check = r.verified ? 'signature verified' : 'SIGNATURE DID NOT VERIFY';
    say(`notify: webhook ${since(r.at)} ${n.kind ?? '?'}: ${escapeTerminal(n.text ?? '')} (${check})`);
  };
  mail.onReceive = (m) => say(`notify: email   ${since(m.at)} to ${m.to.join(', ')}: ${escapeTerminal(m.subject)}`);
  const people = [...new Set(Object.values(policy.groups).flat())];
  const settings = NotifySettingsSchema.parse({
    people: Object.fromEntries(people.map((p) => [p, { email: `${p}@example.com` }])),
    channels: {
      'demo-webhook': { type: 'webhook', url: hook.url, secretEnv: 'DEMO_WEBHOOK_SECRET' },
      'demo-email': { type: 'email', smtp: mail.url, from: 'hitl demo <hitl@example.com>' },
    },
    routes: [{ channels: ['demo-webhook'] }, { groups: Object.keys(policy.groups), channels: ['demo-email'] }],
  });
  const dispatcher = new NotificationDispatcher(settings, { env: { DEMO_WEBHOOK_SECRET: secret } });
  say(`notify: a webhook receiver at ${hook.url} and an SMTP server at ${mail.url} (local, started by the demo)`);
  return {
    dispatcher,
    async close() {
      await dispatcher.close();
      await Promise.all([hook.close(), mail.close()]);
    },
  };
}

async function main(): Promise<void> {
  // Read the inputs first, so a bad file or flag stops the demo before anything starts.
  const scale = Number(flags['time-scale']);
  if (!(scale > 0 && Number.isFinite(scale))) {
    throw new Error(`--time-scale must be a positive number, got ${flags['time-scale']}`);
  }
  const shipped = loadPolicyFile(flags.policy);
  const inputs: Inputs = {
    scenario: await loadScenario(flags.scenario),
    shipped,
    policy: scalePolicyTimers(shipped, scale),
    scale,
    timeoutMinutes: Number(flags.timeout),
    local: flags.model === 'local',
    maxSteps: Number(flags['max-steps']),
  };
  if (flags.model !== 'local' && flags.model !== 'scripted') {
    throw new Error(`--model must be scripted or local, got ${flags.model}`);
  }
  if (!(Number.isInteger(inputs.maxSteps) && inputs.maxSteps >= 1)) {
    throw new Error(`--max-steps must be a positive whole number, got ${flags['max-steps']}`);
  }
  if (!(inputs.timeoutMinutes > 0)) throw new Error(`--timeout must be a number of minutes, got ${flags.timeout}`);

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cfg = connectionConfig();
  const connection = await ensureServer(cfg.address);
  const registered = await ensureSearchAttributes(connection, cfg.namespace);
  if (registered.length > 0) say(`server: registered the search attributes ${registered.join(', ')}`);
  const client = new Client({ connection, namespace: cfg.namespace });

  // The demo runs its own worker, on a task queue of its own, so a worker left over from elsewhere (with another
  // billing database) cannot take its tasks.
  const taskQueue = process.env['HITL_TASK_QUEUE'] ?? 'hitl-demo';
  // A fresh copy of the generated database each time, so a second demo finds invoices 1 and 2 unrefunded again.
  const billingPath = process.env['HITL_BILLING_DB'] ?? join(repoRoot, '.data/demo.sqlite');
  if (process.env['HITL_BILLING_DB'] === undefined) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${billingPath}${suffix}`, { force: true });
    generateBillingDb(billingPath);
  }
  const billingDb = openBillingDb(billingPath);
  // The policy is the worker's: the run names it. The policy's people (and you, who request the run) get signing keys
  // in the demo's own keys folder, and the worker registers their public keys.
  const keysDir = join(repoRoot, '.data/demo/keys');
  const registry = demoRegistry(inputs.policy, [process.env['USER']?.trim() || 'demo'], keysDir);
  say(
    `keys: ${registry.keys.length} people's signing keys in ${relative(process.cwd(), keysDir)}; the worker registers them`,
  );
  const local = await startLocalNotifications(inputs.policy);
  const native = await NativeConnection.connect(connectOptions(cfg));
  const worker = await createWorker({
    connection: native,
    billingDb,
    taskQueue,
    policies: PolicyBook.of(inputs.policy, `${flags.policy} (timers scaled ${scale}×)`),
    registry,
    notifications: local.dispatcher,
  });
  const running = worker.run();
  say(`worker: started a worker in this process on task queue ${taskQueue}, billing db ${billingPath}`);
  try {
    await demoRun(client, taskQueue, billingDb, inputs, keysDir);
  } finally {
    // Also on failure: a worker left polling would keep the process alive.
    worker.shutdown();
    await running;
    await native.close();
    billingDb.close();
    await connection.close();
    await local.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
