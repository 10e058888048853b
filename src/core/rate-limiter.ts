import { VocalisError } from './user-facing-error.ts';

/**
 * Token buckets per key (a user, a guild): `capacity` requests at once, refilled at
 * `perMinute`. Platform-agnostic, so every adapter limits `/speak` the same way.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { capacity: number; perMinute: number; now?: () => number }) {
    this.#capacity = options.capacity;
    this.#refillPerMs = options.perMinute / 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for every key, or none at all and throws `rate_limited` with the wait in seconds. */
  take(...keys: string[]): void {
    const now = this.#now();
    const buckets = keys.map((key) => this.#refill(key, now));
    const empty = buckets.find((b) => b.tokens < 1);
    if (empty) {
      const seconds = Math.ceil((1 - empty.tokens) / this.#refillPerMs / 1000);
      throw new VocalisError('rate_limited', `rate limit reached; retry in ${seconds} s`, { seconds });
    }
    for (const bucket of buckets) bucket.tokens -= 1;
    if (this.#buckets.size > 10_000) this.#forgetFull(now);
  }

  #refill(key: string, now: number): { tokens: number; at: number } {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#refillPerMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    return bucket;
  }

  /** Full buckets carry no state worth keeping; dropping them bounds memory. */
  #forgetFull(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#refillPerMs >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
