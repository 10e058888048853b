import type { ConsentChangeListener, ConsentChangeRelay } from '../consent/consent-changes.ts';
import { Broadcast } from './cancel-channel.ts';

/** The Redis channel every process's consent gate listens on. */
export const CONSENT_CHANGES_CHANNEL = 'vocalis:consent-changes';

const CLOSE_WAIT_MS = 3000;

interface ConsentChangeMessage {
  /** The internal user id (`u_…`): never a platform id, never anything else. */
  readonly userId: string;
}

/** Consent changes between processes over Redis pub/sub (the relay of consent's ConsentChanges). */
export class ConsentChangeChannel implements ConsentChangeRelay {
  readonly #broadcast: Broadcast<ConsentChangeMessage>;
  /** Announcements still on their way: a short-lived process (the CLI) waits for them before it closes. */
  readonly #sending = new Set<Promise<unknown>>();

  constructor(url: string, onError?: (error: unknown) => void) {
    this.#broadcast = new Broadcast({ url, channel: CONSENT_CHANGES_CHANNEL, parse: parseMessage, ...(onError ? { onError } : {}) });
  }

  publish(userId: string): Promise<number> {
    const sent = this.#broadcast.publish({ userId });
    const settled = sent.catch(() => {}).finally(() => this.#sending.delete(settled));
    this.#sending.add(settled);
    return sent;
  }

  subscribe(listener: ConsentChangeListener): Promise<() => void> {
    return this.#broadcast.subscribe((message) => listener(message.userId));
  }

  /** Waits (at most CLOSE_WAIT_MS: Redis may be unreachable) for announcements still being sent, then disconnects. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#sending), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    await this.#broadcast.close();
  }
}

function parseMessage(value: unknown): ConsentChangeMessage {
  const userId = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['userId'] : undefined;
  if (typeof userId !== 'string' || !/^u_[\w-]{1,64}$/.test(userId)) throw new Error('consent change message without a user id');
  return { userId };
}
