import { EventEmitter } from 'node:events';

/**
 * The buffer between streamed synthesis (producer of 20 ms Opus frames) and a
 * player that takes one frame per 20 ms tick. Explicit state machine:
 *
 *   buffering ──lead reached / first phrase done / source ended──▶ playing
 *   playing   ──source ended──▶ draining ──queue empty──▶ ended
 *   any live state ──cancel(reason)──▶ cancelled
 *
 * Backpressure: the pump stops pulling from the producer while `highWaterFrames`
 * are queued. Cancellation clears the queue, aborts `signal` (pass it to the
 * synthesis request) and closes the producer's iterator.
 */

export type PlaybackState = 'buffering' | 'playing' | 'draining' | 'ended' | 'cancelled';

/** Put into the frame stream after the last frame of a phrase: playback may start then. */
export const PHRASE_END: unique symbol = Symbol('phrase-end');
export type PlaybackItem = Uint8Array | typeof PHRASE_END;

export interface PlaybackBufferOptions {
  /** Frames queued before playback starts (default 15 = 300 ms). */
  readonly leadFrames?: number;
  /** Start as soon as the first phrase is complete, even below the lead (default true). */
  readonly startOnPhraseEnd?: boolean;
  /** Frames queued at which the producer is paused (default 250 = 5 s). */
  readonly highWaterFrames?: number;
}

export interface PlaybackEvents {
  state: [state: PlaybackState, previous: PlaybackState];
  /** The player asked for a frame while playing and none was ready. */
  underrun: [queued: number];
  error: [error: unknown];
}

const TRANSITIONS: Readonly<Record<PlaybackState, readonly PlaybackState[]>> = {
  buffering: ['playing', 'draining', 'ended', 'cancelled'],
  playing: ['draining', 'cancelled'],
  draining: ['ended', 'cancelled'],
  ended: [],
  cancelled: [],
};

export class PlaybackBuffer extends EventEmitter<PlaybackEvents> {
  readonly leadFrames: number;
  readonly #startOnPhraseEnd: boolean;
  readonly highWaterFrames: number;
  #state: PlaybackState = 'buffering';
  #queue: Uint8Array[] = [];
  #head = 0;
  #space: (() => void) | null = null;
  #arrival: Array<() => void> = [];
  readonly #abort = new AbortController();
  #cancelReason: string | null = null;
  #underruns = 0;
  #started = false;

  constructor(options: PlaybackBufferOptions = {}) {
    super();
    this.leadFrames = Math.max(1, options.leadFrames ?? 15);
    this.#startOnPhraseEnd = options.startOnPhraseEnd ?? true;
    this.highWaterFrames = Math.max(this.leadFrames, options.highWaterFrames ?? 250);
  }

  get state(): PlaybackState {
    return this.#state;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  get underruns(): number {
    return this.#underruns;
  }

  get cancelReason(): string | null {
    return this.#cancelReason;
  }

  /** Aborted on cancel: hand it to the producer so synthesis stops too. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #transition(next: PlaybackState): void {
    const previous = this.#state;
    if (previous === next) return;
    if (!TRANSITIONS[previous].includes(next)) throw new Error(`playback cannot go from ${previous} to ${next}`);
    this.#state = next;
    this.emit('state', next, previous);
    const waiters = this.#arrival;
    this.#arrival = [];
    for (const wake of waiters) wake();
  }

  /** Starts pulling frames from the producer. Resolves when the producer is done or cancelled. */
  async start(source: AsyncIterable<PlaybackItem>): Promise<void> {
    if (this.#started) throw new Error('PlaybackBuffer.start may be called once');
    this.#started = true;
    const iterator = source[Symbol.asyncIterator]();
    try {
      while (!this.#isFinal()) {
        if (this.queued >= this.highWaterFrames) {
          await new Promise<void>((resolve) => {
            this.#space = resolve;
          });
          continue;
        }
        const next = await iterator.next();
        if (this.#isFinal()) break;
        if (next.done) {
          if (this.#state === 'buffering' && this.queued === 0) this.#transition('ended');
          else {
            if (this.#state === 'buffering') this.#transition('playing');
            this.#transition('draining');
          }
          return;
        }
        if (next.value === PHRASE_END) {
          if (this.#startOnPhraseEnd && this.#state === 'buffering' && this.queued > 0) this.#transition('playing');
          continue;
        }
        this.#queue.push(next.value);
        if (this.#state === 'buffering' && this.queued >= this.leadFrames) this.#transition('playing');
        const waiters = this.#arrival;
        this.#arrival = [];
        for (const wake of waiters) wake();
      }
    } catch (error) {
      if (this.#state !== 'cancelled') {
        this.emit('error', error);
        this.cancel('producer_failed');
      }
    } finally {
      if (this.#state === 'cancelled') await iterator.return?.().catch(() => undefined);
    }
  }

  #isFinal(): boolean {
    return this.#state === 'cancelled' || this.#state === 'ended';
  }

  /** The next frame for this tick, or null (still buffering, starving, or finished). */
  read(): Uint8Array | null {
    if (this.#state !== 'playing' && this.#state !== 'draining') return null;
    if (this.queued === 0) {
      if (this.#state === 'playing') {
        this.#underruns++;
        this.emit('underrun', 0);
      }
      return null;
    }
    const frame = this.#queue[this.#head] ?? null;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#space && this.queued < this.highWaterFrames) {
      const wake = this.#space;
      this.#space = null;
      wake();
    }
    if (this.#state === 'draining' && this.queued === 0) this.#transition('ended');
    return frame;
  }

  /** Resolves when a frame is readable or the state changes (for stream adapters). */
  whenReadable(): Promise<void> {
    if (this.queued > 0 && (this.#state === 'playing' || this.#state === 'draining')) return Promise.resolve();
    if (this.#isFinal()) return Promise.resolve();
    return new Promise((resolve) => this.#arrival.push(resolve));
  }

  /** Ends playback now: revocation, /stop, a voice channel left. */
  cancel(reason: string): void {
    if (this.#isFinal()) return;
    this.#cancelReason = reason;
    this.#queue = [];
    this.#head = 0;
    this.#abort.abort(new Error(`playback cancelled: ${reason}`));
    this.#transition('cancelled');
    const wake = this.#space;
    this.#space = null;
    wake?.();
  }
}
