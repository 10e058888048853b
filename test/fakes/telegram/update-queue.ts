import type { Update } from 'telegraf/types';
import { ApiError } from './types.ts';

export interface GetUpdatesParams {
  readonly offset?: number;
  readonly limit?: number;
  /** Long-poll seconds; 0 answers at once. */
  readonly timeout?: number;
  readonly allowedUpdates?: readonly string[];
}

interface Waiter {
  readonly params: GetUpdatesParams;
  readonly resolve: (updates: Update[]) => void;
  readonly reject: (error: ApiError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * getUpdates semantics: updates stay queued until a call passes an offset above
 * their id; one long poll at a time (a newer one terminates the older with 409).
 */
export class UpdateQueue {
  #pending: Update[] = [];
  #allowed: readonly string[] = [];
  #waiter: Waiter | undefined;

  push(update: Update): void {
    this.#pending.push(update);
    this.#wake();
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  dropPending(): void {
    this.#pending = [];
  }

  poll(params: GetUpdatesParams, onAbort: (cancel: () => void) => void): Promise<Update[]> {
    // An empty list keeps the previous setting, like the real API.
    if (params.allowedUpdates !== undefined && params.allowedUpdates.length > 0) this.#allowed = params.allowedUpdates;
    this.#acknowledge(params.offset ?? 0);
    const ready = this.#select(params);
    const timeoutMs = Math.max(0, Math.min(params.timeout ?? 0, 50)) * 1000;
    if (ready.length > 0 || timeoutMs === 0) {
      this.#terminateWaiter();
      return Promise.resolve(ready);
    }
    this.#terminateWaiter();
    return new Promise<Update[]>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle([]), timeoutMs);
      const waiter: Waiter = { params, resolve, reject, timer };
      this.#waiter = waiter;
      onAbort(() => {
        if (this.#waiter === waiter) {
          clearTimeout(timer);
          this.#waiter = undefined;
        }
      });
    });
  }

  /** Answers a pending long poll with no updates (used on shutdown). */
  releaseWaiter(): void {
    this.#settle([]);
  }

  #acknowledge(offset: number): void {
    if (offset > 0) {
      this.#pending = this.#pending.filter((u) => u.update_id >= offset);
    } else if (offset < 0) {
      // A negative offset keeps only the last |offset| updates.
      this.#pending = this.#pending.slice(offset);
    }
  }

  #select(params: GetUpdatesParams): Update[] {
    const limit = Math.max(1, Math.min(params.limit ?? 100, 100));
    const allowed = this.#allowed;
    const visible = allowed.length === 0 ? this.#pending : this.#pending.filter((u) => allowed.some((type) => type in u));
    return visible.slice(0, limit);
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const ready = this.#select(waiter.params);
    if (ready.length > 0) this.#settle(ready);
  }

  #settle(updates: Update[]): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(updates);
  }

  #terminateWaiter(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.reject(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
  }
}
