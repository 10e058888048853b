import type { TranscribedWord } from '../../recognition/transcribe.ts';
import { alignScript, alignedDurationRatio, realign } from './frame-alignment.ts';
import { analyse, type Features } from '../../features/analysis.ts';
import { FRAME_SHIFT, SAMPLE_RATE } from '../../features/constants.ts';
import { renderBase, type BaseVoice } from './render.ts';

/**
 * Parallel frames from speech that did not follow the script: the recogniser's
 * words are cut into phrases at its word times, each phrase is rendered by the
 * base voice and aligned (the script's DTW and match score) with the stretch
 * of the user's audio where it was heard. Recognition errors stay local to a
 * phrase, and a phrase whose rendering does not match what was said (a score
 * above `maxChunkScore`) is dropped rather than teaching the mapping nonsense.
 */
export interface TranscriptChunk {
  /** Frame ranges [start, end) in the joined rendering and in the user's features. */
  readonly baseStart: number;
  readonly baseEnd: number;
  readonly userStart: number;
  readonly userEnd: number;
}

export interface TranscriptAlignment {
  /** The accepted phrases' renderings, joined in order. */
  readonly base: Features;
  readonly pairs: Array<readonly [number, number]>;
  readonly chunks: readonly TranscriptChunk[];
  /** Phrases tried and accepted, and the words in the accepted ones. */
  readonly chunksTried: number;
  readonly wordsUsed: number;
}

/** A pause this long between recognised words ends a phrase. */
const PHRASE_GAP_SECONDS = 0.25;
/** Phrases are kept short so one misrecognised word spoils little. */
const MAX_PHRASE_SECONDS = 4;
const MIN_PHRASE_WORDS = 2;
/** Audio kept around a phrase's recognised span (word times are rough at the edges). */
const MARGIN_SECONDS = 0.08;
/**
 * The script's threshold (frame-alignment.ts) holds for phrases too. LibriSpeech
 * test-other (speaker 1688, flite rms): a phrase rendered from its own recognised
 * words scores 0.73–0.98 against its audio, a neighbouring phrase's rendering
 * 0.95–1.06.
 */
export const DEFAULT_MAX_CHUNK_SCORE = 0.94;

export function phrasesOf(words: readonly TranscribedWord[]): TranscribedWord[][] {
  const phrases: TranscribedWord[][] = [];
  let current: TranscribedWord[] = [];
  for (const word of words) {
    const last = current[current.length - 1];
    const first = current[0];
    if (last && first && (word.start - last.end > PHRASE_GAP_SECONDS || word.end - first.start > MAX_PHRASE_SECONDS)) {
      phrases.push(current);
      current = [];
    }
    current.push(word);
  }
  if (current.length) phrases.push(current);
  return phrases.filter((p) => p.length >= MIN_PHRASE_WORDS);
}

function sliceFeatures(f: Features, start: number, end: number): Features {
  return { f0: f.f0.subarray(start, end), aperiodicity: f.aperiodicity.subarray(start, end), mcep: f.mcep.slice(start, end) };
}

function joinFeatures(parts: readonly Features[]): Features {
  const frames = parts.reduce((n, p) => n + p.f0.length, 0);
  const f0 = new Float64Array(frames);
  const aperiodicity = new Float64Array(frames);
  const mcep: Float64Array[] = [];
  let at = 0;
  for (const p of parts) {
    f0.set(p.f0, at);
    aperiodicity.set(p.aperiodicity, at);
    mcep.push(...p.mcep);
    at += p.f0.length;
  }
  return { f0, aperiodicity, mcep };
}

export async function alignTranscript(
  voice: BaseVoice,
  words: readonly TranscribedWord[],
  user: Features,
  signal: AbortSignal,
  maxChunkScore = DEFAULT_MAX_CHUNK_SCORE,
): Promise<TranscriptAlignment> {
  const framesPerSecond = SAMPLE_RATE / FRAME_SHIFT;
  const phrases = phrasesOf(words);
  const renderings: Features[] = [];
  const pairs: Array<readonly [number, number]> = [];
  const chunks: TranscriptChunk[] = [];
  let baseAt = 0;
  let wordsUsed = 0;
  for (const phrase of phrases) {
    signal.throwIfAborted();
    const userStart = Math.max(0, Math.floor((phrase[0]!.start - MARGIN_SECONDS) * framesPerSecond));
    const userEnd = Math.min(user.f0.length, Math.ceil((phrase[phrase.length - 1]!.end + MARGIN_SECONDS) * framesPerSecond));
    if (userEnd - userStart < 20) continue;
    const rendered = analyse(await renderBase(voice, phrase.map((w) => w.word).join(' '), { signal }), signal);
    const heard = sliceFeatures(user, userStart, userEnd);
    const alignment = alignScript(rendered, heard, signal);
    if (!(alignment.matchScore <= maxChunkScore) || alignment.pairs.length < 10) continue;
    for (const [i, j] of alignment.pairs) pairs.push([baseAt + i, userStart + j]);
    renderings.push(rendered);
    chunks.push({ baseStart: baseAt, baseEnd: baseAt + rendered.f0.length, userStart, userEnd });
    baseAt += rendered.f0.length;
    wordsUsed += phrase.length;
  }
  return { base: joinFeatures(renderings), pairs, chunks, chunksTried: phrases.length, wordsUsed };
}

/** The second alignment pass (see frame-alignment.ts), phrase by phrase. */
export function realignTranscript(
  alignment: TranscriptAlignment,
  user: Features,
  converted: Float64Array[],
  signal: AbortSignal,
): Array<readonly [number, number]> {
  const pairs: Array<readonly [number, number]> = [];
  for (const c of alignment.chunks) {
    const base = sliceFeatures(alignment.base, c.baseStart, c.baseEnd);
    const heard = sliceFeatures(user, c.userStart, c.userEnd);
    for (const [i, j] of realign(base, heard, converted.slice(c.baseStart, c.baseEnd), signal)) pairs.push([c.baseStart + i, c.userStart + j]);
  }
  return pairs;
}

/** The user's speaking rate over the base voice's, over the accepted phrases (weighted by their length). */
export function transcriptDurationRatio(alignment: TranscriptAlignment, user: Features, pairs: ReadonlyArray<readonly [number, number]>): number {
  let weighted = 0;
  let total = 0;
  for (const c of alignment.chunks) {
    const inside = pairs.filter(([i]) => i >= c.baseStart && i < c.baseEnd).map(([i, j]) => [i - c.baseStart, j - c.userStart] as const);
    if (inside.length < 10) continue;
    const ratio = alignedDurationRatio(sliceFeatures(alignment.base, c.baseStart, c.baseEnd), sliceFeatures(user, c.userStart, c.userEnd), inside);
    weighted += ratio * (c.baseEnd - c.baseStart);
    total += c.baseEnd - c.baseStart;
  }
  return total > 0 ? weighted / total : 1;
}
