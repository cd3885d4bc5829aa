import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ConfigError, FailureType } from '../../src/shared/errors';
import { formatZodError } from '../../src/shared/zod-format';
import type { ModelActivities } from '../../src/shared/activity-types';
import type { McpToolDefinition } from '../../src/shared/tools/mcp';
import { createOpenAIModel } from './openai';
import { callScriptedModel } from './scripted';
import { createLocalModel } from './local';
import { defaultModelPath } from '../../src/node/model/model-file';
import { boundModelTurn } from '../../src/shared/model/limits';
import { openTranscriptStore, type TranscriptStore } from '../../src/node/transcript-store';

/** Model used by the `openai` provider when neither the run's settings, the options nor `HITL_MODEL` name one. */
export const DEFAULT_MODEL = 'gpt-4o-mini';

/** Default time to wait for one chat-completions response, in milliseconds. */
export const DEFAULT_MODEL_TIMEOUT_MS = 60_000;

/** CPU threads the `local` provider generates with when `HITL_MODEL_THREADS` is not set (see `LocalModelConfig`). */
export const DEFAULT_LOCAL_THREADS = 1;

/** Context window of the `local` provider, in tokens. */
export const LOCAL_CONTEXT_TOKENS = 4096;

/** Most tokens the `local` provider generates for one turn. */
export const LOCAL_MAX_TOKENS = 512;

/** Options of {@link createModelActivities}; each one falls back to its environment variable, then to a default. */
export interface ModelActivitiesOptions {
  /**
   * Where the conversations live; the caller keeps ownership. Default: the store `openTranscriptStore()` opens
   * (`HITL_TRANSCRIPT_DB`, else `.data/transcripts.sqlite`), on the first model call.
   */
  transcripts?: TranscriptStore;
  /** The worker's MCP tools: their specs go to the model where a run offers them. */
  extraTools?: readonly McpToolDefinition[];
  /** The chat-completions endpoint used by the `openai` provider. */
  openai?: {
    /** API key; default `OPENAI_API_KEY`. An explicit empty string means none (no fallback to the environment). */
    apiKey?: string;
    /** Endpoint root such as `http://localhost:11434/v1`; default `OPENAI_BASE_URL`, then OpenAI's. */
    baseURL?: string;
    /** Model when the run's settings leave it empty; default `HITL_MODEL`, then {@link DEFAULT_MODEL}. */
    model?: string;
    /** Time to wait for one response, in milliseconds; default {@link DEFAULT_MODEL_TIMEOUT_MS}. */
    timeoutMs?: number;
  };
  /** The GGUF model run in process by the `local` provider, loaded on its first call and kept. */
  local?: {
    /** Path of the GGUF file; default `HITL_MODEL_PATH`, then the file `npm run model:fetch` caches. */
    modelPath?: string;
    /** CPU threads; default `HITL_MODEL_THREADS`, then {@link DEFAULT_LOCAL_THREADS}. */
    threads?: number;
  };
}

const unsetIfEmpty = (v: unknown): unknown => (v === '' ? undefined : v);

const EnvSchema = z.object({
  OPENAI_API_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
  OPENAI_BASE_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^https?$/ }).optional()),
  HITL_MODEL: z.preprocess(unsetIfEmpty, z.string().optional()),
  HITL_MODEL_PATH: z.preprocess(unsetIfEmpty, z.string().optional()),
  HITL_MODEL_THREADS: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(1).max(256).optional()),
});

const OptionsSchema = z
  .strictObject({
    openai: z
      .strictObject({
        apiKey: z.string().optional(),
        baseURL: z.url({ protocol: /^https?$/ }).optional(),
        model: z.string().min(1).optional(),
        timeoutMs: z.number().int().positive().optional(),
      })
      .optional(),
    local: z
      .strictObject({
        modelPath: z.string().min(1).optional(),
        threads: z.number().int().min(1).max(256).optional(),
      })
      .optional(),
  })
  .optional();

/**
 * Creates the model activities. Options are resolved once, here: explicit option, then environment variable
 * (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `HITL_MODEL`, `HITL_MODEL_PATH`, `HITL_MODEL_THREADS`), then default. A
 * missing API key is not an error here, so a worker that only runs scripted scenarios needs none; `openai` calls then
 * fail with `ModelRequestRejected`. Likewise a missing model file fails only `local` calls (`ModelUnavailable`), and
 * the local model is loaded on the first of them, once per worker.
 * @param options - endpoint settings for the `openai` provider, model file and threads for the `local` one
 * @returns `{ callModel, storeMessages }`, to spread into the worker's activities
 * @throws ConfigError when an option or environment variable is invalid (e.g. `OPENAI_BASE_URL` is not an http(s) URL,
 *   `HITL_MODEL_THREADS` not a positive integer)
 */
export function createModelActivities(options?: ModelActivitiesOptions): ModelActivities {
  const { transcripts, extraTools, ...rest } = options ?? {};
  const parsedOptions = parseOrThrow(OptionsSchema, rest, 'model activity options');
  const opts = parsedOptions?.openai;
  const env = parseOrThrow(
    EnvSchema,
    {
      OPENAI_API_KEY: process.env.OPENAI_API_KEY,
      OPENAI_BASE_URL: process.env.OPENAI_BASE_URL,
      HITL_MODEL: process.env.HITL_MODEL,
      HITL_MODEL_PATH: process.env.HITL_MODEL_PATH,
      HITL_MODEL_THREADS: process.env.HITL_MODEL_THREADS,
    },
    'environment',
  );
  const openai = createOpenAIModel({
    apiKey: opts?.apiKey ?? env.OPENAI_API_KEY,
    baseURL: opts?.baseURL ?? env.OPENAI_BASE_URL,
    model: opts?.model ?? env.HITL_MODEL ?? DEFAULT_MODEL,
    timeoutMs: opts?.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS,
    ...(extraTools !== undefined ? { mcpTools: extraTools } : {}),
  });
  const local = createLocalModel({
    modelPath: parsedOptions?.local?.modelPath ?? env.HITL_MODEL_PATH ?? defaultModelPath(),
    threads: parsedOptions?.local?.threads ?? env.HITL_MODEL_THREADS ?? DEFAULT_LOCAL_THREADS,
    contextSize: LOCAL_CONTEXT_TOKENS,
    maxTokens: LOCAL_MAX_TOKENS,
    ...(extraTools !== undefined ? { mcpTools: extraTools } : {}),
  });
  let store: TranscriptStore | undefined;
  const opened = (): TranscriptStore => (store ??= transcripts ?? openTranscriptStore());
  return {
    async callModel(input) {
      const { messages, scenario } = opened().extend(input.transcript, input.scenario);
      const settings = input.settings;
      switch (settings.provider) {
        case 'scripted':
          if (scenario === undefined) {
            throw ApplicationFailure.nonRetryable(
              `run ${input.transcript.key} uses the scripted model but no scenario was stored with its first call`,
              FailureType.ScenarioExhausted,
            );
          }
          return boundModelTurn(callScriptedModel(scenario, messages));
        case 'openai':
          return boundModelTurn(
            await openai({ workflowId: input.workflowId, step: input.step, messages, tools: input.tools }, settings),
          );
        case 'local':
          return boundModelTurn(
            await local.call(
              { workflowId: input.workflowId, step: input.step, messages, tools: input.tools },
              settings,
            ),
          );
      }
    },
    storeMessages(append) {
      return new Promise<void>((resolve) => {
        opened().extend(append);
        resolve();
      });
    },
  };
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`invalid ${what}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}
