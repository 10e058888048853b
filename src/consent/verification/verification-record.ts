import type { AssuranceLevel } from './voice-evidence.ts';

/** `required`: the reading and every clip are checked; `off`: explicitly disabled by the operator, and said so. */
export type VerificationMode = 'required' | 'off';

/** A word of the statement or phrase that was heard, with where (seconds into the reading). */
export interface VerifiedWord {
  readonly word: string;
  readonly start: number | null;
  readonly end: number | null;
}

/** What the reading proved, kept for the receipt. */
export interface VerifiedReading {
  readonly assurance: AssuranceLevel;
  readonly method: string;
  readonly recognizerVersion: string;
  readonly coverage: number;
  readonly words: readonly VerifiedWord[];
  readonly missing: readonly string[];
  readonly challenge: string;
  readonly speakerModel: { readonly name: string; readonly version: string };
  readonly speechSeconds: number;
  readonly at: string;
}

/** One clip's match against the reader's voiceprint. */
export interface ClipMatch {
  readonly clipId: string;
  readonly score: number;
  readonly threshold: number;
  readonly speechSeconds: number;
}

/**
 * The verification of one consent. `awaiting_reading`: the first audio must be the
 * statement with the phrase; `verified`: it was, and later clips are matched to its
 * speaker; `off`: the operator turned verification off while this consent was given.
 */
export type VerificationRecord =
  | { readonly status: 'off'; readonly consentId: string; readonly mode: 'off' }
  | { readonly status: 'awaiting_reading'; readonly consentId: string; readonly mode: 'required'; readonly failedReadings: number }
  | {
      readonly status: 'verified';
      readonly consentId: string;
      readonly mode: 'required';
      readonly reading: VerifiedReading;
      readonly clips: readonly ClipMatch[];
      readonly mismatches: number;
      readonly failedReadings: number;
    };
