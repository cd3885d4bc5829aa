import type { AuditRecord } from './audit/chain';
import type { TranscriptAppend } from './model/transcript';
import type { CallModelInput, ModelTurn } from './model/types';
import type { ApproverRegistry } from './identity/signatures';
import type { PolicyPin } from './policy/pin';
import type { McpToolDefinition } from './tools/mcp';
import type { Policy } from './policy/schema';
import type { ApprovalRequest, RunPause } from './run-state';
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

/** What a notification tells its readers about. */
export type NotificationKind =
  | 'approval_requested'
  | 'soft_gate_opened'
  | 'reminder'
  | 'escalated'
  | 'quorum_progress'
  | 'request_closed'
  | 'run_paused';

/** Where a channel posted a message about a request, so later notifications of the request update it in place. */
export interface PostedMessage {
  /** The channel's name in the operator's notification settings, e.g. `finance-slack`. */
  channel: string;
  /** Where the channel put it: for Slack the conversation id (`C0123…`). */
  target: string;
  /** The message's id there: for Slack its `ts`. */
  ref: string;
}

/** How a request closed, for the `request_closed` notification. */
export interface NotifiedClosure {
  kind: 'approved' | 'rejected' | 'responded' | 'expired' | 'proceeded' | 'stopped';
  /** Who closed it (approvers, the rejecter or responder); empty when a timer did. */
  by: string[];
  /** The outcome in words, e.g. `approved by fiona at 2026-12-02T10:00:00.000Z`. */
  text: string;
}

/**
 * A notification to the people who may decide a request (or answer a pause). Since 2026-12-02 it carries the request
 * (or pause) as it stands, so channels can show it in full; older runs send `kind`, `to` and `text` only.
 */
export interface Notification {
  kind: NotificationKind;
  workflowId: string;
  /** The request's id; for `run_paused`, the pause's id. */
  requestId: string;
  /** Who should hear about it (normalised names); empty means anyone who watches the queue. */
  to: string[];
  /** One readable sentence (it quotes the model's summary: escape it wherever it is shown). */
  text: string;
  /** The request as it stands now (all but `run_paused`). */
  request?: ApprovalRequest;
  /** For `request_closed`: how it closed. */
  closure?: NotifiedClosure;
  /** For `run_paused`: the pause. */
  pause?: RunPause;
  /** The run's goal (for `run_paused`; a request carries its own). */
  goal?: string;
  /** Messages that earlier notifications of this request posted, to update in place (Slack). */
  posted?: PostedMessage[];
}

/** What one channel did with one notification. */
export interface Delivery {
  /** The channel's name in the notification settings (`log` for the log line). */
  channel: string;
  type: 'log' | 'webhook' | 'slack' | 'email';
  ok: boolean;
  /** Who it reached (names), when the channel addresses people. */
  to: string[];
  /** Tries made (1 when the first succeeded). */
  attempts: number;
  /** Why the last try failed (only when `ok` is false). */
  error?: string;
  /** The message the channel posted or updated (Slack). */
  posted?: PostedMessage;
  /** Time from the activity's start to this delivery's end, in ms. */
  ms: number;
}

/** The `notify` activity's answer: one {@link Delivery} per channel the notification was routed to. */
export interface NotificationReceipt {
  deliveries: Delivery[];
}

/** What a run pins at its start: one of the worker's policies, and the worker's approver registry. */
export interface RunAuthority {
  policy: PolicyPin;
  registry: ApproverRegistry;
  /**
   * The MCP tools the worker listed at its start (absent or empty: none). The run checks each one's hash and offers
   * them to the model beside the catalog.
   */
  mcpTools?: McpToolDefinition[];
}

/** The answer to a continued run's check of the state it carries. */
export type OpenedState = { ok: true; registry: ApproverRegistry } | { ok: false; reason: string };

/** What the audit store answered for a batch of records. */
export interface StoredAudit {
  /** Records written now. */
  stored: number;
  /** Records the store already had, identical (a batch sent again). */
  present: number;
}

/** The audit store activity. Implemented in `activities/audit-store.ts`. */
export interface AuditActivities {
  /**
   * Writes audit records to the audit store (SQLite or PostgreSQL), in one transaction, idempotently by (workflow id,
   * run id, seq): a record the store already has is skipped when identical.
   * @param records - one run's records, oldest first (at most `AUDIT_BATCH`)
   * @returns how many were written and how many were there already
   * @throws ApplicationFailure `AuditConflict` (non-retryable): the store holds another record under the same key
   * @throws ApplicationFailure `InvalidAuditRecord` (non-retryable): a record's hash does not match its content
   * @throws (retryable) any error reaching the store, e.g. `SQLITE_BUSY` or a refused connection
   */
  storeAuditRecords(records: AuditRecord[]): Promise<StoredAudit>;
}

/** Run-support activities. Implemented in `activities/run-support.ts`. */
export interface RunActivities {
  /**
   * The worker's default policy. Only runs started before policies became worker-owned call it (2026-12-01); it stays
   * for them.
   * @deprecated use `runAuthority`
   */
  currentPolicy(): Promise<{ policy: Policy; source: string }>;
  /**
   * The policy a run asks for (by name or version; the worker's default when it names none) and the approver
   * registry, as the worker loaded them at its start.
   * @throws ApplicationFailure `UnknownPolicy` (non-retryable) when the worker has no such policy, or no default
   */
  runAuthority(input: { policy?: string }): Promise<RunAuthority>;
  /** The worker's approver registry now (a run reads it again before each request opens). */
  approverRegistry(): Promise<ApproverRegistry>;
  /**
   * Seals the state a run is about to carry across continue-as-new: an HMAC under the workers' state key over the
   * workflow id and the SHA-256 of the state's canonical JSON. Clients never hold the key, so none can forge a seal.
   * @returns the seal, base64
   */
  sealState(input: { workflowId: string; digest: string }): Promise<{ seal: string }>;
  /**
   * Checks the seal of the state a continued run received, and answers the approver registry now.
   * @returns `ok: false` with the reason when the seal is missing or does not match
   */
  openState(input: { workflowId: string; digest: string; seal?: string }): Promise<OpenedState>;
  /**
   * Delivers a notification on every channel the operator routed it to (the log line always), each with its own
   * retries. A channel that still fails is reported in the receipt, never thrown: delivery never decides a gate.
   * @returns one delivery per channel (runs from before 2026-12-02 ignore it)
   */
  notify(notification: Notification): Promise<NotificationReceipt>;
}
