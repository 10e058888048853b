import type { Readable } from 'node:stream';
import { PlaybackBuffer } from '../../engine/audio/playback-buffer.ts';
import { playbackReadable } from '../../engine/audio/playback-stream.ts';
import { pcmToOpusFrames } from '../../engine/audio/opus-frames.ts';
import { isConsentDenial } from '../../consent/consent-errors.ts';
import type { SpeechStream } from '../../core/vocalis.ts';

/**
 * One /speak: synthesis → 48 kHz 20 ms Opus frames → PlaybackBuffer (lead,
 * backpressure, cancellation). It starts buffering as soon as it is queued, so the
 * player never waits on synthesis; the buffer's signal goes into the speak request,
 * so cancelling the buffer stops synthesis too, and a failing synthesis stream (the
 * consent ended) cancels the buffer at once.
 */
export type UtteranceEnd = 'finished' | 'stopped' | 'consent_ended' | 'disconnected' | 'failed' | 'shutdown';

export interface UtteranceInfo {
  readonly id: number;
  readonly guildId: string;
  readonly requesterId: string;
  readonly ownerId: string;
  /** The voice channel to speak in (the requester's, when they asked). */
  readonly channelId: string;
}

let nextId = 1;

/** Frames buffered ahead of the player at most (50 = 1 s). */
const AHEAD_FRAMES = 50;
/** Encoding yields to the event loop this often, so the players' 20 ms timer keeps its beat. */
const YIELD_FRAMES = 10;

/**
 * Passes items through, giving the event loop a turn (setImmediate) every `every` items:
 * a buffer filling from fast synthesis would otherwise encode in one long microtask run.
 */
async function* yieldingEvery<T>(every: number, source: AsyncIterable<T>): AsyncGenerator<T> {
  let n = 0;
  for await (const item of source) {
    yield item;
    if (++n % every === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

export class Utterance {
  readonly info: UtteranceInfo;
  readonly buffer: PlaybackBuffer;
  readonly stream: SpeechStream;
  /** performance.now() when the request arrived, for latency figures. */
  readonly requestedAt: number;
  #endReason: UtteranceEnd | null = null;
  #failure: unknown;
  #pumping: Promise<void> | null = null;
  #producerError: unknown;

  /** Calls `speak` at once: consent, sharing and text are checked before anything is queued. */
  constructor(
    info: Omit<UtteranceInfo, 'id'>,
    speak: (signal: AbortSignal) => SpeechStream,
    options: { leadFrames: number; startOnPhraseEnd?: boolean; requestedAt?: number },
  ) {
    this.info = { ...info, id: nextId++ };
    this.requestedAt = options.requestedAt ?? performance.now();
    // Up to 1 s ahead: enough to ride out a slow clause, small enough that 20 guilds
    // starting at once do not encode 5 s each before any of them plays.
    this.buffer = new PlaybackBuffer({
      leadFrames: options.leadFrames,
      highWaterFrames: Math.max(options.leadFrames * 2, AHEAD_FRAMES),
      startOnPhraseEnd: options.startOnPhraseEnd ?? true,
    });
    // A producer failure is a consent end (the gate aborts the stream) or an engine error.
    this.buffer.on('error', (error) => {
      this.#producerError = error;
    });
    this.stream = speak(this.buffer.signal);
    // The engine notices a revocation only when it is pulled, and a full buffer pulls
    // nothing: the consent's own signal ends playback at once, wherever it was revoked.
    this.stream.consentEnded.addEventListener('abort', () => this.cancel('consent_ended'), { once: true });
  }

  get endReason(): UtteranceEnd | null {
    return this.#endReason;
  }

  /** Why a `failed` utterance did not play (a join that failed, an engine error), when known. */
  get failure(): unknown {
    return this.#failure ?? this.#producerError;
  }

  /** Starts pulling synthesis into the buffer (idempotent). */
  startBuffering(): Promise<void> {
    this.#pumping ??= this.buffer.start(yieldingEvery(YIELD_FRAMES, pcmToOpusFrames(this.stream.audio, { channels: 2 }))).then(() => {
      if (this.buffer.state === 'cancelled' && this.#endReason === null) {
        this.#endReason = isConsentDenial(this.#producerError) ? 'consent_ended' : 'failed';
      }
    });
    return this.#pumping;
  }

  /** The object-mode Opus stream the AudioPlayer reads. */
  readable(): Readable {
    return playbackReadable(this.buffer);
  }

  cancel(reason: Exclude<UtteranceEnd, 'finished'>, cause?: unknown): void {
    if (this.#endReason === null && cause !== undefined) this.#failure = cause;
    this.#endReason ??= reason;
    this.buffer.cancel(reason);
  }

  markFinished(): void {
    this.#endReason ??= this.buffer.state === 'cancelled' ? 'failed' : 'finished';
  }
}
