import { formatZodError } from '../zod-format';
import { MAX_TOOL_ARGUMENT_BYTES, oversizedArguments } from '../model/limits';
import { utf8Length } from '../hash';
import type { ToolCall } from '../model/types';
import { findTool, toolNames } from './catalog';
import type { RunToolDefinition } from './mcp';

/** Longest piece of unparsable argument text quoted back in a refusal. */
const QUOTED_TEXT = 200;

/** Finds the tool a name stands for: the catalog alone, or a run's catalog and MCP tools. */
export interface ToolLookup {
  (name: string): RunToolDefinition | undefined;
}

/** The catalog alone, with its names for refusals. */
const CATALOG: { find: ToolLookup; names: () => readonly string[] } = { find: findTool, names: () => toolNames };

/** A proposed call checked against the catalog: the tool and its parsed arguments, or why it cannot run. */
export type ParsedCall =
  | { ok: true; tool: RunToolDefinition; args: Record<string, unknown> }
  | {
      ok: false;
      /** What was wrong, in one sentence, e.g. `invalid arguments for issue_refund: amountCents: Too big…`. */
      reason: string;
      /** The arguments as far as they could be read: the JSON value, else the raw text. */
      args: unknown;
    };

/**
 * Checks a proposed tool call: the tool must be in the catalog and the arguments must parse with its zod schema.
 * The one place where a call proposed by the model, an edit, a plan step or a plan edit becomes arguments that may
 * run. Deterministic (runs inside the workflow).
 * @param name - the tool's name as proposed
 * @param rawArgs - JSON text (from a model) or an already decoded value (from a person's edit)
 * @param tools - where tool names are looked up: the run's tools (catalog and MCP); default the catalog alone
 * @returns the tool and its parsed arguments, or the reason
 * @example parseToolCall('issue_refund', '{"invoiceId":1,"amountCents":500,"reason":"dup"}')
 */
export function parseToolCall(
  name: string,
  rawArgs: unknown,
  tools: { find: ToolLookup; names: () => readonly string[] } = CATALOG,
): ParsedCall {
  const tool = tools.find(name);
  if (tool === undefined) {
    return { ok: false, reason: `unknown tool "${name}"; available: ${tools.names().join(', ')}`, args: rawArgs };
  }
  let value = rawArgs;
  if (typeof rawArgs === 'string' && utf8Length(rawArgs) > MAX_TOOL_ARGUMENT_BYTES) {
    return { ok: false, reason: oversizedArguments(utf8Length(rawArgs)), args: rawArgs.slice(0, QUOTED_TEXT) };
  }
  if (typeof rawArgs === 'string') {
    try {
      value = JSON.parse(rawArgs);
    } catch {
      return { ok: false, reason: `arguments are not valid JSON: ${rawArgs.slice(0, QUOTED_TEXT)}`, args: rawArgs };
    }
  }
  const parsed = tool.parameters.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: `invalid arguments for ${tool.name}: ${formatZodError(parsed.error)}`, args: value };
  }
  return { ok: true, tool, args: parsed.data as Record<string, unknown> };
}

/**
 * Checks a call a model proposed: a call the model activity refused (see `boundModelTurn`) is invalid with that
 * reason; any other goes through {@link parseToolCall}.
 * @param call - the proposed call
 * @param tools - as {@link parseToolCall}
 * @returns as {@link parseToolCall}
 */
export function parseProposedCall(
  call: ToolCall,
  tools: { find: ToolLookup; names: () => readonly string[] } = CATALOG,
): ParsedCall {
  if (call.refusal !== undefined) return { ok: false, reason: call.refusal, args: {} };
  return parseToolCall(call.name, call.arguments, tools);
}
