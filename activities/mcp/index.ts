import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { McpToolbox } from '../../src/node/mcp/toolbox';
import { FailureType } from '../../src/shared/errors';
import { argsHash } from '../../src/shared/hash';
import { MAX_TOOL_RESULT_BYTES } from '../../src/shared/model/limits';
import { mcpTool, type McpToolDefinition } from '../../src/shared/tools/mcp';
import type { ToolActivityInput, ToolActivityResult } from '../../src/shared/tools/types';
import { formatZodError } from '../../src/shared/zod-format';
import type { BillingDb } from '../billing/db';

/** Where a test makes the first attempt of a tool's activity fail: after the server answered, or after the ledger. */
export type McpFault = 'after_answer' | 'after_record';

/** Options of {@link createMcpActivities}. */
export interface McpActivitiesOptions {
  /**
   * Fault injection, for tests only: tool name (`mcp__server__tool`) to where its activity's first attempt fails
   * (retryably), as a worker that crashed there would.
   */
  faults?: ReadonlyMap<string, McpFault>;
}

interface LedgerRow {
  tool: string;
  args_hash: string;
  result_json: string;
}

/** What the ledger keeps of a call: the data the model got, or the server's error result. */
interface Recorded {
  isError: boolean;
  data: unknown;
}

/** The part of a result the model sees: structured content where the server gives it, else its text and other parts. */
function resultData(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const parts = result.content.map((c) => (c.type === 'text' ? c.text : c));
  return parts.length === 1 ? parts[0] : parts;
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.ToolRefused, nonRetryable: true, message });
}

function answer(def: McpToolDefinition, recorded: Recorded, replayed: boolean): ToolActivityResult {
  if (recorded.isError) {
    const text = typeof recorded.data === 'string' ? recorded.data : JSON.stringify(recorded.data);
    throw refused(`${def.server} refused ${def.tool}: ${text.slice(0, 2_000)}`);
  }
  return { data: recorded.data, replayed };
}

/**
 * Creates one activity per MCP tool the worker listed, keyed by the tool's name (`mcp__server__tool`), which is the
 * activity type the run schedules. Each activity parses its arguments again with the tool's schema, then looks its
 * idempotency key up in the ledger (`hitl_idempotency`, the billing database's): a call already answered is replayed
 * from there and the server is not called again. Otherwise it calls the server, passing the key in the tool's
 * `idempotency_key` (or `idempotencyKey`) argument where its schema declares one, and records the answer under the
 * key. A crash between the server's answer and the record repeats the call with the same key: a server that takes the
 * key makes that harmless, one that does not may see the call twice (docs/mcp.md).
 *
 * @param toolbox - the connected servers and their tools
 * @param db - the database holding the idempotency ledger
 * @param options - fault injection for tests
 * @returns the activities, to spread into the worker's
 * @throws (from each) ApplicationFailure `InvalidToolArguments` (non-retryable) when the arguments fail the schema or
 *   the key is missing; `ToolRefused` (non-retryable) when the server answers with an error result (recorded, so a
 *   retry gets the same answer) or a result over `MAX_TOOL_RESULT_BYTES`; `IdempotencyConflict` (non-retryable) when
 *   the key was used for another call; anything else (server unreachable, timed out) is retryable
 */
export function createMcpActivities(
  toolbox: McpToolbox,
  db: BillingDb,
  options: McpActivitiesOptions = {},
): Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>> {
  const find = db.prepare<[string], LedgerRow>(
    'SELECT tool, args_hash, result_json FROM hitl_idempotency WHERE key = ?',
  );
  const record = db.prepare<[string, string, string, string, string]>(
    'INSERT OR IGNORE INTO hitl_idempotency (key, tool, args_hash, result_json, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const faults = options.faults ?? new Map<string, McpFault>();

  const replay = (def: McpToolDefinition, key: string, hash: string): ToolActivityResult | undefined => {
    const seen = find.get(key);
    if (seen === undefined) return undefined;
    if (seen.tool !== def.name || seen.args_hash !== hash) {
      throw ApplicationFailure.create({
        type: FailureType.IdempotencyConflict,
        nonRetryable: true,
        message:
          `Idempotency key ${key} was already used by ${seen.tool} with arguments hash ${seen.args_hash}; ` +
          `this call is ${def.name} with arguments hash ${hash}`,
      });
    }
    return answer(def, JSON.parse(seen.result_json) as Recorded, true);
  };

  const activity = (def: McpToolDefinition) => {
    const schema = mcpTool(def).parameters;
    return async (input: ToolActivityInput): Promise<ToolActivityResult> => {
      const parsed = schema.safeParse(input.args);
      if (!parsed.success) {
        throw ApplicationFailure.create({
          type: FailureType.InvalidToolArguments,
          nonRetryable: true,
          message: `Invalid arguments for ${def.name}: ${formatZodError(parsed.error)}`,
        });
      }
      const args = parsed.data as Record<string, unknown>;
      const key = input.idempotencyKey;
      if (typeof key !== 'string' || key === '') {
        throw ApplicationFailure.create({
          type: FailureType.InvalidToolArguments,
          nonRetryable: true,
          message: `${def.name} needs a non-empty idempotencyKey`,
        });
      }
      const hash = argsHash(args);
      const earlier = replay(def, key, hash);
      if (earlier !== undefined) return earlier;
      const ctx = Context.current();
      const first = ctx.info.attempt === 1;
      const sent = def.idempotencyArg !== undefined ? { ...args, [def.idempotencyArg]: key } : args;
      const result = await toolbox.call(def, sent, ctx.cancellationSignal);
      if (first && faults.get(def.name) === 'after_answer') throw new Error('fault injected: after the answer');
      const recorded: Recorded = { isError: result.isError === true, data: resultData(result) };
      const json = JSON.stringify(recorded);
      if (!recorded.isError && Buffer.byteLength(json) > MAX_TOOL_RESULT_BYTES) {
        throw refused(`${def.name} returned ${Buffer.byteLength(json)} bytes; the limit is ${MAX_TOOL_RESULT_BYTES}`);
      }
      const written = record.run(key, def.name, hash, json, new Date().toISOString());
      // Another attempt recorded the call first (two workers): its answer is the one that stands.
      if (written.changes === 0) return replay(def, key, hash) ?? answer(def, recorded, false);
      if (first && faults.get(def.name) === 'after_record') throw new Error('fault injected: after the record');
      return answer(def, recorded, false);
    };
  };

  return Object.fromEntries(toolbox.definitions.map((def) => [def.name, activity(def)]));
}
