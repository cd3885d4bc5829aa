import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../../src/shared/errors';
import { resolveGate, type ResolvedGate } from '../../src/shared/policy/evaluate';
import type { Policy } from '../../src/shared/policy/schema';
import { findTool } from '../../src/shared/tools/catalog';

/** The run's policy as it travels across continue-as-new. */
export interface PinnedPolicy {
  policy: Policy;
  /** Where the policy came from (a file path, `built-in default`), for the audit trail. */
  source: string;
  /** `auto_logged` calls made so far in the run, per tool (the policy's per-run limit counts them). */
  autoLogged: Record<string, number>;
}

/**
 * The policy a run is pinned to, and what it resolves for the run's calls: the gate of a call (with the run's own
 * `auto_logged` counts and approval timeout), who may answer a pause and for how long. The run pins it once, at its
 * start, and carries it across continue-as-new, so a policy changed on the worker never alters a run in flight.
 * Shared by the gate, the pauses and the loop: none of them asks the run for it.
 */
export class RunPolicy {
  #pinned: PinnedPolicy | undefined;
  readonly #requestedBy: string;
  readonly #approvalTimeoutMs: number;

  /**
   * @param requestedBy - who started the run
   * @param approvalTimeoutMs - the run input's approval timeout, in ms: the stage timeout where the policy sets none
   * @param carried - the policy an earlier segment of the run pinned
   */
  constructor(requestedBy: string, approvalTimeoutMs: number, carried?: PinnedPolicy) {
    this.#requestedBy = requestedBy;
    this.#approvalTimeoutMs = approvalTimeoutMs;
    if (carried !== undefined) this.#pinned = { ...carried, autoLogged: { ...carried.autoLogged } };
  }

  /** Pins the policy the run uses from now on (once, at the run's start). */
  pin(policy: Policy, source: string): void {
    this.#pinned = { policy, source, autoLogged: {} };
  }

  /**
   * The pinned policy.
   * @throws ApplicationFailure `PolicyNotLoaded` before the run has pinned one (nothing can be pending then)
   */
  get policy(): Policy {
    if (this.#pinned === undefined) {
      throw ApplicationFailure.nonRetryable('the run has not loaded its policy yet', FailureType.PolicyNotLoaded);
    }
    return this.#pinned.policy;
  }

  /** Where the pinned policy came from. */
  get source(): string {
    return this.#pinned?.source ?? 'not loaded';
  }

  /** Who started the run: separation of duties bars them. */
  get requestedBy(): string {
    return this.#requestedBy;
  }

  /** The policy's version, or `not loaded` before the run has pinned one. */
  get version(): string {
    return this.#pinned?.policy.version ?? 'not loaded';
  }

  /**
   * The gate a call goes through under the pinned policy.
   * @param toolName - the tool as proposed
   * @param args - its arguments, parsed by the tool's schema
   */
  resolve(toolName: string, args: Record<string, unknown>): ResolvedGate {
    const tool = findTool(toolName);
    return resolveGate(
      this.policy,
      { name: toolName, ...(tool !== undefined ? { classification: tool.classification } : {}) },
      args,
      { autoLoggedCount: this.#pinned?.autoLogged[toolName] ?? 0, defaultTimeoutMs: this.#approvalTimeoutMs },
    );
  }

  /** Counts one `auto_logged` call of a tool against the policy's per-run limit. */
  countAutoLogged(toolName: string): void {
    if (this.#pinned === undefined) return;
    this.#pinned.autoLogged[toolName] = (this.#pinned.autoLogged[toolName] ?? 0) + 1;
  }

  /** How long a pause waits for an answer, in ms: the policy's default timeout, else the run's approval timeout. */
  pauseTimeoutMs(): number {
    return this.policy.defaults.timeout ?? this.#approvalTimeoutMs;
  }

  /** The pinned policy as the run carries it into its next segment. */
  carry(): PinnedPolicy {
    const pinned = this.#pinned;
    if (pinned === undefined) {
      throw ApplicationFailure.nonRetryable('the run has not loaded its policy yet', FailureType.PolicyNotLoaded);
    }
    return { ...pinned, autoLogged: { ...pinned.autoLogged } };
  }
}
