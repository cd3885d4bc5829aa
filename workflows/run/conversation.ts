import { advance, EMPTY_TRANSCRIPT_HASH, type TranscriptRef } from '../../src/shared/model/transcript';
import { toolResultText, type ToolResultContent } from '../../src/shared/model/tool-result';
import type { ChatMessage, ToolCall } from '../../src/shared/model/types';

/**
 * The run's side of the conversation: where it stands in the transcript store (a reference and a chain hash, not the
 * messages) and the messages the model has not seen yet, which go with the next model call.
 */
export class Conversation {
  #transcript: TranscriptRef;
  #unsent: ChatMessage[];

  /**
   * @param transcript - where the stored conversation stands
   * @param unsent - messages not yet sent to the model
   */
  constructor(transcript: TranscriptRef, unsent: ChatMessage[] = []) {
    this.#transcript = transcript;
    this.#unsent = unsent;
  }

  /** A new run's conversation: nothing stored yet under `key` (the run's first execution's run id). */
  static empty(key: string): Conversation {
    return new Conversation({ key, length: 0, hash: EMPTY_TRANSCRIPT_HASH });
  }

  /** Where the stored conversation stands. */
  get transcript(): TranscriptRef {
    return this.#transcript;
  }

  /** The messages the next model call adds (copies of the list, not of the messages). */
  get unsent(): ChatMessage[] {
    return [...this.#unsent];
  }

  /** Adds a message for the model to read with its next call. */
  push(message: ChatMessage): void {
    this.#unsent.push(message);
  }

  /**
   * Records a model call: the messages it sent are stored now, and its answer is the first unsent message of the next.
   * @param sent - the messages the call appended (what {@link Conversation.unsent} was)
   * @param reply - the assistant's answer
   */
  replied(sent: readonly ChatMessage[], reply: { content: string | null; toolCalls: ToolCall[] }): void {
    this.#transcript = advance(this.#transcript, sent);
    this.#unsent = [{ role: 'assistant', content: reply.content, toolCalls: reply.toolCalls }];
  }

  /**
   * Records that the first `count` unsent messages (and whatever was stored after them) are in the store now.
   * @param stored - every message that was stored, in order
   * @param count - how many of them were unsent messages
   */
  stored(stored: readonly ChatMessage[], count: number): void {
    this.#transcript = advance(this.#transcript, stored);
    this.#unsent = this.#unsent.slice(count);
  }

  /** Adds one `tool` message per call, in the order the calls were proposed. */
  pushToolResults(calls: readonly ToolCall[], results: readonly ToolResultContent[]): void {
    calls.forEach((call, i) => this.#unsent.push(toolMessage(call, results[i])));
  }
}

/** The `tool` message that tells the model a call's result. */
export function toolMessage(call: ToolCall, result: ToolResultContent | undefined): ChatMessage {
  return {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: toolResultText(result ?? { status: 'error', message: 'no result' }),
  };
}
