/**
 * Error types shared by the client, the CLI, activities and workflows.
 *
 * Activities surface these as `ApplicationFailure`s whose `type` is one of {@link FailureType}; workflows branch on
 * that `type`, never on message text. The split between terminal and retryable failures follows the durable-execution
 * convention (Restate's `TerminalError`, Temporal's `nonRetryable`).
 */

/** The `ApplicationFailure.type` values this project raises. */
export const FailureType = {
  /** The same idempotency key arrived with different arguments. Terminal. */
  IdempotencyConflict: 'IdempotencyConflict',
  /** Tool arguments failed the tool's schema, or the tool refused them (e.g. a refund above what is refundable). Terminal. */
  InvalidToolArguments: 'InvalidToolArguments',
  /** A business rule refused the call (e.g. nothing left to refund, customer not found). Terminal. */
  ToolRefused: 'ToolRefused',
  /** The model endpoint rejected the request with a 4xx other than 429. Terminal. */
  ModelRequestRejected: 'ModelRequestRejected',
  /** The model endpoint is rate limiting (429) or failing (5xx, network). Retried with backoff. */
  ModelUnavailable: 'ModelUnavailable',
  /** The scripted model has no turn for this step, or its scenario is malformed. Terminal. */
  ScenarioExhausted: 'ScenarioExhausted',
  /**
   * A decision, a pause answer or a stop was refused by the run (unknown request, missing reason, bad edit, someone who
   * may not decide…). Terminal: the same message is refused again.
   */
  InvalidDecision: 'InvalidDecision',
  /** The run's input failed its schema. Fails the run at its start. Terminal. */
  InvalidRunInput: 'InvalidRunInput',
  /** The run names a policy the worker does not have (or names none and the worker has no default). Terminal. */
  UnknownPolicy: 'UnknownPolicy',
  /**
   * A run received carried state it must not trust: on a fresh start, on a retry or cron run, unsealed, or with a seal
   * that does not match. The run fails before anything runs. Terminal.
   */
  InvalidCarriedState: 'InvalidCarriedState',
  /**
   * A gated call about to run no longer has what its gate requires for its exact arguments (enough verified approvals,
   * or a soft window that passed). The call does not run. Terminal.
   */
  ApprovalInvariant: 'ApprovalInvariant',
  /** Workflow code asked for the run's policy before the run pinned one (a bug, not bad input). Terminal. */
  PolicyNotLoaded: 'PolicyNotLoaded',
  /** A request closed without a record of how (a bug, not bad input). Terminal. */
  ClosureMissing: 'ClosureMissing',
  /** A tool name the catalog does not know. Terminal. */
  UnknownTool: 'UnknownTool',
  /** The transcript store lacks messages the workflow says it stored (another host's store?). Retried. */
  TranscriptMissing: 'TranscriptMissing',
  /** The audit store holds a different record under the same (workflow id, run id, seq): altered, or a bug. Terminal. */
  AuditConflict: 'AuditConflict',
  /** An audit record sent to the store does not match its own hash. Terminal. */
  InvalidAuditRecord: 'InvalidAuditRecord',
  /** The transcript store holds other messages than the workflow built. Terminal. */
  TranscriptMismatch: 'TranscriptMismatch',
} as const;

/** One of the `ApplicationFailure.type` strings in {@link FailureType}. */
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Base class of every error this project throws on purpose. `name` is the subclass name. */
export class HitlError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value (environment variable, CLI flag, file) is invalid. A user error: fix the input. */
export class ConfigError extends HitlError {}

/** Input from a person or a client (CLI arguments, scenario file, decision payload) is invalid. */
export class InputError extends HitlError {}

/**
 * The audit store cannot be reached, or refused a statement for a reason other than the records (connection refused,
 * authentication, permissions, a timeout). The message names the store with its password masked. Retried: the
 * records wait in the run's outbox.
 */
export class AuditStoreUnavailable extends HitlError {}

/** The audit store's hash chain does not hold: an entry was altered, removed, inserted or reordered. */
export class AuditChainBroken extends HitlError {}

/**
 * The run refused an update (a decision, a pause answer or a stop) in its validator: nothing changed and nothing was
 * written to its history. `message` is the run's reason, e.g. `"sue" is not in finance (the groups that may decide
 * this request now)`; `failureType` is the refusal's `ApplicationFailure` type (usually `InvalidDecision`).
 */
export class UpdateRefusedError extends InputError {
  constructor(
    message: string,
    readonly failureType: string = FailureType.InvalidDecision,
  ) {
    super(message);
  }
}

/**
 * Temporal cannot be reached: the server (connection refused, a timeout, a namespace it does not have) or a worker to
 * answer a query about a run. The message names the address and namespace tried; the CLI exits with 3.
 */
export class TemporalUnreachable extends HitlError {}
