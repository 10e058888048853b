import type { Readable } from 'node:stream';

/**
 * The one place that touches @discordjs/voice's receive API. Today a subscription
 * yields Buffers (one 20 ms Opus packet each); the next major yields AudioPacket
 * objects, so only `payloadOf` has to change.
 */
export interface ReceiverLike {
  subscribe(userId: string, options: { end: { behavior: number } }): Readable;
  /** Marks users as speaking on every packet that arrives from them, before it is decrypted. */
  readonly speaking: SpeakingLike;
}

export interface SpeakingLike {
  /** Users a packet arrived from in the last 100 ms. */
  readonly users: ReadonlyMap<string, number>;
}

export interface ReceiveOptions {
  /** The member's packets arrive but (almost) none reached us over this long a stretch: they cannot be received. */
  readonly stallMs: number;
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
/** How often the member's arrivals are compared with what was delivered. */
const WATCH_EVERY_MS = 250;
/** Share of watch ticks with arrivals but no delivery that makes a member unreceivable. */
const MOSTLY_UNDELIVERED = 2 / 3;

function payloadOf(chunk: unknown): Uint8Array | null {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'object' && chunk !== null && 'payload' in chunk && chunk.payload instanceof Uint8Array) return chunk.payload;
  return null;
}

/** Why a member's audio cannot be received: their packets arrive and none becomes audio. */
export class UnreceivableError extends Error {
  override readonly name = 'UnreceivableError';
}

/**
 * Receives one user's packets only; nobody else's audio is ever subscribed to (the
 * receiver does not even decrypt packets of users without a subscription). When the
 * stream errors or closes while we still want it, a new subscription replaces it.
 *
 * The receiver marks a member as speaking before it decrypts their packet, so packets
 * that arrive and then fail (transport or DAVE decryption, as in discord.js #11445) are
 * visible: when over the member's last `stallMs` of arriving packets (almost) nothing is delivered, or the stream
 * keeps failing, `onUnreceivable` is called once and receiving stops.
 */
export function receivePackets(
  receiver: ReceiverLike,
  userId: string,
  onPacket: (packet: Uint8Array) => void,
  onUnreceivable: (cause: unknown) => void,
  options: ReceiveOptions,
): PacketSubscription {
  let stopped = false;
  let resubscribes = 0;
  let emptyInARow = 0;
  let current: Readable | null = null;
  let lastError: unknown = null;
  /** Whether anything was delivered since the last watch tick. */
  let delivered = false;
  /** Per watch tick while the member's packets arrive: whether any came out. The last `stallMs` of them. */
  const arrivals: boolean[] = [];
  const window = Math.max(1, Math.ceil(options.stallMs / WATCH_EVERY_MS));

  const giveUp = (cause: unknown): void => {
    if (stopped) return;
    subscription.stop();
    onUnreceivable(cause);
  };
  // Judged over the member's last `stallMs` of arriving packets, not only a stall: under DAVE the
  // library may drop a run, re-initialise and pass a few frames, then drop again (#11445).
  const watch = setInterval(() => {
    const arriving = receiver.speaking.users.has(userId);
    if (arriving || delivered) {
      arrivals.push(delivered);
      if (arrivals.length > window) arrivals.shift();
    }
    delivered = false;
    const silentTicks = arrivals.filter((d) => !d).length;
    if (arrivals.length === window && silentTicks >= window * MOSTLY_UNDELIVERED) {
      giveUp(
        new UnreceivableError(`packets arrived but nothing was delivered in ${silentTicks} of the last ${window} watch ticks`, {
          cause: lastError ?? undefined,
        }),
      );
    }
  }, WATCH_EVERY_MS);

  const attach = (): void => {
    const stream = receiver.subscribe(userId, { end: { behavior: MANUAL_END } });
    current = stream;
    stream.on('data', (chunk: unknown) => {
      const payload = payloadOf(chunk);
      if (!payload) return;
      emptyInARow = 0;
      delivered = true;
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
        giveUp(new UnreceivableError(`the stream failed ${emptyInARow} times in a row`, { cause: lastError ?? undefined }));
        return;
      }
      resubscribes++;
      setImmediate(() => {
        if (!stopped) attach();
      });
    });
  };
  const subscription: PacketSubscription = {
    get resubscribes() {
      return resubscribes;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(watch);
      const stream = current;
      current = null;
      stream?.destroy();
    },
  };
  attach();
  return subscription;
}
