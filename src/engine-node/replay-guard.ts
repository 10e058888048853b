/**
 * Nonces of requests accepted within the freshness window. A request carrying a nonce
 * already seen is a replay; once a nonce is older than the window its timestamp alone
 * refuses it, so it can be forgotten and the set stays bounded by the request rate.
 */
export class ReplayGuard {
  readonly #windowMs: number;
  readonly #seen = new Map<string, number>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records the nonce; false when it was seen within the window. */
  firstUse(nonce: string, now: number): boolean {
    this.#forgetOlderThan(now - this.#windowMs);
    if (this.#seen.has(nonce)) return false;
    this.#seen.set(nonce, now);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }

  #forgetOlderThan(cutoff: number): void {
    // Map order is insertion order, so the oldest come first.
    for (const [nonce, at] of this.#seen) {
      if (at >= cutoff) break;
      this.#seen.delete(nonce);
    }
  }
}
