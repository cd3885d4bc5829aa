import type { TokenUsage, ToolCall } from '../../src/shared/model/types';
import type { Policy } from '../../src/shared/policy/schema';
import type { PauseKind } from '../../src/shared/run-state';
import { findTool } from '../../src/shared/tools/catalog';
import type { ToolLookup } from '../../src/shared/tools/parse-call';

/** A continue-or-stop pause the run owes a person before it runs a turn's tool calls. */
export interface DuePause {
  kind: Extract<PauseKind, 'budget' | 'step_budget' | 'check_in' | 'checkpoint'>;
  detail: string;
}

/** The bookkeeping a run carries into its next segment when it continues as new. */
export interface InterruptionsState {
  /** USD. */
  spentUsd: number;
  /** USD; absent without a budget. */
  budgetThresholdUsd?: number;
  stepThreshold?: number;
  passedIrreversibleCheckpoint: boolean;
}

/**
 * The run's own limits from the policy's `interruptions`: model spend in USD at the policy's prices, a step budget,
 * periodic check-ins and the checkpoint before the first irreversible call. Pure bookkeeping, deterministic; the run
 * opens the pauses it reports. A budget that was crossed and answered with `continue` moves up by one more budget.
 */
export class Interruptions {
  readonly #limits: Policy['interruptions'];
  #spentUsd = 0;
  #budgetThresholdUsd: number | undefined;
  #stepThreshold: number | undefined;
  #passedIrreversibleCheckpoint = false;

  /**
   * @param limits - the policy's `interruptions` block, if any
   * @param carried - where an earlier segment of the run left off
   */
  constructor(limits: Policy['interruptions'], carried?: InterruptionsState) {
    this.#limits = limits;
    this.#budgetThresholdUsd = carried !== undefined ? carried.budgetThresholdUsd : limits?.budgetUsd;
    this.#stepThreshold = carried !== undefined ? carried.stepThreshold : limits?.maxSteps;
    this.#spentUsd = carried?.spentUsd ?? 0;
    this.#passedIrreversibleCheckpoint = carried?.passedIrreversibleCheckpoint ?? false;
  }

  /** Where the bookkeeping stands, for a run that continues as new. */
  snapshot(): InterruptionsState {
    return {
      spentUsd: this.#spentUsd,
      ...(this.#budgetThresholdUsd !== undefined ? { budgetThresholdUsd: this.#budgetThresholdUsd } : {}),
      ...(this.#stepThreshold !== undefined ? { stepThreshold: this.#stepThreshold } : {}),
      passedIrreversibleCheckpoint: this.#passedIrreversibleCheckpoint,
    };
  }

  /** Model spend so far, in USD (0 when the policy sets no prices). */
  get spentUsd(): number {
    return this.#spentUsd;
  }

  /**
   * Counts one model call's tokens at the policy's prices.
   * @param usage - prompt and completion tokens of the call
   */
  recordUsage(usage: TokenUsage): void {
    const pricing = this.#limits?.pricing;
    if (pricing === undefined) return;
    this.#spentUsd +=
      (usage.promptTokens * pricing.promptPerMillionUsd + usage.completionTokens * pricing.completionPerMillionUsd) /
      1_000_000;
  }

  /**
   * The pauses due before the tool calls of model call `step` run, in order: budget, step budget, check-in,
   * checkpoint. Each is reported once; the thresholds move on as if the person answered `continue` (a `stop` ends the
   * run anyway).
   * @param step - model calls made so far (1-based)
   * @param calls - the turn's tool calls
   * @param find - the run's tools (catalog and MCP); default the catalog
   */
  due(step: number, calls: readonly ToolCall[], find: ToolLookup = findTool): DuePause[] {
    const limits = this.#limits;
    const out: DuePause[] = [];
    if (this.#budgetThresholdUsd !== undefined && this.#spentUsd >= this.#budgetThresholdUsd) {
      out.push({
        kind: 'budget',
        detail: `model spend reached $${this.#spentUsd.toFixed(4)}, past the budget of $${this.#budgetThresholdUsd.toFixed(2)}: continue or stop?`,
      });
      while (this.#spentUsd >= this.#budgetThresholdUsd) this.#budgetThresholdUsd += limits?.budgetUsd ?? Infinity;
    }
    if (this.#stepThreshold !== undefined && step >= this.#stepThreshold) {
      out.push({
        kind: 'step_budget',
        detail: `the run has made ${step} model calls, its step budget: continue or stop?`,
      });
      while (step >= this.#stepThreshold) this.#stepThreshold += limits?.maxSteps ?? Infinity;
    }
    const every = limits?.checkInEvery ?? 0;
    if (every > 0 && step % every === 0) {
      out.push({ kind: 'check_in', detail: `${step} model calls so far: continue or stop?` });
    }
    const irreversible = calls.some((c) => find(c.name)?.classification.reversibility === 'irreversible');
    if (irreversible && !this.#passedIrreversibleCheckpoint && this.wantsCheckpoint('before_first_irreversible')) {
      this.#passedIrreversibleCheckpoint = true;
      out.push({
        kind: 'checkpoint',
        detail: `before the first irreversible call (${calls.map((c) => c.name).join(', ')}): continue or stop?`,
      });
    }
    return out;
  }

  /** Whether the policy asks for the named checkpoint. */
  wantsCheckpoint(name: 'after_planning' | 'before_first_irreversible'): boolean {
    return (this.#limits?.checkpoints ?? []).includes(name);
  }
}
