import { formatZodError } from '../zod-format';
import { MAX_TOOL_ARGUMENT_BYTES, oversizedArguments } from '../model/limits';
import { utf8Length } from '../hash';
import type { ToolCall } from '../model/types';
import { findTool, toolNames, type CatalogTool } from './catalog';

/** Longest piece of unparsable argument text quoted back in a refusal. */
const QUOTED_TEXT = 200;

/** A proposed call checked against the catalog: the tool and its parsed arguments, or why it cannot run. */
export type ParsedCall =
  | { ok: true; tool: CatalogTool; args: Record<string, unknown> }
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
 * @returns the tool and its parsed arguments, or the reason
 * @example parseToolCall('issue_refund', '{"invoiceId":1,"amountCents":500,"reason":"dup"}')
 */
export function parseToolCall(name: string, rawArgs: unknown): ParsedCall {
  const tool = findTool(name);
  if (tool === undefined) {
    return { ok: false, reason: `unknown tool "${name}"; available: ${toolNames.join(', ')}`, args: rawArgs };
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
 * @returns as {@link parseToolCall}
 */
export function parseProposedCall(call: ToolCall): ParsedCall {
  if (call.refusal !== undefined) return { ok: false, reason: call.refusal, args: {} };
  return parseToolCall(call.name, call.arguments);
}
