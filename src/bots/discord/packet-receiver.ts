import type { Readable } from 'node:stream';

/**
 * The one place that touches @discordjs/voice's receive API. Today a subscription
 * yields Buffers (one 20 ms Opus packet each); the next major yields AudioPacket
 * objects, so only `payloadOf` has to change.
 */
export interface ReceiverLike {
  subscribe(userId: string, options: { end: { behavior: number } }): Readable;
}

export interface PacketSubscription {
  /** Times the stream failed (e.g. a transport decrypt error) and was replaced. */
  readonly resubscribes: number;
  stop(): void;
}

/** EndBehaviorType.Manual: the stream stays open until we stop it; silence ends nothing. */
const MANUAL_END = 0;
/** A stream that keeps failing is given up after this many replacements in a row without data. */
const MAX_EMPTY_RESUBSCRIBES = 20;

function payloadOf(chunk: unknown): Uint8Array | null {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'object' && chunk !== null && 'payload' in chunk && chunk.payload instanceof Uint8Array) return chunk.payload;
  return null;
}

/**
 * Receives one user's packets only; nobody else's audio is ever subscribed to (the
 * receiver does not even decrypt packets of users without a subscription). When the
 * stream errors or closes while we still want it, a new subscription replaces it.
 */
export function receivePackets(
  receiver: ReceiverLike,
  userId: string,
  onPacket: (packet: Uint8Array) => void,
  onGiveUp: (error: unknown) => void = () => {},
): PacketSubscription {
  let stopped = false;
  let resubscribes = 0;
  let emptyInARow = 0;
  let current: Readable | null = null;
  let lastError: unknown = null;

  const attach = (): void => {
    const stream = receiver.subscribe(userId, { end: { behavior: MANUAL_END } });
    current = stream;
    stream.on('data', (chunk: unknown) => {
      const payload = payloadOf(chunk);
      if (!payload) return;
      emptyInARow = 0;
      onPacket(payload);
    });
    stream.on('error', (error: unknown) => {
      lastError = error;
    });
    // The receiver forgets the subscription on 'close' (its own listener runs first), so
    // subscribing again from here yields a fresh stream.
    stream.once('close', () => {
      if (stopped || current !== stream) return;
      current = null;
      if (++emptyInARow > MAX_EMPTY_RESUBSCRIBES) {
        stopped = true;
        onGiveUp(lastError);
        return;
      }
      resubscribes++;
      setImmediate(() => {
        if (!stopped) attach();
      });
    });
  };
  attach();

  return {
    get resubscribes() {
      return resubscribes;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const stream = current;
      current = null;
      stream?.destroy();
    },
  };
}
