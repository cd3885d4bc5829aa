import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/shared/errors';
import { argsHash } from '../../src/shared/hash';
import type { ToolActivityResult } from '../../src/shared/tools/types';
import type { BillingDb } from './db';

/** One write tool call, as the ledger records it. */
export interface LedgerRequest {
  /** Idempotency key: the same for every attempt of one tool call, different for every call. */
  key: string;
  /** Tool name, e.g. `issue_refund`. */
  tool: string;
  /** The call's arguments, already parsed; hashed with `argsHash` to detect reuse of a key for another call. */
  args: unknown;
}

interface LedgerRow {
  tool: string;
  args_hash: string;
  result_json: string;
}

/**
 * Runs a write effect at most once per idempotency key, in the manner of Stripe's idempotency keys.
 *
 * Everything happens in one `BEGIN IMMEDIATE` transaction, so concurrent attempts (two workers, two processes)
 * serialise on SQLite's write lock: look the key up; if it is recorded for the same tool and arguments, return the
 * stored result with `replayed: true`; if it is free, run `effect` (whose writes join the same transaction), store its
 * result and return it with `replayed: false`. If `effect` throws, the transaction rolls back: nothing is written and
 * nothing is recorded, so a refusal is never replayed as a success.
 *
 * The result is stored as JSON, and the first call returns it parsed back from that JSON, so a replay returns exactly
 * what the first call returned.
 *
 * @param db - the billing database
 * @param request - idempotency key, tool name and parsed arguments
 * @param effect - synchronous writes on `db`; its return value must be JSON-serialisable
 * @returns the effect's result and whether it came from the ledger
 * @throws ApplicationFailure `IdempotencyConflict` (non-retryable) when the key was already used for other arguments or
 *   another tool; whatever `effect` throws, unchanged
 */
export function runOnce(db: BillingDb, request: LedgerRequest, effect: () => unknown): ToolActivityResult {
  const hash = argsHash(request.args);
  const find = db.prepare<[string], LedgerRow>(
    'SELECT tool, args_hash, result_json FROM hitl_idempotency WHERE key = ?',
  );
  const record = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO hitl_idempotency (key, tool, args_hash, result_json, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  return db
    .transaction((): ToolActivityResult => {
      const seen = find.get(request.key);
      if (seen !== undefined) {
        if (seen.args_hash !== hash || seen.tool !== request.tool) {
          throw ApplicationFailure.create({
            type: FailureType.IdempotencyConflict,
            nonRetryable: true,
            message:
              `Idempotency key ${request.key} was already used by ${seen.tool} with arguments hash ${seen.args_hash}; ` +
              `this call is ${request.tool} with arguments hash ${hash}`,
            details: [
              { key: request.key, storedTool: seen.tool, storedHash: seen.args_hash, tool: request.tool, hash },
            ],
          });
        }
        return { data: JSON.parse(seen.result_json) as unknown, replayed: true };
      }
      const resultJson = JSON.stringify(effect() ?? null);
      record.run(request.key, request.tool, hash, resultJson, new Date().toISOString());
      return { data: JSON.parse(resultJson) as unknown, replayed: false };
    })
    .immediate();
}
