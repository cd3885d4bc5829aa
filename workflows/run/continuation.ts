import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../../src/shared/errors';
import { hasPatch, PATCHES } from '../patches';
import { utf8Length } from '../../src/shared/hash';
import type { ToolResultContent } from '../../src/shared/model/tool-result';
import type { TranscriptRef } from '../../src/shared/model/transcript';
import type { ChatMessage, ToolCall } from '../../src/shared/model/types';
import type { Policy } from '../../src/shared/policy/schema';
import type { ApproverRegistry } from '../../src/shared/identity/signatures';
import type { WorkflowRunInput } from '../../src/shared/run-input';
import type { OutcomeCounts, RunPhase } from '../../src/shared/run-state';
import type { GateState } from '../gate/approval-gate';
import { Interruptions, type InterruptionsState } from '../pause/interruptions';
import { ApprovedPlan, type ApprovedPlanStep } from '../pause/plan';
import { GENESIS_HASH, type AuditRecord } from '../../src/shared/audit/chain';
import { AuditLog } from './audit-log';
import { AuditOutbox, brokenCarriedChain } from './audit-outbox';
import { Conversation } from './conversation';
import { TurnInProgress } from './mid-turn';
import { RunProgress } from './progress';
import { RunAuthority } from './authority';

/** How many of the latest closed requests a run carries, so a late decision still learns how its request closed. */
export const CLOSED_REQUESTS_CARRIED = 50;

/**
 * Unsent messages and settled results (bytes of JSON) above which a run stores them in the transcript store before it
 * continues as new, so its carried state stays far below Temporal's 2 MB payload limit.
 */
export const CARRY_STORE_BYTES = 256 * 1024;

/** What a carried turn holds for a settled call whose result is in the transcript store already. */
const STORED_RESULT: ToolResultContent = { status: 'ok', result: 'in the transcript store' };

/**
 * Bytes of what a continue-as-new would carry of the conversation: the unsent messages and the settled results of the
 * turn not yet stored.
 */
export function carriedBytes(unsent: readonly ChatMessage[], turn: TurnInProgress | undefined): number {
  const settled = turn === undefined ? [] : [...turn.settled].filter(([id]) => !turn.stored.has(id));
  return utf8Length(JSON.stringify(unsent)) + utf8Length(JSON.stringify(settled));
}

/**
 * A turn that was still waiting for decisions when the run continued as new: its calls, the results of those already
 * settled (their outcomes are in the earlier segment), and the open requests, which the gate's state carries.
 */
export interface CarriedTurn {
  calls: ToolCall[];
  /** The assistant's text in the turn: the reasoning shown on its requests. */
  reasoning: string | null;
  settled: { toolCallId: string; result: ToolResultContent; stored?: boolean }[];
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
  /** The loop's phase when the run continued (absent from runs carried before 2026-12-01: `thinking` then). */
  phase?: RunPhase;
  /** The policy's name on the worker and its SHA-256 (absent before 2026-12-01). */
  policyName?: string;
  policySha256?: string;
  /** The approver registry and the verified requester (absent before 2026-12-01). */
  registry?: ApproverRegistry;
  requestedBy?: string;
  /**
   * The workers' seal over everything else here (see `sealState`): a continued run refuses state without a valid one,
   * so no client can forge or alter what a run carries (absent before 2026-12-01).
   */
  seal?: string;
  /**
   * The audit store's outbox: records not yet stored and the chain's head. Outside the seal (the run's last entry,
   * `run_continued`, is written after sealing); checked on arrival by recomputing the records' chain.
   */
  audit?: CarriedAudit;
}

/** What a run carries of its audit chain. */
export interface CarriedAudit {
  /** `hash` of the segment's last record. */
  head: string;
  /** Records not yet in the audit store, oldest first. */
  outbox: AuditRecord[];
}

/** The state of a run that is carried across continue-as-new, as live objects. */
export interface ContinuableState {
  /** Run ids of the earlier segments, oldest first. */
  earlierRuns: string[];
  policy: RunAuthority;
  progress: RunProgress;
  audit: AuditLog;
  interruptions: Interruptions;
  plan: ApprovedPlan;
  conversation: Conversation;
  /** The audit store's outbox (runs started since the audit store; see `PATCHES.auditStore`). */
  outbox?: AuditOutbox;
}

/**
 * What a run that continues as new carries into its next segment: only what it needs to go on deciding, read after
 * every handler has finished.
 * @param state - the run's state
 * @param gate - the gate's snapshot (open requests and the latest closures)
 * @param phase - the loop's phase now
 * @param turn - the turn waiting for decisions, if the run continues in the middle of one
 */
export function carry(
  state: ContinuableState,
  gate: GateState,
  phase: RunPhase,
  turn: TurnInProgress | undefined,
): CarriedState {
  const pinned = state.policy.carry();
  return {
    earlierRuns: [...state.earlierRuns, workflowInfo().runId],
    policy: pinned.policy,
    policySource: pinned.source,
    ...(pinned.name !== undefined ? { policyName: pinned.name } : {}),
    ...(pinned.sha256 !== undefined ? { policySha256: pinned.sha256 } : {}),
    ...(pinned.registry !== undefined ? { registry: pinned.registry } : {}),
    ...(pinned.requestedBy !== undefined ? { requestedBy: pinned.requestedBy } : {}),
    step: state.progress.step,
    counts: { ...state.progress.counts },
    // The `run_continued` entry is this segment's last; the next segment's entries are numbered after it.
    auditSeq: state.audit.nextSeq() + 1,
    autoLogged: pinned.autoLogged,
    interruptions: state.interruptions.snapshot(),
    plan: state.plan.snapshot(),
    transcript: state.conversation.transcript,
    unsent: state.conversation.unsent,
    gate,
    phase,
    ...(turn !== undefined
      ? {
          turn: {
            calls: turn.calls,
            reasoning: turn.reasoning,
            settled: [...turn.settled].map(([toolCallId, result]) =>
              turn.stored.has(toolCallId)
                ? { toolCallId, result: STORED_RESULT, stored: true }
                : { toolCallId, result },
            ),
            waiting: [...turn.waiting].map(([toolCallId, requestId]) => ({ toolCallId, requestId })),
          },
        }
      : {}),
  };
}

/**
 * The run's state at the start of a segment: fresh for a new run, else taken over from what the earlier segment
 * carried ({@link carry}).
 * @param input - the run's input
 * @param carried - what the earlier segment carried, if the run continued as new
 */
export function restore(input: WorkflowRunInput, carried: CarriedState | undefined): ContinuableState {
  if (carried === undefined) {
    return withAuditStore({
      earlierRuns: [],
      policy: new RunAuthority(input.requestedBy, input.approvalTimeoutMs),
      progress: new RunProgress(),
      audit: new AuditLog(1),
      // Replaced once the policy is loaded; until then the run makes no model call.
      interruptions: new Interruptions(undefined),
      plan: new ApprovedPlan(),
      conversation: Conversation.empty(workflowInfo().firstExecutionRunId),
    });
  }
  return withAuditStore(
    {
      earlierRuns: [...carried.earlierRuns],
      policy: new RunAuthority(input.requestedBy, input.approvalTimeoutMs, {
        policy: carried.policy,
        source: carried.policySource,
        autoLogged: carried.autoLogged,
        ...(carried.policyName !== undefined ? { name: carried.policyName } : {}),
        ...(carried.policySha256 !== undefined ? { sha256: carried.policySha256 } : {}),
        ...(carried.registry !== undefined ? { registry: carried.registry } : {}),
        ...(carried.requestedBy !== undefined ? { requestedBy: carried.requestedBy } : {}),
      }),
      progress: new RunProgress({ step: carried.step, counts: carried.counts }),
      audit: new AuditLog(carried.auditSeq),
      interruptions: new Interruptions(carried.policy.interruptions, carried.interruptions),
      plan: new ApprovedPlan(carried.plan),
      conversation: new Conversation(carried.transcript, carried.unsent),
    },
    carried.audit,
  );
}

/**
 * Attaches the audit store to a run that writes it (runs started since `PATCHES.auditStore`): every entry is chained
 * from the carried head (a new run starts from {@link GENESIS_HASH}) and queued for the store, after what the earlier
 * segment had not stored yet.
 * @throws ApplicationFailure `InvalidCarriedState` when the carried records do not chain up to the carried head
 */
function withAuditStore(state: ContinuableState, carried?: CarriedAudit): ContinuableState {
  if (!hasPatch(PATCHES.auditStore)) return state;
  const head = carried?.head ?? GENESIS_HASH;
  const queued = carried?.outbox ?? [];
  const broken = brokenCarriedChain(queued, head);
  if (broken !== undefined) throw ApplicationFailure.nonRetryable(broken, FailureType.InvalidCarriedState);
  const outbox = new AuditOutbox(queued);
  const { workflowId, runId } = workflowInfo();
  state.audit.attach({
    head,
    push: (record) => outbox.push(record),
    stamp: () => {
      const version = state.policy.pinnedVersion;
      const { sha256 } = state.policy.pinned;
      return {
        workflowId,
        runId,
        ...(version !== undefined ? { policyVersion: version } : {}),
        ...(sha256 !== undefined ? { policySha256: sha256 } : {}),
      };
    },
  });
  return { ...state, outbox };
}

/**
 * The turn an earlier segment carried, with its settled results; its waiting calls' requests are the gate's.
 * @param carried - the carried turn
 */
export function restoreTurn(carried: CarriedTurn): TurnInProgress {
  const turn = new TurnInProgress(carried.calls, carried.reasoning);
  for (const s of carried.settled) {
    turn.settled.set(s.toolCallId, s.result);
    if (s.stored === true) turn.stored.add(s.toolCallId);
  }
  return turn;
}

/**
 * History size (bytes) at which a run continues as new, whatever its event count: far below Temporal's 50 MB limit
 * (at which the server terminates a run), so a flood of large signals (each up to the 2 MB payload limit, all written
 * to history even when the run refuses them) meets a run that has already moved on.
 */
export const CONTINUE_AS_NEW_HISTORY_BYTES = 2 * 2 ** 20;

/**
 * Whether the run should continue as new now: Temporal suggests it, the history has `thresholdEvents` events, or it
 * has {@link CONTINUE_AS_NEW_HISTORY_BYTES} bytes (patched: `continueOnHistorySize`, asked only once that size is
 * reached, so runs that never reach it carry no marker).
 * @param thresholdEvents - the run input's `continueAsNewAfterEvents`
 */
export function continueAsNewDue(thresholdEvents: number): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested || info.historyLength >= thresholdEvents) return true;
  return info.historySize >= CONTINUE_AS_NEW_HISTORY_BYTES && hasPatch(PATCHES.continueOnHistorySize);
}
