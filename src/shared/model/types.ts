import { z } from 'zod';
import type { TranscriptAppend } from './transcript';

/** A tool call as the model proposed it. `arguments` is the raw JSON text: the workflow parses and validates it. */
export interface ToolCall {
  /** Call id given by the model (OpenAI's `tool_calls[].id`), unique within one assistant message. */
  id: string;
  /** Tool name; may name a tool that does not exist. */
  name: string;
  /** Raw JSON text of the arguments; may be malformed. */
  arguments: string;
  /**
   * Set by the model activity when it would not pass the call on (arguments over the size limit, too many calls in one
   * turn): the call's error for the model. The arguments are then `{}`. See `boundModelTurn`.
   */
  refusal?: string;
  /**
   * What else the model said it could do instead, when its provider returns that as structured output (the `local`
   * provider's grammar, the `openai` provider's `alternatives` argument). Absent when the provider has no such field:
   * the alternatives then come from the turn's text (`Alternative:` lines, see `splitAlternatives`).
   */
  alternatives?: string[];
}

/** One message of the conversation, in a provider-neutral shape close to OpenAI chat completions. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** Token usage of one model call. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** What the model activity returns: the assistant's text and the tool calls it wants. */
export interface ModelTurn {
  content: string | null;
  toolCalls: ToolCall[];
  usage: TokenUsage;
}

/** A scripted tool call: arguments are an object (or, to test bad model output, raw text). */
export const ScriptedToolCallSchema = z.strictObject({
  name: z.string().min(1),
  arguments: z.union([z.record(z.string(), z.unknown()), z.string()]),
});

const ScriptedReplySchema = z.strictObject({
  content: z.string().optional(),
  toolCalls: z.array(ScriptedToolCallSchema).optional(),
});

/** One turn of a scenario: the reply to the n-th model call, with an optional replacement after a rejection. */
export const ScenarioTurnSchema = ScriptedReplySchema.extend({
  /** Used instead of this turn when a call of the previous turn was rejected or expired. */
  onRejected: ScriptedReplySchema.optional(),
});

/**
 * A scenario file for the scripted model: `{ goal, turns: [...] }`. The n-th model call gets the n-th turn.
 * The last turn should have `content` and no `toolCalls`: that is the final answer.
 */
export const ScenarioSchema = z.strictObject({
  goal: z.string().min(1),
  turns: z.array(ScenarioTurnSchema).min(1),
});

/** A parsed scenario. */
export type Scenario = z.infer<typeof ScenarioSchema>;
/** One parsed scenario turn. */
export type ScenarioTurn = z.infer<typeof ScenarioTurnSchema>;

/**
 * Model settings, part of the run input. `scripted` replays `scenario`; `openai` calls any chat-completions server
 * (OpenAI, Ollama, vLLM, llama.cpp) configured on the worker with `OPENAI_API_KEY` and `OPENAI_BASE_URL`; `local`
 * runs the worker's GGUF model in process (node-llama-cpp).
 */
export const ModelSettingsSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('scripted'),
    /**
     * The scenario. Required to start a run; a run continued as new leaves it out, since the transcript store has kept
     * it since the run's first model call.
     */
    scenario: ScenarioSchema.optional(),
  }),
  z.strictObject({
    provider: z.literal('openai'),
    /** Model name; empty means the worker's `HITL_MODEL` (default `gpt-4o-mini`). */
    model: z.string().default(''),
    temperature: z.number().min(0).max(2).optional(),
  }),
  z.strictObject({
    /** The worker's local GGUF model (`HITL_MODEL_PATH`, default the file `npm run model:fetch` caches). */
    provider: z.literal('local'),
    /** Sampling temperature; default 0 (the most likely token each time, so a run is repeatable). */
    temperature: z.number().min(0).max(2).optional(),
  }),
]);

/** Parsed model settings. */
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

/** Model settings as the model activity receives them: the scripted scenario travels apart, once. */
export type ModelCallSettings = { provider: 'scripted' } | Extract<ModelSettings, { provider: 'openai' | 'local' }>;

/**
 * Input of the model activity. The conversation is not in it: `transcript` carries only the messages added since the
 * previous call, and the activity reads the rest from the transcript store (`src/node/transcript-store.ts`).
 */
export interface CallModelInput {
  /** Workflow id, for logs. */
  workflowId: string;
  /** 1-based number of this model call within the run. */
  step: number;
  settings: ModelCallSettings;
  /** Names of the catalog tools offered to the model. */
  tools: string[];
  /** What this call adds to the stored conversation, and where. */
  transcript: TranscriptAppend;
  /** The scripted model's scenario: sent with the run's first model call only; the store keeps it. */
  scenario?: Scenario;
}

/** One request to a model, as a provider sees it: the whole conversation, read from the transcript store. */
export interface ModelRequest {
  /** Workflow id, for logs. */
  workflowId: string;
  /** 1-based number of this model call within the run. */
  step: number;
  messages: ChatMessage[];
  /** Names of the catalog tools offered to the model. */
  tools: string[];
}
