import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/shared/errors';
import { parseToolResultText } from '../../src/shared/model/tool-result';
import type { ChatMessage, ModelTurn, Scenario, ScenarioTurn, ToolCall } from '../../src/shared/model/types';

type ScriptedReply = Omit<ScenarioTurn, 'onRejected'>;

/**
 * Replays a scenario: the scripted stand-in for a real model, for demos and tests.
 *
 * The turn played is the number of assistant messages already in `messages` (0-based), so replaying a conversation
 * gives the same answer. When a `tool` message after the last assistant message reports a `rejected`, `expired`, `feedback` or `denied`
 * call and the turn has `onRejected`, that reply is played instead. Tool call ids are `call_<turn>_<n>` (both 1-based);
 * object arguments are serialised to JSON, string arguments pass verbatim so a scenario can imitate malformed model
 * output. Usage is estimated at one token per 4 characters (rounded up) so token budgets can be exercised.
 *
 * A pure function of its arguments: no I/O.
 *
 * @param scenario - the scenario to replay
 * @param messages - the conversation so far
 * @returns the scripted reply with estimated usage (tokens)
 * @throws ApplicationFailure type `ScenarioExhausted` (non-retryable) when the scenario has no turn left
 */
export function callScriptedModel(scenario: Scenario, messages: readonly ChatMessage[]): ModelTurn {
  let turnIndex = 0;
  let afterLastAssistant = 0;
  messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      turnIndex += 1;
      afterLastAssistant = i + 1;
    }
  });
  const turn = scenario.turns[turnIndex];
  if (turn === undefined) {
    const count = scenario.turns.length;
    throw ApplicationFailure.nonRetryable(
      `scenario exhausted: it has ${count} turn${count === 1 ? '' : 's'}, and this is model call ${turnIndex + 1}`,
      FailureType.ScenarioExhausted,
    );
  }
  const reply: ScriptedReply =
    turn.onRejected !== undefined && wasRejected(messages.slice(afterLastAssistant)) ? turn.onRejected : turn;
  const toolCalls: ToolCall[] = (reply.toolCalls ?? []).map((call, i) => ({
    id: `call_${turnIndex + 1}_${i + 1}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const content = reply.content ?? null;
  return {
    content,
    toolCalls,
    usage: {
      promptTokens: estimateTokens(messages.reduce((n, m) => n + messageChars(m), 0)),
      completionTokens: estimateTokens((content?.length ?? 0) + toolCallChars(toolCalls)),
    },
  };
}

function wasRejected(sinceLastAssistant: readonly ChatMessage[]): boolean {
  return sinceLastAssistant.some((m) => {
    if (m.role !== 'tool') return false;
    const status = parseToolResultText(m.content)?.status;
    return status === 'rejected' || status === 'expired' || status === 'feedback' || status === 'denied';
  });
}

function messageChars(m: ChatMessage): number {
  switch (m.role) {
    case 'assistant':
      return (m.content?.length ?? 0) + toolCallChars(m.toolCalls);
    case 'tool':
      return m.name.length + m.content.length;
    default:
      return m.content.length;
  }
}

function toolCallChars(calls: readonly ToolCall[]): number {
  return calls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
}

// The common rule of thumb for English text with GPT tokenisers; exactness does not matter for budgets in tests.
function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
