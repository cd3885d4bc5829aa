import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ConfigError, FailureType } from '../../src/shared/errors';
import { formatZodError } from '../../src/shared/zod-format';
import type { ModelActivities } from '../../src/shared/activity-types';
import type { McpToolDefinition } from '../../src/shared/tools/mcp';
import { createOpenAIModel } from './openai';
import { callScriptedModel } from './scripted';
import { boundModelTurn } from '../../src/shared/model/limits';
import { openTranscriptStore, type TranscriptStore } from '../../src/node/transcript-store';

/** Model used by the `openai` provider when neither the run's settings, the options nor `HITL_MODEL` name one. */
export const DEFAULT_MODEL = 'gpt-4o-mini';

/** Default time to wait for one chat-completions response, in milliseconds. */
export const DEFAULT_MODEL_TIMEOUT_MS = 60_000;

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
}

const unsetIfEmpty = (v: unknown): unknown => (v === '' ? undefined : v);

const EnvSchema = z.object({
  OPENAI_API_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
  OPENAI_BASE_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^https?$/ }).optional()),
  HITL_MODEL: z.preprocess(unsetIfEmpty, z.string().optional()),
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
  })
  .optional();

/**
 * Creates the model activities. Options are resolved once, here: explicit option, then environment variable
 * (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `HITL_MODEL`), then default. A missing API key is not an error here, so a
 * worker that only runs scripted scenarios needs none; `openai` calls then fail with `ModelRequestRejected`.
 * @param options - endpoint settings for the `openai` provider
 * @returns `{ callModel, storeMessages }`, to spread into the worker's activities
 * @throws ConfigError when an option or environment variable is invalid (e.g. `OPENAI_BASE_URL` is not an http(s) URL)
 */
export function createModelActivities(options?: ModelActivitiesOptions): ModelActivities {
  const { transcripts, extraTools, ...rest } = options ?? {};
  const opts = parseOrThrow(OptionsSchema, rest, 'model activity options')?.openai;
  const env = parseOrThrow(
    EnvSchema,
    {
      OPENAI_API_KEY: process.env.OPENAI_API_KEY,
      OPENAI_BASE_URL: process.env.OPENAI_BASE_URL,
      HITL_MODEL: process.env.HITL_MODEL,
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
