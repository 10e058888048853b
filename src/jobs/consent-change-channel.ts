import type { ConsentChangeListener, ConsentChangeRelay } from '../consent/consent-changes.ts';
import { Broadcast } from './cancel-channel.ts';

/** The Redis channel every process's consent gate listens on. */
export const CONSENT_CHANGES_CHANNEL = 'vocalis:consent-changes';

interface ConsentChangeMessage {
  /** The internal user id (`u_…`): never a platform id, never anything else. */
  readonly userId: string;
}

/** Consent changes between processes over Redis pub/sub (the relay of consent's ConsentChanges). */
export class ConsentChangeChannel implements ConsentChangeRelay {
  readonly #broadcast: Broadcast<ConsentChangeMessage>;

  constructor(url: string, onError?: (error: unknown) => void) {
    this.#broadcast = new Broadcast({ url, channel: CONSENT_CHANGES_CHANNEL, parse: parseMessage, ...(onError ? { onError } : {}) });
  }

  publish(userId: string): Promise<number> {
    return this.#broadcast.publish({ userId });
  }

  subscribe(listener: ConsentChangeListener): Promise<() => void> {
    return this.#broadcast.subscribe((message) => listener(message.userId));
  }

  close(): Promise<void> {
    return this.#broadcast.close();
  }
}

function parseMessage(value: unknown): ConsentChangeMessage {
  const userId = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['userId'] : undefined;
  if (typeof userId !== 'string' || !/^u_[\w-]{1,64}$/.test(userId)) throw new Error('consent change message without a user id');
  return { userId };
}
