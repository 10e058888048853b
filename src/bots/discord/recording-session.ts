import { EventEmitter } from 'node:events';
import { isConsentDenial } from '../../consent/consent-errors.ts';
import type { ClipOutcome } from '../../core/vocalis.ts';
import { ClipCutter, DEFAULT_CUT_RULES, type ClipKind, type CutClip } from './clip-cutter.ts';
import { FRAME_SECONDS, FrameReader } from './received-frame.ts';

/**
 * One member reading into a voice channel. Its state is a union keyed by `status`, in
 * the style of @discordjs/voice's VoiceConnection: each state carries only what means
 * something in it, and every change is announced as `stateChange(old, new)`.
 *
 *   idle ──start──▶ joining ──joined──▶ recording ──stop / sample complete──▶ judging
 *   judging ──last verdict──▶ done │ cancelled (by the user) │ failed (anything else)
 *   idle / joining ──stop / error──▶ cancelled │ failed
 *
 * Frames are read as they arrive: silence frames and frames that could not be decrypted or
 * decoded count for nothing. Speech is cut into clips (the consent reading whole, at the
 * member's pause; then clips of fixed length) that the core judges one at a time, in order.
 * A member whose packets arrive but never reach us as audio cannot be recorded here: the
 * session ends at once as `unreceivable`, so the adapter can offer the voice-message path.
 */
export type RecordingStopReason = 'cancelled' | 'timeout' | 'left_channel' | 'disconnected' | 'consent_ended' | 'unreceivable' | 'error';

type StoredOutcome = Extract<ClipOutcome, { kind: 'stored' }>;

/** Why recording is over: the sample is complete, or it was stopped. */
export type RecordingEnding =
  | { readonly reason: 'complete'; readonly completion: StoredOutcome }
  | { readonly reason: RecordingStopReason; readonly error?: unknown };

export interface RecordingProgress {
  /** Net speech counted so far: accepted by the core plus speech frames not yet judged. */
  readonly netSeconds: number;
  readonly targetSeconds: number;
}

export interface RecordingResult {
  readonly state: 'done' | 'cancelled' | 'failed';
  readonly reason: RecordingStopReason | 'complete';
  /** Speech frames received (silence and unusable frames excluded). */
  readonly packets: number;
  /** Frames that arrived but could not be used (still end-to-end encrypted, or corrupt). */
  readonly unusable: number;
  readonly progress: RecordingProgress;
  /** The clip outcome that completed the sample, when it did. */
  readonly completion?: StoredOutcome;
  readonly error?: unknown;
}

export interface PacketSource {
  stop(): void;
}

/** Joins the channel and subscribes to the one member; reports when their audio cannot be received. */
export type PacketSourceFactory = (onPacket: (packet: Uint8Array) => void, onUnreceivable: (cause: unknown) => void) => Promise<PacketSource>;

export type RecordingState =
  | { readonly status: 'idle' }
  | { readonly status: 'joining' }
  | {
      readonly status: 'recording';
      readonly source: PacketSource;
      readonly reader: FrameReader;
      readonly cutter: ClipCutter;
      readonly timers: RecordingTimers;
      /** Unusable frames since the last speech frame. */
      unusableRun: number;
    }
  | { readonly status: 'judging'; readonly ending: RecordingEnding }
  | { readonly status: 'done'; readonly result: RecordingResult & { readonly completion: StoredOutcome } }
  | { readonly status: 'cancelled'; readonly result: RecordingResult }
  | { readonly status: 'failed'; readonly result: RecordingResult };

export type RecordingStatus = RecordingState['status'];

interface RecordingTimers {
  /** Ends the whole session. */
  readonly timeout: NodeJS.Timeout;
  /** Re-armed by every speech frame: fires when the member pauses (a reading ends there). */
  readonly pause: NodeJS.Timeout;
  /** Re-armed by every packet: fires when nothing at all has come for a while. */
  readonly quiet: NodeJS.Timeout;
}

export interface RecordingEvents {
  stateChange: [oldState: RecordingState, newState: RecordingState];
  progress: [progress: RecordingProgress];
  clip: [outcome: ClipOutcome, kind: ClipKind];
  /** Nothing has arrived from the member for `quietNoticeMs` (they may be silent, or unheard). */
  quiet: [];
  end: [result: RecordingResult];
}

export interface RecordingSessionOptions {
  readonly open: PacketSourceFactory;
  /** Hands one clip (WAV bytes) to the core: vocalis.addClip. */
  readonly submitClip: (wav: Uint8Array) => Promise<ClipOutcome>;
  readonly targetSeconds: number;
  /** Net speech already accepted under this consent (continuing a sample). */
  readonly storedSeconds?: number;
  /** The consent waits for its statement reading: the first audio is judged as one piece. */
  readonly readingFirst?: boolean;
  /** Frames per script clip; 600 = 12 s of speech. */
  readonly clipPackets?: number;
  /** The session stops by itself after this long. */
  readonly timeoutMs: number;
  /** A trailing clip shorter than this (in frames) is not worth judging. */
  readonly minClipPackets?: number;
  /** No speech frame for this long ends a reading (the client stopped sending, or nothing arrives). */
  readonly pauseMs?: number;
  /** Unusable frames in a row (no speech between) after which the member counts as unreceivable. */
  readonly unusableLimit?: number;
  /** Nothing at all from the member for this long raises `quiet`. */
  readonly quietNoticeMs?: number;
}

const TRANSITIONS: Readonly<Record<RecordingStatus, readonly RecordingStatus[]>> = {
  idle: ['joining', 'cancelled', 'failed'],
  joining: ['recording', 'cancelled', 'failed'],
  recording: ['judging'],
  judging: ['judging', 'done', 'cancelled', 'failed'],
  done: [],
  cancelled: [],
  failed: [],
};

/** Stops that keep nothing more: what was held is dropped, not judged. */
const DISCARDING: ReadonlySet<RecordingStopReason> = new Set(['cancelled', 'consent_ended', 'unreceivable']);

export class RecordingSession extends EventEmitter<RecordingEvents> {
  readonly #o: RecordingSessionOptions;
  #state: RecordingState = { status: 'idle' };
  #packets = 0;
  #unusable = 0;
  /** Net speech the core has accepted (VAD-measured), and speech frames not yet counted into it. */
  #acceptedSeconds: number;
  #pendingFrames = 0;
  #judging: Promise<void> = Promise.resolve();
  readonly #ended: Promise<RecordingResult>;
  #resolveEnded!: (result: RecordingResult) => void;

  constructor(options: RecordingSessionOptions) {
    super();
    this.#o = options;
    this.#acceptedSeconds = options.storedSeconds ?? 0;
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
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
    const net = this.#acceptedSeconds + this.#pendingFrames * FRAME_SECONDS;
    // Until the core says the sample is complete, never show the target as reached.
    const complete = this.#state.status === 'done' || (this.#state.status === 'judging' && this.#state.ending.reason === 'complete');
    const shown = complete ? Math.max(net, target) : Math.min(net, Math.max(0, target - 1));
    return { netSeconds: Math.floor(shown), targetSeconds: target };
  }

  /** Joins and subscribes; resolves once recording (or failed to start). `ended` gives the result. */
  async start(): Promise<void> {
    this.#setState({ status: 'joining' });
    let source: PacketSource;
    try {
      source = await this.#o.open(
        (packet) => this.#onPacket(packet),
        (cause) => void this.stop('unreceivable', cause),
      );
    } catch (error) {
      this.#finish({ reason: 'error', error });
      return;
    }
    if (this.#state.status !== 'joining') {
      source.stop();
      return;
    }
    const timers: RecordingTimers = {
      timeout: setTimeout(() => void this.stop('timeout'), this.#o.timeoutMs),
      pause: setTimeout(() => this.#onPause(), this.#o.pauseMs ?? 1_000),
      quiet: setTimeout(() => this.#onQuiet(), this.#o.quietNoticeMs ?? 8_000),
    };
    const cutter = new ClipCutter({ clipFrames: this.#o.clipPackets ?? 600, ...DEFAULT_CUT_RULES }, this.#o.readingFirst ? 'reading' : 'script');
    this.#setState({ status: 'recording', source, reader: new FrameReader(), cutter, timers, unusableRun: 0 });
  }

  /** Stops recording. Except for a cancel (or a member who could not be heard), what was read so far is still judged. */
  async stop(reason: RecordingStopReason, error?: unknown): Promise<RecordingResult> {
    return this.#end(error === undefined ? { reason } : { reason, error });
  }

  async #end(ending: RecordingEnding): Promise<RecordingResult> {
    const state = this.#state;
    if (state.status === 'idle' || state.status === 'joining') {
      this.#finish(ending);
      return this.#ended;
    }
    if (state.status === 'judging' && ending.reason === 'complete') this.#setState({ status: 'judging', ending });
    if (state.status !== 'recording') return this.#ended;
    stopReceiving(state);
    const held = state.cutter.pending;
    const rest = ending.reason === 'complete' || DISCARDING.has(ending.reason) ? null : state.cutter.rest(this.#o.minClipPackets ?? 50);
    this.#setState({ status: 'judging', ending });
    if (rest) this.#submit(rest);
    else {
      // Dropped, not judged: those frames no longer count.
      this.#pendingFrames = Math.max(0, this.#pendingFrames - held);
      state.cutter.discard();
    }
    await this.#judging;
    const final = this.#state;
    if (final.status === 'judging') this.#finish(final.ending);
    return this.#ended;
  }

  #onPacket(packet: Uint8Array): void {
    const state = this.#state;
    if (state.status !== 'recording') return;
    state.timers.quiet.refresh();
    const frame = state.reader.read(packet);
    if (frame.kind === 'silence') return;
    if (frame.kind === 'unusable') {
      this.#unusable++;
      // Only frames that never became audio in a row: one bad frame in a transition is simply skipped.
      if (++state.unusableRun >= (this.#o.unusableLimit ?? 100))
        void this.stop('unreceivable', new Error(`${state.unusableRun} frames in a row could not be used (${frame.why})`));
      return;
    }
    state.unusableRun = 0;
    if (!frame.quiet) state.timers.pause.refresh();
    this.#packets++;
    this.#pendingFrames++;
    this.emit('progress', this.progress());
    const clip = state.cutter.push(frame.pcm, frame.quiet);
    if (clip) this.#submit(clip);
  }

  #onPause(): void {
    const state = this.#state;
    if (state.status !== 'recording') return;
    const clip = state.cutter.pause();
    if (clip) this.#submit(clip);
  }

  #onQuiet(): void {
    if (this.#state.status === 'recording') this.emit('quiet');
  }

  /** Queues a clip for judging; clips are judged one at a time, in order. */
  #submit(clip: CutClip): void {
    this.#judging = this.#judging.then(async () => {
      if (this.#isComplete() || this.#isFinal()) return;
      try {
        const outcome = await this.#o.submitClip(clip.wav);
        this.#pendingFrames = Math.max(0, this.#pendingFrames - clip.frames);
        if (outcome.kind === 'stored') {
          this.#acceptedSeconds = outcome.verdict.netSpeechSeconds;
          const state = this.#state;
          if (clip.kind === 'reading' && state.status === 'recording') state.cutter.readingAccepted();
        }
        this.emit('clip', outcome, clip.kind);
        this.emit('progress', this.progress());
        if (outcome.kind === 'stored' && outcome.complete) void this.#end({ reason: 'complete', completion: outcome }).catch(() => undefined);
      } catch (error) {
        this.#pendingFrames = Math.max(0, this.#pendingFrames - clip.frames);
        const state = this.#state;
        if (state.status === 'recording') void this.stop(isConsentDenial(error) ? 'consent_ended' : 'error', error);
        else if (state.status === 'judging' && state.ending.reason !== 'complete' && state.ending.error === undefined) {
          this.#setState({ status: 'judging', ending: { ...state.ending, error } });
        }
      }
    });
  }

  #isComplete(): boolean {
    return this.#state.status === 'judging' && this.#state.ending.reason === 'complete';
  }

  #isFinal(): boolean {
    const { status } = this.#state;
    return status === 'done' || status === 'cancelled' || status === 'failed';
  }

  #finish(ending: RecordingEnding): void {
    const state = this.#state;
    if (this.#isFinal()) return;
    if (state.status === 'recording') stopReceiving(state);
    const base = { packets: this.#packets, unusable: this.#unusable, progress: this.progress() };
    if (ending.reason === 'complete') {
      const result = { ...base, state: 'done' as const, reason: 'complete' as const, completion: ending.completion };
      this.#setState({ status: 'done', result });
      this.#announce(result);
      return;
    }
    const status = ending.reason === 'cancelled' ? 'cancelled' : 'failed';
    const result: RecordingResult = {
      ...base,
      state: status,
      reason: ending.reason,
      ...(ending.error !== undefined && status === 'failed' ? { error: ending.error } : {}),
    };
    this.#setState({ status, result });
    this.#announce(result);
  }

  #announce(result: RecordingResult): void {
    this.emit('end', result);
    this.#resolveEnded(result);
  }

  #setState(next: RecordingState): void {
    const old = this.#state;
    if (!TRANSITIONS[old.status].includes(next.status)) throw new Error(`recording cannot go from ${old.status} to ${next.status}`);
    this.#state = next;
    this.emit('stateChange', old, next);
  }
}

function stopReceiving(state: Extract<RecordingState, { status: 'recording' }>): void {
  clearTimeout(state.timers.timeout);
  clearTimeout(state.timers.pause);
  clearTimeout(state.timers.quiet);
  state.source.stop();
}
