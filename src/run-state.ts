import type { ToolClassification } from './tools/types';

/** The gate a tool call went through: `auto` ran at once, `hard` waited for an explicit decision. */
export type GateKind = 'auto' | 'hard';

/** An approval request: a gated tool call waiting for a decision. Returned by the `pendingApprovals` query. */
export interface ApprovalRequest {
  /** Made in the workflow with `uuid4()`; stable across replays. */
  requestId: string;
  workflowId: string;
  /** The model's id for the tool call. */
  toolCallId: string;
  tool: string;
  /** Parsed, validated arguments. */
  args: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of `args`; decisions may carry it to prove what the reviewer saw. */
  argsHash: string;
  classification: ToolClassification;
  gate: GateKind;
  /** Plain-English summary of what will happen if approved. */
  summary: string;
  /** The assistant's text in the turn that proposed the call: its stated reasoning. */
  reasoning: string | null;
  /** The run's goal. */
  goal: string;
  /** Who started the run. */
  requestedBy: string;
  /** ISO-8601 time the request opened. */
  requestedAt: string;
  /** ISO-8601 time after which the call is denied. */
  deadline: string;
  /** What happens at the deadline. A hard gate never approves on timeout. */
  onTimeout: 'deny';
}

/** Final state of one proposed tool call. */
export type ToolOutcomeStatus = 'executed' | 'rejected' | 'expired' | 'invalid' | 'failed';

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
  /** Approver of an approve/edit/reject decision. */
  decidedBy?: string;
  /** Set when a reviewer edited the arguments. */
  editedFrom?: { args: unknown; argsHash: string };
  /** Tool result data when executed. */
  result?: unknown;
  /** Why it did not run, or how it failed. */
  error?: string;
}

/** Kinds of audit entries, in the order they usually appear. */
export type AuditKind =
  | 'run_started'
  | 'model_turn'
  | 'tool_call_invalid'
  | 'approval_requested'
  | 'decision'
  | 'decision_refused'
  | 'approval_expired'
  | 'tool_executed'
  | 'tool_failed'
  | 'run_completed';

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
}

/** Where a run is. */
export type RunPhase = 'thinking' | 'running_tools' | 'awaiting_approval' | 'completed' | 'failed';

/** Values of the `AgentStatus` search attribute. */
export type AgentStatusValue = 'Running' | 'AwaitingApproval' | 'Completed' | 'Failed';

/** Counts of what happened to gated and ungated calls. */
export interface OutcomeCounts {
  approvals: number;
  rejections: number;
  edits: number;
  expiries: number;
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
}

/** The `agentRun` workflow's result. */
export interface AgentRunResult {
  answer: string;
  steps: number;
  outcomes: ToolOutcome[];
  counts: OutcomeCounts;
}

/** What the `decide` update returns once the decision is recorded. */
export interface DecisionReceipt {
  requestId: string;
  decision: 'approve' | 'reject' | 'edit';
  approver: string;
  /** Hash of the arguments that will run (after an edit, the edited ones). */
  argsHash: string;
}
