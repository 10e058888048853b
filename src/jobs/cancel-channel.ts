import type { Redis } from 'ioredis';
import { createRedisConnection } from './redis-connection.ts';

/**
 * Fire-and-forget JSON messages to every process on a Redis pub/sub channel.
 *
 * Pub/sub is at-most-once: a subscriber that is disconnected when a message is sent
 * never sees it. Callers that need durability pair it with state in Redis (the
 * fine-tune cancel flag) or in their own store (the consent ledger).
 */
export interface BroadcastOptions<T> {
  url: string;
  channel: string;
  /** Validates incoming messages (e.g. a zod schema's `parse`); invalid ones are dropped. */
  parse?: (value: unknown) => T;
  /** Called with messages that failed to parse or handlers that threw. */
  onError?: (error: unknown) => void;
}

export type BroadcastHandler<T> = (message: T) => void;

export class Broadcast<T> {
  readonly channel: string;
  readonly #options: BroadcastOptions<T>;
  #publisher: Redis | undefined;
  #subscriber: Redis | undefined;
  #subscribing: Promise<void> | undefined;
  readonly #handlers = new Set<BroadcastHandler<T>>();

  constructor(options: BroadcastOptions<T>) {
    this.#options = options;
    this.channel = options.channel;
  }

  /** Sends to every subscriber in every process; resolves with how many received it. */
  async publish(message: T): Promise<number> {
    this.#publisher ??= this.#connect('producer');
    return this.#publisher.publish(this.channel, JSON.stringify(message));
  }

  /**
   * Registers a handler; resolves once Redis confirmed the subscription, so a message
   * published afterwards is guaranteed to be delivered. Returns the unsubscribe function.
   */
  async subscribe(handler: BroadcastHandler<T>): Promise<() => void> {
    this.#handlers.add(handler);
    if (!this.#subscribing) {
      // ioredis re-subscribes by itself after a reconnect.
      const subscriber = this.#connect('blocking');
      this.#subscriber = subscriber;
      subscriber.on('message', (channel: string, raw: string) => {
        if (channel === this.channel) this.#dispatch(raw);
      });
      this.#subscribing = subscriber.subscribe(this.channel).then(() => undefined);
    }
    await this.#subscribing;
    return () => {
      this.#handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    const clients = [this.#publisher, this.#subscriber].filter((c): c is Redis => c !== undefined);
    this.#publisher = undefined;
    this.#subscriber = undefined;
    this.#subscribing = undefined;
    // QUIT waits for a connection that is not up (for ever, on a subscriber): just drop those.
    await Promise.all(clients.map((c) => (c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect())));
  }

  #connect(role: 'producer' | 'blocking'): Redis {
    const client = createRedisConnection(this.#options.url, role);
    // Connection errors are retried by ioredis; surfacing each one would only add noise.
    client.on('error', () => {});
    return client;
  }

  #dispatch(raw: string): void {
    let message: T;
    try {
      const value: unknown = JSON.parse(raw);
      message = this.#options.parse ? this.#options.parse(value) : (value as T);
    } catch (error) {
      this.#options.onError?.(error);
      return;
    }
    for (const handler of this.#handlers) {
      try {
        handler(message);
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
  }
}

/** "Stop fine-tuning voice X": sent by FineTuneQueue.cancel, acted on by FineTuneWorker. */
export interface CancelMessage {
  voiceId: string;
  /** BullMQ id of the run to stop; absent = whatever runs for the voice. */
  bullJobId?: string;
}

export const CANCEL_CHANNEL = 'vocalis:finetune:cancel';

export class CancelChannel extends Broadcast<CancelMessage> {
  constructor(url: string, onError?: (error: unknown) => void) {
    super({ url, channel: CANCEL_CHANNEL, parse: parseCancelMessage, ...(onError ? { onError } : {}) });
  }
}

function parseCancelMessage(value: unknown): CancelMessage {
  if (typeof value !== 'object' || value === null) throw new Error('cancel message is not an object');
  const { voiceId, bullJobId } = value as Record<string, unknown>;
  if (typeof voiceId !== 'string') throw new Error('cancel message lacks voiceId');
  if (bullJobId !== undefined && typeof bullJobId !== 'string') throw new Error('cancel message has a bad bullJobId');
  return bullJobId === undefined ? { voiceId } : { voiceId, bullJobId };
}
