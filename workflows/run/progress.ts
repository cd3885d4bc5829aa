import type { StopRequest } from '../../src/shared/decision';
import { largeResultRef, type ToolResultContent } from '../../src/shared/model/tool-result';
import type { OutcomeCounts, ToolOutcome, ToolOutcomeStatus } from '../../src/shared/run-state';

/** A tool call that has settled: what the model reads, and what the run records. */
export interface Settled {
  result: ToolResultContent;
  outcome: ToolOutcome;
}

/** Which count each final state adds to (`stopped` adds to none). */
const COUNTED: Readonly<Record<ToolOutcomeStatus, keyof OutcomeCounts | undefined>> = {
  executed: 'executed',
  rejected: 'rejections',
  expired: 'expiries',
  responded: 'responses',
  denied: 'denied',
  invalid: 'invalid',
  failed: 'failed',
  skipped: 'failed',
  blocked: 'blocked',
  stopped: undefined,
};

/** Counts of a run that has done nothing yet. */
export function zeroCounts(): OutcomeCounts {
  return {
    approvals: 0,
    rejections: 0,
    edits: 0,
    expiries: 0,
    responses: 0,
    denied: 0,
    blocked: 0,
    executed: 0,
    failed: 0,
    invalid: 0,
  };
}

/**
 * What the run has done so far: model calls, the tally over the whole run, this segment's tool-call outcomes, and how
 * it is ending (a final answer or a stop). The loop records into it what the gate and the tool runner return; the
 * queries, the status and the result read it.
 */
export class RunProgress {
  /** Model calls made over the whole run. */
  step: number;
  readonly counts: OutcomeCounts;
  /** This segment's outcomes, in the order the calls settled (a finished turn puts its own in proposal order). */
  readonly outcomes: ToolOutcome[] = [];
  answer: string | undefined;
  stop: Pick<StopRequest, 'by' | 'reason'> | undefined;

  /** @param carried - where an earlier segment of the run left the step and the counts */
  constructor(carried?: { step: number; counts: OutcomeCounts }) {
    this.step = carried?.step ?? 0;
    this.counts = { ...zeroCounts(), ...carried?.counts };
  }

  /**
   * Records a settled call: its outcome (a large result by reference: the model still reads all of it, through the
   * transcript store), and the count its final state adds to.
   * @returns what the model reads
   */
  record(settled: Settled): ToolResultContent {
    const { result, ...rest } = settled.outcome;
    const ref = largeResultRef(result);
    this.outcomes.push(ref !== undefined ? { ...rest, resultRef: ref } : settled.outcome);
    const key = COUNTED[settled.outcome.status];
    if (key !== undefined) this.counts[key] += 1;
    return settled.result;
  }

  /**
   * Records a call that settled without running because its request was closed by a stop, unless its outcome is
   * already recorded: both the request's waiter and the stop path record it (whichever of the closure and the
   * cancellation of the loop reaches the waiter first decides whether the waiter still can), and it counts once.
   * @returns what the model reads
   */
  recordOnce(settled: Settled): ToolResultContent {
    const id = settled.outcome.toolCallId;
    if (this.outcomes.some((o) => o.toolCallId === id)) return settled.result;
    return this.record(settled);
  }

  /** Counts an approval (an approved request or an approved plan step) before its call runs. */
  countApproval(edited: boolean): void {
    this.counts.approvals += 1;
    if (edited) this.counts.edits += 1;
  }

  /** Whether the run is ending: it has its answer or someone stopped it. */
  get ending(): boolean {
    return this.answer !== undefined || this.stop !== undefined;
  }

  /**
   * Puts the outcomes recorded since `from` in the order the model proposed their calls.
   * @param from - the index of the turn's first outcome
   * @param order - call id → position in the turn
   */
  orderSince(from: number, order: ReadonlyMap<string, number>): void {
    const settled = this.outcomes.splice(from);
    settled.sort((a, b) => (order.get(a.toolCallId) ?? 0) - (order.get(b.toolCallId) ?? 0));
    this.outcomes.push(...settled);
  }
}
