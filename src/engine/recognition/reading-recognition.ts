import type { PcmChunk } from '../pcm.ts';

/** One expected word (or, for the acoustic check, one expected phrase) and whether it was heard. */
export interface HeardWord {
  readonly word: string;
  readonly heard: boolean;
  /** Seconds from the start of the clip, when heard. */
  readonly start: number | null;
  readonly end: number | null;
  /** How much this word counts towards coverage (its phones; 1 for a phrase). */
  readonly weight: number;
  /** The acoustic check's distance for this phrase; null for recognised words. */
  readonly distance: number | null;
}

/**
 * What a recogniser made of a reading of known text: each expected word, heard or not.
 * `level` says how strong the evidence is: `recognised` (speech recognition constrained to
 * the expected words) or `acoustic` (the reading matched against a synthetic rendering).
 */
export interface ReadingRecognition {
  readonly level: 'recognised' | 'acoustic';
  readonly method: string;
  readonly modelVersion: string;
  readonly words: readonly HeardWord[];
}

/** Hears whether known text was read aloud in a clip. */
export interface ReadingRecognizer {
  readonly language: string;
  recognise(pcm: PcmChunk, expected: readonly string[], options?: { signal?: AbortSignal; decoys?: readonly string[] }): Promise<ReadingRecognition>;
}

export class RecognizerUnavailableError extends Error {
  readonly code = 'recognizer_unavailable';
  constructor(message: string) {
    super(message);
    this.name = 'RecognizerUnavailableError';
  }
}

/** Share of the expected words' weight that was heard. */
export function coverage(words: readonly HeardWord[]): number {
  const total = words.reduce((n, w) => n + w.weight, 0);
  return total === 0 ? 0 : words.reduce((n, w) => n + (w.heard ? w.weight : 0), 0) / total;
}
