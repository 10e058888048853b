import type { SendQueueTimer } from '../../../src/bots/telegram/send-queue.ts';

interface Scheduled {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** A virtual clock: time only moves in advance()/runAll(), firing due timers in order. */
export class ManualTimer implements SendQueueTimer {
  #now = 0;
  #nextId = 1;
  #timers: Scheduled[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward, running each due timer and letting promise chains settle in between. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.at > target) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.callback();
      await settle();
    }
    this.#now = target;
  }

  /** Runs timers until none is left (bounded, to fail fast on a scheduling loop). */
  async runAll(maxSteps = 100_000): Promise<void> {
    await settle();
    for (let step = 0; step < maxSteps; step += 1) {
      const next = this.#earliest();
      if (next === undefined) return;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.callback();
      await settle();
    }
    throw new Error('ManualTimer.runAll: too many steps');
  }

  #earliest(): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const t of this.#timers) if (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }
}

/** Lets queued microtasks (promise continuations) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
