import { BackendError, type ReadingScript } from '../../backend.ts';
import { alignScript } from './align-script.ts';
import { analyse, type Features } from './analysis.ts';
import type { BaseVoiceCatalog } from './catalog.ts';
import { MCEP_ORDER } from './constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
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

export const DEFAULT_MIXTURES: readonly number[] = [1, 2, 4, 8, 16];
/** Readings of the script score about 0.75-0.9; other speech about 1.0 (see align-script.ts). */
export const DEFAULT_MATCH_THRESHOLD = 0.95;
const MIN_SPEECH_SECONDS = 3;
const MAX_EM_ITERATIONS = 14;
const PATIENCE = 3;
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
  // Hold out the last ~10% of the reading (by base-voice time) as validation.
  const lastBase = alignment.pairs[alignment.pairs.length - 1]![0];
  const firstBase = alignment.pairs[0]![0];
  const cut = Math.round(firstBase + 0.9 * (lastBase - firstBase));
  const trainPairs = alignment.pairs.filter(([i]) => i < cut);
  const validPairs = alignment.pairs.filter(([i]) => i >= cut);
  const xs = trainPairs.map(([i]) => baseDeltas[i]!);
  const ys = trainPairs.map(([, j]) => userDeltas[j]!);
  const validation = new Validation(base, user, baseDeltas, validPairs, cut);
  const floor = varianceFloor(xs, ys);

  const sizes = (options.mixtures ?? DEFAULT_MIXTURES).filter((m) => m === 1 || xs.length >= m * FRAMES_PER_COMPONENT);
  let current: JointGmm = singleComponent(xs, ys, floor);
  let best = { gmm: current, mcd: validation.mcd(current), size: 1 };
  const tried: Record<string, number> = {};
  for (let s = 0; s < sizes.length; s++) {
    const size = sizes[s]!;
    while (current.components.length < size) current = splitComponents(current);
    let sizeBest = { gmm: current, mcd: validation.mcd(current) };
    let stale = 0;
    for (let iter = 0; iter < MAX_EM_ITERATIONS && stale < PATIENCE; iter++) {
      signal.throwIfAborted();
      current = emStep(current, xs, ys, floor).gmm;
      const mcd = validation.mcd(current);
      if (mcd < sizeBest.mcd - 1e-4) {
        sizeBest = { gmm: current, mcd };
        stale = 0;
      } else stale++;
      // Let abort signals and other jobs' events through between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    current = sizeBest.gmm;
    tried[`validationMcdDb_m${size}`] = sizeBest.mcd;
    if (sizeBest.mcd < best.mcd) best = { ...sizeBest, size };
    progress('training', 0.5 + (0.4 * (s + 1)) / sizes.length, { mixtures: size, validationMcdDb: Number(sizeBest.mcd.toFixed(3)) });
  }

  progress('validating', 0.95);
  const model: ClassicModel = {
    format: 'vocalis-classic',
    version: 1,
    kind: 'gmm',
    language,
    baseVoice: nearest.voice.id,
    stretch: clamp(target.speechSeconds / source.speechSeconds, 0.6, 1.7),
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
      validationMcdUnconvertedDb: validation.unconvertedMcd(),
      trainingFrames: xs.length,
      validationFrames: validPairs.length,
    },
  };
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
