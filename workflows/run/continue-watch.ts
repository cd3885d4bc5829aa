import { continueAsNewDue } from './continuation';

/**
 * Whether the run's history is long enough to continue as new, as of the last event the history records: the
 * history's length and size are read again only when such an event has woken the run (an activity's completion, a
 * signal, an accepted update), never in a predicate.
 *
 * Why: a `condition` predicate runs after every activation, including the activation of a speculative workflow task
 * that carries only updates whose validators reject them. The server forgets such a task when the worker answers it
 * with no command, but `workflowInfo()` there already counts its two events. A predicate that read the history there
 * could find the threshold reached and go on to schedule a timer, an activity or the continue-as-new itself; the
 * server then keeps a task whose only job (the rejected update) replay never sees, and replay fails with "No command
 * scheduled for event N" (found by test/fuzz/decisions.test.ts, seed -564630605). A value read when a recorded event
 * arrives reads the same on replay.
 *
 * A timer does not read it again: a fired reminder or deadline leaves its request unquiet, or schedules an activity,
 * so a turn does not continue as new in that task anyway; at worst a continue-as-new waits for the next recorded event.
 *
 * Not behind `patched()`, deliberately: where a history records the run's activations, the value is the one the
 * predicate used to read, and every recorded run replays unchanged with it (test/replay.test.ts, whose guard proofs
 * found no recorded run that this change breaks); a guard would keep the runs in flight exposed to the failure.
 */
export class ContinueWatch {
  readonly #threshold: number;
  #due = false;

  /** @param thresholdEvents - the run input's `continueAsNewAfterEvents` */
  constructor(thresholdEvents: number) {
    this.#threshold = thresholdEvents;
  }

  /** Reads the history's length and size again. Call only from code that a recorded event woke. */
  observe(): void {
    this.#due = continueAsNewDue(this.#threshold);
  }

  /** Whether a continue-as-new is due, as of the last {@link ContinueWatch.observe}. Safe in a predicate. */
  get due(): boolean {
    return this.#due;
  }
}
