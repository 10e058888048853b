import { BackendError, type ReadingScript } from '../../backend.ts';
import { alignScript, dropStalls } from './align-script.ts';
import { analyse, speechMask, type Features } from './analysis.ts';
import type { BaseVoiceCatalog } from './catalog.ts';
import { MCEP_ORDER } from './constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import { alignOpenEnd } from './dtw.ts';
import { emStep, singleComponent, splitComponents, varianceFloor, type JointGmm } from './gmm.ts';
import { alignedMcdDb } from './metrics.ts';
import type { ClassicModel } from './model.ts';
import { renderBase, type BaseLanguage, type BaseVoice } from './render.ts';
import { clamp, computeStats, type VoiceStats } from './stats.ts';
import { resolveLanguage } from './text.ts';

/**
 * The per-user fine-tune: parallel GMM training when the sample is a reading
 * of the known script, statistics matching otherwise. Synchronous number
 * crunching is broken into stages with abort checks between them.
 */
export type ProgressReporter = (stage: string, fraction: number, detail?: Readonly<Record<string, number | string>>) => void;

export interface TrainOptions {
  readonly samples: Float32Array;
  readonly script: ReadingScript | null;
  readonly catalog: BaseVoiceCatalog;
  readonly signal: AbortSignal;
  readonly progress: ProgressReporter;
  /** Candidate mixture counts, tried in increasing order by splitting. */
  readonly mixtures?: readonly number[];
  /** DTW match score above which the reading is taken not to follow the script. */
  readonly matchThreshold?: number;
}

export interface TrainResult {
  readonly model: ClassicModel;
  readonly metrics: Record<string, number>;
}

export const DEFAULT_MIXTURES: readonly number[] = [1, 2, 4, 8, 16, 32];
/**
 * Readings of the script score about 0.73-0.91 and other speech 0.97-1.0
 * (see align-script.ts; measured on Allison's prompts against slt, awb, kal16).
 */
export const DEFAULT_MATCH_THRESHOLD = 0.94;
const MIN_SPEECH_SECONDS = 3;
const MAX_EM_ITERATIONS = 14;
const PATIENCE = 2;
/** Validation gains below this (dB) count as no gain: EM creeps on long after it matters. */
const MIN_GAIN_DB = 0.005;
/** At least this many training frames per component, or the size is not tried. */
const FRAMES_PER_COMPONENT = 120;

/** The fast path used by prepareSample and as the fallback: statistics matching only. */
export async function trainStatistics(
  user: Features,
  language: BaseLanguage,
  catalog: BaseVoiceCatalog,
  signal: AbortSignal,
  base?: { voice: BaseVoice; stats: VoiceStats },
): Promise<ClassicModel> {
  const target = computeStats(user);
  requireSpeech(target);
  const chosen = base ?? (await catalog.nearest(language, target, signal));
  return {
    format: 'vocalis-classic',
    version: 1,
    kind: 'statistics',
    language,
    baseVoice: chosen.voice.id,
    stretch: clamp(chosen.stats.syllableRate / target.syllableRate, 0.8, 1.25),
    source: chosen.stats,
    target,
  };
}

export function sampleLanguage(script: ReadingScript | null, catalog: BaseVoiceCatalog): BaseLanguage {
  const supported = catalog.languages();
  if (script) return resolveLanguage(script.language, supported);
  return supported.includes('en') ? 'en' : supported[0]!;
}

export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { signal, progress, catalog, script } = options;
  progress('analysing', 0.02);
  const user = analyse(options.samples, signal);
  const target = computeStats(user);
  requireSpeech(target);
  const language = sampleLanguage(script, catalog);
  progress('choosing base voice', 0.2);
  const nearest = await catalog.nearest(language, target, signal);
  const baseMetrics = { speechSeconds: target.speechSeconds, baseVoiceIndex: catalog.voices.indexOf(nearest.voice) };
  const text = script?.sentences.join(' ').trim() ?? '';
  if (!script || text.length === 0) {
    const model = await trainStatistics(user, language, catalog, signal, nearest);
    return { model, metrics: { ...baseMetrics, scriptMatched: 0, mixtures: 0 } };
  }

  progress('rendering base voice', 0.25, { baseVoice: nearest.voice.id });
  const rendered = await renderBase(nearest.voice, text, { signal });
  signal.throwIfAborted();
  const base = analyse(rendered, signal);
  const source = computeStats(base);

  progress('aligning', 0.45);
  const alignment = alignScript(base, user, signal);
  const threshold = options.matchThreshold ?? DEFAULT_MATCH_THRESHOLD;
  if (alignment.matchScore > threshold) {
    const model = await trainStatistics(user, language, catalog, signal, nearest);
    return { model, metrics: { ...baseMetrics, scriptMatched: 0, matchScore: alignment.matchScore, mixtures: 0 } };
  }

  progress('training', 0.5);
  const baseDeltas = withDeltas(base.mcep, 1, MCEP_ORDER + 1);
  const userDeltas = withDeltas(user.mcep, 1, MCEP_ORDER + 1);
  const sizes = options.mixtures ?? DEFAULT_MIXTURES;
  const first = await searchMixtures(new ParallelData(base, user, baseDeltas, userDeltas, alignment.pairs), sizes, signal, (f, d) =>
    progress('training', 0.5 + 0.25 * f, d),
  );
  // Second pass: re-align with the converted base voice, which now sounds like
  // the user, on all of c1..c24, and continue EM on the better pairs.
  progress('aligning', 0.75, { pass: 2 });
  const refined = refineAlignment(base, user, convertWithGmm(first.gmm, baseDeltas), signal);
  const data = new ParallelData(base, user, baseDeltas, userDeltas, refined);
  const second = await refineMixture(data, first, signal);
  progress('training', 0.9, { mixtures: second.size, validationMcdDb: Number(second.mcd.toFixed(3)) });

  // Judge both passes on the same (refined) held-out pairs.
  progress('validating', 0.92);
  const firstMcd = data.validation.mcd(first.gmm);
  const best = second.mcd <= firstMcd ? second : { ...first, mcd: firstMcd };
  const tried = best === second ? second.tried : first.tried;

  const model: ClassicModel = {
    format: 'vocalis-classic',
    version: 1,
    kind: 'gmm',
    language,
    baseVoice: nearest.voice.id,
    stretch: clamp(durationRatio(base, user, refined), 0.6, 1.7),
    source,
    target,
    gmm: {
      components: best.gmm.components.map((c) => ({
        weight: c.weight,
        mx: [...c.mx],
        my: [...c.my],
        sxx: [...c.sxx],
        sxy: [...c.sxy],
        syy: [...c.syy],
      })),
    },
  };
  return {
    model,
    metrics: {
      ...baseMetrics,
      ...tried,
      scriptMatched: 1,
      matchScore: alignment.matchScore,
      mixtures: best.size,
      validationMcdDb: best.mcd,
      validationMcdUnconvertedDb: data.validation.unconvertedMcd(),
      alignmentPasses: best === second ? 2 : 1,
      trainingFrames: data.xs.length,
      validationFrames: data.validPairs.length,
    },
  };
}

interface SearchResult {
  readonly gmm: JointGmm;
  readonly mcd: number;
  readonly size: number;
  readonly tried: Record<string, number>;
}

/**
 * Grows the GMM by splitting through the candidate sizes, running EM at each
 * size until the validation MCD stops improving (early stopping), and keeps
 * the size and iteration with the lowest validation MCD.
 */
async function searchMixtures(
  data: ParallelData,
  candidates: readonly number[],
  signal: AbortSignal,
  report: (fraction: number, detail: Readonly<Record<string, number>>) => void,
): Promise<SearchResult> {
  const { xs, ys, validation } = data;
  const floor = varianceFloor(xs, ys);
  const sizes = candidates.filter((m) => m === 1 || xs.length >= m * FRAMES_PER_COMPONENT);
  let current: JointGmm = singleComponent(xs, ys, floor);
  let best = { gmm: current, mcd: validation.mcd(current), size: 1 };
  const tried: Record<string, number> = {};
  for (let s = 0; s < sizes.length; s++) {
    const size = sizes[s]!;
    while (current.components.length < size) current = splitComponents(current);
    let sizeBest = { gmm: current, mcd: validation.mcd(current) };
    let stale = 0;
    // One component is already the maximum-likelihood fit: no EM needed.
    for (let iter = 0; size > 1 && iter < MAX_EM_ITERATIONS && stale < PATIENCE; iter++) {
      signal.throwIfAborted();
      current = emStep(current, xs, ys, floor).gmm;
      const mcd = validation.mcd(current);
      if (mcd < sizeBest.mcd) {
        stale = mcd < sizeBest.mcd - MIN_GAIN_DB ? 0 : stale + 1;
        sizeBest = { gmm: current, mcd };
      } else stale++;
      // Let abort signals and other jobs' events through between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    current = sizeBest.gmm;
    tried[`validationMcdDb_m${size}`] = sizeBest.mcd;
    if (sizeBest.mcd < best.mcd) best = { ...sizeBest, size };
    report((s + 1) / sizes.length, { mixtures: size, validationMcdDb: Number(sizeBest.mcd.toFixed(3)) });
  }
  return { ...best, tried };
}

/** Continues EM from a trained model on re-aligned pairs, with the same early stopping. */
async function refineMixture(data: ParallelData, start: SearchResult, signal: AbortSignal): Promise<SearchResult> {
  const floor = varianceFloor(data.xs, data.ys);
  let current = start.gmm;
  let best = { gmm: current, mcd: data.validation.mcd(current) };
  let stale = 0;
  for (let iter = 0; iter < MAX_EM_ITERATIONS && stale < PATIENCE; iter++) {
    signal.throwIfAborted();
    current = emStep(current, data.xs, data.ys, floor).gmm;
    const mcd = data.validation.mcd(current);
    if (mcd < best.mcd) {
      stale = mcd < best.mcd - MIN_GAIN_DB ? 0 : stale + 1;
      best = { gmm: current, mcd };
    } else stale++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { gmm: best.gmm, mcd: best.mcd, size: start.size, tried: start.tried };
}

/** Parallel frames split into training pairs and the held-out last ~10% of the reading. */
class ParallelData {
  readonly xs: Float64Array[];
  readonly ys: Float64Array[];
  readonly validPairs: ReadonlyArray<readonly [number, number]>;
  readonly validation: Validation;

  constructor(base: Features, user: Features, baseDeltas: Float64Array[], userDeltas: Float64Array[], pairs: ReadonlyArray<readonly [number, number]>) {
    const firstBase = pairs[0]![0];
    const lastBase = pairs[pairs.length - 1]![0];
    const cut = Math.round(firstBase + 0.9 * (lastBase - firstBase));
    const train = pairs.filter(([i]) => i < cut);
    this.validPairs = pairs.filter(([i]) => i >= cut);
    this.xs = train.map(([i]) => baseDeltas[i]!);
    this.ys = train.map(([, j]) => userDeltas[j]!);
    this.validation = new Validation(base, user, baseDeltas, this.validPairs, cut);
  }
}

/** DTW between the converted base voice (c1..c24) and the user, on speech frames. */
function refineAlignment(base: Features, user: Features, converted: Float64Array[], signal: AbortSignal): Array<readonly [number, number]> {
  const baseIdx = indicesOf(speechMask(base.mcep));
  const userIdx = indicesOf(speechMask(user.mcep));
  const a = baseIdx.filter((_, k) => k % 2 === 0).map((i) => converted[i]!);
  const b = userIdx.filter((_, k) => k % 2 === 0).map((j) => user.mcep[j]!.subarray(1));
  const coarse = alignOpenEnd(a, b, { firstDim: 0, endDim: MCEP_ORDER, signal });
  const pairs: Array<readonly [number, number]> = [];
  for (const [i, j] of dropStalls(coarse.pairs)) {
    pairs.push([baseIdx[2 * i]!, userIdx[2 * j]!]);
    if (2 * i + 1 < baseIdx.length && 2 * j + 1 < userIdx.length) pairs.push([baseIdx[2 * i + 1]!, userIdx[2 * j + 1]!]);
  }
  return pairs;
}

/**
 * The user's speaking rate relative to the base voice: speech frames of the
 * user within the aligned stretch (not the whole sample, which may hold more
 * than the script) over the base voice's speech frames for the same text.
 */
function durationRatio(base: Features, user: Features, pairs: ReadonlyArray<readonly [number, number]>): number {
  const first = pairs[0];
  const last = pairs[pairs.length - 1];
  if (!first || !last) return 1;
  const count = (mask: Uint8Array, from: number, to: number): number => {
    let n = 0;
    for (let i = from; i <= to; i++) n += mask[i]!;
    return n;
  };
  const baseFrames = count(speechMask(base.mcep), first[0], last[0]);
  const userFrames = count(speechMask(user.mcep), first[1], last[1]);
  return baseFrames > 0 ? userFrames / baseFrames : 1;
}

function indicesOf(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

function requireSpeech(stats: VoiceStats): void {
  if (stats.speechSeconds < MIN_SPEECH_SECONDS) {
    throw new BackendError('sample_too_short', `the sample has ${stats.speechSeconds.toFixed(1)} s of speech; the classic backend needs at least ${MIN_SPEECH_SECONDS} s`);
  }
}

/** Converts the held-out base-voice frames and measures MCD against the user's aligned frames. */
class Validation {
  readonly #base: Features;
  readonly #user: Features;
  readonly #pairs: ReadonlyArray<readonly [number, number]>;
  readonly #source: Float64Array[];
  readonly #start: number;

  constructor(base: Features, user: Features, baseDeltas: Float64Array[], pairs: ReadonlyArray<readonly [number, number]>, start: number) {
    this.#base = base;
    this.#user = user;
    this.#pairs = pairs;
    this.#start = start;
    this.#source = baseDeltas.slice(start);
  }

  mcd(gmm: JointGmm): number {
    const converted = convertWithGmm(gmm, this.#source);
    const aligned = this.#pairs.map(([i, j]): readonly [Float64Array, Float64Array] => {
      const c = new Float64Array(MCEP_ORDER + 1);
      c.set(converted[i - this.#start]!, 1);
      return [c, this.#user.mcep[j]!];
    });
    return alignedMcdDb(aligned);
  }

  unconvertedMcd(): number {
    return alignedMcdDb(this.#pairs.map(([i, j]) => [this.#base.mcep[i]!, this.#user.mcep[j]!] as const));
  }
}
