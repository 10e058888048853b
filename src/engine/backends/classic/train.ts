import { BackendError } from '../../backend.ts';
import type { ReadingScript } from '../../../consent/reading-script.ts';
import type { PcmChunk } from '../../pcm.ts';
import { transcribe, type TranscribedWord } from '../../recognition/transcribe.ts';
import { alignedDurationRatio, alignScript, realign } from './frame-alignment.ts';
import { alignTranscript, realignTranscript, transcriptDurationRatio } from './align-transcript.ts';
import { analyse, type Features } from '../../features/analysis.ts';
import type { BaseVoiceCatalog } from './catalog.ts';
import { MCEP_ORDER, SAMPLE_RATE } from '../../features/constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import { DEFAULT_MIXTURES, ParallelData, refineMixture, searchMixtures } from './gmm-training.ts';
import type { ClassicModel } from './model.ts';
import { pitchMapping } from './pitch.ts';
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
  /** Transcribe speech that is not the script (default true); false goes straight to statistics. */
  readonly recognise?: boolean;
  /** Phrase match score above which a recognised phrase is dropped (align-transcript.ts). */
  readonly maxChunkScore?: number;
}

export interface TrainResult {
  readonly model: ClassicModel;
  readonly metrics: Record<string, number>;
}

/**
 * Readings of the script score about 0.73-0.91 and other speech 0.97-1.0
 * (see frame-alignment.ts; measured on Allison's prompts against slt, awb, kal16).
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

export async function trainModel(given: TrainOptions): Promise<TrainResult> {
  // The transcript path runs after a failed script check: its stages must not report going back.
  const options: TrainOptions = { ...given, progress: forwardOnly(given.progress) };
  const { signal, progress, catalog, script } = options;
  progress('analysing', 0.02);
  const user = analyse(options.samples, signal);
  const target = computeStats(user);
  requireSpeech(target);
  const language = sampleLanguage(script, catalog);
  progress('choosing base voice', 0.2);
  const nearest = await catalog.nearest(language, target, signal);
  const baseMetrics: Record<string, number> = { speechSeconds: target.speechSeconds, baseVoiceIndex: catalog.voices.indexOf(nearest.voice) };
  const text = script?.sentences.join(' ').trim() ?? '';

  if (text.length > 0) {
    progress('rendering base voice', 0.25, { baseVoice: nearest.voice.id });
    const rendered = await renderBase(nearest.voice, text, { signal });
    signal.throwIfAborted();
    const base = analyse(rendered, signal);
    progress('aligning', 0.45);
    const alignment = alignScript(base, user, signal);
    baseMetrics['matchScore'] = alignment.matchScore;
    if (alignment.matchScore <= (options.matchThreshold ?? DEFAULT_MATCH_THRESHOLD)) {
      return trainGmm({
        base,
        user,
        pairs: alignment.pairs,
        realign: (converted) => realign(base, user, converted, signal),
        rate: (pairs) => alignedDurationRatio(base, user, pairs),
        parallel: 'script',
        language,
        voice: nearest.voice,
        target,
        metrics: { ...baseMetrics, scriptMatched: 1 },
        options,
      });
    }
  }

  // Not the script (or no script): the recogniser's words, rendered by the base voice, give the parallel frames.
  const tried: Record<string, number> = { ...baseMetrics, scriptMatched: 0 };
  if (options.recognise !== false) {
    progress('recognising', 0.3);
    const words = await recognisedWords({ samples: options.samples, sampleRate: SAMPLE_RATE }, language, signal);
    tried['transcribedWords'] = words?.length ?? 0;
    if (words && words.length > 0) {
      progress('rendering base voice', 0.4, { baseVoice: nearest.voice.id, path: 'transcript' });
      const alignment = await alignTranscript(nearest.voice, words, user, signal, options.maxChunkScore);
      tried['transcriptPhrases'] = alignment.chunksTried;
      tried['transcriptPhrasesUsed'] = alignment.chunks.length;
      tried['transcriptWordsUsed'] = alignment.wordsUsed;
      if (alignment.pairs.length >= MIN_PARALLEL_FRAMES) {
        return trainGmm({
          base: alignment.base,
          user,
          pairs: alignment.pairs,
          realign: (converted) => realignTranscript(alignment, user, converted, signal),
          rate: (pairs) => transcriptDurationRatio(alignment, user, pairs),
          parallel: 'transcript',
          language,
          voice: nearest.voice,
          target,
          metrics: { ...tried, transcriptMatched: 1 },
          options,
        });
      }
    }
  }
  const model = await trainStatistics(user, language, catalog, signal, nearest);
  return { model, metrics: { ...tried, transcriptMatched: 0, mixtures: 0, parallelPath: PARALLEL_PATH.statistics } };
}

/** Which data trained the spectral mapping, as a job metric (metrics are numbers). */
export const PARALLEL_PATH = { statistics: 0, transcript: 1, script: 2 } as const;
/** Fewer aligned frames (5 ms) than this do not train a GMM worth its name: about 10 s of speech. */
const MIN_PARALLEL_FRAMES = 2000;

/** The recogniser's words, or null when it cannot run (no model, unsupported language, failure): the statistics path then says so. */
async function recognisedWords(pcm: PcmChunk, language: BaseLanguage, signal: AbortSignal): Promise<readonly TranscribedWord[] | null> {
  try {
    return (await transcribe(pcm, { language, signal })).words;
  } catch {
    signal.throwIfAborted();
    // No recogniser for the language (RecognizerUnavailableError), or one that failed:
    // statistics still make a voice, and the metrics say which path was taken.
    return null;
  }
}

interface GmmTraining {
  readonly base: Features;
  readonly user: Features;
  readonly pairs: ReadonlyArray<readonly [number, number]>;
  readonly realign: (converted: Float64Array[]) => Array<readonly [number, number]>;
  readonly rate: (pairs: ReadonlyArray<readonly [number, number]>) => number;
  readonly parallel: 'script' | 'transcript';
  readonly language: BaseLanguage;
  readonly voice: BaseVoice;
  readonly target: VoiceStats;
  readonly metrics: Record<string, number>;
  readonly options: TrainOptions;
}

async function trainGmm(t: GmmTraining): Promise<TrainResult> {
  const { base, user } = t;
  const { signal, progress } = t.options;
  const source = computeStats(base);
  progress('training', 0.5, { path: t.parallel });
  const baseDeltas = withDeltas(base.mcep, 1, MCEP_ORDER + 1);
  const userDeltas = withDeltas(user.mcep, 1, MCEP_ORDER + 1);
  const sizes = t.options.mixtures ?? DEFAULT_MIXTURES;
  const first = await searchMixtures(new ParallelData(base, user, baseDeltas, userDeltas, t.pairs), sizes, signal, (f, d) =>
    progress('training', 0.5 + 0.25 * f, d),
  );
  // Second pass: re-align with the converted base voice, which now sounds like
  // the user, on all of c1..c24, and continue EM on the better pairs.
  progress('aligning', 0.75, { pass: 2 });
  const refined = t.realign(convertWithGmm(first.gmm, baseDeltas));
  const data = new ParallelData(base, user, baseDeltas, userDeltas, refined);
  const second = await refineMixture(data, first, signal);
  progress('training', 0.9, { mixtures: second.size, validationMcdDb: Number(second.mcd.toFixed(3)) });

  // Judge both passes on the same (refined) held-out pairs.
  progress('validating', 0.92);
  const firstMcd = data.validation.mcd(first.gmm);
  const best = second.mcd <= firstMcd ? second : { ...first, mcd: firstMcd };
  const tried = best === second ? second.tried : first.tried;
  const pitch = pitchMapping(base, user, refined, source, t.target);

  const model: ClassicModel = {
    format: 'vocalis-classic',
    version: 1,
    kind: 'gmm',
    parallel: t.parallel,
    language: t.language,
    baseVoice: t.voice.id,
    stretch: clamp(t.rate(refined), 0.6, 1.7),
    source,
    target: t.target,
    ...(pitch ? { pitch } : {}),
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
      ...t.metrics,
      ...tried,
      parallelPath: PARALLEL_PATH[t.parallel],
      mixtures: best.size,
      validationMcdDb: best.mcd,
      validationMcdUnconvertedDb: data.validation.unconvertedMcd(),
      alignmentPasses: best === second ? 2 : 1,
      pitchGmm: pitch ? pitch.components.length : 0,
      trainingFrames: data.xs.length,
      validationFrames: data.validPairs.length,
    },
  };
}

function forwardOnly(progress: ProgressReporter): ProgressReporter {
  let last = 0;
  return (stage, fraction, detail) => {
    last = Math.max(last, fraction);
    progress(stage, last, detail);
  };
}

function requireSpeech(stats: VoiceStats): void {
  if (stats.speechSeconds < MIN_SPEECH_SECONDS) {
    throw new BackendError(
      'sample_too_short',
      `the sample has ${stats.speechSeconds.toFixed(1)} s of speech; the classic backend needs at least ${MIN_SPEECH_SECONDS} s`,
    );
  }
}
