// The scripted agent the peer benchmarks run outside Temporal: the model answers from a counter (a get_invoice call for
// each of `steps` turns, then a final answer), so it costs next to nothing and what is measured is the framework; the
// tool is the billing toolkit's own read. The Temporal side replays the same turns with the project's scripted model.
import { performance } from 'node:perf_hooks';
import type { BillingDb } from '../../activities/billing/index';
import { readInvoice } from '../../activities/billing/tools';
import type { ScenarioTurn } from '../../src/shared/model/types';
import { DEFAULT_SYSTEM_PROMPT } from '../../src/shared/run-input';
import { getInvoice } from '../../src/shared/tools/billing';

/**
 * The invoice every step reads: fixture invoice 2 (one line of 50 × $1.29), the same in every generated database,
 * so each tool result is small and identical in all three systems.
 */
export const STEP_INVOICE_ID = 2;

/** The goal every scripted run is given. */
export const STEP_GOAL = 'Read invoice 2 again and again';

const TOOL_TURN_TEXT = 'Reading the invoice once more.';
const FINAL_TEXT = 'Done reading.';

/** One scripted tool call. */
export interface ScriptedCall {
  id: string;
  name: 'get_invoice';
  args: { invoiceId: number };
}

/** One scripted model reply: text, and tool calls unless it is the final answer. */
export interface ScriptedReply {
  content: string;
  toolCalls: ScriptedCall[];
}

/**
 * The scripted model outside Temporal: turn 1…`steps` call `get_invoice`, turn `steps + 1` answers. Constant time.
 * @param turn - 1-based model call number
 * @param steps - tool-calling turns before the answer
 */
export function scriptedReply(turn: number, steps: number): ScriptedReply {
  if (turn > steps) return { content: FINAL_TEXT, toolCalls: [] };
  return {
    content: TOOL_TURN_TEXT,
    toolCalls: [{ id: `call_${turn}_1`, name: 'get_invoice', args: { invoiceId: STEP_INVOICE_ID } }],
  };
}

/**
 * The same run as a scenario for the project's scripted model (what `startScripted` takes).
 * @param steps - tool-calling turns before the answer
 */
export function scenarioTurns(steps: number): ScenarioTurn[] {
  const turns: ScenarioTurn[] = [];
  for (let turn = 1; turn <= steps + 1; turn++) {
    const reply = scriptedReply(turn, steps);
    turns.push({
      content: reply.content,
      ...(reply.toolCalls.length > 0
        ? { toolCalls: reply.toolCalls.map((c) => ({ name: c.name, arguments: c.args })) }
        : {}),
    });
  }
  return turns;
}

/**
 * `get_invoice` as its activity runs it, minus Temporal: parse the arguments with the tool's zod schema, read, and
 * serialise the result as the model would read it.
 * @param db - the billing database
 * @param args - the call's arguments
 * @returns the result as JSON text
 */
export function runGetInvoice(db: BillingDb, args: unknown): string {
  return JSON.stringify(readInvoice(db, getInvoice.parameters.parse(args)));
}

/** One conversation entry of the plain loop, shaped like the workflow's messages. */
type PlainMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls: ScriptedCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** What one scripted run outside Temporal reports. */
export interface LoopTimes {
  /** `performance.now()` when the run started. */
  startedAt: number;
  /** `performance.now()` when each tool call started, in order. */
  toolStarts: number[];
  /** `performance.now()` when the final answer was in. */
  finishedAt: number;
}

/**
 * The agent as a plain in-process loop: model, tool, append, repeat; nothing is persisted.
 * @param db - the billing database
 * @param steps - tool-calling turns before the answer
 */
export function plainLoop(db: BillingDb, steps: number): LoopTimes {
  const startedAt = performance.now();
  const toolStarts: number[] = [];
  const messages: PlainMessage[] = [
    { role: 'system', content: DEFAULT_SYSTEM_PROMPT },
    { role: 'user', content: STEP_GOAL },
  ];
  for (let turn = 1; ; turn++) {
    const reply = scriptedReply(turn, steps);
    messages.push({ role: 'assistant', content: reply.content, toolCalls: reply.toolCalls });
    if (reply.toolCalls.length === 0) break;
    for (const call of reply.toolCalls) {
      toolStarts.push(performance.now());
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: runGetInvoice(db, call.args) });
    }
  }
  return { startedAt, toolStarts, finishedAt: performance.now() };
}
