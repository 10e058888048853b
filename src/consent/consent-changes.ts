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

  /** Connects this process to the others; resolves once their announcements arrive here. */
  async relayThrough(relay: ConsentChangeRelay): Promise<void> {
    this.#relay = relay;
    await relay.subscribe((userId) => this.#deliver(userId));
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
