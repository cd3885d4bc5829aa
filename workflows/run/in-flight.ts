/**
 * Counts the run's activities in flight. A run continues as new only when none is: an activity's result is recorded
 * in the history of the run that scheduled it, so a segment that ended while it ran would never see it.
 */
export class InFlight {
  #count = 0;
  readonly #settled: () => void;

  /** @param settled - called after each tracked activity settles (its completion is in the history) */
  constructor(settled: () => void = () => undefined) {
    this.#settled = settled;
  }

  /** Whether nothing is in flight. */
  get idle(): boolean {
    return this.#count === 0;
  }

  /**
   * Counts `work` (an activity just scheduled) as in flight until it settles.
   * @param work - the activity's promise, returned unchanged
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.#count += 1;
    return work.finally(() => {
      this.#count -= 1;
      this.#settled();
    });
  }
}
