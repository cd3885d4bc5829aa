import { allHandlersFinished, condition } from '@temporalio/workflow';
import type { ToolResultContent } from '../../src/shared/model/tool-result';
import type { ToolCall } from '../../src/shared/model/types';
import type { InFlight } from './in-flight';

/** A turn in progress: which of its calls have settled and which wait for a decision. */
export class TurnInProgress {
  /** Call id → what the model reads. */
  readonly settled = new Map<string, ToolResultContent>();
  /** Call id → request id, while the call waits for a decision. */
  readonly waiting = new Map<string, string>();
  /** Calls whose `tool` message is in the transcript store already (stored before a continue-as-new). */
  readonly stored = new Set<string>();

  constructor(
    readonly calls: ToolCall[],
    readonly reasoning: string | null,
  ) {}

  /**
   * Every call has settled or waits quietly for a decision: nothing of the turn is in flight or about to move.
   * @param requestQuiet - whether a request is open with no timer due (`ApprovalGate.quiet`)
   */
  quiet(requestQuiet: (requestId: string) => boolean): boolean {
    return this.calls.every((c) => {
      if (this.settled.has(c.id)) return true;
      const requestId = this.waiting.get(c.id);
      return requestId !== undefined && requestQuiet(requestId);
    });
  }
}

/** What decides whether a run may continue as new in the middle of a turn. */
export interface MidTurnState {
  /** Activities of the run in flight. */
  inFlight: InFlight;
  /** Whether a pause is open (its answer is not carried). */
  paused(): boolean;
  /** Whether a request is open with no timer due. */
  requestQuiet(requestId: string): boolean;
  /**
   * Whether the history is long enough (or Temporal suggests it) and the run is not ending, as of the last event the
   * history records (see invariant 6 of {@link settleTurn}).
   */
  continueDue(): boolean;
}

/**
 * Whether the run may continue as new now, in the middle of `turn`: nothing in flight, no pause open, every call
 * settled or waiting on a quiet request, and a continue-as-new due.
 */
export function mayContinueMidTurn(turn: TurnInProgress, state: MidTurnState): boolean {
  return state.inFlight.idle && !state.paused() && turn.quiet((id) => state.requestQuiet(id)) && state.continueDue();
}

/**
 * Waits until every call of a turn has settled, and continues the run as new in the middle of the turn when the
 * history is long and the turn only waits for people. The turn then goes on in the next segment: settled calls keep
 * their results and open requests keep waiting, with their deadlines.
 *
 * Why no decision, timer or result is lost across that continue-as-new:
 * 1. Nothing is in flight ({@link InFlight}): an activity's result is recorded only in the segment that scheduled it.
 * 2. No pause is open: a pause's answer is not carried.
 * 3. Every waiting request is quiet: no reminder or deadline is due, so no timer fires in the task that continues.
 * 4. It waits for every update and signal handler to finish, then checks again: a decision taken meanwhile (even in
 *    the same workflow task) closes its request, and a closed request is not quiet, so the run waits for the turn to
 *    move on instead of carrying a request whose decision it has seen. (That re-check is the fix of the approval lost
 *    in the task that continued as new; test/fuzz/continue-as-new.test.ts keeps it fixed.)
 * 5. What it carries is read after the handlers finished (`continueAsNew` builds it then).
 * 6. The predicate changes only with events the history records: whether a continue-as-new is due is read when one
 *    arrives (`ContinueWatch`), not in the predicate, which also runs in the task of a rejected update that the server
 *    forgets; a command begun there would leave a task that replay cannot repeat. (Time only makes a request unquiet.)
 *
 * @param turn - the turn
 * @param work - settles when every call of the turn has; rejects with the first failure
 * @param state - what decides whether the run may continue
 * @param continueAsNew - carries the turn into the next segment (returns only when it had to store large results
 *   first: then the run checks again)
 * @throws whatever `work` rejects with
 */
export async function settleTurn(
  turn: TurnInProgress,
  work: Promise<unknown>,
  state: MidTurnState,
  continueAsNew: (turn: TurnInProgress) => Promise<void>,
): Promise<void> {
  let done = false;
  let failure: { error: unknown } | undefined;
  void work.then(
    () => (done = true),
    (error: unknown) => {
      failure = { error };
      done = true;
    },
  );
  for (;;) {
    await condition(() => done || mayContinueMidTurn(turn, state));
    if (failure !== undefined) throw failure.error;
    if (done) return;
    await condition(allHandlersFinished);
    if (!done && mayContinueMidTurn(turn, state)) await continueAsNew(turn);
  }
}
