import { utf8Length } from '../hash';
import { boundAlternatives } from './alternatives';
import type { ModelTurn, ToolCall } from './types';

/** Largest tool-call arguments taken from a model or an edit (bytes of UTF-8 JSON). Every catalog tool fits in far less. */
export const MAX_TOOL_ARGUMENT_BYTES = 16 * 1024;

/**
 * Largest result a read tool returns (bytes of UTF-8 JSON); a larger one is refused so the model asks for less. Results
 * above 4 KiB are kept in the transcript store and referenced from the run, so this bounds the transcript, not history.
 */
export const MAX_TOOL_RESULT_BYTES = 2 ** 20;

/** Largest assistant text kept from one model turn (bytes of UTF-8); the rest is cut with a note. */
export const MAX_MODEL_TEXT_BYTES = 32 * 1024;

/** Most tool calls taken from one model turn; later ones are answered with an error. */
export const MAX_TOOL_CALLS_PER_TURN = 16;

/** Most tool calls of one turn kept at all (refused ones included); the model hears how many were dropped. */
export const MAX_TOOL_CALLS_KEPT = 64;

/** Longest tool name or call id kept (characters); no catalog tool comes close. */
const MAX_NAME = 64;

/** The message of arguments over {@link MAX_TOOL_ARGUMENT_BYTES}. */
export function oversizedArguments(bytes: number): string {
  return `the arguments are ${bytes} bytes; the limit is ${MAX_TOOL_ARGUMENT_BYTES} bytes`;
}

/**
 * Bounds what one model turn can put into the run, so an activity result never nears Temporal's payload limit (2 MiB)
 * and nothing a model writes can fail the run: text over {@link MAX_MODEL_TEXT_BYTES} is cut with a note; a call whose
 * arguments are over {@link MAX_TOOL_ARGUMENT_BYTES}, or which comes after the first {@link MAX_TOOL_CALLS_PER_TURN},
 * keeps its id and name but its arguments become `{}` and it carries a `refusal` the workflow hands back to the model as the
 * call's error; calls after {@link MAX_TOOL_CALLS_KEPT} are dropped, and the text says so; structured alternatives are
 * bounded like those in text (`boundAlternatives`).
 * @param turn - the turn as the provider returned it
 * @returns the bounded turn (the same object when nothing was over a limit)
 */
export function boundModelTurn(turn: ModelTurn): ModelTurn {
  let changed = false;
  const notes: string[] = [];
  let content = turn.content;
  if (content !== null && utf8Length(content) > MAX_MODEL_TEXT_BYTES) {
    const bytes = utf8Length(content);
    content = cutToBytes(content, MAX_MODEL_TEXT_BYTES);
    notes.push(`[the reply was ${bytes} bytes; cut at the limit of ${MAX_MODEL_TEXT_BYTES} bytes]`);
    changed = true;
  }
  const kept = turn.toolCalls.slice(0, MAX_TOOL_CALLS_KEPT);
  if (kept.length < turn.toolCalls.length) {
    notes.push(
      `[${turn.toolCalls.length - kept.length} more tool calls were dropped: at most ${MAX_TOOL_CALLS_KEPT} are kept]`,
    );
    changed = true;
  }
  const toolCalls = kept.map((call, i): ToolCall => {
    const refusal =
      i >= MAX_TOOL_CALLS_PER_TURN
        ? `not run: a turn may propose at most ${MAX_TOOL_CALLS_PER_TURN} tool calls; propose it again in a later turn`
        : utf8Length(call.arguments) > MAX_TOOL_ARGUMENT_BYTES
          ? oversizedArguments(utf8Length(call.arguments))
          : undefined;
    const long = call.name.length > MAX_NAME || call.id.length > MAX_NAME;
    const alternatives = call.alternatives !== undefined ? boundAlternatives(call.alternatives) : undefined;
    const altered = alternatives !== undefined && JSON.stringify(alternatives) !== JSON.stringify(call.alternatives);
    if (refusal === undefined && !long && !altered) return call;
    changed = true;
    return {
      id: call.id.slice(0, MAX_NAME),
      name: call.name.slice(0, MAX_NAME),
      arguments: refusal === undefined ? call.arguments : '{}',
      ...(refusal !== undefined ? { refusal } : {}),
      ...(alternatives !== undefined ? { alternatives } : {}),
    };
  });
  if (!changed) return turn;
  const text = [content, ...notes].filter((t): t is string => t !== null && t !== '').join('\n');
  return { ...turn, content: text === '' ? null : text, toolCalls };
}

function cutToBytes(text: string, limit: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > limit) break;
    out += ch;
  }
  return out;
}
