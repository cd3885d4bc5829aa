import type { Client } from '@temporalio/client';
import type { TestContext } from 'node:test';
import type { BillingDb } from '../../activities/billing/index';

/**
 * A positive integer from the environment.
 * @param name - the variable
 * @param fallback - used when it is unset or empty
 * @throws Error when it is set to something else than a positive integer
 */
export function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/**
 * Worker SIGKILLs for the worker-kill scenario: `HITL_CHAOS_KILLS`, default 100 (about ten minutes on two cores);
 * `HITL_CHAOS_KILLS=10` is the short pass for CI.
 */
export const chaosKills = (): number => envCount('HITL_CHAOS_KILLS', 100);

/** Runs a client call with a deadline, so a query to a run whose worker is down gives up instead of hanging. */
export function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + ms, fn);
}

/** Rows per idempotency key of a table with an `idempotency_key` column, for duplicate counting. */
export function rowsPerKey(
  db: BillingDb,
  table: 'hitl_refund' | 'hitl_change_log' | 'hitl_outbox',
): Map<string, number> {
  const rows = db
    .prepare<[], { key: string; n: number }>(
      `SELECT idempotency_key AS key, COUNT(*) AS n FROM ${table} GROUP BY idempotency_key`,
    )
    .all();
  return new Map(rows.map((r) => [r.key, r.n]));
}

/**
 * Rows written under the idempotency key of one call of a run: keys are derived from the workflow id, the run's
 * first run id, the call's position and its arguments' hash (`WF:FIRST_RUN_ID:STEP.INDEX:ARGS_HASH`).
 */
export function rowsOfCall(perKey: ReadonlyMap<string, number>, workflowId: string, argsHash: string): number {
  let rows = 0;
  for (const [key, n] of perKey) if (key.startsWith(`${workflowId}:`) && key.endsWith(`:${argsHash}`)) rows += n;
  return rows;
}

/** Extra rows beyond the first, over all keys: the duplicate effects. */
export function duplicates(perKey: ReadonlyMap<string, number>): number {
  let extra = 0;
  for (const n of perKey.values()) extra += Math.max(0, n - 1);
  return extra;
}

/** Prints lines under the test in the spec reporter's output. */
export function report(t: TestContext, lines: string[]): void {
  for (const line of lines) t.diagnostic(line);
}
