import { z } from 'zod';
import { ModelSettingsSchema } from './model/types';
import { SignatureSchema } from './identity/signatures';
import { PolicySchema } from './policy/schema';

/** Default time a hard-gated call waits for a decision: 24 hours, in ms. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Default cap on model calls per run. */
export const DEFAULT_MAX_STEPS = 25;

/** History events after which a run continues as new, unless its input says otherwise. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 4_000;

/**
 * Input of the `agentRun` workflow, validated at the client before the run starts.
 *
 * - `goal`: what the person asked for, in their words.
 * - `requestedBy`: who started the run (recorded on the audit trail).
 * - `model`: model settings; see {@link ModelSettingsSchema}.
 * - `approvalTimeoutMs`: how long a gated call waits for a decision before it is denied, in ms.
 * - `maxSteps`: cap on model calls; the run ends with a note when it is reached.
 * - `systemPrompt`: replaces the built-in system prompt.
 * - `review`: `plan` to review the agent's whole plan once before it runs (default `none`).
 * - `toolMaxAttempts`: attempts per tool activity before a failing tool pauses the run.
 * - `continueAsNewAfterEvents`: history events after which the run continues as new (default 4,000).
 * - `policy`: the name (or version) of one of the worker's policies; absent means the worker's default. A run never
 *   carries policy content: the policy is the worker's.
 * - `signature`: the requester's signature over the whole input (see `startStatement`); `requestedBy` is then the
 *   verified signer. A policy with `signatures: required` refuses an unsigned start.
 */
export const AgentRunInputSchema = z.strictObject({
  goal: z.string().trim().min(1).max(8_000),
  requestedBy: z.string().trim().min(1).max(100),
  model: ModelSettingsSchema,
  approvalTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(365 * 24 * 60 * 60 * 1000)
    .default(DEFAULT_APPROVAL_TIMEOUT_MS),
  maxSteps: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_STEPS),
  systemPrompt: z.string().min(1).max(20_000).optional(),
  /** `plan`: the agent first proposes its whole plan, a person reviews it once, then the run executes it. */
  review: z.enum(['none', 'plan']).default('none'),
  /** Attempts per tool activity before a failing tool pauses the run (retry, skip or abort). */
  toolMaxAttempts: z.number().int().min(1).max(100).default(8),
  /**
   * Continue as new once the run's history has this many events (sooner when Temporal suggests it), so long runs stay
   * far from Temporal's 51,200-event and 50 MB limits.
   */
  continueAsNewAfterEvents: z.number().int().min(50).max(40_000).default(DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS),
  /** One of the worker's policies, by name or version; absent means the worker's default (pinned at the start). */
  policy: z.string().trim().min(1).max(100).optional(),
  /** The requester's signature over the input. */
  signature: SignatureSchema.optional(),
});

/**
 * The input as the workflow accepts it: runs started before policies became worker-owned (2026-12-01) carried a whole
 * policy in `policy`, and replay must read their input as it was. A new run that carries one is refused.
 */
export const WorkflowRunInputSchema = AgentRunInputSchema.extend({
  policy: z.union([z.string().trim().min(1).max(100), PolicySchema]).optional(),
});

/** The input as the workflow reads it. */
export type WorkflowRunInput = z.infer<typeof WorkflowRunInputSchema>;

/** Parsed run input, as the workflow receives it (defaults filled in). */
export type AgentRunInput = z.infer<typeof AgentRunInputSchema>;
/** Run input as a caller may write it (defaults optional). */
export type AgentRunInputDraft = z.input<typeof AgentRunInputSchema>;

/** The system prompt used when the run input gives none. */
export const DEFAULT_SYSTEM_PROMPT = [
  'You are a billing and support agent working on a customer database.',
  'Use the read tools to check facts before acting. Irreversible tools (emails, refunds, deletions) wait for a',
  "person's approval; a rejected call comes back to you with the reviewer's reason: take it into account and",
  'propose something else or explain. When you propose an irreversible call, say why in your message and put each',
  "alternative you considered on a line of its own starting with 'Alternative:'. Say what you did in a short final",
  'answer.',
].join(' ');
