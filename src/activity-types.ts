import type { CallModelInput, ModelTurn } from './model/types';
import type { ToolActivityInput, ToolActivityResult } from './tools/types';

/** The model activity, as workflows call it. Implemented in `activities/model`. */
export interface ModelActivities {
  /**
   * Asks the model for the next assistant message.
   * @throws ApplicationFailure `ModelUnavailable` (retried), `ModelRequestRejected` or `ScenarioExhausted` (terminal)
   */
  callModel(input: CallModelInput): Promise<ModelTurn>;
}

/** Tool activities, one per catalog tool, keyed by tool name. Implemented in `activities/billing`. */
export type ToolActivities = Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>>;
