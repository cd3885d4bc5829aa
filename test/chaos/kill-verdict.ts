import type { Client } from '@temporalio/client';
import type { BillingDb } from '../../activities/billing/index';
import { auditTrail, runResult } from '../../client';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { ChatResponderServer } from '../support/chat-responder';
import { workflowTaskFailures } from '../support/run-history';
import { duplicates, rowsPerKey, withDeadline } from './support';

// The worker-kill scenario's bookkeeping: what a run is meant to end as, what was in flight at each kill, and the
// judge that checks every run against the billing database, its result, its audit trail and its history.

/** Where the worker is killed: in a model call, in an auto tool or a refund after its commit, or in a wait for approval. */
export const POINTS = ['model_call', 'auto_tool', 'awaiting_approval', 'refund_committed'] as const;
export type KillPoint = (typeof POINTS)[number];

/** One run of the scenario and what the test did to it. */
export interface ChaosRun {
  n: number;
  tag: string;
  workflowId: string;
  customerId: number;
  invoiceId: number;
  amountCents: number;
  verdict: 'approve' | 'reject';
  channel: 'update' | 'signal';
  /** The model has proposed the refund: a request is or will be pending. */
  proposed: boolean;
  request?: ApprovalRequest;
  seenAt?: number;
  /** Another request id than the first seen turned up: the run lost its pending state. */
  requestChanged: boolean;
  decision: 'none' | 'sending' | 'sent';
  /** Decisions sent again after a transport error. */
  resends: number;
  decisionErrors: string[];
  /** Set when the run ends: `error` when it failed. */
  settled?: { error?: string };
}

/** What was in flight on the worker when it was killed. */
export interface KillRecord {
  point: KillPoint;
  heldModelCalls: number;
  autoToolsAfterCommit: string[];
  refundsAfterCommit: string[];
  pendingRequests: { workflowId: string; requestId: string }[];
}

/** Each message once, numbers and ids blurred, with its count. */
export function distinct(messages: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const key = m
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
      .replace(/\d+/g, 'N')
      .slice(0, 160);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([m, n]) => `${n}× ${m}`);
}

/** The sum of `f` over `items`. */
export function sum<T>(items: readonly T[], f: (item: T) => number): number {
  return items.reduce((n, item) => n + f(item), 0);
}

/** Idempotency keys of the rows of `table` written at or after `sinceMs`. */
export function recentRows(db: BillingDb, table: 'hitl_refund' | 'hitl_change_log', sinceMs: number): string[] {
  return db
    .prepare<[string], { key: string }>(`SELECT idempotency_key AS key FROM ${table} WHERE created_at >= ?`)
    .all(new Date(sinceMs).toISOString())
    .map((r) => r.key);
}

/** The counts the scenario reports and asserts. */
export interface Verdict {
  completed: number;
  lost: number;
  duplicates: number;
  wrong: string[];
  committedBeforeKill: number;
  replayed: number;
}

/** Checks every run against the billing database, its result, its audit trail and its history. */
export async function judge(
  client: Client,
  db: BillingDb,
  runs: readonly ChaosRun[],
  kills: readonly KillRecord[],
  responder: ChatResponderServer,
): Promise<Verdict> {
  const refunds = rowsPerKey(db, 'hitl_refund');
  const changes = rowsPerKey(db, 'hitl_change_log');
  const ledger = new Set(
    db
      .prepare<[], { key: string }>('SELECT key FROM hitl_idempotency')
      .all()
      .map((r) => r.key),
  );
  const caughtRefunds = new Set(kills.flatMap((k) => k.refundsAfterCommit));
  const caughtChanges = new Set(kills.flatMap((k) => k.autoToolsAfterCommit));
  const caughtRequests = new Map(kills.flatMap((k) => k.pendingRequests.map((p) => [p.workflowId, p.requestId])));
  const wrong: string[] = [];
  let completed = 0;
  let replayed = 0;
  const keysOf = (perKey: ReadonlyMap<string, number>, workflowId: string) =>
    [...perKey.keys()].filter((key) => key.startsWith(`${workflowId}:`));
  for (const key of [...refunds.keys(), ...changes.keys()]) {
    if (!ledger.has(key)) wrong.push(`effect ${key} has no idempotency ledger entry`);
  }
  for (const run of runs) {
    const settled = run.settled;
    if (settled === undefined) continue;
    const problems: string[] = [];
    if (settled.error !== undefined) {
      wrong.push(`${run.workflowId} failed: ${settled.error}`);
      continue;
    }
    const result = await withDeadline(client, 20_000, () => runResult(client, run.workflowId));
    completed += 1;
    const refundKeys = keysOf(refunds, run.workflowId);
    const changeKeys = keysOf(changes, run.workflowId);
    const update = result.outcomes.find((o) => o.tool === 'update_customer_contact');
    const refund = result.outcomes.find((o) => o.tool === 'issue_refund');
    if (update?.status !== 'executed') problems.push(`update_customer_contact ${update?.status ?? 'missing'}`);
    if (changeKeys.length !== 1) problems.push(`${changeKeys.length} change-log keys`);
    if (run.requestChanged) problems.push('its pending request changed id');
    const caught = caughtRequests.get(run.workflowId);
    if (caught !== undefined && refund?.requestId !== caught) {
      problems.push(`request ${caught} was pending at a kill but ${refund?.requestId ?? 'none'} closed`);
    }
    if (run.verdict === 'approve') {
      if (refund?.status !== 'executed') problems.push(`approved refund ${refund?.status ?? 'missing'}`);
      if (refundKeys.length !== 1 || refund === undefined || !refundKeys[0]?.endsWith(`:${refund.argsHash}`)) {
        problems.push(`approved refund has rows under ${JSON.stringify(refundKeys)}`);
      }
      if (result.answer !== 'Refunded.') problems.push(`answer "${result.answer}"`);
    } else {
      if (refund?.status !== 'rejected') problems.push(`rejected refund ${refund?.status ?? 'missing'}`);
      if (refundKeys.length !== 0) problems.push(`rejected refund executed: ${JSON.stringify(refundKeys)}`);
      if (result.answer !== 'No refund: rejected') problems.push(`answer "${result.answer}"`);
    }
    const trail = await withDeadline(client, 20_000, () => auditTrail(client, run.workflowId));
    const decisions = trail.filter((e) => e.kind === 'decision');
    const expectedActor = run.verdict === 'approve' ? 'sam' : 'sue';
    if (decisions.length !== 1 || decisions[0]?.actor !== expectedActor) {
      problems.push(`decisions on the trail: ${JSON.stringify(decisions.map((d) => d.actor))}`);
    }
    const refused = trail.filter((e) => e.kind === 'decision_refused').length;
    if (refused > run.resends) problems.push(`${refused} refused decisions`);
    const executed = trail.filter((e) => e.kind === 'tool_executed');
    const replays = executed.filter((e) => /replayed from the idempotency ledger/.test(e.detail));
    for (const key of [...refundKeys, ...changeKeys]) {
      if (!caughtRefunds.has(key) && !caughtChanges.has(key)) continue;
      const tool = caughtRefunds.has(key) ? 'issue_refund' : 'update_customer_contact';
      if (replays.some((e) => e.tool === tool)) replayed += 1;
      else problems.push(`${tool} was killed after its commit but its result was not replayed from the ledger`);
    }
    const taskFailures = await workflowTaskFailures(client, run.workflowId);
    if (taskFailures.length > 0) problems.push(`workflow task failures: ${taskFailures.join('; ')}`);
    if (problems.length > 0) wrong.push(`${run.workflowId} (${run.verdict} by ${run.channel}): ${problems.join('; ')}`);
  }
  const modelCalls = responder.requests.length;
  if (modelCalls < completed * 3) wrong.push(`only ${modelCalls} model calls for ${completed} completed runs`);
  return {
    completed,
    lost: runs.filter((r) => r.settled === undefined).length,
    duplicates: duplicates(refunds) + duplicates(changes),
    wrong,
    committedBeforeKill: [...caughtRefunds, ...caughtChanges].filter((key) =>
      runs.some((r) => r.settled !== undefined && r.settled.error === undefined && key.startsWith(`${r.workflowId}:`)),
    ).length,
    replayed,
  };
}
