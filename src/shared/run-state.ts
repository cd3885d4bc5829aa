import type { ResultRef } from './model/tool-result';
import type { ToolClassification } from './tools/types';

/**
 * The gate a tool call went through, weakest first: `auto` runs at once; `auto_logged` runs at once on the audit trail
 * (up to a per-run limit); `soft` proceeds unless vetoed within a window; `hard` waits for explicit approval and is
 * denied (or escalated) at its deadline; `deny` never runs.
 */
export type GateKind = 'auto' | 'auto_logged' | 'soft' | 'hard' | 'deny';

/** One approval by one approver. */
export interface Approval {
  /** Who approved, normalised. */
  approver: string;
  /** ISO-8601 workflow time. */
  at: string;
  /** The delegated signer that signed for the approver (e.g. `slack-bridge`), if any. */
  via?: string;
  /** Whether the approval carried a signature that verified (false: a name as claimed, where the policy allows). */
  signed?: boolean;
}

/**
 * What a call will touch, as the tool's precheck resolved it when the request opened (the recipients' addresses of an
 * email, an invoice's total and what is already refunded): part of what the reviewer approves.
 */
export interface ResolvedEffect {
  /** One fact per line, for people. */
  lines: string[];
  /** SHA-256 (hex) of the canonical JSON of `facts`; decisions bind it. */
  sha256: string;
  /** The facts, as the precheck returned them. */
  facts: Record<string, unknown>;
}

/** One stage of an approval request: who may decide, and for how long (ms). Stage 0 first, then escalations. */
export interface ApprovalStage {
  /** Approver groups; empty means anyone may decide. */
  groups: string[];
  timeoutMs: number;
}

/** An approval request: a gated tool call waiting for a decision. Returned by the `pendingApprovals` query. */
export interface ApprovalRequest {
  /** Made in the workflow with `uuid4()`; stable across replays. */
  requestId: string;
  workflowId: string;
  /** The model's id for the tool call. */
  toolCallId: string;
  tool: string;
  /** Parsed, validated arguments (the edited ones after an edit that still needs approvals). */
  args: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of `args`; every decision must carry it. */
  argsHash: string;
  /** Risk classification from the catalog; absent for a tool the catalog does not classify. */
  classification?: ToolClassification;
  gate: 'soft' | 'hard';
  /** Which policy entry or rule chose the gate, in words. */
  because: string;
  /** Version of the policy that decided. */
  policyVersion: string;
  /** SHA-256 of the policy's canonical form (absent for runs from before 2026-12-01). */
  policySha256?: string;
  /** What the call will touch, resolved when the request opened (tools with a precheck). */
  effect?: ResolvedEffect;
  /** Counts the times the request was rebuilt (an edit) or reopened (its effect changed); decisions wait on it. */
  revision?: number;
  /** Plain-English summary of what will happen if approved. */
  summary: string;
  /** The assistant's text in the turn that proposed the call: its stated reasoning. */
  reasoning: string | null;
  /** What else the model said it could do instead (structured, or its `Alternative:` lines); empty when none. */
  alternatives: string[];
  /** The run's goal. */
  goal: string;
  /** Who started the run. */
  requestedBy: string;
  /** ISO-8601 time the request opened. */
  requestedAt: string;
  /** Index into `stages` of the stage now deciding. */
  stage: number;
  stages: ApprovalStage[];
  /** Who may decide now (sorted); empty means anyone. */
  eligibleApprovers: string[];
  /** Distinct approvals needed. */
  quorum: number;
  /** Approvals so far at this stage. */
  approvals: Approval[];
  /** The requester may not decide when true. */
  separationOfDuties: boolean;
  /** ISO-8601 end of the current stage. */
  deadline: string;
  /**
   * What happens at the deadline: `deny`; `escalate` to the next stage; `proceed` (soft gates only: no veto means go).
   * A hard gate never approves on timeout.
   */
  onTimeout: 'deny' | 'escalate' | 'proceed';
  /** Set after an edit that still needs approvals: what was proposed first. */
  editedFrom?: { args: unknown; argsHash: string; by: string };
}

/** Final state of one proposed tool call. */
export type ToolOutcomeStatus =
  | 'executed'
  | 'rejected'
  | 'expired'
  | 'responded'
  | 'denied'
  | 'invalid'
  | 'failed'
  | 'blocked'
  | 'skipped'
  | 'stopped';

/** What happened to one tool call the model proposed. Part of the run result. */
export interface ToolOutcome {
  toolCallId: string;
  tool: string;
  /** Arguments that ran (the edited ones after an edit), or as proposed when nothing ran. */
  args: unknown;
  argsHash?: string;
  gate?: GateKind;
  status: ToolOutcomeStatus;
  requestId?: string;
  /** Approver(s) of an approve/edit/reject/respond decision, comma-separated for a quorum. */
  decidedBy?: string;
  /** Set when a reviewer edited the arguments. */
  editedFrom?: { args: unknown; argsHash: string };
  /** Tool result data when executed, when its canonical JSON fits in 4 KiB; larger results are in `resultRef`. */
  result?: unknown;
  /**
   * A large result, kept by reference: it is in the transcript store (the `tool` message of this call), and `hitl
   * result` reads it from there. Keeps the run's result and queries far below Temporal's payload limit.
   */
  resultRef?: ResultRef;
  /** Why it did not run, or how it failed. */
  error?: string;
}

/** Kinds of audit entries, in the order they usually appear. */
export type AuditKind =
  | 'run_started'
  | 'model_turn'
  | 'tool_call_invalid'
  | 'approval_requested'
  | 'notification'
  | 'approval_escalated'
  | 'decision'
  | 'decision_refused'
  | 'approval_expired'
  | 'tool_executed'
  | 'tool_failed'
  | 'tool_denied'
  | 'run_paused'
  | 'run_resumed'
  | 'precheck_failed'
  | 'approval_reopened'
  | 'invariant_refused'
  | 'run_stopped'
  | 'run_continued'
  | 'run_completed'
  /** The last entry of a workflow's audit chain: the run has ended; nothing may follow it in the audit store. */
  | 'audit_closed';

/**
 * What an audit entry states as data besides its sentence, for the audit store and `hitl stats` (which never parse
 * `detail`: part of it comes from the model). Entries of runs from before 2026-12-01 have none.
 */
export interface AuditFacts {
  /** `approval_requested`, `approval_reopened`, `approval_escalated`, `approval_expired`: the request's gate. */
  gate?: 'soft' | 'hard';
  /** `approval_requested`: why the policy chose that gate, in one sentence. */
  because?: string;
  /** `approval_requested`: the name of the tool's policy rule that matched (absent: the tool's own gate). */
  rule?: string;
  /** `decision`: what the decider chose. */
  decision?: 'approve' | 'reject' | 'edit' | 'respond';
  /** `decision`: the person whose signature was verified (absent when the decision was unsigned). */
  signer?: string;
  /** `decision`: the groups of the request's stage the decider belongs to (empty when the stage names none). */
  groups?: string[];
  /** `decision`: whether the decision closed the request. */
  closed?: boolean;
  /** `approval_escalated`: the stage the request moved to (0 is the first). */
  stage?: number;
  /** `notification` (since 2026-12-02): the channels that delivered it (`log` among them). */
  delivered?: string[];
  /** `notification` (since 2026-12-02): the channels that still failed after their retries. */
  failed?: string[];
}

/** One append-only audit entry. `seq` increases by one per entry. */
export interface AuditEntry {
  seq: number;
  /** ISO-8601 workflow time. */
  at: string;
  kind: AuditKind;
  /** `agent`, `system`, or the person who acted. */
  actor: string;
  requestId?: string;
  tool?: string;
  argsHash?: string;
  /** One readable sentence. */
  detail: string;
  /** What the entry states as data (request, decision and escalation entries; see {@link AuditFacts}). */
  facts?: AuditFacts;
}

/** Where a run is. */
export type RunPhase =
  'thinking' | 'running_tools' | 'awaiting_approval' | 'paused' | 'completed' | 'stopped' | 'failed';

/** Values of the `AgentStatus` search attribute. */
export type AgentStatusValue = 'Running' | 'AwaitingApproval' | 'Paused' | 'Completed' | 'Stopped' | 'Failed';

/** Counts of what happened to gated and ungated calls. */
export interface OutcomeCounts {
  approvals: number;
  rejections: number;
  edits: number;
  expiries: number;
  responses: number;
  denied: number;
  blocked: number;
  executed: number;
  failed: number;
  invalid: number;
}

/** Returned by the `status` query. */
export interface RunStatus {
  workflowId: string;
  goal: string;
  requestedBy: string;
  phase: RunPhase;
  /** Model calls made so far. */
  step: number;
  pendingRequests: number;
  counts: OutcomeCounts;
  /** Set once the run has its final answer. */
  answer?: string;
  /** Version of the policy the run uses. */
  policyVersion: string;
  /** The policy's name on the worker and the SHA-256 of its canonical form (absent before 2026-12-01). */
  policyName?: string;
  policySha256?: string;
  /** Set while the run waits for a person (plan review, checkpoint, budget, check-in, tool failure). */
  pause?: RunPause;
  /** Model spend so far at the policy's prices, in USD. */
  spentUsd: number;
  /** Run ids of the run's earlier segments (it continued as new), oldest first; empty for a run in its first. */
  earlierRuns: string[];
}

/** The `agentRun` workflow's result. */
export interface AgentRunResult {
  answer: string;
  /** Set when a person stopped the run. */
  stopped?: { by: string; reason: string };
  /** Version of the policy the run used. */
  policyVersion: string;
  /** Model calls over the whole run. */
  steps: number;
  /**
   * Each tool call's outcome, in the order proposed. The workflow's own result holds its last segment's only; the
   * client's `runResult` puts the earlier segments' first (query `outcomes` on each of `earlierRuns`).
   */
  outcomes: ToolOutcome[];
  /** Counts over the whole run. */
  counts: OutcomeCounts;
  /** Run ids of the run's earlier segments (it continued as new), oldest first. */
  earlierRuns: string[];
  /** The run's key in the transcript store (its first execution's run id), where large results are kept. */
  transcriptKey?: string;
}

/** What the `decide` update returns once the decision is recorded. */
export interface DecisionReceipt {
  requestId: string;
  decision: 'approve' | 'reject' | 'edit' | 'respond';
  approver: string;
  /** Hash of the arguments that will run (after an edit, the edited ones). */
  argsHash: string;
  /** Whether the request is now closed; an approval short of its quorum leaves it open. */
  closed: boolean;
  /** Approvals still needed when it stays open. */
  approvalsNeeded: number;
}

/** Why a run paused for a person. */
export type PauseKind = 'plan_review' | 'checkpoint' | 'budget' | 'step_budget' | 'check_in' | 'tool_failure';

/** What a person may answer to a pause. */
export type PauseAction = 'continue' | 'stop' | 'retry' | 'skip' | 'abort' | 'approve' | 'reject' | 'edit';

/** One step of a plan under review: a tool call the agent intends to make. */
export interface PlanStep {
  tool: string;
  args: Record<string, unknown>;
  argsHash: string;
  /** The gate the call would meet outside the plan. */
  gate: GateKind;
  summary: string;
}

/** The run is waiting for a person to decide how it goes on. Part of the `status` query. */
export interface RunPause {
  pauseId: string;
  kind: PauseKind;
  /** What happened and what the person is asked, in one or two sentences. */
  detail: string;
  actions: PauseAction[];
  /** ISO-8601 times. */
  openedAt: string;
  deadline: string;
  /** What happens if nobody answers by the deadline (never an approval). */
  onTimeout: PauseAction;
  /** Who may answer (sorted); empty means anyone. */
  eligible: string[];
  /** The run's requester may not answer when true (plan review under separation of duties). */
  separationOfDuties: boolean;
  /** For `plan_review`: the steps under review. */
  plan?: PlanStep[];
}
