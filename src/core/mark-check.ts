import { AudioDecodeError, decodeAudio } from '../engine/audio/decode.ts';
import { resample } from '../engine/audio/resampler.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import { detectMark, type MarkDetection } from '../engine/watermark/mark-detector.ts';
import type { MarkKey } from '../engine/watermark/mark-key.ts';
import { MARK_RATE } from '../engine/watermark/mark-layout.ts';
import type { UtteranceMarkRecord } from '../storage/utterance-marks.ts';
import type { UserRef } from '../storage/user-directory.ts';

/**
 * The answer to "did this deployment make this clip?", for every adapter to render.
 * `synthetic` means our mark is in the audio; `no_mark` means only that it is not
 * (never that the recording is genuine).
 */
export type MarkCheck = { readonly status: 'no_mark' } | { readonly status: 'unreadable' } | { readonly status: 'synthetic'; readonly voice: MarkedVoice };

export type MarkedVoice =
  | { readonly status: 'known'; readonly owner: UserRef; readonly createdAt: string }
  | { readonly status: 'deleted'; readonly createdOn: string }
  /** The mark is there but this excerpt does not carry the whole payload (too short, too damaged), or the token is not ours. */
  | { readonly status: 'unknown' };

export interface MarkCheckDeps {
  readonly key: MarkKey;
  readonly records: { find(token: number): UtteranceMarkRecord | null };
  readonly users: { get(id: string): UserRef | null };
}

/** A window long enough to carry the whole payload, tried along a long recording in which only part is marked. */
const WINDOW_SECONDS = 10;
const WINDOW_HOP_SECONDS = 5;
/** Longest recording scanned window by window (the decoder's own limits apply before this). */
const MAX_WINDOWS = 60;

export class MarkChecker {
  readonly #d: MarkCheckDeps;

  constructor(deps: MarkCheckDeps) {
    this.#d = deps;
  }

  /** Decodes any supported audio file and looks for the mark. */
  async check(audio: Uint8Array, signal?: AbortSignal): Promise<MarkCheck> {
    let pcm: PcmChunk;
    try {
      pcm = await decodeAudio(audio, { sampleRate: MARK_RATE, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof AudioDecodeError) return { status: 'unreadable' };
      throw error;
    }
    return this.explain(this.find(pcm));
  }

  /** The strongest finding in decoded audio: a decoded payload anywhere wins over mere presence. */
  find(pcm: PcmChunk): MarkDetection {
    const samples = pcm.sampleRate === MARK_RATE ? pcm.samples : resample(pcm.samples, pcm.sampleRate, MARK_RATE);
    const whole = detectMark(samples, MARK_RATE, this.#d.key);
    if (whole.status === 'decoded' || samples.length <= (WINDOW_SECONDS + WINDOW_HOP_SECONDS) * MARK_RATE) return whole;
    let best = whole;
    for (let w = 0; w < MAX_WINDOWS; w++) {
      const from = w * WINDOW_HOP_SECONDS * MARK_RATE;
      if (from + WINDOW_SECONDS * MARK_RATE > samples.length) break;
      const found = detectMark(samples.subarray(from, from + WINDOW_SECONDS * MARK_RATE), MARK_RATE, this.#d.key);
      if (found.status === 'decoded') return found;
      if (found.status === 'present' && best.status !== 'present') best = found;
    }
    return best;
  }

  /** True when the audio carries this deployment's mark (a synthetic voice made here). */
  isMarked(pcm: PcmChunk): boolean {
    const found = this.find(pcm);
    return found.status === 'present' || found.status === 'decoded';
  }

  explain(found: MarkDetection): MarkCheck {
    if (found.status === 'absent' || found.status === 'too_short') return { status: 'no_mark' };
    if (found.status === 'present') return { status: 'synthetic', voice: { status: 'unknown' } };
    const record = this.#d.records.find(found.payload.token);
    if (!record || record.keyId !== found.payload.keyId) return { status: 'synthetic', voice: { status: 'unknown' } };
    if (record.status === 'voice_deleted') return { status: 'synthetic', voice: { status: 'deleted', createdOn: record.createdOn } };
    const owner = this.#d.users.get(record.userId);
    if (!owner) return { status: 'synthetic', voice: { status: 'deleted', createdOn: record.createdOn } };
    return { status: 'synthetic', voice: { status: 'known', owner, createdAt: record.createdAt } };
  }
}
