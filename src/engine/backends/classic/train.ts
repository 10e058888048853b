import { BackendError, type ReadingScript } from '../../backend.ts';
import { alignedDurationRatio, alignScript, realign } from './align-script.ts';
import { analyse, type Features } from './analysis.ts';
import type { BaseVoiceCatalog } from './catalog.ts';
import { MCEP_ORDER } from './constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import { DEFAULT_MIXTURES, ParallelData, refineMixture, searchMixtures } from './gmm-training.ts';
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

/**
 * Readings of the script score about 0.73-0.91 and other speech 0.97-1.0
 * (see align-script.ts; measured on Allison's prompts against slt, awb, kal16).
 */
export const DEFAULT_MATCH_THRESHOLD = 0.94;
const MIN_SPEECH_SECONDS = 3;

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
  const refined = realign(base, user, convertWithGmm(first.gmm, baseDeltas), signal);
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
    stretch: clamp(alignedDurationRatio(base, user, refined), 0.6, 1.7),
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

function requireSpeech(stats: VoiceStats): void {
  if (stats.speechSeconds < MIN_SPEECH_SECONDS) {
    throw new BackendError('sample_too_short', `the sample has ${stats.speechSeconds.toFixed(1)} s of speech; the classic backend needs at least ${MIN_SPEECH_SECONDS} s`);
  }
}

