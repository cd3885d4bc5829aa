import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import { FailureType } from '../../src/shared/errors';
import { formatZodError } from '../../src/shared/zod-format';
import type { ChatMessage, ModelRequest, ModelSettings, ModelTurn, ToolCall } from '../../src/shared/model/types';
import { buildToolSpecs, takeAlternatives } from './tool-specs';
import type { McpToolDefinition } from '../../src/shared/tools/mcp';

/** Worker-side configuration of the chat-completions endpoint. */
export interface OpenAIModelConfig {
  /** API key sent as a bearer token; `undefined` or empty fails every call with `ModelRequestRejected`. */
  apiKey: string | undefined;
  /** Endpoint root, e.g. `http://localhost:11434/v1`; `undefined` means OpenAI's. */
  baseURL: string | undefined;
  /** Model used when the run's settings leave `model` empty. */
  model: string;
  /** Time to wait for one response, in milliseconds; a timeout is retryable. */
  timeoutMs: number;
  /** The worker's MCP tools, offered where a run names them. */
  mcpTools?: readonly McpToolDefinition[];
}

/** The `openai` variant of {@link ModelSettings}. */
export type OpenAIModelSettings = Extract<ModelSettings, { provider: 'openai' }>;

/**
 * Performs one model call against a chat-completions endpoint.
 * @param input - the conversation, the offered tool names and, for logs, the workflow id and step
 * @param settings - the run's model settings (`model` empty means the worker's default)
 * @returns the assistant's text, its function tool calls and the usage the server reported (tokens; 0 if absent)
 * @throws ApplicationFailure type `ModelRequestRejected` (non-retryable): no API key, or a 4xx other than 408, 409,
 *   429 (bad request, wrong key, unknown model…); the message carries the status and the server's own message.
 * @throws ApplicationFailure type `ModelUnavailable` (retryable): 429, with `nextRetryDelay` (milliseconds) from
 *   `retry-after-ms` or `retry-after` when sent; 408, 409, 5xx, connection failures, timeouts, unusable responses.
 * @throws ApplicationFailure type `UnknownTool` (non-retryable): `input.tools` names a tool not in the catalog.
 * @throws the activity's `CancelledFailure` when the activity is cancelled mid-request.
 */
export type OpenAIModelCall = (input: ModelRequest, settings: OpenAIModelSettings) => Promise<ModelTurn>;

/**
 * Creates the chat-completions caller. The `openai` client is built on first use and never retries by itself:
 * Temporal's retry policy owns retries, guided by the failure's `nonRetryable` flag and `nextRetryDelay`.
 *
 * @param config - endpoint, key, default model and timeout
 * @returns the caller; see {@link OpenAIModelCall} for its failures
 */
export function createOpenAIModel(config: OpenAIModelConfig): OpenAIModelCall {
  let client: OpenAI | undefined;
  return async (input, settings) => {
    if (config.apiKey === undefined || config.apiKey === '') {
      throw ApplicationFailure.nonRetryable(
        'no API key for the model endpoint: set OPENAI_API_KEY on the worker ' +
          '(a local server without authentication accepts any value, e.g. OPENAI_API_KEY=anything)',
        FailureType.ModelRequestRejected,
      );
    }
    client ??= new OpenAI({
      apiKey: config.apiKey,
      baseURL: config.baseURL,
      maxRetries: 0,
      timeout: config.timeoutMs,
    });
    const tools = buildToolSpecs(input.tools, config.mcpTools);
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: settings.model !== '' ? settings.model : config.model,
      messages: input.messages.map(toOpenAIMessage),
      // OpenAI rejects an empty `tools` array, so leave it out when nothing is offered.
      ...(tools.length > 0 ? { tools } : {}),
      ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    };
    const context = asyncLocalStorage.getStore();
    const signal = context?.cancellationSignal;
    let completion: unknown;
    try {
      completion = await client.chat.completions.create(body, signal !== undefined ? { signal } : {});
    } catch (err) {
      if (err instanceof APIUserAbortError && signal?.aborted === true) {
        throw signal.reason as Error;
      }
      throw toFailure(err, client.baseURL, config.timeoutMs);
    }
    const turn = fromCompletion(completion, input.step);
    context?.log.debug('model call', {
      workflowId: input.workflowId,
      step: input.step,
      model: body.model,
      toolCalls: turn.toolCalls.length,
      promptTokens: turn.usage.promptTokens,
      completionTokens: turn.usage.completionTokens,
    });
    return turn;
  };
}

function toOpenAIMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        // An empty `tool_calls` array is a 400 at OpenAI.
        ...(m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  }
}

// Parsed loosely: OpenAI-compatible servers (Ollama, vLLM, llama.cpp) differ in details such as missing ids or
// arguments sent as an object rather than JSON text.
const WireCompletionSchema = z.object({
  choices: z.array(
    z.object({
      message: z.object({
        content: z.string().nullish(),
        tool_calls: z
          .array(
            z.object({
              id: z.string().nullish(),
              type: z.string().nullish(),
              function: z
                .object({
                  name: z.string(),
                  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
                })
                .nullish(),
            }),
          )
          .nullish(),
      }),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish(),
});

function fromCompletion(completion: unknown, step: number): ModelTurn {
  const parsed = WireCompletionSchema.safeParse(completion);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: FailureType.ModelUnavailable,
      nonRetryable: false,
      message: `model endpoint returned an unusable response: ${formatZodError(parsed.error)}`,
    });
  }
  const { choices, usage } = parsed.data;
  const message = choices[0]?.message;
  if (message === undefined) {
    throw ApplicationFailure.create({
      type: FailureType.ModelUnavailable,
      nonRetryable: false,
      message: 'model endpoint returned no choices',
    });
  }
  const toolCalls: ToolCall[] = [];
  for (const call of message.tool_calls ?? []) {
    if (call.function == null || (call.type != null && call.type !== 'function')) continue;
    const args = call.function.arguments;
    const taken = takeAlternatives(call.function.name, typeof args === 'string' ? args : JSON.stringify(args ?? {}));
    toolCalls.push({
      id: call.id ?? `call_${step}_${toolCalls.length + 1}`,
      name: call.function.name,
      ...taken,
    });
  }
  return {
    content: message.content ?? null,
    toolCalls,
    usage: { promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0 },
  };
}

const ServerErrorSchema = z.object({ message: z.string() });

function toFailure(err: unknown, baseURL: string, timeoutMs: number): Error {
  const cause = err instanceof Error ? err : undefined;
  if (err instanceof APIConnectionTimeoutError) {
    return unavailable(`model endpoint at ${baseURL} did not answer within ${timeoutMs} ms`, cause);
  }
  if (err instanceof APIConnectionError) {
    const reason = err.cause instanceof Error ? err.cause.message : err.message;
    return unavailable(`could not reach the model endpoint at ${baseURL}: ${reason}`, cause);
  }
  // `instanceof` infers APIError<any, any, any>; pin the declared defaults.
  const apiError: APIError | undefined = err instanceof APIError ? err : undefined;
  const status = apiError?.status;
  if (apiError === undefined || status === undefined) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const serverMessage = ServerErrorSchema.safeParse(apiError.error).data?.message ?? apiError.message;
  if (status === 429) {
    const delayMs = retryAfterMs(apiError.headers);
    return unavailable(
      `model endpoint is rate limiting (429): ${serverMessage}` +
        (delayMs !== undefined ? `; it asks to retry after ${delayMs} ms` : ''),
      cause,
      delayMs,
    );
  }
  // 408 and 409 are transient too: the openai SDK's own retry logic retries them alongside 429 and 5xx.
  if (status >= 500 || status === 408 || status === 409) {
    return unavailable(`model endpoint failed (${status}): ${serverMessage}`, cause);
  }
  return ApplicationFailure.create({
    type: FailureType.ModelRequestRejected,
    nonRetryable: true,
    message: `model endpoint rejected the request (${status}): ${serverMessage}${hint(status)}`,
    cause,
  });
}

function hint(status: number): string {
  if (status === 401 || status === 403) return ' (check OPENAI_API_KEY)';
  if (status === 404) return ' (check the model name, HITL_MODEL, and OPENAI_BASE_URL)';
  return '';
}

function unavailable(message: string, cause: Error | undefined, nextRetryDelayMs?: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ModelUnavailable,
    nonRetryable: false,
    message,
    cause,
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });
}

/** `retry-after-ms` (milliseconds, non-standard but sent by OpenAI) wins over `retry-after` (seconds or HTTP date). */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = headers?.get('retry-after');
  if (value == null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) && at > Date.now() ? at - Date.now() : undefined;
}
