import type { TranscriptAppend } from './model/transcript';
import type { CallModelInput, ModelTurn } from './model/types';
import type { Policy } from './policy/schema';
import type { PrecheckName, ToolName } from './tools/catalog';
import type { PrecheckInput, PrecheckResult, ToolActivityInput, ToolActivityResult } from './tools/types';

/** The model activities, as workflows call them. Implemented in `activities/model`. */
export interface ModelActivities {
  /**
   * Asks the model for its next turn. First adds `input.transcript.append` to the run's stored conversation and reads
   * the whole of it back, then dispatches on `input.settings.provider`: `scripted` replays the scenario, `openai`
   * calls the worker's chat-completions endpoint.
   * @param input - the run's model settings, what is new in the conversation and where, and the offered tool names
   * @returns the assistant's text, its tool calls (raw JSON arguments) and token usage
   * @throws ApplicationFailure type `ScenarioExhausted` (non-retryable): the scenario has no turn for this call
   * @throws ApplicationFailure type `ModelRequestRejected` (non-retryable): no API key, or the endpoint refused the
   *   request (4xx other than 408, 409, 429)
   * @throws ApplicationFailure type `ModelUnavailable` (retryable): rate limited, server error, unreachable, timed out;
   *   after a 429 `nextRetryDelay` carries the server's `retry-after` (milliseconds)
   * @throws ApplicationFailure type `UnknownTool` (non-retryable): `input.tools` names a tool not in the catalog
   * @throws ApplicationFailure type `TranscriptMissing` (retryable) or `TranscriptMismatch` (non-retryable): the
   *   transcript store does not hold the conversation the workflow built
   */
  callModel(input: CallModelInput): Promise<ModelTurn>;
  /**
   * Adds messages to the run's stored conversation without a model call: a run about to continue as new stores large
   * tool results this way, so its carried state holds only references to them.
   * @param append - position, prefix hash and messages, as a model call would send them
   * @throws ApplicationFailure type `TranscriptMissing` (retryable) or `TranscriptMismatch` (non-retryable)
   */
  storeMessages(append: TranscriptAppend): Promise<void>;
}

/**
 * Tool activities, one per catalog tool, keyed by tool name. Implemented in `activities/billing`.
 * @throws (from each) ApplicationFailure `InvalidToolArguments`, `ToolRefused` or `IdempotencyConflict` (terminal)
 */
export type ToolActivities = { [K in ToolName]: (input: ToolActivityInput) => Promise<ToolActivityResult> };

/**
 * Precheck activities, one per precheck the catalog names, keyed by activity type. Implemented in
 * `activities/billing/prechecks.ts`. A failed check is an answer (`ok: false`), not a throw.
 */
export type PrecheckActivities = { [K in PrecheckName]: (input: PrecheckInput) => Promise<PrecheckResult> };

/** A notification to approvers. Delivery channels come later; for now the activity logs it. */
export interface Notification {
  kind: 'approval_requested' | 'soft_gate_opened' | 'reminder' | 'escalated' | 'request_closed';
  workflowId: string;
  requestId: string;
  /** Who should hear about it; empty means anyone who watches the queue. */
  to: string[];
  /** One readable sentence. */
  text: string;
}

/** Run-support activities. Implemented in `activities/run-support.ts`. */
export interface RunActivities {
  /** The worker's policy (loaded and validated at worker start) and where it came from. */
  currentPolicy(): Promise<{ policy: Policy; source: string }>;
  /** Sends (for now: logs) a notification to approvers. */
  notify(notification: Notification): Promise<void>;
}
