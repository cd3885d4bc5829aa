import { ConfigError } from '../../src/shared/errors';
import type { ToolActivityResult } from '../../src/shared/tools/types';

/**
 * Environment variable that turns on the crash-window hold, for fault-injection tests only: a comma-separated list
 * of `tool=milliseconds` pairs, e.g. `issue_refund=3000,update_customer_contact=3000`. When a listed write tool
 * commits its effect for the first time (not a replay from the idempotency ledger), its activity waits that long
 * before it returns, so a test can kill the worker after the effect is committed and before Temporal hears that the
 * activity completed. Unset or empty: off, and the activities behave exactly as without it.
 */
export const FAULT_HOLD_AFTER_COMMIT_ENV = 'HITL_FAULT_HOLD_AFTER_COMMIT';

/** Tool name to hold time in milliseconds; empty when the hold is off. */
export type HoldAfterCommit = ReadonlyMap<string, number>;

/**
 * Reads {@link FAULT_HOLD_AFTER_COMMIT_ENV}.
 * @param value - the variable's value (default: from `process.env`)
 * @returns the hold per tool, in milliseconds; empty when unset or empty
 * @throws ConfigError when a pair is not `tool=milliseconds` with a non-negative integer (at most 10 minutes)
 */
export function holdAfterCommitFromEnv(value = process.env[FAULT_HOLD_AFTER_COMMIT_ENV]): HoldAfterCommit {
  const holds = new Map<string, number>();
  if (value === undefined || value.trim() === '') return holds;
  for (const pair of value.split(',')) {
    const match = /^\s*([a-z_]+)\s*=\s*(\d{1,6})\s*$/.exec(pair);
    const ms = match?.[2] !== undefined ? Number(match[2]) : Number.NaN;
    if (match?.[1] === undefined || !(ms <= 600_000)) {
      throw new ConfigError(
        `${FAULT_HOLD_AFTER_COMMIT_ENV}: "${pair}" is not tool=milliseconds (e.g. issue_refund=3000, at most 600000)`,
      );
    }
    holds.set(match[1], ms);
  }
  return holds;
}

/**
 * Waits the configured time after a first commit of `tool`, then hands the result on unchanged. A replayed result
 * (`replayed: true`) and a tool that is not listed pass at once.
 * @param holds - from {@link holdAfterCommitFromEnv}
 * @param tool - the tool that just ran
 * @param result - its result
 * @returns `result`, after the hold
 */
export async function holdAfterCommit(
  holds: HoldAfterCommit,
  tool: string,
  result: ToolActivityResult,
): Promise<ToolActivityResult> {
  const ms = holds.get(tool);
  if (ms === undefined || ms === 0 || result.replayed) return result;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return result;
}
