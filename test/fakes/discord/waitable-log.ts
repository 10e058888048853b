// An append-only list that tests can await: "resolve when an entry like this shows up".

interface Waiter<T> {
  readonly predicate: (entry: T) => boolean;
  readonly resolve: (entry: T) => void;
}

export class WaitableLog<T> {
  readonly entries: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  push(entry: T): void {
    this.entries.push(entry);
    for (const waiter of this.#waiters) {
      if (waiter.predicate(entry)) {
        this.#waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  }

  find(predicate: (entry: T) => boolean): T | undefined {
    return this.entries.find(predicate);
  }

  /** Resolves with the first entry, already logged or future, that matches. */
  waitFor(predicate: (entry: T) => boolean, timeoutMs = 5000): Promise<T> {
    const existing = this.entries.find(predicate);
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`fake discord: timed out after ${timeoutMs} ms waiting for ${this.#what}`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        predicate,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(entry);
        },
      };
      this.#waiters.add(waiter);
    });
  }
}
