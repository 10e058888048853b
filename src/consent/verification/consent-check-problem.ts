/**
 * Why consent verification refused a clip, with the figures (and, for an unheard
 * reading, the words) its message shows. Wording lives in src/i18n.
 */
export type ConsentCheckProblemCode = 'reading_not_heard' | 'reading_assurance_too_low' | 'too_short_to_verify' | 'speaker_mismatch' | 'speaker_mismatch_limit';

export interface ConsentCheckProblem {
  readonly code: ConsentCheckProblemCode;
  readonly figures: Readonly<Record<string, number>>;
  /** reading_not_heard: the statement's and phrase's words that were not heard, in reading order. */
  readonly words?: readonly string[];
}
