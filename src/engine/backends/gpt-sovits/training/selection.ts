/**
 * Checkpoint selection for one training phase: keep the best-scoring saved epoch (lower is
 * better) and say when to stop — after `patience` saved epochs without an improvement of at least
 * `minImprovement`. Upstream trains a fixed number of epochs and leaves over-fitting (repeated or
 * dropped words) to the user; this is the replacement.
 */

export type SelectorState = 'tracking' | 'stopped';

export interface Candidate<T> {
  readonly epoch: number;
  readonly score: number;
  readonly item: T;
}

export class CheckpointSelector<T> {
  #best: Candidate<T> | null = null;
  #sinceBest = 0;
  #state: SelectorState = 'tracking';
  readonly #patience: number;
  readonly #minImprovement: number;

  constructor(patience: number, minImprovement: number) {
    this.#patience = patience;
    this.#minImprovement = minImprovement;
  }

  get state(): SelectorState {
    return this.#state;
  }

  /** True once patience ran out (a method, so callers re-read it after awaits). */
  shouldStop(): boolean {
    return this.#state === 'stopped';
  }

  get best(): Candidate<T> | null {
    return this.#best;
  }

  /** Records a scored epoch; returns true when it became the best. NaN scores never win. */
  add(candidate: Candidate<T>): boolean {
    const improved = Number.isFinite(candidate.score) && (this.#best === null || candidate.score < this.#best.score - this.#minImprovement);
    if (improved) {
      this.#best = candidate;
      this.#sinceBest = 0;
    } else if (++this.#sinceBest >= this.#patience) this.#state = 'stopped';
    return improved;
  }
}
