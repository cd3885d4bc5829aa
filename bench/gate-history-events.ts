// History events one tool call adds to a run, per gate kind. Each sample is a scripted run with exactly one call of
// that kind and a final answer; a baseline run has the final answer only. The figure is the completed run's
// `history.events.length` minus the baseline's, so it includes the second model call every tool call brings (the
// model must read the result). Policies are the shipped example with second-long timers, passed in the run input.
//   npm run bench:gate-events -- [--samples 3] [--dump]   (--dump prints each run's event types on stderr)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { auditTrail, pendingApprovals, resumeRun, runStatus } from '../client';
import { loadPolicyFile } from '../src/node/policy-file';
import { PolicySchema, type Policy } from '../src/shared/policy/schema';
import type { ApprovalRequest } from '../src/shared/run-state';
import type { ScenarioTurn } from '../src/shared/model/types';
import { approveAs, decideAs } from '../test/support/decisions';
import { closeSharedEnv, repoRoot, waitFor } from '../test/support/env';
import { answer, call, withWorker, type Harness } from '../test/support/harness';
import { quantile, recordBenchmark } from './support';

const { EventType } = proto.temporal.api.enums.v1;
const { values } = parseArgs({
  options: { samples: { type: 'string', default: '3' }, dump: { type: 'boolean', default: false } },
});
const samples = Number(values.samples);

const example = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));

/**
 * The example policy with second-long timers, in the example's proportions: decisions have 30 s (so a reminder timer
 * is started and cancelled, as with the example's 30m and 5m reminder), reminders come 1 s before a deadline.
 */
function policyWith(version: string, tools: Record<string, unknown>): Policy {
  return PolicySchema.parse({
    ...example,
    version,
    defaults: { ...example.defaults, reminderBefore: '1s' },
    tools: { ...example.tools, ...tools },
  });
}

const support = { groups: ['support'] };
const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'bench' });
const email = { customerIds: [1], subject: 'Hello', body: 'A one-to-one email.' };

type Step = (h: Harness, workflowId: string) => Promise<void>;

interface Case {
  kind: string;
  policy: Policy;
  /** The turns before the final answer. */
  turns: ScenarioTurn[];
  /** `plan`: the first turn is the plan under review. */
  review?: 'plan';
  /** What the reviewer does while the run waits; absent when nobody decides. */
  act?: Step;
}

/**
 * Waits until the run has sent `notifications` notifications, i.e. the gate is waiting on its timers, so a decision
 * lands where a person's would (after the approvers were told), not while the first notification is still in flight.
 */
async function settled(h: Harness, workflowId: string, notifications = 1): Promise<void> {
  await waitFor(async () => {
    const trail = await auditTrail(h.client, workflowId);
    return trail.filter((e) => e.kind === 'notification').length >= notifications ? true : undefined;
  }, `${notifications} notification(s) on ${workflowId}`);
}

const first = async (h: Harness, workflowId: string): Promise<ApprovalRequest> => {
  const [req] = await h.pending(workflowId);
  if (req === undefined) throw new Error(`no pending request on ${workflowId}`);
  await settled(h, workflowId);
  return req;
};

const hardRefund = { gate: 'hard', approvers: support, timeout: '30s', onTimeout: 'deny' };

const cases: Case[] = [
  { kind: 'auto', policy: example, turns: [call('get_invoice', { invoiceId: 1 })] },
  {
    kind: 'auto_logged',
    policy: example,
    turns: [call('update_customer_contact', { customerId: 1, phone: '+1 555 0100' })],
  },
  {
    kind: 'soft, proceeds when its window passes',
    policy: policyWith('bench-soft-window', { send_email: { gate: 'soft', approvers: support, softWindow: '1s' } }),
    turns: [call('send_email', email)],
  },
  {
    kind: 'soft, approved early',
    policy: policyWith('bench-soft-early', { send_email: { gate: 'soft', approvers: support, softWindow: '30s' } }),
    turns: [call('send_email', email)],
    act: async (h, id) => {
      await approveAs(h.client, id, await first(h, id), 'sam');
    },
  },
  {
    kind: 'hard, approved',
    policy: policyWith('bench-hard', { issue_refund: hardRefund }),
    turns: [call('issue_refund', refund(100))],
    act: async (h, id) => {
      await approveAs(h.client, id, await first(h, id), 'sam');
    },
  },
  {
    kind: 'hard, rejected',
    policy: policyWith('bench-hard', { issue_refund: hardRefund }),
    turns: [call('issue_refund', refund(100))],
    act: async (h, id) => {
      await decideAs(h.client, id, await first(h, id), 'sam', 'reject', { reason: 'no' });
    },
  },
  {
    kind: 'hard, expired (one reminder)',
    policy: policyWith('bench-hard-expiry', { issue_refund: { ...hardRefund, timeout: '2s' } }),
    turns: [call('issue_refund', refund(100))],
  },
  {
    kind: 'hard, escalated then approved (one reminder)',
    policy: policyWith('bench-escalation', {
      issue_refund: {
        ...hardRefund,
        timeout: '2s',
        onTimeout: 'escalate',
        escalation: [{ groups: ['admins'], timeout: '30s' }],
      },
    }),
    turns: [call('issue_refund', refund(100))],
    act: async (h, id) => {
      const [req] = await waitFor(async () => {
        const p = await pendingApprovals(h.client, id);
        return p[0]?.stage === 1 ? p : undefined;
      }, 'the escalated request');
      await settled(h, id, 3); // requested, reminder, escalated
      await approveAs(h.client, id, req!, 'ada');
    },
  },
  {
    kind: 'hard, quorum of 2',
    policy: policyWith('bench-quorum', {
      issue_refund: { ...hardRefund, approvers: { groups: ['finance'], quorum: 2 } },
    }),
    turns: [call('issue_refund', refund(6000, 2))],
    act: async (h, id) => {
      const req = await first(h, id);
      await approveAs(h.client, id, req, 'fiona');
      await approveAs(h.client, id, req, 'frank');
    },
  },
  ...[1, 3].map((n): Case => ({
    kind: `plan review of ${n} hard call${n === 1 ? '' : 's'}, approved once (whole run)`,
    policy: policyWith('bench-plan', { issue_refund: hardRefund }),
    review: 'plan',
    turns: [
      { toolCalls: Array.from({ length: n }, (_, i) => ({ name: 'issue_refund', arguments: refund(100 + i) })) },
      ...Array.from({ length: n }, (_, i) => call('issue_refund', refund(100 + i))),
    ],
    act: async (h, id) => {
      const pause = await waitFor(async () => (await runStatus(h.client, id)).pause, 'the plan review');
      await resumeRun(h.client, id, { pauseId: pause.pauseId, action: 'approve', by: 'sam' });
    },
  })),
  {
    kind: 'deny',
    policy: policyWith('bench-deny', { delete_customer: { gate: 'deny' } }),
    turns: [call('delete_customer', { customerId: 2, reason: 'bench' })],
  },
];

const CATEGORIES = ['activities', 'timers', 'signals/updates', 'workflow tasks and other'] as const;
type Category = (typeof CATEGORIES)[number];
type Counts = Record<Category | 'total', number>;

function categoryOf(eventType: number | null | undefined): Category {
  const name = EventType[eventType ?? 0] ?? '';
  if (name.startsWith('EVENT_TYPE_ACTIVITY_TASK_')) return 'activities';
  if (name.startsWith('EVENT_TYPE_TIMER_')) return 'timers';
  if (name === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED' || name.startsWith('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_')) {
    return 'signals/updates';
  }
  return 'workflow tasks and other';
}

async function measure(h: Harness, c: Pick<Case, 'policy' | 'turns' | 'review' | 'act'>): Promise<Counts> {
  // Every sample starts from the same balances, so a refund never fails its precheck for lack of refundable money.
  h.db.prepare('DELETE FROM hitl_refund').run();
  const turns = [...c.turns, answer('done')];
  const run = await h.startScripted(turns, { policy: c.policy, requestedBy: 'bench', review: c.review ?? 'none' });
  const act = c.act;
  await act?.(h, run.workflowId);
  await run.result();
  const history = await h.client.workflow.getHandle(run.workflowId).fetchHistory();
  const events = history.events ?? [];
  if (values.dump) {
    process.stderr.write(
      `${run.workflowId}: ${events.map((e) => EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '')).join(' ')}\n`,
    );
  }
  const counts: Counts = { total: events.length, ...Object.fromEntries(CATEGORIES.map((c) => [c, 0])) } as Counts;
  for (const e of events) counts[categoryOf(e.eventType)] += 1;
  return counts;
}

/** Median of each field over the samples, and the range of the totals minus `offset` when they differ. */
function summarise(all: Counts[], offset = 0): { median: Counts; range: string } {
  const keys = ['total', ...CATEGORIES] as const;
  const median = Object.fromEntries(
    keys.map((k) => [
      k,
      quantile(
        all.map((c) => c[k]),
        0.5,
      ),
    ]),
  ) as Counts;
  const totals = all.map((c) => c.total - offset);
  const [lo, hi] = [Math.min(...totals), Math.max(...totals)];
  return { median, range: lo === hi ? '' : ` (${lo}–${hi})` };
}

async function main(): Promise<void> {
  const rows: string[] = [];
  let baseline = 0;
  await withWorker(async (h) => {
    const baselines: Counts[] = [];
    for (let i = 0; i < samples; i++) baselines.push(await measure(h, { policy: example, turns: [] }));
    const base = summarise(baselines);
    baseline = base.median.total;
    process.stdout.write(`baseline (final answer only): ${baseline} events${base.range}\n`);
    for (const c of cases) {
      const runs: Counts[] = [];
      for (let i = 0; i < samples; i++) runs.push(await measure(h, c));
      const { median, range } = summarise(runs, baseline);
      const diff = (k: keyof Counts) => median[k] - base.median[k];
      const row = `| ${c.kind} | ${diff('total')}${range} | ${CATEGORIES.map((k) => diff(k)).join(' | ')} |`;
      process.stdout.write(`${row}\n`);
      rows.push(row);
    }
  });
  await closeSharedEnv();
  const table = [
    `| gate kind | events per call | of which activities | timers | signals/updates | workflow tasks and other |`,
    '|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark('History events per gated call', `npm run bench:gate-events -- --samples ${samples}`, table, [
    `Each row: history events of a completed run with one call of that kind and a final answer, minus those of a`,
    `run with the final answer only (${baseline} events); median of ${samples} runs, with the range when they differ.`,
    'Every call brings a second model call (an activity: scheduled, started, completed) and its workflow task (3).',
    'A gated call adds a notification activity, one more per reminder and per escalation, and, once approved, the',
    "tool's precheck activity before the tool's own. A decision is the `decide` update (accepted, completed); a",
    'signal would be 1 event. A hard gate waits on a reminder timer, then its deadline timer: each is started, then',
    'fired or cancelled by a decision; a soft gate waits on its window. "Workflow tasks and other" includes the',
    '`AgentStatus` search-attribute upserts around each wait. Policies: the shipped example with second-long timers',
    '(30 s to decide, reminders 1 s before a deadline; the expired and escalated rows have a 2 s first stage, so one',
    'reminder goes out), in the run input; each decision is sent once the deciders have been notified. The plan',
    'review rows count the whole run with review: plan (the planning model call, the pause: its timer and the',
    '`resume` update, then each planned call with its precheck and tool activities and no request), so the',
    'difference between them, halved, is what each further planned call costs.',
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
