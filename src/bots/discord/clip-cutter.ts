import { downmixInterleaved } from '../../engine/audio/downmix.ts';
import { encodeWav } from '../../engine/audio/wav.ts';

/**
 * Cuts a member's received speech into the clips the core judges. The consent reading
 * (the first audio while the consent waits for it) is judged as one piece: it ends at
 * the member's first pause once it holds enough speech for the statement, so a reading
 * is never split at a fixed boundary (half a statement fails the check). After the
 * reading was accepted, clips have a fixed length.
 */
export interface CutRules {
  /** Frames per script clip (600 = 12 s). */
  readonly clipFrames: number;
  /** Voiced frames a reading holds at least before a pause may end it (the statement takes longer). */
  readonly readingMinVoicedFrames: number;
  /** A reading with no pause is cut here anyway. */
  readonly readingMaxFrames: number;
  /** Quiet frames in a row that make a pause. */
  readonly pauseFrames: number;
}

export const DEFAULT_CUT_RULES: Omit<CutRules, 'clipFrames'> = {
  readingMinVoicedFrames: 200,
  readingMaxFrames: 1500,
  pauseFrames: 50,
};

export type ClipKind = 'reading' | 'script';

export interface CutClip {
  readonly kind: ClipKind;
  readonly frames: number;
  readonly wav: Uint8Array;
}

export class ClipCutter {
  readonly #rules: CutRules;
  #phase: ClipKind;
  #frames: Int16Array[] = [];
  #voiced = 0;
  #quietRun = 0;

  constructor(rules: CutRules, phase: ClipKind) {
    this.#rules = rules;
    this.#phase = phase;
  }

  get phase(): ClipKind {
    return this.#phase;
  }

  /** Frames held, not yet cut into a clip. */
  get pending(): number {
    return this.#frames.length;
  }

  /** The reading was accepted: what follows is script. */
  readingAccepted(): void {
    this.#phase = 'script';
  }

  /** Adds one decoded frame; returns a clip when this frame completes one. */
  push(pcm: Int16Array, quiet: boolean): CutClip | null {
    this.#frames.push(pcm);
    this.#quietRun = quiet ? this.#quietRun + 1 : 0;
    if (!quiet) this.#voiced++;
    if (this.#phase === 'script') return this.#frames.length >= this.#rules.clipFrames ? this.#cut() : null;
    if (this.#frames.length >= this.#rules.readingMaxFrames) return this.#cut();
    return this.#quietRun >= this.#rules.pauseFrames ? this.pause() : null;
  }

  /** The member paused (quiet audio, or the client stopped sending): a reading with enough speech ends here. */
  pause(): CutClip | null {
    if (this.#phase !== 'reading' || this.#voiced < this.#rules.readingMinVoicedFrames) return null;
    return this.#cut();
  }

  /** What is left when recording stops, if it holds at least `minFrames`; dropped otherwise. */
  rest(minFrames: number): CutClip | null {
    if (this.#frames.length < minFrames) {
      this.discard();
      return null;
    }
    return this.#cut();
  }

  discard(): void {
    this.#frames = [];
    this.#voiced = 0;
    this.#quietRun = 0;
  }

  #cut(): CutClip {
    const frames = this.#frames;
    const kind = this.#phase;
    this.discard();
    let total = 0;
    for (const frame of frames) total += frame.length;
    const interleaved = new Float32Array(total);
    let at = 0;
    for (const frame of frames) {
      for (let i = 0; i < frame.length; i++) interleaved[at + i] = (frame[i] ?? 0) / 32768;
      at += frame.length;
    }
    const mono = downmixInterleaved(interleaved, 2);
    return { kind, frames: frames.length, wav: encodeWav({ samples: mono.samples, sampleRate: 48000 }) };
  }
}
