// `npm run record-histories`: runs representative agent runs on a test server and writes their event histories to
// test/histories/<name>.pb (protobuf binary, as the server sends them), where the replay test (test/replay.test.ts)
// replays them against the current workflow code. Binary rather than JSON: in this install the SDK's JSON converters
// (historyToJSON / historyFromJSON) fail, because npm keeps two copies of protobufjs 8 that do not recognise each
// other's types; `temporal workflow show --output json` gives a readable copy of any run.
// Record new ones when a feature adds a path through the workflow; keep the old ones: they are the runs in flight that
// a workflow change must not break, so an existing file is never overwritten. `--only NAME` records one; `--suffix S`
// writes NAME<S>.pb, to record a path again after a change (e.g. `--suffix .after-closing-notice`).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { auditTrail, pendingApprovals, runStatus, signalDecision } from '../client';
import { loadPolicyFile } from '../src/node/policy-file';
import { PolicySchema, type Policy } from '../src/shared/policy/schema';
import type { ApprovalRequest } from '../src/shared/run-state';
import type { ScenarioTurn } from '../src/shared/model/types';
import { closeSharedEnv, repoRoot, sharedEnv, tempDir, waitFor } from '../test/support/env';
import { parseMcpSettings } from '../src/node/mcp/settings';
import { McpToolbox } from '../src/node/mcp/toolbox';
import { connectClient } from '../src/node/client/connect';
import { approveAs, decideAs, resumeAs, stopAs } from '../test/support/decisions';
import { answer, call, withWorker, type Harness, type StartOverrides } from '../test/support/harness';

const { values } = parseArgs({ options: { only: { type: 'string' }, suffix: { type: 'string', default: '' } } });
const outDir = join(repoRoot, 'test/histories');
const example = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));

/** The example policy with some tool entries replaced and reminders 1 s before each deadline. */
function policyWith(version: string, tools: Record<string, unknown>, extra: Record<string, unknown> = {}): Policy {
  return PolicySchema.parse({
    ...example,
    version,
    defaults: { ...example.defaults, reminderBefore: '1s' },
    tools: { ...example.tools, ...tools },
    ...extra,
  });
}

const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'recorded' });
const support = { groups: ['support'] };

interface Recording {
  turns: ScenarioTurn[];
  input?: StartOverrides;
  /** Changes to the billing database before the run starts (undone after it). */
  setup?: (h: Harness) => () => void;
  /** What people do while the run goes on. */
  act?: (h: Harness, workflowId: string) => Promise<void>;
  /**
   * The run's input on a worker connected to the notes MCP server (test/support/mcp-notes-server.ts), given the
   * definition hash of each of its tools; such recordings run on a worker of their own.
   */
  mcp?: (hashes: Record<string, string>) => StartOverrides;
}

async function first(h: Harness, workflowId: string, count = 1): Promise<ApprovalRequest[]> {
  return h.pending(workflowId, count);
}

function approve(h: Harness, workflowId: string, r: ApprovalRequest, approver: string) {
  return approveAs(h.client, workflowId, r, approver);
}

async function answerPause(h: Harness, workflowId: string, action: 'continue' | 'approve', by: string) {
  const pause = await waitFor(async () => (await runStatus(h.client, workflowId)).pause, 'a pause');
  await resumeAs(h.client, workflowId, { pauseId: pause.pauseId, action, by });
}

const recordings: Record<string, Recording> = {
  'auto-and-auto-logged': {
    turns: [
      call('find_customers', { query: 'a' }),
      call('update_customer_contact', { customerId: 2, phone: '+1 555 0100' }),
      answer('done'),
    ],
    input: { policy: example },
  },
  'soft-window-passes': {
    turns: [call('send_email', { customerIds: [1], subject: 'Hi', body: 'Hello.' }), answer('sent')],
    input: { policy: policyWith('rec-soft', { send_email: { gate: 'soft', approvers: support, softWindow: '1s' } }) },
  },
  'hard-approved': {
    turns: [call('issue_refund', refund(100), 'Charged twice.\nAlternative: a store credit'), answer('refunded')],
    input: { policy: example },
    act: async (h, id) => void (await approve(h, id, (await first(h, id))[0]!, 'sam')),
  },
  'hard-rejected-then-replanned': {
    turns: [
      call('delete_customer', { customerId: 3, reason: 'asked' }),
      { content: 'deleted', onRejected: { content: 'Kept the account.' } },
    ],
    input: { policy: example },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await decideAs(h.client, id, r!, 'ada', 'reject', { reason: 'tax records' });
    },
  },
  'hard-edited': {
    turns: [call('issue_refund', refund(300)), answer('refunded')],
    input: { policy: example },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await decideAs(h.client, id, r!, 'sam', 'edit', { args: refund(200) });
    },
  },
  'edited-into-a-quorum': {
    // An edit raises a refund into the range where two finance people must approve: the request stays open after it.
    turns: [call('issue_refund', refund(1000)), answer('refunded')],
    input: {
      policy: policyWith('rec-edit-quorum', {
        issue_refund: {
          gate: 'hard',
          approvers: { groups: ['finance'] },
          rules: [
            {
              name: 'large refund',
              when: { arg: 'amountCents', op: 'gte', value: 5000 },
              approvers: { groups: ['finance'], quorum: 2 },
            },
          ],
        },
      }),
    },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await decideAs(h.client, id, r!, 'fiona', 'edit', { args: refund(6000) });
      // The edited request shows what the edited call touches once it is resolved again: decide on it as shown.
      const [edited] = await waitFor(async () => {
        const p = await pendingApprovals(h.client, id);
        return p[0]?.effect !== undefined && p[0].argsHash !== r!.argsHash ? p : undefined;
      }, 'the edited request');
      await approve(h, id, edited!, 'frank');
    },
  },
  'hard-responded': {
    turns: [call('issue_refund', refund(300)), { content: 'ok', onRejected: { content: 'Will ask first.' } }],
    input: { policy: example },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await decideAs(h.client, id, r!, 'sam', 'respond', { message: 'ask the customer first' });
    },
  },
  'hard-expired': {
    turns: [call('issue_refund', refund(100)), { content: 'ok', onRejected: { content: 'Nobody decided.' } }],
    input: {
      policy: policyWith('rec-expiry', { issue_refund: { gate: 'hard', approvers: support, timeout: '2s' } }),
    },
  },
  'escalated-then-approved': {
    turns: [call('issue_refund', refund(100)), answer('refunded')],
    input: {
      policy: policyWith('rec-escalation', {
        issue_refund: {
          gate: 'hard',
          approvers: support,
          timeout: '2s',
          onTimeout: 'escalate',
          escalation: [{ groups: ['admins'], timeout: '30s' }],
        },
      }),
    },
    act: async (h, id) => {
      const [r] = await waitFor(async () => {
        const p = await pendingApprovals(h.client, id);
        return p[0]?.stage === 1 ? p : undefined;
      }, 'the escalation');
      await approve(h, id, r!, 'ada');
    },
  },
  'quorum-of-two': {
    turns: [call('issue_refund', refund(6000, 2)), answer('refunded')],
    input: { policy: example },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await approve(h, id, r!, 'fiona');
      await approve(h, id, r!, 'frank');
    },
  },
  deny: {
    turns: [call('delete_customer', { customerId: 2, reason: 'x' }), answer('not allowed')],
    input: { policy: policyWith('rec-deny', { delete_customer: { gate: 'deny' } }) },
  },
  'parallel-calls-decided-in-reverse': {
    turns: [
      {
        content: 'three refunds',
        // One invoice each: a refund on an invoice changes what another request on it showed its reviewers.
        toolCalls: [10, 20, 30].map((amountCents, i) => ({
          name: 'issue_refund',
          arguments: refund(amountCents, i + 1),
        })),
      },
      answer('done'),
    ],
    act: async (h, id) => {
      const reqs = await first(h, id, 3);
      for (const r of [...reqs].reverse()) await approve(h, id, r, 'alice');
    },
  },
  'plan-review': {
    turns: [
      { toolCalls: [{ name: 'issue_refund', arguments: refund(100) }] },
      call('issue_refund', refund(100)),
      call('issue_refund', refund(50)),
      answer('done'),
    ],
    input: { policy: example, review: 'plan' },
    act: async (h, id) => {
      await answerPause(h, id, 'approve', 'sam');
      await approve(h, id, (await first(h, id))[0]!, 'sue');
    },
  },
  'budget-pause': {
    turns: [call('get_invoice', { invoiceId: 1 }), answer('read')],
    input: {
      policy: PolicySchema.parse({
        ...example,
        version: 'rec-budget',
        interruptions: { budgetUsd: 0.05, pricing: { promptPerMillionUsd: 1_000, completionPerMillionUsd: 1_000 } },
      }),
    },
    act: (h, id) => answerPause(h, id, 'continue', 'ada'),
  },
  'stopped-while-pending': {
    turns: [call('issue_refund', refund(100)), answer('refunded')],
    act: async (h, id) => {
      await first(h, id);
      await stopAs(h.client, id, { by: 'ada', reason: 'customer called back' });
    },
  },
  'large-result-carried-mid-turn': {
    // A read returns about 300 KB (a customer's company name made huge) in the turn of a refund that waits for
    // approval, and the run continues as new around the waiting refund with that result settled.
    turns: [
      {
        content: 'look up and refund',
        toolCalls: [
          { name: 'find_customers', arguments: { query: 'Recorded Bulk' } },
          { name: 'issue_refund', arguments: refund(100) },
        ],
      },
      answer('done'),
    ],
    input: { policy: example, continueAsNewAfterEvents: 50 },
    setup: (h) => {
      const before = h.db.prepare('SELECT Company FROM Customer WHERE CustomerId = 1').pluck().get();
      h.db.prepare('UPDATE Customer SET Company = ? WHERE CustomerId = 1').run(`Recorded Bulk ${'x'.repeat(300_000)}`);
      return () => void h.db.prepare('UPDATE Customer SET Company = ? WHERE CustomerId = 1').run(before);
    },
    act: async (h, id) => {
      await waitFor(
        async () => {
          await signalDecision(h.client, id, { garbage: true });
          return (await runStatus(h.client, id)).earlierRuns.length > 0 ? true : undefined;
        },
        'the run to continue as new',
        60_000,
      );
      await approve(h, id, (await first(h, id))[0]!, 'sam');
    },
  },
  // A waiting run receives refused signals of 1.5 MB each until its history passes 4 MiB, then the approval.
  'large-signals-while-waiting': {
    turns: [call('issue_refund', refund(100)), answer('refunded')],
    act: async (h, id) => {
      const [r] = await first(h, id);
      // One at a time: each is refused in a workflow task of its own, so the history grows task by task.
      for (let i = 1; i <= 3; i += 1) {
        await signalDecision(h.client, id, { filler: 'x'.repeat(1_500_000) });
        await waitFor(async () => {
          const refused = (await auditTrail(h.client, id)).filter((e) => e.kind === 'decision_refused');
          return refused.length >= i || (await runStatus(h.client, id)).earlierRuns.length > 0 ? true : undefined;
        }, `refusal ${i}`);
      }
      await approve(h, id, r!, 'alice');
    },
  },
  'continued-as-new-mid-turn': {
    turns: [call('issue_refund', refund(6000, 2)), answer('refunded')],
    input: { policy: example, continueAsNewAfterEvents: 80 },
    act: async (h, id) => {
      const [r] = await first(h, id);
      await approve(h, id, r!, 'fiona');
      await waitFor(
        async () => {
          await signalDecision(h.client, id, { garbage: true });
          return (await runStatus(h.client, id)).earlierRuns.length > 0 ? true : undefined;
        },
        'the run to continue as new',
        60_000,
      );
      await approve(h, id, (await first(h, id))[0]!, 'frank');
    },
  },
  'mcp-read-then-destructive-approved': {
    // A read-only MCP tool runs at once; a destructive one (its annotation raises auto_logged to hard) waits for ada.
    turns: [
      call('mcp__notes__read_note', { name: 'welcome' }),
      call('mcp__notes__delete_note', { name: 'plan' }),
      answer('deleted'),
    ],
    mcp: (hashes) => ({
      policy: PolicySchema.parse({
        ...example,
        version: 'rec-mcp',
        mcp: {
          notes: {
            tools: {
              read_note: { gate: 'auto', sha256: hashes['read_note'] },
              delete_note: { gate: 'auto_logged', sha256: hashes['delete_note'], approvers: { groups: ['admins'] } },
            },
          },
        },
      }),
    }),
    act: async (h, id) => void (await approve(h, id, (await first(h, id))[0]!, 'ada')),
  },
};

// Histories above 1 MiB are written gzipped (`.pb.gz`): the flood recordings are megabytes of repeated filler.
const GZIP_ABOVE_BYTES = 2 ** 20;

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const names = values.only !== undefined ? [values.only] : Object.keys(recordings);
  // Histories are read over a connection of our own: the test environment's takes messages up to 4 MiB only.
  const { client: reader } = await connectClient({ address: (await sharedEnv()).address }, { payloadKeys: null });
  const record = async (h: Harness, name: string, hashes?: Record<string, string>) => {
    const rec = recordings[name];
    if (rec === undefined) throw new Error(`no recording named ${name}`);
    const base = `${name}${values.suffix}`;
    if (['.pb', '.1.pb', '.pb.gz', '.1.pb.gz'].some((ext) => existsSync(join(outDir, `${base}${ext}`)))) {
      process.stdout.write(`kept ${base}: already recorded\n`);
      return;
    }
    // Each recording starts from the same balances, so refunds never fail their precheck.
    h.db.prepare('DELETE FROM hitl_refund').run();
    const undo = rec.setup?.(h);
    const input = rec.mcp !== undefined && hashes !== undefined ? rec.mcp(hashes) : rec.input;
    const run = await h.startScripted(rec.turns, { requestedBy: 'recorder', ...input });
    await rec.act?.(h, run.workflowId);
    await run.result().catch(() => undefined);
    undo?.();
    const { earlierRuns } = await runStatus(h.client, run.workflowId);
    const segments = [...earlierRuns, undefined];
    for (const [i, runId] of segments.entries()) {
      const history = await reader.workflow.getHandle(run.workflowId, runId).fetchHistory();
      const file = join(outDir, segments.length > 1 ? `${base}.${i + 1}.pb` : `${base}.pb`);
      const bytes = proto.temporal.api.history.v1.History.encode(history).finish();
      if (bytes.length > GZIP_ABOVE_BYTES) writeFileSync(`${file}.gz`, gzipSync(bytes));
      else writeFileSync(file, bytes);
      // Runs check their own workflow id (signatures bind it): the replay test replays each under its own.
      const idsFile = join(outDir, 'workflow-ids.json');
      const ids = existsSync(idsFile) ? (JSON.parse(readFileSync(idsFile, 'utf8')) as Record<string, string>) : {};
      ids[basename(file, '.pb')] = run.workflowId;
      writeFileSync(idsFile, `${JSON.stringify(ids, null, 2)}\n`);
      process.stdout.write(`recorded ${file} (${history.events?.length ?? 0} events)\n`);
    }
  };
  const plain = names.filter((n) => recordings[n]?.mcp === undefined);
  const withMcp = names.filter((n) => recordings[n]?.mcp !== undefined);
  if (plain.length > 0) {
    await withWorker(async (h) => {
      for (const name of plain) await record(h, name);
    });
  }
  if (withMcp.length > 0) {
    const file = join(tempDir('hitl-mcp-record-'), 'notes.json');
    const mcp = await McpToolbox.connect(
      parseMcpSettings({
        servers: {
          notes: {
            transport: 'stdio',
            command: process.execPath,
            args: ['--import', 'tsx', join(repoRoot, 'test/support/mcp-notes-server.ts')],
            cwd: repoRoot,
            env: { NOTES_FILE: file },
          },
        },
      }),
    );
    const hashes = Object.fromEntries(mcp.definitions.map((d) => [d.tool, d.sha256]));
    try {
      await withWorker(
        async (h) => {
          for (const name of withMcp) await record(h, name, hashes);
        },
        { mcp },
      );
    } finally {
      await mcp.close();
    }
  }
  await reader.connection.close();
  await closeSharedEnv();
}

main().catch(async (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
  // The shared dev server is a child process: stop it, or it keeps this one alive.
  await closeSharedEnv();
});
