import type { ConsentLanguage } from '../consent-texts.ts';

/**
 * The port through which consent asks the audio side for evidence. Consent decides
 * what the evidence means; it knows no recogniser and no speaker model (they live in
 * src/engine and are wired in src/app).
 */

/** Mono float PCM, as the engine passes it on. */
export interface ClipAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

/**
 * How strong the evidence that the statement was read is: `recognised` — speech
 * recognition constrained to the expected words (English); `acoustic` — the reading
 * matched against a synthetic rendering of the statement (Mandarin); `none` —
 * verification was off.
 */
export type AssuranceLevel = 'recognised' | 'acoustic';
export const ASSURANCE_RANK: Readonly<Record<AssuranceLevel, number>> = { acoustic: 1, recognised: 2 };

export interface HeardWord {
  readonly word: string;
  readonly heard: boolean;
  readonly start: number | null;
  readonly end: number | null;
  readonly weight: number;
  readonly distance: number | null;
}

export interface ReadingHeard {
  readonly level: AssuranceLevel;
  readonly method: string;
  readonly modelVersion: string;
  readonly words: readonly HeardWord[];
}

export interface SpeakerMatch {
  readonly score: number;
  readonly speechSeconds: number;
}

export interface VoiceEvidence {
  /** Which words of `expected` were read in the clip (`decoys`: other phrases an acoustic check compares against). */
  hearReading(
    audio: ClipAudio,
    language: ConsentLanguage,
    expected: readonly string[],
    options: { decoys: readonly string[]; signal?: AbortSignal },
  ): Promise<ReadingHeard>;
  readonly speakerModel: { readonly name: string; readonly version: string };
  /** A voiceprint of the speaker, or `previous` with this clip folded in. Biometric data. */
  enrol(audio: ClipAudio, previous?: Uint8Array): Promise<Uint8Array>;
  matchSpeaker(enrolment: Uint8Array, audio: ClipAudio): Promise<SpeakerMatch>;
}

/** Where the encrypted voiceprint of a consent lives (under the user's data key; shredded with it). */
export interface EnrolmentVault {
  write(userId: string, consentId: string, enrolment: Uint8Array): Promise<void>;
  read(userId: string, consentId: string): Promise<Uint8Array | null>;
}
