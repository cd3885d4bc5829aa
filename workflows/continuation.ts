import { workflowInfo } from '@temporalio/workflow';
import type { ToolResultContent } from '../src/shared/model/tool-result';
import type { TranscriptRef } from '../src/shared/model/transcript';
import type { ChatMessage, ToolCall } from '../src/shared/model/types';
import type { Policy } from '../src/shared/policy/schema';
import type { OutcomeCounts } from '../src/shared/run-state';
import type { GateState } from './approval-gate';
import type { InterruptionsState } from './interruptions';
import type { ApprovedPlanStep } from './plan';

/** How many of the latest closed requests a run carries, so a late decision still learns how its request closed. */
export const CLOSED_REQUESTS_CARRIED = 50;

/**
 * A turn that was still waiting for decisions when the run continued as new: its calls, the results of those already
 * settled (their outcomes are in the earlier segment), and the open requests, which the gate's state carries.
 */
export interface CarriedTurn {
  calls: ToolCall[];
  /** The assistant's text in the turn: the reasoning shown on its requests. */
  reasoning: string | null;
  settled: { toolCallId: string; result: ToolResultContent }[];
  /** Call id → request id of the calls still waiting for a decision. */
  waiting: { toolCallId: string; requestId: string }[];
}

/**
 * What a run hands to its next segment when it continues as new: only what it needs to go on deciding. The
 * conversation stays in the transcript store; the audit trail and the outcomes of each segment stay in that segment's
 * run, where the `auditTrail` and `outcomes` queries still answer (the client stitches them together).
 */
export interface CarriedState {
  /** Run ids of the earlier segments, oldest first. */
  earlierRuns: string[];
  policy: Policy;
  policySource: string;
  step: number;
  counts: OutcomeCounts;
  /** Sequence number of the next audit entry. */
  auditSeq: number;
  autoLogged: Record<string, number>;
  interruptions: InterruptionsState;
  plan: ApprovedPlanStep[];
  transcript: TranscriptRef;
  /** Messages not yet sent to the model (the last assistant message, tool results). */
  unsent: ChatMessage[];
  gate: GateState;
  turn?: CarriedTurn;
}

/**
 * Whether the run should continue as new now: Temporal suggests it, or the history has `thresholdEvents` events.
 * @param thresholdEvents - the run input's `continueAsNewAfterEvents`
 */
export function continueAsNewDue(thresholdEvents: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= thresholdEvents;
}
