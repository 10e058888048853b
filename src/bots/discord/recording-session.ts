import { EventEmitter } from 'node:events';
import { isConsentDenial } from '../../consent/consent-errors.ts';
import type { ClipOutcome } from '../../core/vocalis.ts';
import { decodeOpusPackets } from '../../engine/audio/opus-decode.ts';
import { encodeWav } from '../../engine/audio/wav.ts';

/**
 * One member reading their script into a voice channel. Explicit state machine, in
 * the style of @discordjs/voice:
 *
 *   idle ──start──▶ joining ──joined──▶ recording ──stop / sample complete──▶ judging
 *   judging ──sample complete──▶ done │ cancelled (by the user) │ failed (anything else)
 *   joining / recording ──error──▶ failed
 *
 * Packets are counted as they arrive (20 ms each, silence frames excluded) for the
 * progress line; every `clipPackets` of them are decoded and handed to the core as one
 * WAV clip, whose verdict decides. A refused clip is reported and recording goes on.
 */
export type RecordingState = 'idle' | 'joining' | 'recording' | 'judging' | 'done' | 'cancelled' | 'failed';
export type RecordingStopReason = 'cancelled' | 'timeout' | 'left_channel' | 'disconnected' | 'consent_ended' | 'error';

export interface RecordingProgress {
  /** Net speech counted so far: accepted by the core plus packets not yet judged. */
  readonly netSeconds: number;
  readonly targetSeconds: number;
}

export interface RecordingResult {
  readonly state: 'done' | 'cancelled' | 'failed';
  readonly reason: RecordingStopReason | 'complete';
  readonly packets: number;
  readonly progress: RecordingProgress;
  /** The last clip outcome that completed the sample, when it did. */
  readonly completion?: Extract<ClipOutcome, { kind: 'stored' }>;
  readonly error?: unknown;
}

export interface RecordingEvents {
  state: [state: RecordingState, previous: RecordingState];
  progress: [progress: RecordingProgress];
  clip: [outcome: ClipOutcome];
  end: [result: RecordingResult];
}

/** Where packets come from: joins the channel and subscribes to the one user. */
export interface PacketSourceFactory {
  (onPacket: (packet: Uint8Array) => void): Promise<{ stop(): void }>;
}

export interface RecordingSessionOptions {
  readonly open: PacketSourceFactory;
  /** Hands one clip (WAV bytes) to the core: vocalis.addClip. */
  readonly submitClip: (wav: Uint8Array) => Promise<ClipOutcome>;
  readonly targetSeconds: number;
  /** Net speech already accepted under this consent (continuing a sample). */
  readonly storedSeconds?: number;
  /** Packets per clip; 600 = 12 s of speech. */
  readonly clipPackets?: number;
  /** The session stops by itself after this long. */
  readonly timeoutMs: number;
  /** A trailing clip shorter than this (in packets) is not worth judging. */
  readonly minClipPackets?: number;
}

const TRANSITIONS: Readonly<Record<RecordingState, readonly RecordingState[]>> = {
  idle: ['joining', 'cancelled', 'failed'],
  joining: ['recording', 'cancelled', 'failed'],
  recording: ['judging', 'failed'],
  judging: ['done', 'cancelled', 'failed'],
  done: [],
  cancelled: [],
  failed: [],
};

const PACKET_SECONDS = 0.02;
const OPUS_SILENCE = [0xf8, 0xff, 0xfe];

function isSilence(packet: Uint8Array): boolean {
  return packet.length === 3 && packet[0] === OPUS_SILENCE[0] && packet[1] === OPUS_SILENCE[1] && packet[2] === OPUS_SILENCE[2];
}

export class RecordingSession extends EventEmitter<RecordingEvents> {
  readonly #o: RecordingSessionOptions;
  readonly #clipPackets: number;
  #state: RecordingState = 'idle';
  #batch: Uint8Array[] = [];
  #packets = 0;
  /** Net speech the core has accepted (VAD-measured), and packets not yet counted into it. */
  #acceptedSeconds: number;
  #pendingPackets = 0;
  #judging: Promise<void> = Promise.resolve();
  #source: { stop(): void } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #completion: Extract<ClipOutcome, { kind: 'stored' }> | undefined;
  #stopReason: RecordingStopReason | null = null;
  #error: unknown;
  readonly #ended: Promise<RecordingResult>;
  #resolveEnded!: (result: RecordingResult) => void;

  constructor(options: RecordingSessionOptions) {
    super();
    this.#o = options;
    this.#clipPackets = options.clipPackets ?? 600;
    this.#acceptedSeconds = options.storedSeconds ?? 0;
    this.#ended = new Promise((resolve) => { this.#resolveEnded = resolve; });
  }

  get state(): RecordingState {
    return this.#state;
  }

  get packets(): number {
    return this.#packets;
  }

  /** Resolves once the session reaches a final state. */
  get ended(): Promise<RecordingResult> {
    return this.#ended;
  }

  progress(): RecordingProgress {
    const target = this.#o.targetSeconds;
    const net = this.#acceptedSeconds + this.#pendingPackets * PACKET_SECONDS;
    // Until the core says the sample is complete, never show the target as reached.
    const shown = this.#completion ? Math.max(net, target) : Math.min(net, Math.max(0, target - 1));
    return { netSeconds: Math.floor(shown), targetSeconds: target };
  }

  /** Joins and subscribes; resolves once recording (or failed to start). `ended` gives the result. */
  async start(): Promise<void> {
    this.#transition('joining');
    try {
      const source = await this.#o.open((packet) => this.#onPacket(packet));
      if (this.#state !== 'joining') {
        source.stop();
        return;
      }
      this.#source = source;
      this.#transition('recording');
      this.#timer = setTimeout(() => void this.stop('timeout'), this.#o.timeoutMs);
    } catch (error) {
      this.#error = error;
      this.#stopReason = 'error';
      this.#finish('failed');
    }
  }

  /** Stops recording. Except for a cancel, what was read so far is still judged. */
  async stop(reason: RecordingStopReason, error?: unknown): Promise<RecordingResult> {
    if (this.#state === 'idle' || this.#state === 'joining') {
      this.#stopReason = reason;
      this.#error = error;
      this.#finish(reason === 'cancelled' ? 'cancelled' : 'failed');
      return this.#ended;
    }
    if (this.#state !== 'recording') return this.#ended;
    this.#stopReason = reason;
    this.#error = error;
    this.#endReceiving();
    this.#transition('judging');
    if (reason !== 'cancelled' && reason !== 'consent_ended') this.#submitBatch(this.#o.minClipPackets ?? 50);
    else this.#batch = [];
    await this.#judging;
    this.#finish(this.#completion ? 'done' : reason === 'cancelled' ? 'cancelled' : 'failed');
    return this.#ended;
  }

  #onPacket(packet: Uint8Array): void {
    if (this.#state !== 'recording' || isSilence(packet)) return;
    this.#batch.push(packet);
    this.#packets++;
    this.#pendingPackets++;
    this.emit('progress', this.progress());
    if (this.#batch.length >= this.#clipPackets) this.#submitBatch(1);
  }

  /** Queues the current batch for judging; clips are judged one at a time, in order. */
  #submitBatch(minPackets: number): void {
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length < minPackets) {
      this.#pendingPackets -= batch.length;
      return;
    }
    this.#judging = this.#judging.then(async () => {
      if (this.#completion || this.#isFinal()) return;
      try {
        const pcm = decodeOpusPackets(batch, 48000);
        const outcome = await this.#o.submitClip(encodeWav({ samples: pcm.samples, sampleRate: pcm.sampleRate }));
        this.#pendingPackets -= batch.length;
        if (outcome.kind === 'stored') this.#acceptedSeconds = outcome.verdict.netSpeechSeconds;
        this.emit('clip', outcome);
        this.emit('progress', this.progress());
        if (outcome.kind === 'stored' && outcome.complete) {
          this.#completion = outcome;
          if (this.#state === 'recording') void this.stop('cancelled').catch(() => undefined);
        }
      } catch (error) {
        this.#pendingPackets -= batch.length;
        if (this.#state === 'recording') void this.stop(isConsentDenial(error) ? 'consent_ended' : 'error', error);
        else this.#error ??= error;
      }
    });
  }

  #endReceiving(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#source?.stop();
    this.#source = null;
  }

  #isFinal(): boolean {
    return this.#state === 'done' || this.#state === 'cancelled' || this.#state === 'failed';
  }

  #finish(state: 'done' | 'cancelled' | 'failed'): void {
    if (this.#isFinal()) return;
    this.#endReceiving();
    this.#transition(state);
    const result: RecordingResult = {
      state,
      reason: state === 'done' ? 'complete' : (this.#stopReason ?? 'error'),
      packets: this.#packets,
      progress: this.progress(),
      ...(this.#completion ? { completion: this.#completion } : {}),
      ...(this.#error !== undefined && state === 'failed' ? { error: this.#error } : {}),
    };
    this.emit('end', result);
    this.#resolveEnded(result);
  }

  #transition(next: RecordingState): void {
    const previous = this.#state;
    if (!TRANSITIONS[previous].includes(next)) throw new Error(`recording cannot go from ${previous} to ${next}`);
    this.#state = next;
    this.emit('state', next, previous);
  }
}
