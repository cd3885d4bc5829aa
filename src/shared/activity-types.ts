import type { CallModelInput, ModelTurn } from './model/types';
import type { Policy } from './policy/schema';
import type { PrecheckName, ToolName } from './tools/catalog';
import type { PrecheckInput, PrecheckResult, ToolActivityInput, ToolActivityResult } from './tools/types';

/** The model activity, as workflows call it. Implemented in `activities/model`. */
export interface ModelActivities {
  /**
   * Asks the model for the next assistant message.
   * @throws ApplicationFailure `ModelUnavailable` (retried), `ModelRequestRejected` or `ScenarioExhausted` (terminal)
   */
  callModel(input: CallModelInput): Promise<ModelTurn>;
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
