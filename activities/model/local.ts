import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import type {
  ChatHistoryItem,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp';
import { FailureType } from '../../src/shared/errors';
import type { McpToolDefinition } from '../../src/shared/tools/mcp';
import type { ChatMessage, ModelRequest, ModelSettings, ModelTurn } from '../../src/shared/model/types';
import {
  buildTurnSchema,
  plainIntegers,
  readStructuredTurn,
  recordedOutcomes,
  toolGuide,
  writeStructuredTurn,
} from './local-grammar';

/** Worker-side configuration of the local model. */
export interface LocalModelConfig {
  /** Path of the GGUF file. */
  modelPath: string;
  /**
   * CPU threads for generation. llama.cpp's threads spin while they wait for each other, so on a machine whose cores
   * are busy with other work more threads can be far slower (measured here: 1 thread 18 tokens/s, 2 threads 1 token/s
   * on 2 shared cores).
   */
  threads: number;
  /** Context window, in tokens; older turns are shifted out when a conversation outgrows it. */
  contextSize: number;
  /** Most tokens generated for one turn. */
  maxTokens: number;
  /** The MCP tools the worker listed, whose schemas the grammar needs when a run offers them (default none). */
  mcpTools?: readonly McpToolDefinition[];
}

/** The `local` variant of {@link ModelSettings}. */
export type LocalModelSettings = Extract<ModelSettings, { provider: 'local' }>;

/**
 * Performs one model call on the local model.
 * @param input - the conversation, the offered tool names and, for logs, the workflow id and step
 * @param settings - the run's model settings
 * @returns the model's turn: a final answer (text, no calls) or one tool call whose reasoning is the text and whose
 *   alternatives are structured; usage counts real tokens
 * @throws ApplicationFailure type `ModelUnavailable` (non-retryable) when the model file is missing or cannot be loaded
 * @throws ApplicationFailure type `UnknownTool` (non-retryable) when `input.tools` names a tool neither in the catalog
 *   nor among the worker's MCP tools
 * @throws the activity's `CancelledFailure` when the activity is cancelled mid-generation
 */
export type LocalModelCall = (input: ModelRequest, settings: LocalModelSettings) => Promise<ModelTurn>;

/** The loaded model, shared by every call of one worker. */
interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  /** The one sequence, kept between calls so a conversation's next turn reuses the evaluated prefix. */
  sequence: LlamaContextSequence;
  grammars: Map<string, LlamaGrammar>;
}

/** How often the activity heartbeats while it waits for its turn and generates (ms). */
const HEARTBEAT_EVERY_MS = 5_000;

/** Tool results longer than this (characters) are cut in what the small model reads, to keep its context. */
const TOOL_RESULT_CHARS = 1_500;

/**
 * Creates the local model caller. The model is loaded on the first call and kept for the worker's life; calls take
 * turns on its one context sequence, in order of arrival. Every reply is generated under a grammar built from the
 * offered tools' schemas ({@link buildTurnSchema}), so it always parses: one tool call with its reasoning and
 * alternatives, or a final answer. A reply cut off by the token budget becomes an honest final answer saying so.
 * @param config - model file, threads, context size and token budget
 * @returns the caller (see {@link LocalModelCall}) and `close`, which frees the model
 */
export function createLocalModel(config: LocalModelConfig): { call: LocalModelCall; close(): Promise<void> } {
  let loading: Promise<Loaded> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const load = async (): Promise<Loaded> => {
    if (!existsSync(config.modelPath)) {
      throw ApplicationFailure.nonRetryable(
        `no model file at ${config.modelPath}: run \`npm run model:fetch\`, or set HITL_MODEL_PATH to a GGUF file`,
        FailureType.ModelUnavailable,
      );
    }
    // Imported here: the native addon loads only on a worker that runs the local model.
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    try {
      const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: config.modelPath });
      const context = await model.createContext({
        contextSize: config.contextSize,
        sequences: 1,
        threads: config.threads,
      });
      return { llama, model, context, sequence: context.getSequence(), grammars: new Map() };
    } catch (err) {
      throw ApplicationFailure.create({
        type: FailureType.ModelUnavailable,
        nonRetryable: true,
        message: `could not load the model at ${config.modelPath}: ${err instanceof Error ? err.message : String(err)}`,
        cause: err instanceof Error ? err : undefined,
      });
    }
  };

  const loaded = (): Promise<Loaded> => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };

  const generate = async (input: ModelRequest, settings: LocalModelSettings, m: Loaded): Promise<ModelTurn> => {
    // No final answer before any tool has answered: a small model otherwise tends to answer from nothing.
    const allowFinal = input.messages.some((msg) => msg.role === 'tool');
    const key = `${allowFinal ? 'final' : 'calls'}:${input.tools.join(',')}`;
    let grammar = m.grammars.get(key);
    if (grammar === undefined) {
      // The schema is built at run time, so its type is the general one; the reply is checked by readStructuredTurn.
      const schema = buildTurnSchema(input.tools, allowFinal, config.mcpTools) as Readonly<{ type: 'object' }>;
      const json = await m.llama.createGrammarForJsonSchema(schema);
      grammar = await m.llama.createGrammar({ grammar: plainIntegers(json.grammar) });
      m.grammars.set(key, grammar);
    }
    const { LlamaChatSession } = await import('node-llama-cpp');
    const sequence = m.sequence;
    const context = Context.current();
    const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      const { history, prompt } = toChatHistory(input.messages, toolGuide(input.tools, config.mcpTools));
      session.setChatHistory(history);
      const before = sequence.tokenMeter.getState();
      let chunks = 0;
      const text = await session.prompt(prompt, {
        grammar,
        maxTokens: config.maxTokens,
        temperature: settings.temperature ?? 0,
        // A fixed seed per step: a retried call on the same conversation samples the same reply.
        seed: input.step,
        // Small models loop ("You can't change your email, so…"); a mild penalty on repeats breaks most loops.
        repeatPenalty: { penalty: 1.15, lastTokens: 64 },
        signal: context.cancellationSignal,
        stopOnAbortSignal: false,
        onTextChunk: () => {
          chunks += 1;
          context.heartbeat({ step: input.step, chunks });
        },
      });
      const after = sequence.tokenMeter.getState();
      const usage = {
        promptTokens: after.usedInputTokens - before.usedInputTokens,
        completionTokens: after.usedOutputTokens - before.usedOutputTokens,
      };
      const reply = readStructuredTurn(text, input.step);
      context.log.debug('local model call', { workflowId: input.workflowId, step: input.step, ...usage });
      if (reply === undefined) {
        return {
          content:
            `The local model's reply was cut off at ${config.maxTokens} tokens before it was complete, ` +
            `so nothing it proposed in it was done. ${recordedOutcomes(input.messages)}`,
          toolCalls: [],
          usage,
        };
      }
      if (reply.toolCalls.length === 0) {
        // The model's words, then what the conversation records: the answer cannot claim what did not happen.
        return { content: `${reply.content}\n\n${recordedOutcomes(input.messages)}`, toolCalls: [], usage };
      }
      return { ...reply, usage };
    } finally {
      session.dispose({ disposeSequence: false });
    }
  };

  const call: LocalModelCall = async (input, settings) => {
    const context = Context.current();
    const beat = setInterval(() => context.heartbeat({ step: input.step }), HEARTBEAT_EVERY_MS);
    try {
      const m = await loaded();
      // One sequence: calls take turns, and the next starts when this one ends, however it ends.
      const mine = queue.then(() => generate(input, settings, m));
      queue = mine.catch(() => undefined);
      return await mine;
    } catch (err) {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason as Error;
      throw err;
    } finally {
      clearInterval(beat);
    }
  };

  return {
    call,
    async close() {
      const m = await loading?.catch(() => undefined);
      await m?.llama.dispose();
    },
  };
}

/**
 * The conversation as node-llama-cpp's chat history, with the tool guide added to the system prompt: tool results
 * become user messages, earlier assistant turns are written as the model would have written them under the grammar,
 * and the last user message (or run of tool results) becomes the prompt.
 * @param messages - the conversation
 * @param guide - the tool guide
 * @returns the history before the prompt, and the prompt
 */
export function toChatHistory(
  messages: readonly ChatMessage[],
  guide: string,
): { history: ChatHistoryItem[]; prompt: string } {
  const items: ChatHistoryItem[] = [];
  const system = messages.flatMap((m) => (m.role === 'system' ? [m.content] : []));
  items.push({ type: 'system', text: [...system, guide].join('\n\n') });
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        items.push({ type: 'user', text: m.content });
        break;
      case 'assistant':
        items.push({ type: 'model', response: [writeStructuredTurn(m.content, m.toolCalls)] });
        break;
      case 'tool': {
        const text = `Result of ${m.name}: ${cut(m.content, TOOL_RESULT_CHARS)}`;
        const last = items[items.length - 1];
        if (last?.type === 'user') last.text = `${last.text}\n${text}`;
        else items.push({ type: 'user', text });
        break;
      }
    }
  }
  const last = items[items.length - 1];
  if (last?.type === 'user') {
    items.pop();
    return { history: items, prompt: last.text };
  }
  return { history: items, prompt: 'Go on.' };
}

function cut(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}… [cut: ${text.length} characters in all]` : text;
}
