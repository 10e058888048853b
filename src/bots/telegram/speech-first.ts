/**
 * /speak before clip processing. Both share the host's CPU; a member waiting for their
 * voice note notices a second more, a member waiting for speech notices every 100 ms. So
 * clip processing starts only when no /speak of this adapter is being synthesised (or
 * after waiting `maxWaitMs`, so a stream of /speak cannot starve the samples).
 */
export class SpeechFirst {
  readonly #maxWaitMs: number;
  readonly #waiters = new Set<() => void>();
  #running = 0;

  constructor(maxWaitMs = 2_000) {
    this.#maxWaitMs = maxWaitMs;
  }

  get running(): number {
    return this.#running;
  }

  /** Runs a synthesis; while any runs, `clear()` waits. */
  async speaking<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      if (this.#running === 0) {
        for (const wake of this.#waiters) wake();
        this.#waiters.clear();
      }
    }
  }

  /** Resolves when no synthesis runs, or after `maxWaitMs`. */
  async clear(): Promise<void> {
    if (this.#running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let wake: () => void = () => {};
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(wake);
      timer = setTimeout(resolve, this.#maxWaitMs);
    });
    clearTimeout(timer);
    this.#waiters.delete(wake);
  }
}
