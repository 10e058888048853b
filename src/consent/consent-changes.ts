/**
 * Consent changes, announced after they are committed, so every gate holding a ticket for that
 * user re-reads the consent at once instead of trusting what it read before. In one process the
 * announcement reaches the gate directly; between processes it travels through a relay (Redis
 * pub/sub, `vocalis:consent-changes`, wired in src/app). The message is the user id only.
 * Pub/sub is at-most-once: a lost message is caught by the ticket's watch timer, which re-reads
 * the store every 250 ms regardless.
 */
export type ConsentChangeListener = (userId: string) => void;

/** How announcements reach other processes (implemented over Redis in src/jobs). */
export interface ConsentChangeRelay {
  publish(userId: string): Promise<unknown>;
  /** Resolves once messages published from now on are delivered. */
  subscribe(listener: ConsentChangeListener): Promise<() => void>;
}

export class ConsentChanges {
  readonly #listeners = new Set<ConsentChangeListener>();
  readonly #onError: (error: unknown) => void;
  #relay: ConsentChangeRelay | null = null;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /**
   * A user's consent changed and the change is committed: tell this process as soon as the
   * current synchronous work is done (a microtask: revocation first aborts and counts its own
   * tickets), the others through the relay.
   */
  announce(userId: string): void {
    queueMicrotask(() => this.#deliver(userId));
    this.#relay?.publish(userId).catch(this.#onError);
  }

  subscribe(listener: ConsentChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Connects this process to the others; resolves once their announcements arrive here, or after
   * `waitMs` when the relay is not reachable yet (false; it keeps trying, and until then other
   * processes' changes reach this one through the tickets' watch timer). Never blocks a start.
   */
  async relayThrough(relay: ConsentChangeRelay, waitMs = 2000): Promise<boolean> {
    this.#relay = relay;
    const subscribed = relay
      .subscribe((userId) => this.#deliver(userId))
      .then(
        () => true,
        (error: unknown) => {
          this.#onError(error);
          return false;
        },
      );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    const ok = await Promise.race([subscribed, waited]);
    clearTimeout(timer);
    if (!ok) this.#onError(new Error(`consent changes are not relayed yet (no subscription within ${waitMs} ms); the watch timer covers meanwhile`));
    return ok;
  }

  #deliver(userId: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(userId);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
